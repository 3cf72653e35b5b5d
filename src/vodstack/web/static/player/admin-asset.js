// One asset on the admin page: what it is, and every action on it through the admin API —
// publish/unpublish, re-transcode, delete, protection, playback policy and access rules,
// captions and the poster — with its viewing quality beside the catalogue's.

import { api, assetPath, call, json } from "./admin-api.js";
import { $, clock, el, idWithCopy } from "./admin-dom.js";
import { assetQoe } from "./admin-qoe.js";

const SCHEMES = [
  ["clear", "Clear (no encryption)"],
  ["aes-128", "AES-128 (HLS)"],
  ["cbcs", "SAMPLE-AES cbcs (HLS and DASH)"],
  ["cenc", "CENC (DASH)"],
];

/** "a, b" → ["a", "b"]; "" → null (no restriction). */
const list = (text) => {
  const items = text.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
  return items.length ? items : null;
};

export class AssetPanel {
  /** ctx: {announce(text), changed(), deleted(asset), closed(id)} */
  constructor(section, ctx) {
    this.section = section;
    this.ctx = ctx;
    this.asset = null;
  }

  get id() { return this.asset?.id ?? null; }

  /** A job (e.g. a re-transcode) is queued or running: the page polls faster meanwhile. */
  get busy() { return ["queued", "running"].includes(this.asset?.job?.state); }

  close() {
    const id = this.id;
    this.asset = null;
    this.section.hidden = true;
    this.section.replaceChildren();
    if (id) this.ctx.closed(id);
  }

  async open(assetId) {
    this.asset = await api(assetPath(assetId), { action: "Opening the asset" });
    this.render();
    this.section.hidden = false;
    $("asset-title").focus();
    this.section.scrollIntoView({ block: "start" });
    await Promise.all([this.loadAccess(), this.loadCaptions(), this.loadQoe()]);
  }

  async reload() {
    this.asset = await api(assetPath(this.id), { action: "Reading the asset" });
    this.renderSummary();
  }

  /** Run `work` for `button`, telling the person what happened (or why not). */
  async act(button, work) {
    const notice = $("asset-notice");
    const error = $("asset-error");
    notice.textContent = "";
    error.textContent = "";
    error.hidden = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const message = await work();
      if (message) {
        notice.textContent = message;
        this.ctx.announce(message);
      }
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  name() { return `“${this.asset.title || this.asset.id}”`; }

  render() {
    const a = this.asset;
    this.section.replaceChildren(
      el("div", { class: "asset-head" },
        el("h2", { id: "asset-title", tabindex: "-1" }, a.title || "(untitled)"),
        el("button", { type: "button", id: "asset-close", onclick: () => this.close() }, "Close")),
      el("div", { id: "asset-summary" }),
      el("p", { id: "asset-notice", class: "notice", role: "status" }),
      el("p", { id: "asset-error", class: "error", role: "alert", hidden: true }),
      this.actions(),
      this.protection(),
      el("fieldset", { id: "access" }, el("legend", {}, "Who may watch"), el("p", {}, "Loading…")),
      el("section", { id: "captions", "aria-labelledby": "captions-title" },
        el("h3", { id: "captions-title" }, "Captions and subtitles"), el("p", {}, "Loading…")),
      this.poster(),
      el("section", { id: "asset-qoe", "aria-labelledby": "asset-qoe-title" },
        el("h3", { id: "asset-qoe-title" }, "Viewing quality"), el("p", {}, "Loading…")),
    );
    this.renderSummary();
  }

  renderSummary() {
    const a = this.asset;
    const job = this.busy
      ? ` · job ${a.job.state} ${Math.round((a.job.progress ?? 0) * 100)} %` : "";
    $("asset-summary").replaceChildren(...[
      el("p", {}, "Id ", idWithCopy(a.id, "asset id", this.ctx.announce)),
      el("p", {}, `State ${a.status}${job} · ${a.published ? "published" : "not published"} · playback `
        + `${a.playback_policy} · protection ${a.drm} · duration ${clock(a.duration)}`,
      a.status === "ready" ? el("span", {}, " · ", el("a", { href: `/watch/${a.id}` }, "watch")) : null),
      a.error ? el("p", { class: "error" }, `Last error: ${a.error}`) : null,
    ].filter(Boolean));
    const publish = $("asset-publish");
    if (publish) publish.textContent = a.published ? "Unpublish" : "Publish";
  }

  actions() {
    const confirmBox = el("div", { id: "delete-confirm", class: "confirm", role: "group", "aria-labelledby": "delete-question", hidden: true },
      el("p", { id: "delete-question" }, "Delete this asset? Viewers lose it at once; its master is kept, so it can be restored."),
      el("button", { type: "button", id: "delete-yes", class: "danger", onclick: (e) => this.act(e.currentTarget, () => this.remove()) }, "Yes, delete"),
      el("button", { type: "button", id: "delete-no", onclick: () => { confirmBox.hidden = true; $("asset-delete").focus(); } }, "Cancel"));
    return el("div", { class: "actions", role: "group", "aria-label": "Actions" },
      el("button", { type: "button", id: "asset-publish", onclick: (e) => this.act(e.currentTarget, () => this.togglePublished()) },
        this.asset.published ? "Unpublish" : "Publish"),
      el("button", { type: "button", id: "asset-retranscode", onclick: (e) => this.act(e.currentTarget, () => this.retranscode()) }, "Re-transcode"),
      el("button", { type: "button", id: "asset-delete", class: "danger", onclick: () => { confirmBox.hidden = false; $("delete-yes").focus(); } }, "Delete…"),
      confirmBox);
  }

  async togglePublished() {
    const verb = this.asset.published ? "unpublish" : "publish";
    this.asset = await api(`${assetPath(this.id)}/${verb}`, { method: "POST", action: `Could not ${verb} ${this.name()}` });
    this.renderSummary();
    this.ctx.changed();
    return this.asset.published ? `${this.name()} is published: entitled viewers can play it.` : `${this.name()} is unpublished: it no longer plays.`;
  }

  async retranscode() {
    const r = await api(`${assetPath(this.id)}/retranscode`, { method: "POST", action: `Could not re-transcode ${this.name()}` });
    await this.reload();
    this.ctx.changed();
    return `Re-transcoding ${this.name()} (job ${r.job}); the current version keeps playing until the new one is ready.`;
  }

  async remove() {
    const asset = this.asset;
    await call(assetPath(asset.id), { method: "DELETE", action: `Could not delete ${this.name()}` });
    this.ctx.deleted(asset);
    this.close();
    return "";
  }

  protection() {
    const current = new Set((this.asset.drm || "clear").split(","));
    const boxes = SCHEMES.map(([value, label]) => el("label", {},
      el("input", { type: "checkbox", name: "scheme", value, checked: current.has(value) }), ` ${label}`));
    const save = el("button", { type: "submit" }, "Save protection");
    const form = el("form", { id: "protection", onsubmit: (e) => {
      e.preventDefault();
      this.act(save, async () => {
        const schemes = [...form.querySelectorAll("input[name=scheme]:checked")].map((i) => i.value);
        if (!schemes.length) throw new Error("Choose at least one way to serve the asset (Clear serves it unencrypted).");
        this.asset = await api(`${assetPath(this.id)}/protection`, { ...json("PUT", { schemes }), action: "Could not change the protection" });
        this.renderSummary();
        return `${this.name()} is now served as ${this.asset.drm}; caches were purged.`;
      });
    } }, el("fieldset", {}, el("legend", {}, "Protection"), ...boxes, save));
    return form;
  }

  async loadAccess() {
    const box = $("access");
    if (!box) return;
    let rules;
    try {
      rules = await api(`${assetPath(this.id)}/access`, { action: "Reading the access rules" });
    } catch (err) {
      rules = null;
      box.append(el("p", { class: "error", role: "alert" }, `${err.message} The rules below start empty; saving replaces the rules in force.`));
    }
    const policy = this.asset.playback_policy;
    const field = (id, label, value, hint) => el("label", {}, label, " ",
      el("input", { id, value: (value || []).join(", "), "aria-describedby": `${id}-hint`, maxlength: "500" }),
      el("span", { id: `${id}-hint`, class: "hint" }, ` ${hint}`));
    const save = el("button", { type: "submit" }, "Save access");
    const form = el("form", { onsubmit: (e) => {
      e.preventDefault();
      this.act(save, async () => {
        const chosen = form.querySelector("input[name=playback]:checked").value;
        const allow = list($("access-allow").value);
        const deny = list($("access-deny").value);
        const wrong = [...(allow || []), ...(deny || [])].find((c) => !/^[A-Za-z]{2}$/.test(c));
        if (wrong) throw new Error(`Countries are two-letter ISO codes (FR, BE, US…): “${wrong}” is not one.`);
        await api(`${assetPath(this.id)}/access`, {
          ...json("PUT", { plans: list($("access-plans").value), geo_allow: allow, geo_deny: deny }),
          action: "Could not save the access rules",
        });
        if (chosen !== this.asset.playback_policy) {
          this.asset = await api(`${assetPath(this.id)}/playback`, { ...json("PUT", { policy: chosen }), action: "Could not change who may play" });
          this.renderSummary();
        }
        return `Access rules of ${this.name()} saved.`;
      });
    } },
    el("label", {}, el("input", { type: "radio", name: "playback", value: "signed", checked: policy !== "public" }), " Signed: entitled viewers only (POST /play)"),
    el("label", {}, el("input", { type: "radio", name: "playback", value: "public", checked: policy === "public" }), " Public: anyone may play"),
    field("access-plans", "Plans", rules?.plans, "comma-separated; empty: any active plan"),
    field("access-allow", "Only in countries", rules?.geo_allow, "ISO codes, e.g. FR, BE; empty: everywhere"),
    field("access-deny", "Not in countries", rules?.geo_deny, "ISO codes; empty: none refused"),
    save);
    box.replaceChildren(el("legend", {}, "Who may watch"), ...box.querySelectorAll(".error"), form);
  }

  async loadCaptions() {
    const box = $("captions");
    if (!box) return;
    const heading = $("captions-title");
    let tracks = [];
    let problem = null;
    try {
      tracks = await api(`${assetPath(this.id)}/captions`, { action: "Reading the captions" });
    } catch (err) { problem = err.message; }
    const rows = tracks.map((c) => el("tr", {},
      el("td", {}, c.language), el("td", {}, c.label), el("td", {}, c.kind), el("td", {}, c.source), el("td", {}, String(c.cues)),
      el("td", {}, c.source === "upload" ? el("button", {
        type: "button", "aria-label": `Remove the ${c.label} captions`,
        onclick: (e) => this.act(e.currentTarget, async () => {
          await call(`${assetPath(this.id)}/captions/${encodeURIComponent(c.track)}`, { method: "DELETE", action: "Could not remove the captions" });
          await this.loadCaptions();
          return `Removed the ${c.label} captions.`;
        }),
      }, "Remove") : "")));
    const add = el("button", { type: "submit" }, "Add captions");
    const form = el("form", { id: "caption-form", onsubmit: (e) => {
      e.preventDefault();
      this.act(add, async () => {
        const file = $("caption-file").files[0];
        if (!file) throw new Error("Choose a WebVTT or SRT file first.");
        const language = $("caption-language").value.trim();
        if (!language) throw new Error("Say which language the captions are in (e.g. en, fr, pt-BR).");
        const query = new URLSearchParams({ language, kind: $("caption-kind").value });
        if ($("caption-label").value.trim()) query.set("label", $("caption-label").value.trim());
        if ($("caption-default").checked) query.set("default", "true");
        const body = new FormData();
        body.append("file", file);
        const added = await api(`${assetPath(this.id)}/captions?${query}`, { method: "POST", body, action: "Could not add the captions" });
        await this.loadCaptions();
        return `Added ${added.label} captions (${added.cues} cues); they play at once.`;
      });
    } },
    el("label", {}, "File ", el("input", { type: "file", id: "caption-file", accept: ".vtt,.srt,text/vtt" })),
    el("label", {}, "Language ", el("input", { id: "caption-language", size: "6", maxlength: "35", placeholder: "en" })),
    el("label", {}, "Label ", el("input", { id: "caption-label", maxlength: "100", placeholder: "English" })),
    el("label", {}, "Kind ", el("select", { id: "caption-kind" }, el("option", { value: "subtitles" }, "subtitles"), el("option", { value: "captions" }, "captions"))),
    el("label", {}, el("input", { type: "checkbox", id: "caption-default" }), " default"),
    add);
    box.replaceChildren(...[heading,
      problem ? el("p", { class: "error", role: "alert" }, problem) : null,
      rows.length
        ? el("table", {}, el("thead", {}, el("tr", {}, ...["Language", "Label", "Kind", "Source", "Cues", ""].map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, ...rows))
        : el("p", {}, "No text tracks yet."),
      form].filter(Boolean));
  }

  pictureUrl(url) {
    // Without a configured public URL the pictures live on this server: use the page's origin.
    if (!url || !this.ctx.config.sameOriginMedia) return url;
    const u = new URL(url);
    return `${location.origin}${u.pathname}${u.search}`;
  }

  poster() {
    const a = this.asset;
    const img = el("img", { id: "poster-image", alt: `Poster of ${a.title || a.id}`, width: "320", hidden: !a.pictures?.poster });
    if (a.pictures?.poster) img.src = this.pictureUrl(a.pictures.poster);
    img.addEventListener("error", () => { img.hidden = true; });
    const set = el("button", { type: "submit" }, "Use this frame");
    const auto = el("button", { type: "button", onclick: (e) => this.act(e.currentTarget, () => this.setPoster(null)) }, "Choose automatically");
    return el("form", { id: "poster", onsubmit: (e) => {
      e.preventDefault();
      this.act(set, () => {
        const time = Number($("poster-time").value);
        if (!Number.isFinite(time) || time < 0) throw new Error("Give the poster's time in seconds from the start, e.g. 12.5.");
        return this.setPoster(time);
      });
    } }, el("fieldset", {}, el("legend", {}, "Poster"), img,
      el("p", { class: "hint" }, a.poster_time == null ? "Chosen automatically." : `Frame at ${a.poster_time} s.`),
      el("label", {}, "Time (seconds) ", el("input", { id: "poster-time", type: "number", min: "0", step: "0.1", value: a.poster_time ?? "" })),
      set, auto));
  }

  async setPoster(time) {
    await api(`${assetPath(this.id)}/poster`, { ...json("PUT", { time }), action: "Could not set the poster" });
    await this.reload();
    const img = $("poster-image");
    if (img && this.asset.pictures?.thumbnail && time != null) {
      img.src = `${this.pictureUrl(this.asset.pictures.thumbnail)}?time=${time}&width=320`;
      img.hidden = false;
    }
    return time == null ? "The poster is chosen automatically again." : `The poster is now the frame at ${time} s.`;
  }

  async loadQoe() {
    const box = $("asset-qoe");
    if (!box) return;
    const heading = $("asset-qoe-title");
    try {
      box.replaceChildren(heading, await assetQoe(this.id));
    } catch (err) {
      box.replaceChildren(heading, el("p", { class: "error", role: "alert" }, err.message));
    }
  }
}
