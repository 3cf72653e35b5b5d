// Small DOM helpers for the admin page: element building (no innerHTML: titles and errors are
// data), copy-to-clipboard buttons, and number formats.

export const $ = (id) => document.getElementById(id);

/** `el("button", {type: "button", onclick: f}, "Text")`; `class`, `on*` and `dataset` are special. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "value" || k === "checked") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Put `text` on the clipboard: the Clipboard API, else a selected hidden textarea. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch { /* no permission or not a secure context: try the old way */ }
  const area = el("textarea", { readonly: true, class: "offscreen", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let done = false;
  try { done = document.execCommand("copy"); } catch { done = false; }
  area.remove();
  return done;
}

/**
 * An id shown whole (never cut) with a Copy button. `announce(text)` tells screen readers
 * and sighted users what happened.
 */
export function idWithCopy(id, what, announce) {
  const code = el("code", { class: "id" }, id);
  const button = el("button", {
    type: "button",
    class: "copy",
    "aria-label": `Copy ${what}: ${id}`,
    dataset: { copy: id },
    onclick: async () => {
      if (await copyText(id)) {
        button.textContent = "Copied";
        announce(`Copied ${what} ${id} to the clipboard.`);
        setTimeout(() => { button.textContent = "Copy"; }, 2000);
      } else {
        const range = document.createRange();
        range.selectNodeContents(code);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        announce(`Could not reach the clipboard: the id is selected, press Ctrl+C (⌘C) to copy it.`);
      }
    },
  }, "Copy");
  return el("span", { class: "id-copy" }, code, " ", button);
}

export const clock = (s) =>
  (s == null ? "–" : `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`);
export const pct = (x, digits = 0) => (x == null ? "–" : `${(x * 100).toFixed(digits)} %`);
export const ms = (s) => (s == null ? "–" : `${Math.round(s * 1000)} ms`);
export const mbps = (b) => (b ? `${(b / 1e6).toFixed(2)} Mb/s` : "–");
