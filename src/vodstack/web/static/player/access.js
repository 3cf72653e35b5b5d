// Who is watching and may they: the viewer token, POST /play (which sets the signed playback
// cookies), refreshing before they expire, and plain-language messages for every refusal.

const TOKEN_KEY = "vodstack.viewerToken";

// Web storage throws (SecurityError) where it is blocked: third-party iframes with storage
// partitioning or blocking, private windows, Safari ITP. The page must still play there, so
// every use goes through this store, which falls back to memory for the page's lifetime.
const memory = new Map();
export const store = {
  get(key) {
    try { return sessionStorage.getItem(key) ?? memory.get(key) ?? null; } catch { return memory.get(key) ?? null; }
  },
  set(key, value) {
    memory.set(key, value);
    try { sessionStorage.setItem(key, value); } catch { /* blocked: memory only */ }
  },
  remove(key) {
    memory.delete(key);
    try { sessionStorage.removeItem(key); } catch { /* blocked: memory only */ }
  },
};

/** A viewer token handed over by an embedding app (#token=… is preferred: fragments never
 * reach server logs), else the one this tab signed in with. */
export function takeToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  const given = hash.get("token") || query.get("token");
  if (given) {
    store.set(TOKEN_KEY, given);
    hash.delete("token");
    query.delete("token");
    const rest = hash.toString();
    const search = query.toString();
    history.replaceState(null, "", location.pathname + (search ? `?${search}` : "") + (rest ? `#${rest}` : ""));
    return given;
  }
  return store.get(TOKEN_KEY);
}

export function forgetToken() { store.remove(TOKEN_KEY); }

export function subjectOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).sub || null;
  } catch {
    return null;
  }
}

/** Development sign-in (POST /dev/token, only on this machine with the development IdP). */
export async function devSignIn(subject) {
  const r = await fetch("/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ subject }),
  });
  if (!r.ok) throw await refusal(r);
  const { token } = await r.json();
  store.set(TOKEN_KEY, token);
  return token;
}

export class AccessError extends Error {
  constructor(kind, title, detail, extra = {}) {
    super(`${title} ${detail}`.trim());
    Object.assign(this, { kind, title, detail, ...extra });
  }
}

// 403 `rule` from the entitlement service → what the viewer can understand and act on.
const RULES = {
  subscription: "Your account has no subscription that includes this video.",
  subscription_expired: "Your subscription has ended.",
  subscription_cancelled: "Your subscription was cancelled.",
  subscription_inactive: "Your subscription has not started yet.",
  licence: "Your institution has no licence for this video.",
  licence_expired: "Your institution's licence for this video has expired.",
  geo: "This video is not available in your country.",
};

async function refusal(response) {
  let body = {};
  try { body = await response.json(); } catch { /* not JSON */ }
  const status = response.status;
  if (status === 401) {
    return new AccessError("expired", "Please sign in again.",
      "Your sign-in has expired or is not valid.", { status });
  }
  if (status === 403) {
    const rule = body.rule || "denied";
    return new AccessError("not_entitled", "You are not entitled to watch this video.",
      `${RULES[rule] || body.error || ""} (rule: ${rule})`, { status, rule });
  }
  if (status === 404) {
    return new AccessError("not_found", "This video is not available.",
      "It does not exist or has been taken down.", { status });
  }
  if (status === 409) {
    return new AccessError("not_ready", "This video is still being prepared.",
      "Try again in a minute.", { status, retry: true });
  }
  if (status === 429) {
    const wait = Number(response.headers.get("Retry-After")) || 5;
    return new AccessError("busy", "Too many attempts.", `Please wait ${wait} seconds.`,
      { status, retry: true, waitS: wait });
  }
  return new AccessError("server", "Something went wrong on our side.",
    `The server answered ${status}. Please try again.`, { status, retry: true });
}

export function networkError() {
  return new AccessError("network", "Cannot reach the video service.",
    "Check your internet connection, then try again.", { retry: true });
}

/**
 * The path token (`/v1/{asset}/t/{token}/…`, see POST /play `token`) that the engines' request
 * hooks put into every URL they fetch, so a refreshed grant takes effect on the next request
 * without reloading the stream (manifests already loaded keep naming the old token).
 */
export class PathToken {
  constructor(assetId) {
    this.current = null;
    // Only this asset's URLs: another asset's token would be refused anyway. A URL without a
    // token gets one too: the MPD names its ClearKey licence server (dashif:Laurl) absolutely,
    // without the token, and Shaka prefers it to the configured one.
    this.pattern = new RegExp(`(/v1/${assetId.replace(/[^A-Za-z0-9]/g, "")}/)(?:t/[^/?#]+/)?`);
  }

  /** Take the token of a grant's `token.base` (`…/v1/{asset}/t/{token}`). */
  update(grant) {
    const base = grant?.token?.base;
    if (base) this.current = base.slice(base.lastIndexOf("/t/") + 3);
  }

  /** `url` with the freshest token (unchanged if it carries none). */
  rewrite(url) {
    return this.current ? String(url).replace(this.pattern, `$1t/${this.current}/`) : url;
  }
}

/**
 * POST /play with the viewer token. Sets the cookies for /v1/{asset}/ (credentials: include,
 * so they are stored even when the API is on another origin) and returns the grant with
 * `lifetimeS`: how long the cookies live, by the server's clock (so a wrong client clock
 * does not matter).
 */
export async function authorize(assetId, token, { anonymous = false } = {}) {
  if (!token && !anonymous) {
    throw new AccessError("signed_out", "Sign in to watch this video.", "");
  }
  let response;
  try {
    // A public title needs no viewer token: /play then answers with its plain URLs.
    response = await fetch(`/play/${encodeURIComponent(assetId)}`, {
      method: "POST",
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      credentials: "include",
      cache: "no-store",
    });
  } catch {
    throw networkError();
  }
  if (!response.ok) throw await refusal(response);
  const grant = await response.json();
  const serverNow = Date.parse(response.headers.get("Date") || "") / 1000 || Date.now() / 1000;
  grant.lifetimeS = Math.max(1, grant.expires - serverNow);
  grant.receivedAt = performance.now();
  return grant;
}

/** Refresh well before expiry: a quarter of the lifetime early (5 s to 60 s). */
export function refreshDelayMs(grant) {
  const margin = Math.min(60, Math.max(5, grant.lifetimeS / 4));
  return Math.max(1, grant.lifetimeS - margin) * 1000;
}
