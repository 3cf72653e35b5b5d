"""Ladder recommendations (pure): which rungs pay for themselves.

* **drop**: a rung whose share of watch time is under ``min_share`` (default 1 %), with the
  bytes it keeps in storage and the egress it caused in the period — what dropping it saves.
  Viewers on it would play the next rung down (or up, for the lowest), so the lowest rung is
  flagged ``floor``: it is what keeps playback going on a poor network, drop it knowingly.
* **add**: viewers sit on the top rung on screens taller than it for at least
  ``TOP_SHARE`` of watch time: a rung above (the next common height, up to their screens)
  would be watched.

Recommendations are made per asset and per ladder template (all its assets together). Only
titles with watch time are judged: no beacons, no evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from vodstack.costs.report import AssetCost, CostReport

#: Share of watch time on the top rung from taller screens that suggests a rung above.
TOP_SHARE = 0.25
COMMON_HEIGHTS = (240, 360, 480, 540, 720, 1080, 1440, 2160, 4320)


@dataclass(slots=True)
class Recommendation:
    scope: str  # asset | ladder
    name: str  # asset id or ladder template name
    action: str  # drop | add
    height: int
    watch_share: float
    stored_bytes: int = 0
    egress_bytes: int = 0
    tracks: list[str] = field(default_factory=list)
    floor: bool = False
    reason: str = ""
    apply_ladder: str | None = None  # the template to re-transcode with, when one fits


@dataclass(slots=True)
class _Rung:
    watch_s: float = 0.0
    large_s: float = 0.0
    stored: int = 0
    egress: int = 0
    tracks: list[str] = field(default_factory=list)


def _rungs(assets: Iterable[AssetCost]) -> dict[int, _Rung]:
    out: dict[int, _Rung] = {}
    for a in assets:
        seen: set[int] = set()
        for r in a.rungs:
            if r.height is None:
                continue
            rung = out.setdefault(r.height, _Rung())
            rung.stored += r.stored_bytes
            rung.egress += r.egress_bytes
            rung.tracks.append(r.track_id)
            if r.height not in seen:  # several codecs per height share one watch time
                rung.watch_s += r.watch_s
                rung.large_s += r.large_screen_s
                seen.add(r.height)
    return out


def _judge(
    scope: str, name: str, rungs: Mapping[int, _Rung], min_share: float
) -> list[Recommendation]:
    total = sum(r.watch_s for r in rungs.values())
    if total <= 0 or not rungs:
        return []
    heights = sorted(rungs)
    out = []
    for h in heights:
        r = rungs[h]
        share = r.watch_s / total
        if share < min_share:
            out.append(
                Recommendation(
                    scope,
                    name,
                    "drop",
                    h,
                    share,
                    r.stored,
                    r.egress,
                    sorted(set(r.tracks)),
                    floor=h == heights[0],
                    reason=f"{h}p had {share * 100:.2f} % of watch time (< {min_share * 100:g} %)",
                )
            )
    top = rungs[heights[-1]]
    if top.large_s / total >= TOP_SHARE:
        above = next((c for c in COMMON_HEIGHTS if c > heights[-1]), None)
        if above is not None:
            out.append(
                Recommendation(
                    scope,
                    name,
                    "add",
                    above,
                    top.watch_s / total,
                    reason=f"{top.large_s / total * 100:.0f} % of watch time was on the top "
                    f"rung ({heights[-1]}p) on screens taller than it",
                )
            )
    return out


def recommend(
    report: CostReport,
    min_share: float,
    templates: Mapping[str, Sequence[int]] | None = None,
) -> list[Recommendation]:
    """Per ladder template, then per asset. ``templates``: each template's rung heights, to
    name one that matches an asset's ladder without the dropped rungs (``apply_ladder``)."""
    out: list[Recommendation] = []
    by_ladder: dict[str, list[AssetCost]] = {}
    for a in report.assets:
        by_ladder.setdefault(a.ladder, []).append(a)
    for ladder, assets in sorted(by_ladder.items()):
        out += _judge("ladder", ladder, _rungs(assets), min_share)
    for a in report.assets:
        recs = _judge("asset", a.asset_id, _rungs([a]), min_share)
        drops = {r.height for r in recs if r.action == "drop"}
        if drops and templates:
            keep = sorted({r.height for r in a.rungs if r.height} - drops)
            fit = next((n for n, hs in templates.items() if sorted(set(hs)) == keep), None)
            for r in recs:
                if r.action == "drop":
                    r.apply_ladder = fit
        out += recs
    return out
