// The admin API as the admin page uses it: the bearer token (kept in this tab only), every
// answer that is not a success turned into a sentence a person can act on, and the asset list
// with its paging headers (Link rel="next" / X-Next-Cursor, RFC 8288).

import { store } from "./access.js";

const KEY = "vodstack.adminToken";
let token = store.get(KEY);
let onSignedOut = () => {};

export const auth = {
  get token() { return token; },
  signIn(value) { token = value; store.set(KEY, value); },
  signOut() { token = null; store.remove(KEY); onSignedOut(); },
  /** Called when the server refuses the token (401). */
  onSignedOut(callback) { onSignedOut = callback; },
};

export class AdminError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

/** A sentence for a refused request: what happened, in words, with the server's reason. */
export async function explain(response, action = "", path = null) {
  let body = {};
  try { body = await response.clone().json(); } catch { /* not JSON */ }
  const status = response.status;
  const reason = String(body.error || "").replace(/\.$/, "");
  const problems = Array.isArray(body.detail)
    ? body.detail.map((d) => `${(d.loc || []).slice(1).join(".") || "value"}: ${d.msg}`).join("; ")
    : "";
  const say = (text) => new AdminError(action ? `${action}: ${text}` : text[0].toUpperCase() + text.slice(1), status);
  if (status === 401) return new AdminError("That admin token was not accepted. Sign in again with the token printed by vodstack serve.", status);
  if (status === 403) return say(reason ? `not allowed. ${reason}.` : "not allowed with this token.");
  // A route the server does not have answers FastAPI's own {"detail": "Not Found"}.
  if ((status === 404 || status === 405) && !reason) {
    const where = path || new URL(response.url || location.href, location.href).pathname;
    return say(`this server does not offer that yet (${where} answered HTTP ${status}). Update vodstack to use it.`);
  }
  if (status === 404) return say(`not found: ${reason}.`);
  if (status === 409) return say(`not possible now: ${reason}.`);
  if (status === 413) return say(`the file is too large: ${reason}.`);
  if (status === 415) return say(`the server cannot take that kind of file: ${reason}.`);
  if (status === 400 || status === 422) return say(`the server refused the values: ${problems || reason || "invalid request"}.`);
  if (status === 429) return say(`too many requests; wait ${response.headers.get("Retry-After") || "a few"} seconds and try again.`);
  if (status === 503) return say(`the server is busy or its catalogue is unavailable (${reason || "HTTP 503"}). Try again shortly.`);
  return say(`the server failed (HTTP ${status}${reason ? `: ${reason}` : ""}). Try again; if it keeps failing, look at the server's log.`);
}

export function networkError(action = "") {
  const text = "cannot reach the server. Check that vodstack is running and this computer is online, then try again.";
  return new AdminError(action ? `${action}: ${text}` : text[0].toUpperCase() + text.slice(1));
}

/** fetch with the token; the response when it succeeded, else an AdminError (a 401 signs out). */
export async function call(path, { action = "", ...options } = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      cache: "no-store",
      headers: { Authorization: `Bearer ${token}`, ...(options.headers || {}) },
    });
  } catch {
    throw networkError(action);
  }
  if (!response.ok) {
    const error = await explain(response, action);
    if (response.status === 401) auth.signOut();
    throw error;
  }
  return response;
}

/** `call`, then the JSON body (null for 204). */
export async function api(path, options = {}) {
  const response = await call(path, options);
  return response.status === 204 ? null : response.json();
}

export const json = (method, body) => ({
  method,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

/** The next page's cursor: `X-Next-Cursor`, else the `cursor` of the `Link: <…>; rel="next"`
 * URL; null on the last page or from a server that does not page. */
export function nextCursor(headers) {
  const given = headers.get("X-Next-Cursor");
  if (given) return given;
  for (const part of (headers.get("Link") || "").split(",")) {
    const match = part.match(/<([^>]*)>\s*;(?:.*;)?\s*rel="?next"?/i);
    if (match) {
      try {
        return new URL(match[1], location.href).searchParams.get("cursor");
      } catch { return null; }
    }
  }
  return null;
}

export const PAGE_SIZE = 50;

/** One page of assets: `{assets, next}`; only the contract's parameters are sent (a server
 * that pages refuses unknown ones). */
export async function listAssets({ q = "", status = "", cursor = null } = {}) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (q) params.set("q", q);
  if (status) params.set("status", status);
  if (cursor) params.set("cursor", cursor);
  const response = await call(`/api/assets?${params}`, { action: "Listing the assets" });
  return { assets: await response.json(), next: nextCursor(response.headers) };
}

export const assetPath = (id) => `/api/assets/${encodeURIComponent(id)}`;
