"""Per-asset QoE analytics and completion reports, computed from stored sessions (pure).

A viewer's completion is the union of the media seconds watched over *all* their sessions of
the asset (watching the first half on Monday and the second on Tuesday completes it), divided
by the asset's duration; seeking ahead credits nothing (see :mod:`vodstack.telemetry.qoe`).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from vodstack.catalogue import SessionRecord, measure, merge, percent
from vodstack.telemetry.qoe import percentile

DEFAULT_THRESHOLD = 0.95


@dataclass(frozen=True, slots=True)
class ViewerCompletion:
    subject: str
    sessions: int
    watched_s: float
    duration_s: float | None
    percent_watched: float | None  # 0…1
    completed: bool
    reached_end: bool  # the playhead reached the end at least once (seeking there counts)
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: str
    subject: str
    user_agent: str
    engine: str | None
    started_at: datetime
    startup_s: float | None
    playing_s: float
    rebuffer_s: float
    rebuffer_ratio: float
    average_bitrate: float | None
    switches: int
    errors: int
    fatal_errors: int
    watched_s: float
    percent_watched: float | None
    reached_end: bool


@dataclass(frozen=True, slots=True)
class AssetAnalytics:
    asset_id: str
    duration_s: float | None
    threshold: float
    sessions: int
    viewers: int
    startup_p50_s: float | None
    startup_p95_s: float | None
    rebuffer_ratio: float  # Σ rebuffering / Σ (playing + rebuffering), all sessions
    average_bitrate: float | None  # time-weighted over all playing time (bit/s)
    error_rate: float  # share of sessions with a fatal error
    errors: int
    mean_percent_watched: float | None  # per viewer
    completed_viewers: int
    viewer_completions: list[ViewerCompletion]
    recent_sessions: list[SessionSummary]


def completions(
    records: Sequence[SessionRecord], duration: float | None, threshold: float = DEFAULT_THRESHOLD
) -> list[ViewerCompletion]:
    """One row per viewer, best-watched first."""
    by_subject: dict[str, list[SessionRecord]] = {}
    for r in records:
        by_subject.setdefault(r.subject, []).append(r)
    rows = []
    for subject, mine in by_subject.items():
        length = duration or max((r.stats.duration or 0 for r in mine), default=0) or None
        watched = merge(iv for r in mine for iv in r.stats.watched)
        share = percent(watched, length)
        rows.append(
            ViewerCompletion(
                subject=subject,
                sessions=len(mine),
                watched_s=round(measure(watched), 3),
                duration_s=length,
                percent_watched=None if share is None else round(share, 4),
                completed=share is not None and share >= threshold,
                reached_end=any(r.stats.reached_end for r in mine),
                first_seen=min(r.started_at for r in mine),
                last_seen=max(r.updated_at for r in mine),
            )
        )
    rows.sort(key=lambda v: (-(v.percent_watched or 0), v.subject))
    return rows


def summarize(record: SessionRecord, duration: float | None) -> SessionSummary:
    s = record.stats
    return SessionSummary(
        id=record.id,
        subject=record.subject,
        user_agent=record.user_agent,
        engine=record.engine,
        started_at=record.started_at,
        startup_s=s.startup_s,
        playing_s=round(s.playing_s, 3),
        rebuffer_s=round(s.rebuffer_s, 3),
        rebuffer_ratio=round(s.rebuffer_ratio, 5),
        average_bitrate=None if s.average_bitrate is None else round(s.average_bitrate),
        switches=s.switches,
        errors=s.errors,
        fatal_errors=s.fatal_errors,
        watched_s=round(s.watched_s, 3),
        percent_watched=percent(s.watched, duration or s.duration),
        reached_end=s.reached_end,
    )


def analytics(
    asset_id: str,
    records: Sequence[SessionRecord],
    duration: float | None,
    threshold: float = DEFAULT_THRESHOLD,
    recent: int = 50,
) -> AssetAnalytics:
    startups = [r.stats.startup_s for r in records if r.stats.startup_s is not None]
    playing = sum(r.stats.playing_s for r in records)
    rebuffer = sum(r.stats.rebuffer_s for r in records)
    bits = sum(r.stats.bitrate_bits for r in records)
    viewers = completions(records, duration, threshold)
    shares = [v.percent_watched for v in viewers if v.percent_watched is not None]
    latest = sorted(records, key=lambda r: r.started_at, reverse=True)[:recent]
    return AssetAnalytics(
        asset_id=asset_id,
        duration_s=duration,
        threshold=threshold,
        sessions=len(records),
        viewers=len(viewers),
        startup_p50_s=percentile(startups, 50),
        startup_p95_s=percentile(startups, 95),
        rebuffer_ratio=round(rebuffer / (playing + rebuffer), 5) if playing + rebuffer else 0.0,
        average_bitrate=round(bits / playing) if playing > 0 else None,
        error_rate=(
            round(sum(1 for r in records if r.stats.fatal_errors) / len(records), 4)
            if records
            else 0.0
        ),
        errors=sum(r.stats.errors for r in records),
        mean_percent_watched=round(statistics.fmean(shares), 4) if shares else None,
        completed_viewers=sum(1 for v in viewers if v.completed),
        viewer_completions=viewers,
        recent_sessions=[summarize(r, duration) for r in latest],
    )


CSV_FIELDS = (
    "asset_id",
    "subject",
    "completed",
    "percent_watched",
    "watched_s",
    "duration_s",
    "sessions",
    "first_seen",
    "last_seen",
)


def completions_csv(asset_id: str, rows: Iterable[ViewerCompletion]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        data = asdict(row)
        writer.writerow(
            {
                "asset_id": asset_id,
                **{k: data[k] for k in CSV_FIELDS if k in data},
                "completed": "yes" if row.completed else "no",
                "first_seen": row.first_seen.isoformat(),
                "last_seen": row.last_seen.isoformat(),
            }
        )
    return out.getvalue()
