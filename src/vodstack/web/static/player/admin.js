// /admin: sign in with the admin token (kept in this tab only); the assets a page at a time,
// searchable, with their ids whole and copyable and their pipeline progress (refreshed while
// anything is in the pipeline); upload over tus with progress; publish, delete and restore;
// one asset's actions (admin-asset.js); viewing quality (admin-qoe.js) and costs (costs.js).
// No inline script anywhere: the page's Content-Security-Policy is script-src 'self'.

import { showCosts } from "./costs.js";
import { api, assetPath, auth, listAssets } from "./admin-api.js";
import { $, clock, el, idWithCopy } from "./admin-dom.js";
import { AssetPanel } from "./admin-asset.js";
import { renderCatalogueQoe } from "./admin-qoe.js";
import { upload } from "./admin-upload.js";

const config = JSON.parse($("vodstack-config").textContent);
const BUSY_POLL_MS = 2000;
const IDLE_POLL_MS = 15000;

// What the page shows, for people and for tests (like window.vodstackPlayer on /watch).
const state = (window.vodstackAdmin = {
  view: { q: "", status: "", cursor: null, history: [] },
  next: null, // the next page's cursor; null on the last page or from a server that does not page
  assets: [],
  uploads: [], // {name, progress: [fractions seen], assetId, error}
  deleted: [], // assets deleted from this tab: {id, title}
  refreshes: 0,
});
let timer = null;
let uploading = null;

function announce(text) {
  $("announce").textContent = "";
  // a fresh text node so screen readers speak the same message twice
  setTimeout(() => { $("announce").textContent = text; }, 30);
}

let errorFrom = null; // "list" (cleared by the next good refresh) or "action" (by the next action)
function showError(message, from = "action") {
  $("error").textContent = message || "";
  $("error").hidden = !message;
  errorFrom = message ? from : null;
}

const panel = new AssetPanel($("asset"), {
  config,
  announce,
  changed: () => refresh(),
  deleted: (asset) => {
    state.deleted = [{ id: asset.id, title: asset.title }, ...state.deleted.filter((d) => d.id !== asset.id)];
    renderDeleted();
    announce(`Deleted “${asset.title || asset.id}”. Its master is kept: it can be restored below.`);
    refresh();
  },
  closed: (id) => document.querySelector(`#assets button[data-manage="${id}"]`)?.focus(),
});

// -- signing in ---------------------------------------------------------------------------
function show(signedIn) {
  $("login").hidden = signedIn;
  $("panel").hidden = !signedIn;
  clearTimeout(timer);
  if (signedIn) {
    refresh();
    return;
  }
  // Nothing read with the token stays on the page once it is gone.
  panel.close();
  state.assets = [];
  state.deleted = [];
  $("assets").tBodies[0].replaceChildren();
  renderDeleted();
  $("qoe").hidden = true;
  $("qoe").replaceChildren();
  $("reports").replaceChildren();
  $("token").focus();
}

auth.onSignedOut(() => {
  show(false);
  $("login-error").textContent = "That admin token was not accepted (or was forgotten). Enter it again.";
});

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  const value = $("token").value.trim();
  if (!value) return;
  $("login-error").textContent = "";
  auth.signIn(value);
  $("token").value = "";
  show(true);
});

$("logout").addEventListener("click", () => {
  uploading?.cancel();
  auth.signOut();
  $("login-error").textContent = "";
});

// -- the list -----------------------------------------------------------------------------
const BUSY = (a) => !["ready", "failed"].includes(a.status);

function schedule() {
  clearTimeout(timer);
  if (!auth.token) return;
  timer = setTimeout(refresh, state.assets.some(BUSY) || panel.busy ? BUSY_POLL_MS : IDLE_POLL_MS);
}

let refreshing = null;
let again = false;
/** Load the list; asked again while loading (a search, a page), it loads once more after. */
function refresh() {
  if (!auth.token) return Promise.resolve();
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    try {
      do {
        again = false;
        await load();
      } while (again && auth.token);
    } finally {
      refreshing = null;
      schedule();
    }
  })();
  return refreshing;
}

async function load() {
  let page;
  try {
    page = await listAssets(state.view);
  } catch (err) {
    showError(err.message, "list");
    return;
  }
  if (errorFrom === "list") showError("");
  const busy = page.assets.filter(BUSY);
  // The list leaves out job progress: read it for assets in the pipeline.
  const details = await Promise.all(busy.map((a) => api(assetPath(a.id)).catch(() => a)));
  const byId = new Map(details.map((d) => [d.id, d]));
  state.assets = page.assets.map((a) => byId.get(a.id) || a);
  state.next = page.next;
  state.refreshes += 1;
  renderRows();
  renderPager();
  if (panel.id && (byId.has(panel.id) || panel.busy)) panel.reload().catch(() => {});
}

function signature(a) {
  return JSON.stringify([a.title, a.status, a.error, a.duration, a.published, a.job?.progress,
    a.renditions.map((r) => r.height)]);
}

function row(a) {
  const progress = a.status === "ready" ? 1 : a.job?.progress ?? 0;
  const rungs = a.renditions.filter((r) => r.kind === "video").map((r) => `${r.height}p`).join(" ");
  const name = a.title || a.id;
  const publish = el("button", {
    type: "button",
    dataset: { publish: a.id },
    "aria-label": `${a.published ? "Unpublish" : "Publish"} ${name}`,
    onclick: () => togglePublished(a, publish),
  }, a.published ? "Unpublish" : "Publish");
  return el("tr", { dataset: { id: a.id, sig: signature(a) } },
    el("td", {}, a.title || "(untitled)", a.error ? el("div", { class: "error" }, a.error) : null),
    el("td", {}, idWithCopy(a.id, "asset id", announce)),
    el("td", { class: `state-${a.status}` }, a.status),
    el("td", {}, el("progress", { max: "1", value: String(progress), "aria-label": `Progress of ${name}` }),
      ` ${Math.round(progress * 100)} %`),
    el("td", {}, clock(a.duration)),
    el("td", {}, rungs),
    el("td", {}, a.published ? "yes" : "no"),
    el("td", { class: "row-actions" },
      publish,
      el("button", { type: "button", dataset: { manage: a.id }, "aria-label": `Manage ${name}`, onclick: () => manage(a.id) }, "Manage"),
      a.status === "ready" ? el("a", { href: `/watch/${a.id}`, "aria-label": `Watch ${name}` }, "Watch") : null),
  );
}

/** Rows kept when unchanged, so a refresh never takes focus or a half-read row away. */
function renderRows() {
  const body = $("assets").tBodies[0];
  const old = new Map([...body.rows].map((r) => [r.dataset.id, r]));
  const focused = document.activeElement;
  const focusKey = body.contains(focused) ? [focused.closest("tr")?.dataset.id, focused.dataset.publish ? "publish" : focused.dataset.manage ? "manage" : focused.dataset.copy ? "copy" : null] : null;
  const rows = state.assets.map((a) => {
    const kept = old.get(a.id);
    return kept && kept.dataset.sig === signature(a) ? kept : row(a);
  });
  body.replaceChildren(...rows);
  if (focusKey && !body.contains(focused)) {
    const tr = rows.find((r) => r.dataset.id === focusKey[0]);
    const selector = { publish: "[data-publish]", manage: "[data-manage]", copy: "[data-copy]" }[focusKey[1]];
    (selector && tr?.querySelector(selector))?.focus();
  }
  $("empty").hidden = rows.length > 0;
  const filtered = state.view.q || state.view.status;
  $("empty").textContent = filtered ? "No asset matches the search." : "No assets yet: upload a master above.";
}

function renderPager() {
  const { view } = state;
  const busy = state.assets.filter(BUSY).length;
  const pageNo = view.history.length + 1;
  $("prev-page").disabled = view.history.length === 0;
  $("next-page").disabled = !state.next;
  $("pager").hidden = view.history.length === 0 && !state.next;
  $("page-info").textContent = `Page ${pageNo}`;
  const search = [view.q && `matching “${view.q}”`, view.status && `in state ${view.status}`].filter(Boolean).join(", ");
  $("status").textContent = `${state.assets.length} asset(s) on this page${search ? `, ${search}` : ""}; ${busy} in the pipeline.`;
}

async function togglePublished(asset, button) {
  const verb = asset.published ? "unpublish" : "publish";
  button.disabled = true;
  try {
    const updated = await api(`${assetPath(asset.id)}/${verb}`, { method: "POST", action: `Could not ${verb} “${asset.title || asset.id}”` });
    announce(`“${updated.title || updated.id}” is ${updated.published ? "published" : "unpublished"}.`);
    showError("");
    await refresh();
    if (panel.id === asset.id) await panel.reload();
  } catch (err) {
    showError(err.message);
  } finally {
    button.disabled = false;
  }
}

async function manage(assetId) {
  try {
    await panel.open(assetId);
  } catch (err) {
    showError(err.message);
  }
}

// -- paging and search ----------------------------------------------------------------------
$("search").addEventListener("submit", (e) => {
  e.preventDefault();
  state.view = { q: $("q").value.trim(), status: $("status-filter").value, cursor: null, history: [] };
  refresh();
});

$("clear-search").addEventListener("click", () => {
  $("q").value = "";
  $("status-filter").value = "";
  state.view = { q: "", status: "", cursor: null, history: [] };
  refresh();
});

$("next-page").addEventListener("click", () => {
  if (!state.next) return;
  state.view.history.push(state.view.cursor);
  state.view.cursor = state.next;
  refresh().then(() => $("assets-title").focus());
});

$("prev-page").addEventListener("click", () => {
  if (!state.view.history.length) return;
  state.view.cursor = state.view.history.pop();
  refresh().then(() => $("assets-title").focus());
});

// -- deleted assets: restore ----------------------------------------------------------------
function renderDeleted() {
  $("deleted").hidden = state.deleted.length === 0;
  $("deleted-list").replaceChildren(...state.deleted.map((d) => el("li", {},
    `${d.title || "(untitled)"} `, idWithCopy(d.id, "asset id", announce), " ",
    el("button", { type: "button", dataset: { restore: d.id }, "aria-label": `Restore ${d.title || d.id}`,
      onclick: (e) => restore(d.id, e.currentTarget) }, "Restore"))));
}

async function restore(assetId, button) {
  const out = $("restore-status");
  out.textContent = "";
  $("restore-error").hidden = true;
  if (button) button.disabled = true;
  try {
    const r = await api(`${assetPath(assetId)}/restore`, { method: "POST", action: `Could not restore ${assetId}` });
    state.deleted = state.deleted.filter((d) => d.id !== assetId);
    renderDeleted();
    out.textContent = `Restoring ${assetId} from its master (job ${r.job ?? "queued"}); it is back in the list and plays once transcoded.`;
    await refresh();
  } catch (err) {
    $("restore-error").textContent = err.message;
    $("restore-error").hidden = false;
  } finally {
    if (button) button.disabled = false;
  }
}

$("restore-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const id = $("restore-id").value.trim();
  if (!/^[a-z0-9]{20}$/.test(id)) {
    $("restore-error").textContent = "An asset id is 20 lower-case letters and digits (copy it from the list or the deletion notice).";
    $("restore-error").hidden = false;
    return;
  }
  restore(id, e.submitter);
});

// -- upload -------------------------------------------------------------------------------
$("upload").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = $("file").files[0];
  if (!file || uploading) return;
  const bar = $("upload-progress");
  const status = $("upload-status");
  const record = { name: file.name, progress: [], assetId: null, error: null };
  state.uploads.push(record);
  const form = e.currentTarget;
  const chunkBytes = Number(form.dataset.chunkBytes) || undefined;
  bar.value = 0;
  bar.hidden = false;
  $("upload-cancel").hidden = false;
  $("upload-button").disabled = true;
  status.textContent = `Uploading ${file.name}…`;
  uploading = upload(file, {
    title: $("title").value.trim(),
    chunkBytes,
    onProgress: (fraction) => {
      bar.value = fraction;
      record.progress.push(fraction);
      $("upload-percent").textContent = `${Math.floor(fraction * 100)} %`;
    },
  });
  try {
    record.assetId = await uploading.done;
    status.replaceChildren(`Uploaded ${file.name} as asset `, idWithCopy(record.assetId, "asset id", announce),
      "; it is being transcoded.");
    form.reset();
    refresh();
  } catch (err) {
    record.error = err.message;
    status.textContent = err.message;
  } finally {
    uploading = null;
    bar.hidden = true;
    $("upload-percent").textContent = "";
    $("upload-cancel").hidden = true;
    $("upload-button").disabled = false;
  }
});

$("upload-cancel").addEventListener("click", () => uploading?.cancel());

// -- viewing quality and costs --------------------------------------------------------------
async function showQoe() {
  const section = $("qoe");
  section.hidden = false;
  try {
    await renderCatalogueQoe(section, { days: $("qoe-days").value, onManage: manage, announce });
    $("qoe-title").focus();
  } catch (err) {
    section.replaceChildren(el("h2", {}, "Viewing quality"), el("p", { class: "error", role: "alert" }, err.message));
  }
}

$("qoe-button").addEventListener("click", showQoe);
$("qoe-days").addEventListener("change", () => { if (!$("qoe").hidden) showQoe(); });

$("costs-button").addEventListener("click", () => {
  showCosts(api, el, $("reports")).catch((err) => showError(err.message));
});

show(!!auth.token);
