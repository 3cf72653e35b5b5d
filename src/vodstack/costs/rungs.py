"""Watch time per rung from player beacons (pure).

The same charging rule as :mod:`vodstack.telemetry.qoe`: time between two events belongs to
the state the player was in, and only ``playing`` time counts as watch time; it is charged
to the rung of the last ``switch`` event (``height``). Time before the first switch is
charged to height 0 ("unknown"). The screen the player reported at ``start``
(``screen_w``/``screen_h``, device pixels) travels along, so rung use can be read against
the screens viewers have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_STOPS = frozenset({"pause", "stall_start", "seek", "ended", "end"})


@dataclass(frozen=True, slots=True)
class SessionRungs:
    """One session's watch seconds per rung height, and the screen it played on."""

    asset_id: str
    seconds: Mapping[int, float] = field(default_factory=dict)
    screen_height: int | None = None  # device pixels (CSS height × devicePixelRatio)


def fold(
    asset_id: str, events: Iterable[tuple[int, str, float, Mapping[str, Any]]]
) -> SessionRungs:
    """``events``: (seq, type, t, data) of one session, any order."""
    seconds: dict[int, float] = {}
    state, height, last_t, screen = "idle", 0, None, None
    for _, kind, at, data in sorted(events, key=lambda e: e[0]):
        t = at if last_t is None else max(at, last_t)  # the player clock never runs back
        if state == "playing" and last_t is not None:
            seconds[height] = seconds.get(height, 0.0) + (t - last_t)
        last_t = t
        if kind == "start":
            value = data.get("screen_h")
            screen = int(value) if isinstance(value, int | float) and value > 0 else None
        elif kind in ("first_frame", "playing"):
            state = "playing"
        elif kind in _STOPS or (kind == "error" and data.get("fatal")):
            state = "stopped"
        elif kind == "switch":
            value = data.get("height")
            if isinstance(value, int | float) and value >= 0:
                height = int(value)
    return SessionRungs(asset_id, seconds, screen)


@dataclass(frozen=True, slots=True)
class RungShare:
    height: int  # 0 = unknown
    watch_s: float
    watch_share: float
    large_screen_s: float  # watch seconds on screens taller than this rung


def shares(sessions: Iterable[SessionRungs]) -> list[RungShare]:
    """Watch time and its share per rung height over ``sessions`` (lowest rung first)."""
    total: dict[int, float] = {}
    larger: dict[int, float] = {}
    for s in sessions:
        for height, sec in s.seconds.items():
            total[height] = total.get(height, 0.0) + sec
            if s.screen_height is not None and height and s.screen_height > height:
                larger[height] = larger.get(height, 0.0) + sec
    whole = sum(total.values())
    return [
        RungShare(h, total[h], total[h] / whole if whole else 0.0, larger.get(h, 0.0))
        for h in sorted(total)
    ]
