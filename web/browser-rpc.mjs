// A headless Chromium driven by playwright-core, answering JSON commands on stdin (one per
// line) with JSON results on stdout. The Python browser tests and bench/startup.py talk to it
// through tests/e2e/browser.py.
//
// Why Node and not Python's playwright: playwright-core is already an npm dev dependency next
// to the players (no browser download, no ~40 MB wheel), and the players' world is JavaScript.
// The browser is Debian's chromium ($CHROMIUM, else /usr/bin/chromium), launched the way a
// root user on a closed network needs: no sandbox, no GPU, no background traffic. Playwright
// gives every launch a fresh temporary user-data-dir (removed at exit), and every page here
// gets its own browser context: no cookies or cache shared between viewers.
//
//   {"id": 1, "cmd": "newPage", "page": "alice"}        → {"id": 1, "ok": true, "result": null}
//   {"id": 2, "cmd": "eval", "page": "alice", "expr": "document.title"}

import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--mute-audio",
  // more from the caller, e.g. --test-third-party-cookie-phaseout (tests/e2e/test_embed.py)
  ...(process.env.CHROMIUM_EXTRA_FLAGS || "").split(" ").filter(Boolean),
];

// Web storage and document.cookie throwing, as where the browser blocks them (private
// windows, "block all cookies", Safari third-party frames): in every frame of the context.
const BLOCK_STORAGE = `(() => {
  const blocked = () => { throw new DOMException("The operation is insecure.", "SecurityError"); };
  for (const name of ["sessionStorage", "localStorage"]) {
    Object.defineProperty(window, name, { get: blocked, configurable: true });
  }
  Object.defineProperty(Document.prototype, "cookie", { get: blocked, set: blocked, configurable: true });
})();`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: FLAGS,
});

const pages = new Map(); // name → { context, page, cdp, requests, console }
const t0 = Date.now();

function get(name) {
  const entry = pages.get(name);
  if (!entry) throw new Error(`no page ${name}`);
  return entry;
}

const commands = {
  // permissions: e.g. ["clipboard-read", "clipboard-write"] (tests/e2e/test_admin_browser.py)
  async newPage({ page: name, viewport = { width: 960, height: 600 }, blockStorage = false, permissions = [] }) {
    if (pages.has(name)) await commands.closePage({ page: name });
    const context = await browser.newContext({ viewport, permissions });
    if (blockStorage) await context.addInitScript(BLOCK_STORAGE);
    const page = await context.newPage();
    const entry = { context, page, cdp: null, requests: [], console: [] };
    page.on("request", (req) => {
      const rec = { url: req.url(), method: req.method(), type: req.resourceType(), at: Date.now() - t0, status: null, cookie: null };
      entry.requests.push(rec);
      req.allHeaders().then((h) => { rec.cookie = h.cookie || ""; }).catch(() => {});
      req.response().then((r) => { rec.status = r ? r.status() : null; }).catch(() => {});
    });
    page.on("requestfailed", (req) => {
      const rec = entry.requests.findLast((r) => r.url === req.url());
      if (rec) rec.failure = req.failure()?.errorText || "failed";
    });
    page.on("console", (m) => entry.console.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => entry.console.push(`pageerror: ${e.message}`));
    pages.set(name, entry);
    return null;
  },
  async goto({ page, url }) {
    const response = await get(page).page.goto(url, { waitUntil: "load" });
    return response ? response.status() : null;
  },
  async click({ page, selector, timeout = 10000 }) {
    await get(page).page.click(selector, { timeout });
    return Date.now() - t0;
  },
  async setInputFiles({ page, selector, files }) {
    await get(page).page.setInputFiles(selector, files);
    return null;
  },
  async eval({ page, expr }) {
    return get(page).page.evaluate(expr);
  },
  // The same in a child frame: the first whose URL contains `frame` (an embedded player).
  async frameEval({ page, frame, expr }) {
    const found = get(page).page.frames().find((f) => f.url().includes(frame));
    if (!found) throw new Error(`no frame with ${frame} in its URL: ${get(page).page.frames().map((f) => f.url())}`);
    return found.evaluate(expr);
  },
  async waitFor({ page, expr, timeout = 30000, polling = 100 }) {
    // Polled with evaluate (CDP Runtime.evaluate) rather than waitForFunction, whose string
    // predicates need eval(): the player page's Content-Security-Policy rightly forbids it.
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await get(page).page.evaluate(expr);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${expr}`);
      await new Promise((r) => setTimeout(r, polling));
    }
  },
  async throttle({ page, kbps, latencyMs = 20 }) {
    const entry = get(page);
    entry.cdp ??= await entry.context.newCDPSession(entry.page);
    await entry.cdp.send("Network.enable");
    const bytesPerS = kbps > 0 ? (kbps * 1000) / 8 : -1;
    await entry.cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: kbps > 0 ? latencyMs : 0,
      downloadThroughput: bytesPerS,
      uploadThroughput: bytesPerS,
    });
    return null;
  },
  async addCookies({ page, cookies }) {
    await get(page).context.addCookies(cookies);
    return null;
  },
  async cookies({ page, urls }) {
    return get(page).context.cookies(urls);
  },
  // Answer the page's requests whose URL matches `pattern` (a RegExp source) and, if given,
  // whose method is `method`, without the page's own access: `fulfill` ({status, contentType,
  // body}) as given, or else the server's answer fetched with the Cookie header `cookie`
  // instead of the page's (what a viewer could be handed by someone else). The page's request
  // log still records them, with the cookies the page itself would have sent.
  async route({ page, pattern, method = null, fulfill = null, cookie = "" }) {
    const re = new RegExp(pattern);
    await get(page).page.route((url) => re.test(url.href), async (route) => {
      const request = route.request();
      if (method && request.method() !== method) return route.fallback();
      if (fulfill) return route.fulfill(fulfill);
      const headers = { ...(await request.allHeaders()), cookie };
      return route.fulfill({ response: await route.fetch({ headers }) });
    });
    return null;
  },
  async requests({ page, since = 0 }) {
    return get(page).requests.filter((r) => r.at >= since);
  },
  async console({ page }) {
    return get(page).console;
  },
  async now() {
    return Date.now() - t0;
  },
  async screenshot({ page, path }) {
    await get(page).page.screenshot({ path });
    return path;
  },
  async closePage({ page, runBeforeUnload = true }) {
    const entry = pages.get(page);
    if (!entry) return null;
    pages.delete(page);
    await entry.page.close({ runBeforeUnload });
    // Let the page's last sendBeacon leave before the context goes.
    await new Promise((r) => setTimeout(r, 300));
    await entry.context.close();
    return null;
  },
  async quit() {
    await browser.close();
    setTimeout(() => process.exit(0), 10);
    return null;
  },
};

const reply = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
process.stdout.write(`${JSON.stringify({ ready: true, version: browser.version() })}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  let msg;
  try {
    msg = JSON.parse(line);
    const result = await commands[msg.cmd](msg);
    reply({ id: msg.id, ok: true, result: result ?? null });
  } catch (err) {
    reply({ id: msg?.id, ok: false, error: String(err?.stack || err) });
  }
}
await browser.close();
