// Playback engines behind one small interface, so the page does not care which one plays.
//
//   const engine = await createEngine(name, video, urls, hooks)
//   await engine.load(url, { bufferS, drm })   attach and load; resolves when renditions are
//                         known. drm: { scheme, license } from POST /play — "clear", "aes-128"
//                         (HLS keys behind the same cookies: nothing to configure) or
//                         "cenc"/"cbcs" (W3C ClearKey via EME, licence server `license`; for
//                         HLS cbcs hls.js reads the SAMPLE-AES keys as ClearKey, see below).
//                         rewrite(url) → url: applied to every request (manifests, segments,
//                         keys, licences) through the engine's own hook, to swap a refreshed
//                         path token in: hls.js loader, dash.js request interceptor, Shaka
//                         request filter.
//   engine.levels()       [{ index, height, width, bitrate }] video rungs, lowest first
//   engine.setLevel(i)    pin rung i, or -1 for automatic (ABR)
//   engine.textTracks()   [{ index, label, language }];  engine.setTextTrack(i | -1)
//   engine.audioTracks()  [{ index, label, language }];  engine.setAudioTrack(i)
//   engine.recover()      resume loading after a recoverable error (e.g. cookie refreshed)
//   engine.stop()         stop fetching (access ended);  engine.destroy()
// hooks: onLevels(levels), onSwitch(level), onError({ fatal, code, message, status, drm }),
//        onTextTracks(tracks), onAudioTracks(tracks)
//        (drm: an EME / licence error; status: its HTTP status if any)
//
// Every engine sends credentials with each request, so the CloudFront-* playback cookies go
// with the manifest and every segment even when media are served from another origin (a CDN).
// Where cookies cannot be kept (iframes on other sites, private windows) the page plays the
// token URLs instead: the token is in the path, so relative URIs carry it on.

const HLS_MIME = "application/vnd.apple.mpegurl";
const CLEARKEY = "org.w3.clearkey";
const usesEme = (drm) => !!drm?.license && (drm.scheme === "cenc" || drm.scheme === "cbcs");

// Classic (UMD) scripts — Shaka ships no ES module build — are loaded with a script element.
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const found = document.querySelector(`script[data-src="${CSS.escape(src)}"]`);
    if (found) {
      found.dataset.loaded === "1" ? resolve() : found.addEventListener("load", resolve);
      return;
    }
    const el = document.createElement("script");
    el.src = src;
    el.async = true;
    el.dataset.src = src;
    el.addEventListener("load", () => { el.dataset.loaded = "1"; resolve(); });
    el.addEventListener("error", () => reject(new Error(`could not load ${src}`)));
    document.head.append(el);
  });
}

/** Fetch and evaluate an engine's code without starting it (done while the page waits). */
export async function preloadEngine(name, urls) {
  if (name === "hls") return import(urls.hls);
  if (name === "dash") return import(urls.dash);
  if (name === "shaka") return loadScript(urls.shaka);
  return null;
}

/** The engine to use when the page does not name one: hls.js where Media Source Extensions
 * work (Chromium answers "maybe" to canPlayType(HLS) but cannot play it), else the browser's
 * own HLS (Safari on iPhone), else none. */
export async function defaultEngine(video, urls) {
  if (window.MediaSource || window.ManagedMediaSource) {
    const { default: Hls } = await import(urls.hls);
    if (Hls.isSupported()) return "hls";
  }
  if (video.canPlayType(HLS_MIME)) return "native";
  return null;
}

export function protocolOf(name) {
  return name === "dash" || name === "shaka" ? "dash" : "hls";
}

export async function createEngine(name, video, urls, hooks) {
  switch (name) {
    case "hls": return new HlsEngine(video, (await import(urls.hls)).default, hooks);
    case "dash": return new DashEngine(video, await import(urls.dash), hooks);
    case "shaka": await loadScript(urls.shaka); return new ShakaEngine(video, window.shaka, hooks);
    case "native": return new NativeEngine(video, hooks);
    default: throw new Error(`unknown engine ${name}`);
  }
}

const byBitrate = (a, b) => a.bitrate - b.bitrate;

// HLS cbcs is signalled `#EXT-X-KEY:METHOD=SAMPLE-AES,KEYFORMAT="identity"` (the key at the
// URI, for Apple's player). hls.js decrypts identity SAMPLE-AES in software for MPEG-2 TS only
// ("The MP4 demuxer does not support SAMPLE-AES decryption"), and uses EME only for a key
// system's KEYFORMAT — and while an identity key is present it picks that one. For fMP4 cbcs
// the page therefore hands hls.js only the ClearKey line (vodstack writes one beside the
// identity line; another packager's identity-only playlist is read as ClearKey): hls.js
// takes the KID from the init segment's tenc and asks our licence server (the same key as
// the identity URI, behind the same cookies).
const SAMPLE_AES_KEY = /^#EXT-X-KEY:(?=.*\bMETHOD=SAMPLE-AES(?:,|$)).*$/gm;

export function clearKeyPlaylist(text) {
  // vodstack names both key systems: keep only the ClearKey line, or hls.js takes "identity"
  if (text.includes(`KEYFORMAT="${CLEARKEY}"`)) {
    return text.replace(SAMPLE_AES_KEY, (line) => (line.includes(`KEYFORMAT="${CLEARKEY}"`) ? line : ""));
  }
  // another packager's playlist with an identity key only: read it as ClearKey
  return text.replace(SAMPLE_AES_KEY, (line) => (/\bKEYFORMAT=/.test(line)
    ? line.replace(/\bKEYFORMAT="identity"/, `KEYFORMAT="${CLEARKEY}"`)
    : `${line},KEYFORMAT="${CLEARKEY}"`));
}

function clearKeyPlaylistLoader(Base) {
  return class extends Base {
    load(context, config, callbacks) {
      const onSuccess = (response, stats, ctx, details) => {
        if (typeof response.data === "string") response.data = clearKeyPlaylist(response.data);
        callbacks.onSuccess(response, stats, ctx, details);
      };
      super.load(context, config, { ...callbacks, onSuccess });
    }
  };
}

class HlsEngine {
  constructor(video, Hls, hooks) {
    this.name = "hls";
    this.video = video;
    this.Hls = Hls;
    this.hooks = hooks;
  }

  load(url, { bufferS, drm, rewrite = (u) => u } = {}) {
    const Hls = this.Hls;
    if (!Hls.isSupported()) throw new Error("hls.js is not supported in this browser");
    // hls.js's loader hook: every playlist, key and segment request passes through load().
    const Loader = class extends Hls.DefaultConfig.loader {
      load(context, config, callbacks) {
        context.url = rewrite(context.url);
        super.load(context, config, callbacks);
      }
    };
    const config = {
      loader: Loader,
      xhrSetup: (xhr) => { xhr.withCredentials = true; },
      fetchSetup: (context, init) => new Request(rewrite(context.url), { ...init, credentials: "include" }),
    };
    if (bufferS) Object.assign(config, { maxBufferLength: bufferS, maxMaxBufferLength: bufferS });
    if (usesEme(drm)) {
      Object.assign(config, {
        emeEnabled: true,
        drmSystems: { [CLEARKEY]: { licenseUrl: drm.license } },
        licenseXhrSetup: (xhr, licenseUrl) => {
          xhr.open("POST", rewrite(licenseUrl), true); // hls.js opens it only if we did not
          xhr.withCredentials = true;
        },
      });
      if (drm.scheme === "cbcs") config.pLoader = clearKeyPlaylistLoader(Loader);
    }
    const hls = (this.hls = new Hls(config));
    return new Promise((resolve, reject) => {
      let ready = false;
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        ready = true;
        this.hooks.onLevels?.(this.levels());
        resolve();
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, (_, { level }) => this.hooks.onSwitch?.(this.#level(level)));
      hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => this.hooks.onTextTracks?.(this.textTracks()));
      hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, () => this.hooks.onAudioTracks?.(this.audioTracks()));
      hls.on(Hls.Events.ERROR, (_, d) => {
        const error = {
          fatal: !!d.fatal,
          code: d.details,
          message: d.error?.message || d.reason || d.details,
          status: d.response?.code || d.networkDetails?.status || 0,
          kind: d.type === Hls.ErrorTypes.MEDIA_ERROR ? "media" : "network",
          drm: d.type === Hls.ErrorTypes.KEY_SYSTEM_ERROR,
        };
        this.lastError = error;
        if (!ready && d.fatal) reject(Object.assign(new Error(error.message), error));
        this.hooks.onError?.(error);
      });
      hls.loadSource(url);
      hls.attachMedia(this.video);
    });
  }

  #level(i) {
    const l = this.hls.levels[i];
    return l ? { index: i, height: l.height, width: l.width, bitrate: l.bitrate } : null;
  }

  levels() { return this.hls.levels.map((_, i) => this.#level(i)).sort(byBitrate); }
  get currentLevel() { return this.hls ? this.#level(this.hls.currentLevel) : null; }
  setLevel(i) { this.hls.currentLevel = i; }
  get auto() { return this.hls.autoLevelEnabled; }
  get bandwidthEstimate() { return this.hls?.bandwidthEstimate ?? null; }

  textTracks() {
    return (this.hls?.subtitleTracks || []).map((t, i) => ({ index: i, label: t.name, language: t.lang }));
  }

  setTextTrack(i) {
    this.hls.subtitleTrack = i;
    this.hls.subtitleDisplay = i >= 0;
  }

  audioTracks() {
    return (this.hls?.audioTracks || []).map((t, i) => ({ index: i, label: t.name || t.lang, language: t.lang }));
  }

  setAudioTrack(i) { this.hls.audioTrack = i; }

  recover() {
    if (this.lastError?.kind === "media") this.hls.recoverMediaError();
    else this.hls.startLoad(Math.max(0, this.video.currentTime));
  }

  stop() { this.hls?.stopLoad(); }
  destroy() { this.hls?.destroy(); }
}

class DashEngine {
  constructor(video, dashjs, hooks) {
    this.name = "dash";
    this.video = video;
    this.dashjs = dashjs;
    this.hooks = hooks;
  }

  load(url, { bufferS, drm, rewrite = (u) => u } = {}) {
    const { MediaPlayer, Debug } = this.dashjs;
    const events = MediaPlayer.events;
    const player = (this.player = MediaPlayer().create());
    const streaming = { abr: { autoSwitchBitrate: { video: true } } };
    if (bufferS) {
      streaming.buffer = {
        bufferTimeDefault: bufferS,
        bufferTimeAtTopQuality: bufferS,
        bufferTimeAtTopQualityLongForm: bufferS,
      };
    }
    player.updateSettings({ debug: { logLevel: Debug.LOG_LEVEL_WARNING }, streaming });
    player.setXHRWithCredentialsForType(undefined, true);
    // dash.js 5 request interceptors see every request (MPD, segments, licence) before it goes.
    player.addRequestInterceptor((request) => {
      request.url = rewrite(request.url);
      return Promise.resolve(request);
    });
    if (usesEme(drm)) {
      player.setProtectionData({ [CLEARKEY]: { serverURL: drm.license, withCredentials: true } });
    }
    return new Promise((resolve, reject) => {
      let ready = false;
      player.on(events.STREAM_INITIALIZED, () => {
        ready = true;
        this.hooks.onLevels?.(this.levels());
        this.hooks.onTextTracks?.(this.textTracks());
        this.hooks.onAudioTracks?.(this.audioTracks());
        const current = player.getCurrentRepresentationForType("video");
        if (current) this.hooks.onSwitch?.(this.#level(current));
        resolve();
      });
      player.on(events.QUALITY_CHANGE_RENDERED, (e) => {
        if (e.mediaType === "video" && e.newRepresentation) {
          this.hooks.onSwitch?.(this.#level(e.newRepresentation));
        }
      });
      player.on(events.ERROR, (e) => {
        const err = e.error || {};
        // Licence errors (codes 100–199) carry the licence server's answer as data.responseCode.
        const status = err.data?.request?.status || err.data?.response?.status || err.data?.responseCode || 0;
        const drm = err.code >= 100 && err.code < 200;
        const error = { fatal: true, code: String(err.code ?? "dash"), message: err.message || "playback error", status, drm };
        if (!ready) reject(Object.assign(new Error(error.message), error));
        this.hooks.onError?.(error);
      });
      player.on(events.PLAYBACK_ERROR, (e) => {
        this.hooks.onError?.({ fatal: true, code: "playback", message: String(e.error?.message || e.error || "media error"), status: 0 });
      });
      player.initialize(this.video, url, false);
    });
  }

  #level(r) {
    return { index: r.index ?? r.absoluteIndex, height: r.height, width: r.width, bitrate: r.bandwidth };
  }

  levels() {
    return (this.player.getRepresentationsByType("video") || []).map((r) => this.#level(r)).sort(byBitrate);
  }

  get currentLevel() {
    const r = this.player?.getCurrentRepresentationForType("video");
    return r ? this.#level(r) : null;
  }

  get bandwidthEstimate() {
    const kbps = this.player?.getAverageThroughput?.("video");
    return kbps ? kbps * 1000 : null;
  }

  setLevel(i) {
    this.player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: i < 0 } } } });
    if (i >= 0) this.player.setRepresentationForTypeByIndex("video", i, true);
  }

  textTracks() {
    return (this.player?.getTracksFor("text") || []).map((t, i) => ({ index: i, label: t.labels?.[0]?.text || t.lang, language: t.lang }));
  }

  setTextTrack(i) {
    this.player.enableText(i >= 0);
    if (i >= 0) this.player.setTextTrack(i);
  }

  audioTracks() {
    return (this.player?.getTracksFor("audio") || []).map((t, i) => ({ index: i, label: t.labels?.[0]?.text || t.lang, language: t.lang }));
  }

  setAudioTrack(i) {
    const track = (this.player.getTracksFor("audio") || [])[i];
    if (track) this.player.setCurrentTrack(track);
  }

  recover() {
    // dash.js retries failed segment requests by itself; re-seeking restarts a stopped stream.
    this.player.seek(this.video.currentTime);
  }

  stop() { this.player?.reset(); }
  destroy() { this.player?.destroy(); }
}

class ShakaEngine {
  constructor(video, shaka, hooks) {
    this.name = "shaka";
    this.video = video;
    this.shaka = shaka;
    this.hooks = hooks;
  }

  async load(url, { bufferS, drm, rewrite = (u) => u } = {}) {
    const shaka = this.shaka;
    shaka.polyfill.installAll();
    if (!shaka.Player.isBrowserSupported()) throw new Error("Shaka Player is not supported in this browser");
    const player = (this.player = new shaka.Player());
    await player.attach(this.video);
    player.getNetworkingEngine().registerRequestFilter((_type, request) => {
      request.allowCrossSiteCredentials = true;
      request.uris = request.uris.map(rewrite);
    });
    if (bufferS) player.configure({ streaming: { bufferingGoal: bufferS } });
    if (usesEme(drm)) player.configure({ drm: { servers: { [CLEARKEY]: drm.license } } });
    const switched = () => {
      const t = player.getVariantTracks().find((v) => v.active);
      if (t) this.hooks.onSwitch?.(this.#level(t));
    };
    player.addEventListener("adaptation", switched);
    player.addEventListener("variantchanged", switched);
    player.addEventListener("texttrackvisibility", () => this.hooks.onTextTracks?.(this.textTracks()));
    // HTTP errors (1001) carry [uri, status, …]; a failed licence request (6007) wraps one.
    const statusOf = (d) => (typeof d?.data?.[1] === "number" ? d.data[1] : d?.data?.[0]?.data?.[1]) || 0;
    const isDrm = (d) => d?.category === shaka.util.Error.Category.DRM;
    player.addEventListener("error", (e) => {
      const d = e.detail || {};
      this.hooks.onError?.({
        fatal: d.severity === shaka.util.Error.Severity.CRITICAL,
        code: String(d.code),
        message: d.message || `Shaka error ${d.code}`,
        status: statusOf(d),
        drm: isDrm(d),
      });
    });
    try {
      await player.load(url);
    } catch (e) {
      throw Object.assign(new Error(e.message || `Shaka error ${e.code}`),
        { fatal: true, code: String(e.code), status: statusOf(e), drm: isDrm(e) });
    }
    this.hooks.onLevels?.(this.levels());
    this.hooks.onTextTracks?.(this.textTracks());
    this.hooks.onAudioTracks?.(this.audioTracks());
    switched();
  }

  #level(t) {
    return { index: t.id, height: t.height, width: t.width, bitrate: t.videoBandwidth || t.bandwidth };
  }

  levels() {
    const seen = new Map();
    for (const t of this.player.getVariantTracks()) {
      if (!seen.has(t.height)) seen.set(t.height, this.#level(t));
    }
    return [...seen.values()].sort(byBitrate);
  }

  get currentLevel() {
    const t = this.player?.getVariantTracks().find((v) => v.active);
    return t ? this.#level(t) : null;
  }

  get bandwidthEstimate() { return this.player?.getStats().estimatedBandwidth ?? null; }

  setLevel(id) {
    this.player.configure({ abr: { enabled: id < 0 } });
    if (id >= 0) {
      const track = this.player.getVariantTracks().find((t) => t.id === id);
      if (track) this.player.selectVariantTrack(track, true, 2);
    }
  }

  textTracks() {
    return this.player.getTextTracks().map((t) => ({ index: t.id, label: t.label || t.language, language: t.language }));
  }

  setTextTrack(id) {
    const track = this.player.getTextTracks().find((t) => t.id === id);
    this.player.selectTextTrack(id >= 0 && track ? track : null);
  }

  // Shaka 5: getAudioTracks() / selectAudioTrack(track) (the language-and-role API is gone)
  audioTracks() {
    return this.player.getAudioTracks().map((t, i) => ({ index: i, label: t.label || t.language, language: t.language }));
  }

  setAudioTrack(i) {
    const track = this.player.getAudioTracks()[i];
    if (track) this.player.selectAudioTrack(track);
  }

  recover() { this.player.retryStreaming(); }
  stop() { this.player?.unload(); }
  destroy() { this.player?.destroy(); }
}

class NativeEngine {
  constructor(video, hooks) {
    this.name = "native";
    this.video = video;
    this.hooks = hooks;
  }

  load(url, { rewrite = (u) => u } = {}) {
    const video = this.video;
    this.rewrite = rewrite;
    if (!video.canPlayType(HLS_MIME)) throw new Error("this browser does not play HLS by itself");
    if (new URL(url, location.href).origin !== location.origin) video.crossOrigin = "use-credentials";
    return new Promise((resolve, reject) => {
      const ok = () => {
        cleanup();
        this.hooks.onTextTracks?.(this.textTracks());
        this.hooks.onAudioTracks?.(this.audioTracks());
        resolve();
      };
      const fail = () => {
        cleanup();
        reject(Object.assign(new Error(video.error?.message || "the video could not be loaded"), { fatal: true, code: `media-${video.error?.code}`, status: 0 }));
      };
      const cleanup = () => { video.removeEventListener("loadedmetadata", ok); video.removeEventListener("error", fail); };
      video.addEventListener("loadedmetadata", ok);
      video.addEventListener("error", fail);
      video.addEventListener("error", () => this.hooks.onError?.({ fatal: true, code: `media-${video.error?.code}`, message: video.error?.message || "media error", status: 0 }));
      video.src = url;
      video.load();
    });
  }

  levels() { return []; }
  get currentLevel() { return null; }
  get bandwidthEstimate() { return null; }
  setLevel() {}

  textTracks() {
    return [...this.video.textTracks]
      .map((t, i) => ({ index: i, kind: t.kind, label: t.label, language: t.language }))
      .filter((t) => t.kind === "subtitles" || t.kind === "captions");
  }

  setTextTrack(i) {
    [...this.video.textTracks].forEach((t, j) => { t.mode = j === i ? "showing" : "disabled"; });
  }

  audioTracks() {
    return [...(this.video.audioTracks || [])].map((t, i) => ({ index: i, label: t.label || t.language, language: t.language }));
  }

  setAudioTrack(i) {
    [...(this.video.audioTracks || [])].forEach((t, j) => { t.enabled = j === i; });
  }

  recover() {
    // the browser's own HLS has no request hook: restart from a URL with the fresh token
    const t = this.video.currentTime;
    if (this.video.src) this.video.src = this.rewrite?.(this.video.src) ?? this.video.src;
    this.video.load();
    this.video.currentTime = t;
  }
  stop() { this.video.removeAttribute("src"); this.video.load(); }
  destroy() { this.stop(); }
}
