// Viewing quality on the admin page: the catalogue-wide QoE (GET /api/qoe) with a row per
// asset, and one asset's figures (GET /api/assets/{id}/analytics) beside the catalogue's.
// The measures and their definitions: telemetry/catalogue_qoe.py, docs/admin.md.

import { api, assetPath } from "./admin-api.js";
import { el, idWithCopy, ms, pct } from "./admin-dom.js";

let catalogue = null; // the last catalogue summary (all time), for the asset comparison

export async function catalogueQoe(days = "") {
  const query = new URLSearchParams({ top: "100" });
  if (days) query.set("days", days);
  const summary = await api(`/api/qoe?${query}`, { action: "Reading the viewing quality" });
  if (!days) catalogue = summary;
  return summary;
}

const completion = (f) => (f.views ? `${pct(f.completion_rate)} (${f.completed_views} of ${f.views} views)` : "–");

/** The rows every QoE table has: [label, value of figures]. */
const MEASURES = [
  ["Sessions", (f) => String(f.sessions)],
  ["Viewers", (f) => String(f.viewers)],
  ["Startup, median", (f) => ms(f.startup_p50_s)],
  ["Startup, 95th percentile", (f) => ms(f.startup_p95_s)],
  ["Rebuffering", (f) => pct(f.rebuffer_ratio, 2)],
  ["Sessions ending in an error", (f) => pct(f.error_rate, 1)],
  ["Completion", completion],
  ["Average share watched", (f) => pct(f.mean_percent_watched)],
];

function figuresTable(caption, columns) {
  return el("table", { class: "qoe-figures" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Measure"),
      ...columns.map(([name]) => el("th", { scope: "col" }, name)))),
    el("tbody", {}, ...MEASURES.map(([label, value]) => el("tr", {},
      el("th", { scope: "row" }, label), ...columns.map(([, f]) => el("td", {}, f ? value(f) : "–"))))),
  );
}

/** The catalogue view: totals, then one row per asset (most watched first). */
export async function renderCatalogueQoe(section, { days = "", onManage, announce }) {
  const summary = await catalogueQoe(days);
  const t = summary.totals;
  const period = days ? `the last ${days} days` : "all time";
  const rows = summary.per_asset.map((a) => el("tr", {},
    el("td", {}, a.deleted ? el("span", {}, "(deleted)") : a.title || "(untitled)"),
    el("td", {}, idWithCopy(a.asset_id, "asset id", announce)),
    el("td", {}, String(a.figures.sessions)),
    el("td", {}, ms(a.figures.startup_p50_s)),
    el("td", {}, pct(a.figures.rebuffer_ratio, 2)),
    el("td", {}, pct(a.figures.error_rate, 1)),
    el("td", {}, a.figures.views ? pct(a.figures.completion_rate) : "–"),
    el("td", {}, a.deleted ? "" : el("button", {
      type: "button", class: "link", "aria-label": `Manage ${a.title || a.asset_id}`,
      onclick: () => onManage(a.asset_id),
    }, "Manage")),
  ));
  section.replaceChildren(
    el("h2", { id: "qoe-title", tabindex: "-1" }, "Viewing quality"),
    el("p", {}, `${summary.sessions_considered} session(s) of ${summary.assets} asset(s), ${period}. `
      + `A view is one viewer's sessions of one asset; it is complete at ${pct(summary.threshold)} watched.`
      + (summary.truncated ? " Only the newest sessions were read: narrow the period for exact figures." : "")),
    figuresTable("The whole catalogue", [["Catalogue", t]]),
    el("h3", {}, "Per asset"),
    rows.length
      ? el("div", { class: "table-scroll" }, el("table", { id: "qoe-assets" },
        el("thead", {}, el("tr", {}, ...["Title", "Id", "Sessions", "Startup (median)", "Rebuffering",
          "Errors", "Completion", "Actions"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {},
          el("tr", { class: "baseline" }, el("th", { scope: "row" }, "Whole catalogue"), el("td", {}),
            el("td", {}, String(t.sessions)), el("td", {}, ms(t.startup_p50_s)), el("td", {}, pct(t.rebuffer_ratio, 2)),
            el("td", {}, pct(t.error_rate, 1)), el("td", {}, t.views ? pct(t.completion_rate) : "–"), el("td", {})),
          ...rows)))
      : el("p", {}, "Nobody has watched anything yet in this period."),
  );
}

/** One asset's figures (from its analytics report) beside the catalogue's. */
export async function assetQoe(assetId) {
  const [a, summary] = await Promise.all([
    api(`${assetPath(assetId)}/analytics`, { action: "Reading this asset's viewing quality" }),
    catalogue ? Promise.resolve(catalogue) : catalogueQoe(),
  ]);
  const known = a.viewer_completions.filter((v) => v.percent_watched != null);
  const completed = known.filter((v) => v.completed).length;
  const mine = {
    sessions: a.sessions,
    viewers: a.viewers,
    startup_p50_s: a.startup_p50_s,
    startup_p95_s: a.startup_p95_s,
    rebuffer_ratio: a.rebuffer_ratio,
    error_rate: a.error_rate,
    views: a.viewer_completions.length,
    completed_views: completed,
    completion_rate: known.length ? completed / known.length : null,
    mean_percent_watched: a.mean_percent_watched,
  };
  return figuresTable("Viewing quality: this asset and the whole catalogue",
    [["This asset", mine], ["Catalogue", summary.totals]]);
}
