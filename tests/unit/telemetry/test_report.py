"""Completion reports and per-asset analytics from stored sessions."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from vodstack.catalogue.playback import SessionRecord
from vodstack.catalogue.session_stats import SessionStats
from vodstack.telemetry.report import analytics, completions, completions_csv

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def record(subject: str, watched: tuple, n: int = 0, **stats: object) -> SessionRecord:
    return SessionRecord(
        id=f"{subject}-{n}",
        asset_id="a" * 20,
        subject=subject,
        user_agent="test",
        engine="hls",
        started_at=T0 + timedelta(days=n),
        updated_at=T0 + timedelta(days=n, minutes=5),
        stats=SessionStats(duration=100.0, watched=watched, **stats),
    )


def test_watching_over_several_sessions_completes() -> None:
    rows = completions(
        [
            record("ann", ((0.0, 50.0),), 0),
            record("ann", ((48.0, 99.0),), 1),
            record("bob", ((0.0, 30.0),), 0),
            record("cat", ((0.0, 10.0), (90.0, 100.0)), 0, reached_end=True),
        ],
        duration=100.0,
    )
    by = {r.subject: r for r in rows}
    assert [r.subject for r in rows] == ["ann", "bob", "cat"]  # best watched first
    assert by["ann"].completed and by["ann"].percent_watched == pytest.approx(0.99)
    assert by["ann"].sessions == 2
    assert by["ann"].first_seen == T0 and by["ann"].last_seen == T0 + timedelta(days=1, minutes=5)
    assert not by["bob"].completed and by["bob"].percent_watched == pytest.approx(0.3)
    assert by["cat"].reached_end and not by["cat"].completed


def test_threshold_is_configurable() -> None:
    rows = completions([record("bob", ((0.0, 80.0),))], duration=100.0, threshold=0.8)
    assert rows[0].completed


def test_a_deleted_asset_uses_the_sessions_duration() -> None:
    rows = completions([record("ann", ((0.0, 100.0),))], duration=None)
    assert rows[0].completed and rows[0].duration_s == 100.0


def test_csv() -> None:
    rows = completions([record("ann", ((0.0, 100.0),)), record("bob", ((0.0, 5.0),))], 100.0)
    text = completions_csv("a" * 20, rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [(r["subject"], r["completed"]) for r in parsed] == [("ann", "yes"), ("bob", "no")]
    assert parsed[0]["percent_watched"] == "1.0"
    assert parsed[0]["first_seen"].startswith("2026-01-05T09:00")


def test_analytics_aggregates() -> None:
    records = [
        record(
            "ann",
            ((0.0, 100.0),),
            0,
            startup_s=0.4,
            playing_s=100.0,
            rebuffer_s=0.0,
            bitrate_bits=100.0 * 2e6,
        ),
        record(
            "bob",
            ((0.0, 50.0),),
            0,
            startup_s=1.2,
            playing_s=50.0,
            rebuffer_s=5.0,
            bitrate_bits=50.0 * 1e6,
            errors=2,
            fatal_errors=1,
        ),
    ]
    a = analytics("a" * 20, records, 100.0)
    assert a.sessions == 2 and a.viewers == 2 and a.completed_viewers == 1
    assert a.startup_p50_s == pytest.approx(0.4)
    assert a.startup_p95_s == pytest.approx(1.2)
    assert a.rebuffer_ratio == pytest.approx(5 / 155, abs=1e-4)
    assert a.average_bitrate == pytest.approx((200e6 + 50e6) / 150, rel=1e-6)
    assert a.error_rate == 0.5 and a.errors == 2
    assert a.mean_percent_watched == pytest.approx(0.75)
    assert len(a.recent_sessions) == 2


def test_analytics_of_nothing() -> None:
    a = analytics("a" * 20, [], 100.0)
    assert (a.sessions, a.startup_p50_s, a.average_bitrate, a.error_rate) == (0, None, None, 0.0)
