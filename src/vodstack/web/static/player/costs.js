// Costs on the admin page (GET /api/costs): bytes per day, watch-time share per rung and
// cost per title, drawn as inline SVG (no chart library, no CDN). Money is an estimate from
// the operator's unit prices (docs/costs.md).

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

const gb = (n) => `${(n / 1e9).toFixed(3)} GB`;
const pct = (x) => (x == null ? "–" : `${(x * 100).toFixed(1)} %`);

/** Horizontal bars: [[label, value, text]], one row each. */
export function bars(rows, { width = 560, row = 22, label = 150, color = "#3572b0" } = {}) {
  const max = Math.max(...rows.map((r) => r[1]), 0) || 1;
  const chart = svg("svg", { width, height: row * rows.length + 4, role: "img", class: "chart" });
  rows.forEach(([name, value, text], i) => {
    const y = i * row + 2;
    const w = ((width - label - 110) * value) / max;
    chart.append(
      svg("text", { x: 0, y: y + row * 0.7, "font-size": 12 }, document.createTextNode(name)),
      svg("rect", { x: label, y: y + 3, width: Math.max(w, 1), height: row - 6, fill: color },
        svg("title", {}, document.createTextNode(`${name}: ${text}`))),
      svg("text", { x: label + w + 6, y: y + row * 0.7, "font-size": 12 }, document.createTextNode(text)),
    );
  });
  return chart;
}

/** Vertical bars over days: {day: bytes}. */
export function columns(series, { width = 560, height = 140, color = "#4a9d5b" } = {}) {
  const days = Object.keys(series);
  const max = Math.max(...Object.values(series), 0) || 1;
  const chart = svg("svg", { width, height: height + 20, role: "img", class: "chart" });
  const step = days.length ? width / days.length : width;
  days.forEach((day, i) => {
    const h = (height * series[day]) / max;
    chart.append(svg("rect", { x: i * step + 1, y: height - h, width: Math.max(step - 2, 1), height: h, fill: color },
      svg("title", {}, document.createTextNode(`${day}: ${gb(series[day])}`))));
  });
  if (days.length) {
    chart.append(svg("text", { x: 0, y: height + 15, "font-size": 11 }, document.createTextNode(days[0])));
    chart.append(svg("text", { x: width, y: height + 15, "font-size": 11, "text-anchor": "end" },
      document.createTextNode(days[days.length - 1])));
  }
  return chart;
}

export async function showCosts(api, el, panel) {
  const c = await api("/api/costs");
  document.getElementById("costs")?.remove();
  const m = c.money;
  const money = (x) => `${x.toFixed(2)} ${c.currency}`;
  const section = el("section", { id: "costs" },
    el("h2", {}, "Costs"),
    el("p", {}, `Egress ${gb(c.egress.bytes)} (hit ratio ${pct(c.egress.hit_ratio)}, origin offload `
      + `${pct(c.egress.origin_offload)}); stored ${gb(c.stored_bytes)}; transcode `
      + `${(c.cpu_s / 3600).toFixed(2)} CPU-h. Estimate: egress ${money(m.egress)}, storage `
      + `${money(m.storage_month)}/month, transcode ${money(m.transcode)} — from your unit prices.`),
    el("h3", {}, "Bytes delivered per day"),
    columns(c.bytes_per_day),
    el("h3", {}, "Watch time per rung"),
    bars(c.rungs.map((r) => [r.height ? `${r.height}p` : "unknown", r.watch_share, pct(r.watch_share)])),
    el("h3", {}, "Cost per title"),
    bars(c.assets.slice(0, 15).map((a) => [(a.title || a.asset_id).slice(0, 22), a.money.total, money(a.money.total)]),
      { color: "#b05a35" }),
  );
  panel.append(section);
}
