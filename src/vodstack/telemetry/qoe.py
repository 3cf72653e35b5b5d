"""Quality of experience from player beacons: a pure fold over one session's events.

The player reports what it saw (``t`` = seconds since the viewer pressed play, on the player's
monotonic clock; ``pos`` = playhead in media seconds). :func:`apply` folds a batch into the
session's running totals; folding all events at once or batch by batch gives the same totals,
so the server never replays history.

Time between two events is charged to the state the player was in: ``playing`` time (and its
bitrate) counts toward the average bitrate, ``stalled`` time is rebuffering. The start-up wait
before the first frame and the wait after a seek are neither (the usual QoE convention:
rebuffering is an interruption of playback that had been going).

Watched seconds are *distinct media seconds the playhead moved through while playing*, from
successive playhead observations (heartbeats and state changes). Two observations credit the
span between them only when the playhead moved forward no faster than real time allows
(``MAX_RATE`` × elapsed + ``SLACK_S``): a seek ahead, reported or not, credits nothing, and
re-watching a part does not count it twice. Completion is then watched seconds / duration.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

from vodstack.catalogue import Beacon, Cursor, Interval, Observations, SessionStats, merge

#: Fastest playback rate credited as watching (players offer up to 2×).
MAX_RATE = 2.0
#: Timer jitter allowed between two playhead observations (seconds).
SLACK_S = 1.0

EVENT_TYPES = frozenset(
    {
        "start",  # the viewer asked to play (click); t = 0
        "first_frame",  # first frame shown; ``ms`` = startup time as the player measured it
        "playing",  # playback (re)started: after start-up, a pause, a stall or a seek
        "pause",
        "stall_start",  # the buffer ran dry during playback
        "seek",  # ``from`` → ``to`` (media seconds)
        "heartbeat",  # periodic playhead report while the page is open
        "switch",  # the video rendition changed: ``bitrate`` (bit/s), ``height``
        "error",  # ``fatal``, ``code``, ``message``
        "ended",  # the playhead reached the end
        "end",  # the session ends (page closed, player stopped, access denied)
    }
)


def _credit(
    watched: list[Interval], anchor: tuple[float, float] | None, pos: float, t: float
) -> None:
    if anchor is None:
        return
    apos, at = anchor
    moved, elapsed = pos - apos, max(0.0, t - at)
    if 0 < moved <= elapsed * MAX_RATE + SLACK_S:
        watched.append((apos, pos))


def apply(stats: SessionStats, events: Iterable[Beacon]) -> tuple[SessionStats, Observations]:
    """Fold ``events`` (any order; already-seen ``seq`` numbers are skipped) into ``stats``."""
    fresh = sorted((e for e in events if e.seq > stats.last_seq), key=lambda e: e.seq)
    if not fresh:
        return stats, Observations()
    s = stats
    c = s.cursor
    playing_s, rebuffer_s, bits = s.playing_s, s.rebuffer_s, s.bitrate_bits
    rebuffer_count, switches, errors, fatal = s.rebuffer_count, s.switches, s.errors, s.fatal_errors
    startup, reached_end, finished = s.startup_s, s.reached_end, s.finished
    watched = list(s.watched)
    state, anchor, bitrate, stall_t, last_t = c.state, c.anchor, c.bitrate, c.stall_t, c.t
    new_startup: float | None = None
    stalls: list[float] = []
    error_flags: list[bool] = []
    newly_finished = False

    def clamp(pos: float) -> float:
        pos = max(0.0, pos)
        return min(pos, s.duration) if s.duration else pos

    for e in fresh:
        t = e.t if last_t is None else max(e.t, last_t)  # the player clock never runs back
        span = 0.0 if last_t is None else t - last_t
        if state == "playing":
            playing_s += span
            bits += span * (bitrate or 0)
        elif state == "stalled":
            rebuffer_s += span
        last_t = t
        pos = clamp(e.pos) if e.pos is not None else None
        if e.type == "seek":
            src, dst = e.data.get("from"), e.data.get("to")
            if isinstance(src, int | float):
                _credit(watched, anchor, clamp(float(src)), t)
            anchor = (clamp(float(dst)), t) if isinstance(dst, int | float) else None
            state = "seeking" if state != "paused" else "paused"
            continue
        if pos is not None:
            # Credit only spans the playhead crossed while playing (or that ended a stall).
            if state in ("playing", "stalled"):
                _credit(watched, anchor, pos, t)
            anchor = (pos, t)
        if e.type == "start":
            state = "loading"
        elif e.type == "first_frame":
            if startup is None:
                ms = e.data.get("ms")
                startup = float(ms) / 1000 if isinstance(ms, int | float) else t
                new_startup = startup
            state = "playing"
        elif e.type == "playing":
            if state == "stalled" and stall_t is not None:
                stalls.append(t - stall_t)
                stall_t = None
            state = "playing"
        elif e.type == "pause":
            state = "paused"
        elif e.type == "stall_start":
            if state == "playing":
                rebuffer_count += 1
                stall_t = t
                state = "stalled"
        elif e.type == "switch":
            value = e.data.get("bitrate")
            if isinstance(value, int | float) and value >= 0:
                if bitrate is not None and int(value) != bitrate:
                    switches += 1
                bitrate = int(value)
        elif e.type == "error":
            errors += 1
            is_fatal = bool(e.data.get("fatal"))
            error_flags.append(is_fatal)
            if is_fatal:
                fatal += 1
                state = "error"
        elif e.type == "ended":
            reached_end = True
            state = "ended"
        elif e.type == "end":
            if not finished:
                finished = newly_finished = True
            state = "idle"

    merged = merge(watched)
    stats = replace(
        s,
        startup_s=startup,
        playing_s=playing_s,
        rebuffer_s=rebuffer_s,
        rebuffer_count=rebuffer_count,
        bitrate_bits=bits,
        switches=switches,
        errors=errors,
        fatal_errors=fatal,
        watched=merged,
        reached_end=reached_end,
        finished=finished,
        last_seq=fresh[-1].seq,
        cursor=Cursor(t=last_t, state=state, anchor=anchor, bitrate=bitrate, stall_t=stall_t),
    )
    return stats, Observations(new_startup, tuple(stalls), tuple(error_flags), newly_finished)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0…100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
