"""Catalogue-wide QoE from stored sessions: totals and per-asset rows, measured alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vodstack.catalogue.playback import SessionRecord
from vodstack.telemetry.catalogue_qoe import AssetFacts, catalogue_summary
from vodstack.telemetry.qoe import SessionStats
from vodstack.telemetry.report import analytics

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
A, B, GONE = "a" * 20, "b" * 20, "c" * 20


def record(asset: str, subject: str, n: int = 0, **stats: object) -> SessionRecord:
    return SessionRecord(
        id=f"{asset[:1]}-{subject}-{n}",
        asset_id=asset,
        subject=subject,
        user_agent="test",
        engine="hls",
        started_at=T0 + timedelta(minutes=n),
        updated_at=T0 + timedelta(minutes=n + 1),
        stats=SessionStats(**stats),  # type: ignore[arg-type]
    )


RECORDS = [
    # A (100 s): ann completes over two sessions, bob stalls and fails
    record(A, "ann", 0, startup_s=0.4, playing_s=50, watched=((0.0, 50.0),)),
    record(A, "ann", 1, startup_s=0.6, playing_s=50, watched=((50.0, 100.0),)),
    record(
        A,
        "bob",
        2,
        startup_s=2.0,
        playing_s=10,
        rebuffer_s=10,
        errors=2,
        fatal_errors=1,
        watched=((0.0, 10.0),),
    ),
    # B (20 s): ann watches half of it
    record(B, "ann", 3, startup_s=1.0, playing_s=10, watched=((0.0, 10.0),)),
    # an asset deleted since: its duration is unknown unless the session recorded it
    record(GONE, "cat", 4, duration=30.0, startup_s=0.5, playing_s=30, watched=((0.0, 30.0),)),
]
FACTS = {A: AssetFacts("Lecture A", 100.0), B: AssetFacts("Lecture B", 20.0)}


def test_totals_over_every_session_and_view() -> None:
    s = catalogue_summary(RECORDS, FACTS)
    t = s.totals
    assert (s.assets, s.sessions_considered, s.truncated) == (3, 5, False)
    assert (t.sessions, t.viewers) == (5, 3)
    assert t.startup_p50_s == 0.6 and t.startup_p95_s == 2.0  # nearest rank of 5 values
    assert t.rebuffer_ratio == pytest.approx(10 / 160)
    assert t.error_rate == pytest.approx(1 / 5) and t.errors == 2
    # views: ann·A (complete), bob·A (10 %), ann·B (50 %), cat·GONE (complete)
    assert (t.views, t.completed_views, t.completion_rate) == (4, 2, 0.5)
    assert t.mean_percent_watched == pytest.approx((1 + 0.1 + 0.5 + 1) / 4)


def test_per_asset_rows_match_the_asset_report() -> None:
    s = catalogue_summary(RECORDS, FACTS)
    rows = {r.asset_id: r for r in s.per_asset}
    assert [r.asset_id for r in s.per_asset] == [A, B, GONE]  # most sessions first, then id
    a = rows[A].figures
    report = analytics(A, [r for r in RECORDS if r.asset_id == A], 100.0)
    assert a.sessions == report.sessions == 3 and a.viewers == report.viewers == 2
    assert a.startup_p50_s == report.startup_p50_s
    assert a.rebuffer_ratio == report.rebuffer_ratio
    assert a.error_rate == report.error_rate
    assert a.completed_views == report.completed_viewers == 1
    assert a.mean_percent_watched == report.mean_percent_watched
    assert rows[A].title == "Lecture A" and not rows[A].deleted
    assert rows[GONE].deleted and rows[GONE].title is None
    assert rows[GONE].figures.completion_rate == 1.0  # the session's own duration


def test_top_limits_rows_not_totals() -> None:
    s = catalogue_summary(RECORDS, FACTS, top=1)
    assert [r.asset_id for r in s.per_asset] == [A] and s.totals.sessions == 5


def test_no_sessions() -> None:
    s = catalogue_summary([], {})
    assert s.assets == 0 and s.per_asset == []
    t = s.totals
    assert (t.sessions, t.startup_p50_s, t.rebuffer_ratio, t.error_rate) == (0, None, 0.0, 0.0)
    assert t.completion_rate is None and t.mean_percent_watched is None
