// /admin: the admin token (kept in this tab only), the assets with their pipeline state and
// progress (refreshed every 2 s), an upload form, and per-asset viewer analytics.

import { showCosts } from "./costs.js";
import { store } from "./access.js";

const KEY = "vodstack.adminToken";
const $ = (id) => document.getElementById(id);
let token = store.get(KEY);
let timer = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

async function api(path, options = {}) {
  const r = await fetch(path, { ...options, headers: { Authorization: `Bearer ${token}`, ...(options.headers || {}) } });
  if (r.status === 401) {
    store.remove(KEY);
    token = null;
    show(false);
    $("status").textContent = "";
    throw new Error("That admin token was not accepted.");
  }
  if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error || `HTTP ${r.status}`);
  return r.json();
}

function show(signedIn) {
  $("login").hidden = signedIn;
  $("panel").hidden = !signedIn;
  clearInterval(timer);
  if (signedIn) {
    refresh();
    timer = setInterval(refresh, 2000);
  }
}

const seconds = (s) => (s == null ? "" : `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`);
const pct = (x) => (x == null ? "–" : `${Math.round(x * 100)} %`);

async function refresh() {
  let assets;
  try {
    assets = await api("/api/assets?limit=1000"); // the newest 1,000, as before paging
  } catch (err) {
    $("status").textContent = err.message;
    return;
  }
  const busy = assets.filter((a) => !["ready", "failed"].includes(a.status));
  const details = await Promise.all(busy.map((a) => api(`/api/assets/${a.id}`).catch(() => a)));
  const byId = new Map(details.map((d) => [d.id, d]));
  const rows = assets.map((listed) => {
    const a = byId.get(listed.id) || listed;
    const progress = a.status === "ready" ? 1 : a.job?.progress ?? 0;
    const rungs = a.renditions.filter((r) => r.kind === "video").map((r) => `${r.height}p`).join(" ");
    return el("tr", {},
      el("td", {}, a.title || a.id, a.error ? el("div", { class: "error" }, a.error) : null),
      el("td", { class: `state-${a.status}` }, a.status),
      el("td", {}, el("progress", { max: "1", value: String(progress) }), ` ${Math.round(progress * 100)} %`),
      el("td", {}, seconds(a.duration)),
      el("td", {}, rungs),
      el("td", {}, a.published ? "yes" : "no"),
      el("td", {}, a.status === "ready" ? el("a", { href: `/watch/${a.id}` }, "watch") : ""),
      el("td", {}, a.status === "ready" ? el("button", { type: "button", class: "link", onclick: () => analytics(a) }, "analytics") : ""),
    );
  });
  $("assets").tBodies[0].replaceChildren(...rows);
  $("status").textContent = `${assets.length} asset(s); ${busy.length} in the pipeline`;
}

async function analytics(asset) {
  const a = await api(`/api/assets/${asset.id}/analytics`);
  const old = document.getElementById("analytics");
  old?.remove();
  const ms = (s) => (s == null ? "–" : `${Math.round(s * 1000)} ms`);
  const section = el("section", { id: "analytics" },
    el("h2", {}, `Viewers of ${asset.title || asset.id}`),
    el("p", {}, `${a.sessions} session(s), ${a.viewers} viewer(s); startup p50 ${ms(a.startup_p50_s)}, `
      + `p95 ${ms(a.startup_p95_s)}; rebuffering ${pct(a.rebuffer_ratio)}; average bitrate `
      + `${a.average_bitrate ? (a.average_bitrate / 1e6).toFixed(2) + " Mb/s" : "–"}; `
      + `sessions with errors ${pct(a.error_rate)}; completed ${a.completed_viewers}`),
    el("table", {},
      el("thead", {}, el("tr", {}, ...["Viewer", "Watched", "Completed", "Sessions", "Last seen"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...a.viewer_completions.map((v) => el("tr", {},
        el("td", {}, v.subject), el("td", {}, pct(v.percent_watched)), el("td", {}, v.completed ? "yes" : "no"),
        el("td", {}, String(v.sessions)), el("td", {}, new Date(v.last_seen).toLocaleString()))))),
  );
  $("panel").append(section);
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token").value.trim();
  store.set(KEY, token);
  show(true);
});

$("costs-button").addEventListener("click", () => {
  showCosts(api, el, $("panel")).catch((err) => { $("status").textContent = err.message; });
});

$("logout").addEventListener("click", () => {
  store.remove(KEY);
  token = null;
  show(false);
});

$("upload").addEventListener("submit", (e) => {
  e.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  if ($("title").value) form.append("title", $("title").value);
  const bar = $("upload-progress");
  bar.hidden = false;
  const xhr = new XMLHttpRequest(); // XHR, not fetch: it reports upload progress
  xhr.open("POST", "/api/assets");
  xhr.setRequestHeader("Authorization", `Bearer ${token}`);
  xhr.upload.onprogress = (p) => { if (p.lengthComputable) bar.value = p.loaded / p.total; };
  xhr.onload = () => {
    bar.hidden = true;
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    $("upload-status").textContent = xhr.status === 202 ? `uploaded: ${body.id}` : `upload refused: ${body.error || xhr.status}`;
    refresh();
  };
  xhr.onerror = () => { bar.hidden = true; $("upload-status").textContent = "upload failed: network error"; };
  xhr.send(form);
});

show(!!token);
