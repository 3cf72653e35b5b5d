// The /watch/{assetId} page: sign in, POST /play, pick an engine, play with the signed
// cookies, keep them fresh, report QoE, and say in plain words what went wrong.
//
// window.vodstackPlayer exposes the player's state for embedding apps and tests (read-only
// by convention): phase, engine, levels, level, switches, stalls, errors, refreshes, ...

import {
  AccessError, PathToken, authorize, devSignIn, forgetToken, networkError, refreshDelayMs, subjectOf,
  takeToken,
} from "./access.js";
import { Beacons } from "./beacons.js";
import { createEngine, defaultEngine, preloadEngine, protocolOf } from "./engines.js";
import { cueAt, loadStoryboard } from "./storyboard.js";

const config = JSON.parse(document.getElementById("vodstack-config").textContent);
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const video = $("video");
const ENGINE_NAMES = { hls: "hls.js", dash: "dash.js", shaka: "Shaka Player", native: "native HLS" };
// Which credential the media requests carry: the signed cookies (what a CloudFront in front
// would verify) or the path token, which works where cookies are blocked — iframes on other
// sites (Safari ITP, Firefox Total Cookie Protection, Chrome's third-party cookie controls),
// some private windows. Token in /embed and whenever the page is framed; `?credential=` wins.
const framed = (() => { try { return window.top !== window.self; } catch { return true; } })();
const credential = ["cookie", "token"].includes(params.get("credential"))
  ? params.get("credential")
  : config.embed || framed ? "token" : "cookie";
const pathToken = new PathToken(config.assetId);
const rewrite = (url) => (credential === "token" ? pathToken.rewrite(url) : url);

const state = (window.vodstackPlayer = {
  assetId: config.assetId,
  credential,
  phase: "idle", // idle | signed_out | ready | loading | playing | stopped | error
  engine: null,
  levels: [],
  level: null,
  switches: [],
  stalls: [], // completed stalls during playback, in ms
  errors: [],
  refreshes: 0,
  storyboard: 0, // storyboard cues loaded (seek previews)
  audioTracks: [], // audio languages offered (a menu when more than one)
  durationShown: null, // the length the player shows: the title's own
  preview: null, // what the seek preview shows now: { t, url, x, y, w, h }
  startupMs: null, // click → first frame
  readyMs: null, // navigation → ready to play (signed in, cookies set, engine chosen)
  message: null,
  rule: null,
  sessionId: null,
  flush: () => beacons?.flush(),
});
Object.defineProperty(state, "bandwidthEstimate", {
  enumerable: true,
  get: () => (engine?.bandwidthEstimate ? Math.round(engine.bandwidthEstimate) : null),
});

let token = null;
let grant = null;
let engineName = null;
let engine = null;
let beacons = null;
let refreshTimer = null;
let started = false;
let retriedStart = false;
let loaded = false; // the engine has loaded the stream (errors now come only through hooks)
let firstFrameSeen = false;
let stallAt = null;
let lastPos = 0;
let storyboard = [];

// -- messages ----------------------------------------------------------------------------
function showMessage(err, action) {
  $("message-title").textContent = err.title;
  $("message-detail").textContent = err.detail || "";
  $("message").dataset.kind = err.kind || "error";
  const button = $("message-action");
  button.hidden = !action;
  if (action) {
    button.textContent = action.label;
    button.onclick = action.run;
  }
  $("message").hidden = false;
  $("spinner").hidden = true;
  $("play").hidden = true;
  state.message = `${err.title} ${err.detail || ""}`.trim();
  state.messageKind = err.kind || "error";
  state.rule = err.rule || null;
}

function hideMessage() {
  $("message").hidden = true;
  state.message = null;
}

const retry = { label: "Try again", run: () => location.reload() };

function describe(err) {
  if (err instanceof AccessError) return err;
  if (err?.drm && err?.status === 403) {
    // The licence server refused the key: the signed cookies do not cover this video.
    return new AccessError("drm_denied", "The key to this protected video was refused.",
      "You may not be entitled to watch it. Reload the page to try again.");
  }
  if (err?.status === 403) {
    return new AccessError("expired", "Your viewing pass has expired.", "Reload the page to continue.");
  }
  const code = String(err?.code ?? "");
  // dash.js protection errors are 100–199, Shaka's DRM category is 6xxx, hls.js says "key…".
  if (/^(1\d\d|6\d\d\d)$/.test(code) || /keySystem|license|licence/i.test(code)) {
    return new AccessError("drm", "This browser could not unlock this protected video.",
      "Try another browser, or ask the site for help.");
  }
  if (err?.kind === "media" || /media|decode|codec/i.test(code)) {
    return new AccessError("media", "This browser could not play the video.",
      "Try another browser, or a newer version of this one.");
  }
  if (err?.status === 0 || err?.kind === "network" || /network|load|timeout/i.test(code)) {
    return networkError();
  }
  return new AccessError("error", "The video stopped because of an error.", err?.message || "");
}

// -- quality, captions, status -----------------------------------------------------------
function label(level) {
  if (!level) return "";
  const mbps = level.bitrate ? ` · ${(level.bitrate / 1e6).toFixed(1)} Mb/s` : "";
  return `${level.height ? `${level.height}p` : "audio"}${mbps}`;
}

function renderLevels(levels) {
  state.levels = levels;
  const select = $("quality");
  select.replaceChildren(new Option("Auto", "-1"));
  for (const level of [...levels].reverse()) select.append(new Option(label(level), String(level.index)));
  select.disabled = levels.length < 2;
}

function renderTextTracks(tracks) {
  const button = $("captions");
  button.hidden = tracks.length === 0;
  button.onclick = () => {
    const on = button.getAttribute("aria-pressed") !== "true";
    engine.setTextTrack(on ? tracks[0].index : -1);
    button.setAttribute("aria-pressed", String(on));
  };
}

/** An audio-language menu, shown only when the title has more than one audio track. */
function renderAudioTracks(tracks) {
  state.audioTracks = tracks;
  const select = $("audio");
  select.replaceChildren(...tracks.map((t) => new Option(t.label || t.language || `Track ${t.index + 1}`, String(t.index))));
  $("audio-menu").hidden = tracks.length < 2;
}

function renderStatus() {
  const auto = $("quality").value === "-1";
  $("status").textContent = state.level ? `${auto ? "Auto: " : ""}${label(state.level)}` : "";
}

// -- access: sign-in, /play, refresh -----------------------------------------------------
function renderSignedIn() {
  const who = token && subjectOf(token);
  $("signed-in").hidden = !who;
  $("who").textContent = who || "";
  $("signin").hidden = !!token || !config.devSignIn;
}

function signedOut() {
  state.phase = "signed_out";
  renderSignedIn();
  showMessage(new AccessError("signed_out", "Sign in to watch this video.",
    config.devSignIn ? "Use the sign-in box below." : "Open this video from the app or site that signs you in."));
}

// Without a configured public URL the media are on this server, whatever name it was reached by.
function onThisServer(url) {
  return url && config.sameOriginMedia ? new URL(new URL(url).pathname, location.origin).href : url;
}

/** The grant's URLs for the credential in use: the token ones, or the cookie ones. */
function urls() {
  return credential === "token" && grant.token ? grant.token : grant;
}

function mediaUrl() {
  return onThisServer(urls()[protocolOf(engineName)]);
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, refreshDelayMs(grant));
}

async function refresh() {
  try {
    const fresh = await authorize(config.assetId, token, { anonymous: config.public });
    grant = { ...fresh, session: grant.session }; // one telemetry session per page view
    pathToken.update(grant); // the engines' request hooks now send the fresh token
    state.refreshes += 1;
    scheduleRefresh();
    showPictures(); // a title finished while it played: its poster and storyboard exist now
    return true;
  } catch (err) {
    const left = grant.lifetimeS * 1000 - (performance.now() - grant.receivedAt);
    if (err.retry && left > 2000) {
      refreshTimer = setTimeout(refresh, Math.min(5000, left / 2)); // transient: try again
      return false;
    }
    stopAtBoundary(err);
    return false;
  }
}

/** Protection of the chosen protocol, as POST /play describes it (absent: clear). */
function drmFor(name) {
  const protocol = protocolOf(name);
  const license = credential === "token" && grant.token ? grant.token.license : grant.drm?.license;
  return { scheme: grant.drm?.[protocol] || "clear", license: onThisServer(license) || null };
}

/** The engine to use: the one asked for, else the browser's best — falling over to DASH
 * (Shaka) when this asset is not offered over HLS (e.g. protected with a DASH-only scheme). */
async function chooseEngine() {
  const asked = params.get("engine");
  if (asked) return asked;
  const best = await defaultEngine(video, config.engines);
  // HLS SAMPLE-AES (cbcs, KEYFORMAT identity) is for Apple's own player; elsewhere, and when
  // there is no HLS at all, DASH with ClearKey through Shaka.
  const hlsUnplayable = !grant.hls || (grant.drm?.hls === "cbcs" && best !== "native");
  if (best && best !== "native" && hlsUnplayable && grant.dash) return "shaka";
  return best;
}

/** Refresh was refused: stop now, at the boundary of what the viewer was entitled to. */
function stopAtBoundary(err) {
  clearTimeout(refreshTimer);
  engine?.stop();
  video.pause();
  state.phase = "stopped";
  showMessage(err, err.kind === "expired" && config.devSignIn
    ? { label: "Sign in again", run: () => { forgetToken(); location.reload(); } }
    : undefined);
  beacons?.close(err.kind, video.currentTime);
}

async function prepare() {
  renderSignedIn();
  try {
    grant = await authorize(config.assetId, token, { anonymous: config.public });
  } catch (err) {
    state.phase = err.kind === "signed_out" ? "signed_out" : "error";
    if (err.kind === "expired") forgetToken();
    showMessage(err, err.kind === "expired" && config.devSignIn
      ? { label: "Sign in again", run: () => location.reload() }
      : err.retry ? retry : undefined);
    if (err.kind === "expired") $("signin").hidden = !config.devSignIn;
    return;
  }
  state.sessionId = grant.session.id;
  pathToken.update(grant);
  scheduleRefresh();
  showPictures();
  engineName = await chooseEngine();
  if (!engineName || !ENGINE_NAMES[engineName]) {
    state.phase = "error";
    showMessage(new AccessError("unsupported", "This browser cannot play this video.",
      "It supports neither Media Source Extensions nor HLS. Try a current browser."));
    return;
  }
  if (!grant[protocolOf(engineName)]) {
    state.phase = "error";
    showMessage(new AccessError("unsupported", "This video is not offered in this format.",
      `Its protection is not available over ${protocolOf(engineName).toUpperCase()}; try another player.`));
    return;
  }
  state.engine = engineName;
  $("engine").textContent = ENGINE_NAMES[engineName];
  beacons = new Beacons(grant.session, engineName);
  beacons.onHeartbeat = () => beacons.push("heartbeat", { pos: video.currentTime });
  preloadEngine(engineName, config.engines).catch(() => {}); // fetch the code while we wait
  hideMessage();
  state.phase = "ready";
  state.readyMs = performance.now();
  $("play").hidden = false;
  $("toggle").disabled = false;
  renderTime();
  if (params.get("autoplay") === "1") start();
}

// -- poster and seek previews ------------------------------------------------------------
/** Poster and storyboard live under the asset's signed path: load them once cookies exist. */
function showPictures() {
  const pictures = urls();
  if (pictures.poster && !video.poster) video.poster = onThisServer(pictures.poster);
  if (!pictures.storyboard || storyboard.length) return;
  loadStoryboard(onThisServer(pictures.storyboard))
    .then((cues) => { storyboard = cues; state.storyboard = cues.length; })
    .catch(() => {}); // previews are a nicety: playback goes on without them
}

function clock(t) {
  const s = Math.max(0, Math.floor(t));
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${Math.floor(s / 60)}:${ss}`;
}

/** The title's length: the catalogue's (what was uploaded), not the media element's, which
 * counts the last segment's padding and audio priming too. */
function duration() {
  if (grant?.duration > 0) return grant.duration;
  return Number.isFinite(video.duration) ? video.duration : 0;
}

/** Where the pointer is on the seek bar: fraction and time. */
function scrubAt(event) {
  const box = $("scrub").getBoundingClientRect();
  const f = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
  return { f, t: f * duration(), width: box.width };
}

function renderTime() {
  const total = duration();
  const now = Math.min(video.currentTime, total || video.currentTime);
  $("time").textContent = total ? `${clock(now)} / ${clock(total)}` : clock(now);
  state.durationShown = total;
  if (total > 0) $("scrub-fill").style.width = `${Math.min(100, (100 * now) / total)}%`;
}

function showPreview({ f, t, width }) {
  const preview = $("preview");
  const cue = cueAt(storyboard, t);
  $("preview-time").textContent = clock(t);
  const w = cue ? cue.w : 80;
  if (cue) {
    preview.style.backgroundImage = `url("${rewrite(cue.url)}")`;
    preview.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    preview.style.width = `${cue.w}px`;
    preview.style.height = `${cue.h}px`;
  }
  preview.style.left = `${Math.min(Math.max(0, f * width - w / 2), Math.max(0, width - w))}px`;
  preview.hidden = false;
  state.preview = cue ? { t, url: rewrite(cue.url), x: cue.x, y: cue.y, w: cue.w, h: cue.h } : { t };
}

$("scrub").addEventListener("mousemove", (e) => showPreview(scrubAt(e)));
$("scrub").addEventListener("mouseleave", () => { $("preview").hidden = true; state.preview = null; });
$("scrub").addEventListener("click", (e) => {
  const { t } = scrubAt(e);
  if (Number.isFinite(video.duration)) video.currentTime = Math.min(t, video.duration);
});
video.addEventListener("durationchange", () => {
  $("scrub").hidden = !Number.isFinite(video.duration);
  renderTime();
});
video.addEventListener("timeupdate", renderTime);

// -- our controls: the one seek bar above, play/pause, mute, audio, full screen ----------
// (no native controls: they would draw a second seek bar over the video)
const togglePlay = () => { if (!started) start(); else if (video.paused) video.play().catch(() => {}); else video.pause(); };
$("toggle").addEventListener("click", togglePlay);
video.addEventListener("click", () => { if (started) togglePlay(); });
video.addEventListener("play", () => { $("toggle").textContent = "Pause"; });
video.addEventListener("pause", () => { $("toggle").textContent = "Play"; });
$("mute").addEventListener("click", () => { video.muted = !video.muted; });
video.addEventListener("volumechange", () => {
  $("mute").setAttribute("aria-pressed", String(video.muted));
  $("mute").textContent = video.muted ? "Unmute" : "Mute";
});
$("audio").addEventListener("change", (e) => engine?.setAudioTrack(Number(e.target.value)));
$("fullscreen").addEventListener("click", () => {
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  else $("player").requestFullscreen?.().catch(() => {});
});

// -- playback ----------------------------------------------------------------------------
async function start() {
  if (started || !grant) return;
  started = true;
  loaded = false;
  const t0 = performance.now();
  state.phase = "loading";
  $("play").hidden = true;
  $("spinner").hidden = false;
  beacons.start(t0);
  const firstFrame = () => {
    if (firstFrameSeen) return;
    firstFrameSeen = true;
    state.startupMs = performance.now() - t0;
    state.phase = "playing";
    $("spinner").hidden = true;
    beacons.push("first_frame", { ms: Math.round(state.startupMs), pos: video.currentTime });
  };
  if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(firstFrame);
  else video.addEventListener("playing", firstFrame, { once: true });
  try {
    engine = await createEngine(engineName, video, config.engines, hooks);
    const bufferS = Number(params.get("buffer")) || undefined;
    await engine.load(mediaUrl(), { bufferS, drm: drmFor(engineName), rewrite });
    loaded = true;
    try {
      await video.play();
    } catch (err) {
      if (err.name !== "NotAllowedError") throw err;
      video.muted = true; // autoplay with sound refused: start muted, the viewer can unmute
      await video.play();
    }
  } catch (err) {
    if (err.status === 403 && !err.drm && !retriedStart && (await refresh())) {
      retriedStart = true; // the cookie lapsed between page load and click: once more
      started = false;
      engine?.destroy();
      return start();
    }
    fail(err);
  }
}

function fail(err) {
  if (state.phase === "stopped" || state.phase === "error") return; // already said why
  state.phase = "error";
  const described = describe(err);
  showMessage(described, described.retry ? retry : undefined);
  beacons?.push("error", { fatal: true, code: String(err.code || err.name || "error"), message: String(err.message || "").slice(0, 400) });
  beacons?.flush();
}

let recovering = false;
const hooks = {
  onLevels: renderLevels,
  onTextTracks: renderTextTracks,
  onAudioTracks: renderAudioTracks,
  onSwitch(level) {
    if (!level) return;
    state.level = level;
    state.switches.push({ ...level, at: performance.now() });
    beacons.push("switch", { bitrate: level.bitrate, height: level.height, width: level.width });
    renderStatus();
  },
  async onError(err) {
    state.errors.push({ ...err, at: performance.now() });
    beacons.push("error", { fatal: err.fatal, code: String(err.code || ""), message: String(err.message || "").slice(0, 400) });
    if (err.status === 403 && !err.drm && !recovering && state.phase !== "stopped") {
      // The cookie lapsed (a sleeping laptop, a late refresh): get a fresh one and go on.
      // Not for a refused licence: the media it unlocks just went with the same cookies.
      recovering = true;
      if (await refresh()) engine.recover();
      recovering = false;
      return;
    }
    // While loading, load() reports its own failure; once it has resolved (e.g. a licence
    // refused before the first frame) nobody else would, and the spinner would turn for ever.
    if (err.fatal && (state.phase !== "loading" || loaded)) fail(err);
  },
};

// -- telemetry from the video element ----------------------------------------------------
video.addEventListener("timeupdate", () => { if (!video.seeking) lastPos = video.currentTime; });
video.addEventListener("playing", () => {
  if (stallAt !== null) {
    state.stalls.push(performance.now() - stallAt);
    stallAt = null;
  }
  $("spinner").hidden = true;
  if (firstFrameSeen) beacons?.push("playing", { pos: video.currentTime });
});
video.addEventListener("pause", () => { if (!video.ended) beacons?.push("pause", { pos: video.currentTime }); });
video.addEventListener("waiting", () => {
  if (!firstFrameSeen || video.seeking || stallAt !== null) return;
  stallAt = performance.now();
  $("spinner").hidden = false;
  beacons.push("stall_start", { pos: video.currentTime });
});
video.addEventListener("seeking", () => {
  stallAt = null; // waiting after a seek is not a stall of the playback
  beacons?.push("seek", { from: lastPos, to: video.currentTime });
});
video.addEventListener("seeked", () => {
  lastPos = video.currentTime;
  if (!video.paused) beacons?.push("playing", { pos: video.currentTime });
});
video.addEventListener("ended", () => {
  beacons?.push("ended", { pos: video.currentTime });
  beacons?.flush();
});
window.addEventListener("pagehide", () => beacons?.close("pagehide", video.currentTime));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden" && beacons?.started) {
    beacons.push("heartbeat", { pos: video.currentTime });
    beacons.flush({ unloading: true });
  }
});
$("quality").addEventListener("change", (e) => { engine?.setLevel(Number(e.target.value)); renderStatus(); });
$("play").addEventListener("click", start);
$("signout").addEventListener("click", () => { forgetToken(); location.reload(); });
$("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  try {
    token = await devSignIn($("subject").value.trim());
  } catch (err) {
    showMessage(err instanceof AccessError ? err : networkError());
    return;
  }
  hideMessage();
  prepare();
});

// -- go ----------------------------------------------------------------------------------
token = takeToken();
if (token || config.public) prepare();
else signedOut();
