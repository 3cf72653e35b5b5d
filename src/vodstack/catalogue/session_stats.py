"""The plain values of a playback session's quality of experience: player beacons, the fold's
cursor and the running totals the catalogue stores per session.

They live in the catalogue (which stores them, :mod:`vodstack.catalogue.playback`) so the
catalogue needs nothing from telemetry; the fold that computes them is
:func:`vodstack.telemetry.qoe.apply`, which explains watched seconds and completion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Beacon:
    """One player event, validated at the HTTP edge."""

    seq: int
    type: str
    t: float
    pos: float | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the fold stopped: the state to charge the next time span to."""

    t: float | None = None
    state: str = "idle"  # idle | loading | playing | paused | stalled | seeking | ended | error
    anchor: tuple[float, float] | None = None  # (pos, t) of the last playhead observation
    bitrate: int | None = None
    stall_t: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "state": self.state,
            "anchor": list(self.anchor) if self.anchor else None,
            "bitrate": self.bitrate,
            "stall_t": self.stall_t,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Cursor:
        if not data:
            return cls()
        anchor = data.get("anchor")
        return cls(
            t=data.get("t"),
            state=data.get("state", "idle"),
            anchor=(float(anchor[0]), float(anchor[1])) if anchor else None,
            bitrate=data.get("bitrate"),
            stall_t=data.get("stall_t"),
        )


@dataclass(frozen=True, slots=True)
class SessionStats:
    """Running QoE totals of one playback session."""

    duration: float | None = None
    startup_s: float | None = None
    playing_s: float = 0.0
    rebuffer_s: float = 0.0
    rebuffer_count: int = 0
    bitrate_bits: float = 0.0
    switches: int = 0
    errors: int = 0
    fatal_errors: int = 0
    watched: tuple[Interval, ...] = ()
    reached_end: bool = False
    finished: bool = False
    last_seq: int = -1
    cursor: Cursor = Cursor()

    @property
    def watched_s(self) -> float:
        return measure(self.watched)

    @property
    def percent_watched(self) -> float | None:
        return percent(self.watched, self.duration)

    @property
    def rebuffer_ratio(self) -> float:
        total = self.playing_s + self.rebuffer_s
        return self.rebuffer_s / total if total > 0 else 0.0

    @property
    def average_bitrate(self) -> float | None:
        return self.bitrate_bits / self.playing_s if self.playing_s > 0 else None


@dataclass(frozen=True, slots=True)
class Observations:
    """What one batch newly revealed, for the aggregate Prometheus histograms."""

    startup_s: float | None = None
    stalls_s: tuple[float, ...] = ()
    errors: tuple[bool, ...] = ()  # one entry per error: fatal?
    finished: bool = False


def merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Union of closed intervals, sorted and non-overlapping."""
    out: list[list[float]] = []
    for start, end in sorted((a, b) for a, b in intervals if b > a):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((a, b) for a, b in out)


def measure(intervals: Iterable[Interval]) -> float:
    return sum(b - a for a, b in merge(intervals))


def percent(intervals: Iterable[Interval], duration: float | None) -> float | None:
    """Watched fraction of ``duration`` (0…1), or None when the duration is unknown."""
    if not duration or duration <= 0:
        return None
    return min(1.0, measure(intervals) / duration)
