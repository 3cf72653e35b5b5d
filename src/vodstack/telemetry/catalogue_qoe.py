"""Catalogue-wide QoE: startup, rebuffering, errors and completion over every asset's sessions,
with one row per asset measured the same way, so an asset's numbers can be read against the
whole catalogue's (the admin page shows them side by side). Pure: stored sessions in, a
summary out.

The measures are those of the per-asset report (:mod:`vodstack.telemetry.report`):

* startup: nearest-rank p50/p95 of the sessions' time to first frame;
* rebuffering: Σ stalled / Σ (playing + stalled) seconds, so long sessions weigh more;
* errors: the share of sessions that ended in a fatal error (and the count of all errors);
* completion: a *view* is one viewer's watching of one asset over all their sessions of it
  (the union of the media seconds watched); it completes at ``threshold`` of the duration.
  ``completion_rate`` is completed views / views whose duration is known.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from vodstack.catalogue import SessionRecord
from vodstack.telemetry.qoe import percentile
from vodstack.telemetry.report import DEFAULT_THRESHOLD, ViewerCompletion, completions


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """What the catalogue knows of an asset that has sessions (None: deleted since)."""

    title: str | None
    duration: float | None


@dataclass(frozen=True, slots=True)
class QoeFigures:
    """The measures of a set of sessions (one asset's, or the whole catalogue's)."""

    sessions: int
    viewers: int
    startup_p50_s: float | None
    startup_p95_s: float | None
    rebuffer_ratio: float
    error_rate: float
    errors: int
    views: int
    completed_views: int
    completion_rate: float | None
    mean_percent_watched: float | None


@dataclass(frozen=True, slots=True)
class AssetQoe:
    asset_id: str
    title: str | None  # None: the asset was deleted after it was watched
    deleted: bool
    figures: QoeFigures


@dataclass(frozen=True, slots=True)
class CatalogueQoe:
    since: datetime | None
    threshold: float
    sessions_considered: int
    truncated: bool  # only the newest sessions were read (see ``sessions_considered``)
    assets: int
    totals: QoeFigures
    per_asset: list[AssetQoe]


def figures(records: Sequence[SessionRecord], views: Sequence[ViewerCompletion]) -> QoeFigures:
    startups = [r.stats.startup_s for r in records if r.stats.startup_s is not None]
    playing = sum(r.stats.playing_s for r in records)
    rebuffer = sum(r.stats.rebuffer_s for r in records)
    fatal = sum(1 for r in records if r.stats.fatal_errors)
    known = [v for v in views if v.percent_watched is not None]
    completed = sum(1 for v in known if v.completed)
    return QoeFigures(
        sessions=len(records),
        viewers=len({r.subject for r in records}),
        startup_p50_s=percentile(startups, 50),
        startup_p95_s=percentile(startups, 95),
        rebuffer_ratio=round(rebuffer / (playing + rebuffer), 5) if playing + rebuffer else 0.0,
        error_rate=round(fatal / len(records), 4) if records else 0.0,
        errors=sum(r.stats.errors for r in records),
        views=len(views),
        completed_views=completed,
        completion_rate=round(completed / len(known), 4) if known else None,
        mean_percent_watched=(
            round(statistics.fmean(v.percent_watched for v in known), 4)  # type: ignore[misc]
            if known
            else None
        ),
    )


def catalogue_summary(
    records: Sequence[SessionRecord],
    facts: Mapping[str, AssetFacts],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    since: datetime | None = None,
    truncated: bool = False,
    top: int = 50,
) -> CatalogueQoe:
    """Totals over ``records`` and one row per asset (most sessions first, at most ``top``);
    ``facts`` gives each asset's title and duration (missing: deleted)."""
    by_asset: dict[str, list[SessionRecord]] = {}
    for r in records:
        by_asset.setdefault(r.asset_id, []).append(r)
    views: dict[str, list[ViewerCompletion]] = {}
    for asset_id, mine in by_asset.items():
        known = facts.get(asset_id)
        views[asset_id] = completions(mine, known.duration if known else None, threshold)
    rows = [
        AssetQoe(
            asset_id=asset_id,
            title=facts[asset_id].title if asset_id in facts else None,
            deleted=asset_id not in facts,
            figures=figures(mine, views[asset_id]),
        )
        for asset_id, mine in by_asset.items()
    ]
    rows.sort(key=lambda row: (-row.figures.sessions, row.asset_id))
    return CatalogueQoe(
        since=since,
        threshold=threshold,
        sessions_considered=len(records),
        truncated=truncated,
        assets=len(by_asset),
        totals=figures(records, [v for vs in views.values() for v in vs]),
        per_asset=rows[:top],
    )
