// QoE and completion beacons: numbered events, batched, sent with the play session's token.
//
// Times (t) are seconds since the viewer pressed play, on the page's monotonic clock; pos is
// the playhead. The server folds them into startup time, rebuffering, bitrate, errors and
// distinct seconds watched (vodstack.telemetry.qoe). Events carry a sequence number, so a
// batch that is sent twice (a retry, or sendBeacon racing a flush) counts once.

export class Beacons {
  constructor(session, engine) {
    this.session = session; // { token, beacons, heartbeat_s } from POST /play
    this.engine = engine;
    this.queue = [];
    this.seq = 0;
    this.t0 = null;
    this.timer = null;
    this.closed = false;
  }

  get started() { return this.t0 !== null; }

  /** The viewer asked to play: t = 0. Heartbeats and periodic flushes start here. */
  start(t0 = performance.now()) {
    if (this.started) return;
    this.t0 = t0;
    // The screen in device pixels: which rungs this device could use (vodstack costs).
    const dpr = window.devicePixelRatio || 1;
    const screen_w = Math.round((window.screen?.width || 0) * dpr);
    const screen_h = Math.round((window.screen?.height || 0) * dpr);
    this.push("start", { pos: 0, screen_w, screen_h });
    this.timer = setInterval(() => this.tick(), this.session.heartbeat_s * 1000);
  }

  tick() {
    this.onHeartbeat?.();
    this.flush();
  }

  push(type, fields = {}) {
    if (!this.started || this.closed) return;
    const t = Math.max(0, (performance.now() - this.t0) / 1000);
    this.queue.push({ seq: this.seq++, type, t: Math.round(t * 1000) / 1000, ...fields });
  }

  /** Send what is queued. `unloading`: the page is going away — use sendBeacon, which the
   * browser delivers even after the page is gone. */
  flush({ unloading = false } = {}) {
    if (!this.queue.length) return Promise.resolve();
    const events = this.queue.splice(0);
    const body = JSON.stringify({ session: this.session.token, engine: this.engine, events });
    if (unloading && navigator.sendBeacon) {
      if (navigator.sendBeacon(this.session.beacons, new Blob([body], { type: "application/json" }))) {
        return Promise.resolve();
      }
    }
    return fetch(this.session.beacons, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/json" },
      keepalive: body.length < 60000,
      credentials: "same-origin",
    }).then((r) => {
      if (!r.ok && r.status >= 500) throw new Error(`beacons: ${r.status}`);
    }).catch(() => {
      // Keep them for the next flush; sequence numbers make a double delivery harmless.
      this.queue.unshift(...events);
    });
  }

  /** The session is over: a last event, a last flush, no more heartbeats. */
  close(reason, pos) {
    if (!this.started || this.closed) return;
    this.push("end", { pos, message: reason });
    this.closed = true;
    clearInterval(this.timer);
    this.flush({ unloading: reason === "pagehide" });
  }
}
