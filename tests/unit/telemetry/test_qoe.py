"""The QoE fold: startup, rebuffering, bitrate, errors, and distinct seconds watched."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vodstack.catalogue.session_stats import Beacon, Cursor, SessionStats, measure, merge, percent
from vodstack.telemetry.qoe import apply, percentile


class Player:
    """Writes the beacons a player would send, one numbered event at a time."""

    def __init__(self) -> None:
        self.events: list[Beacon] = []

    def __call__(self, type_: str, t: float, pos: float | None = None, **data: object) -> Player:
        self.events.append(Beacon(len(self.events), type_, t, pos, data))
        return self

    def watch(self, start_t: float, start_pos: float, until_pos: float, every: float = 5) -> float:
        """Heartbeats while playing from start_pos to until_pos; returns the end time."""
        t, pos = start_t, start_pos
        while pos + every < until_pos:
            t, pos = t + every, pos + every
            self("heartbeat", t, pos)
        return t + (until_pos - pos)


def fold(events: list[Beacon], duration: float | None = 60.0) -> SessionStats:
    stats, _ = apply(SessionStats(duration=duration), events)
    return stats


def test_full_watch_counts_every_second_and_startup() -> None:
    p = Player()("start", 0, 0)("switch", 0.2, bitrate=1_000_000)("first_frame", 0.4, 0, ms=400)
    end = p.watch(0.4, 0, 60)
    p("ended", end, 60)
    stats = fold(p.events)
    assert stats.startup_s == pytest.approx(0.4)
    assert stats.watched_s == pytest.approx(60)
    assert stats.percent_watched == pytest.approx(1.0)
    assert stats.reached_end
    assert stats.playing_s == pytest.approx(60)
    assert stats.average_bitrate == pytest.approx(1_000_000)
    assert stats.rebuffer_ratio == 0


def test_seeking_ahead_is_not_watching() -> None:
    p = Player()("start", 0, 0)("first_frame", 0.3, 0)
    p("heartbeat", 5.3, 5)("seek", 6.3, None, **{"from": 6.0, "to": 55.0})("playing", 6.5, 55)
    p("ended", 11.5, 60)
    stats = fold(p.events)
    assert stats.reached_end
    assert stats.watched == ((0.0, 6.0), (55.0, 60.0))
    assert stats.percent_watched == pytest.approx(11 / 60)


def test_an_unreported_jump_is_not_credited() -> None:
    # A heartbeat 5 s after the last one, 40 s further on: no player plays that fast.
    p = Player()("start", 0, 0)("first_frame", 0.3, 0)("heartbeat", 5.3, 5)("heartbeat", 10.3, 45)
    p("heartbeat", 15.3, 50)
    assert fold(p.events).watched == ((0.0, 5.0), (45.0, 50.0))


def test_rewatching_counts_once() -> None:
    p = Player()("start", 0, 0)("first_frame", 0.3, 0)("heartbeat", 10.3, 10)
    p("seek", 10.5, None, **{"from": 10.2, "to": 2.0})("playing", 10.6, 2)("heartbeat", 18.6, 10)
    p("heartbeat", 23.6, 15)
    assert fold(p.events).watched_s == pytest.approx(15)


def test_paused_time_and_the_wait_after_a_seek_are_not_watching_or_rebuffering() -> None:
    p = Player()("start", 0, 0)("first_frame", 1.0, 0)("pause", 5, 4)("heartbeat", 65, 4)
    p("playing", 70, 4)("seek", 72, None, **{"from": 6, "to": 30})("playing", 75, 30)
    p("heartbeat", 80, 35)
    stats = fold(p.events)
    assert stats.watched_s == pytest.approx(4 + 2 + 5)
    assert stats.playing_s == pytest.approx(4 + 2 + 5)
    assert stats.rebuffer_s == 0


def test_stalls_count_as_rebuffering() -> None:
    p = Player()("start", 0, 0)("first_frame", 2.0, 0)("stall_start", 12, 10)("playing", 13.5, 10)
    p("heartbeat", 23.5, 20)
    stats, observed = apply(SessionStats(duration=60), p.events)
    assert stats.rebuffer_count == 1
    assert stats.rebuffer_s == pytest.approx(1.5)
    assert stats.rebuffer_ratio == pytest.approx(1.5 / 21.5)
    assert observed.stalls_s == pytest.approx((1.5,))
    assert observed.startup_s == pytest.approx(2.0)
    assert stats.watched_s == pytest.approx(20)


def test_bitrate_is_time_weighted_and_switches_counted() -> None:
    p = Player()("start", 0, 0)("switch", 0.1, bitrate=500_000)("first_frame", 0.5, 0)
    p("switch", 10.5, bitrate=3_000_000)("heartbeat", 40.5, 40)
    stats = fold(p.events)
    assert stats.switches == 1
    assert stats.average_bitrate == pytest.approx((10 * 500_000 + 30 * 3_000_000) / 40)


def test_errors_and_fatal_errors() -> None:
    p = Player()("start", 0, 0)("error", 0.5, code="fragLoadError", fatal=False)
    p("error", 1.0, code="manifestLoadError", fatal=True)("end", 1.2, 0)
    stats, observed = apply(SessionStats(duration=60), p.events)
    assert (stats.errors, stats.fatal_errors) == (2, 1)
    assert observed.errors == (False, True)
    assert stats.finished and observed.finished


def test_positions_beyond_the_duration_are_clamped() -> None:
    p = Player()("start", 0, 0)("first_frame", 0.2, 0)("heartbeat", 5.2, 5)("ended", 6.5, 6.4)
    assert fold(p.events, duration=6.0).watched == ((0.0, 6.0),)


def test_duplicate_and_replayed_events_are_ignored() -> None:
    p = Player()("start", 0, 0)("first_frame", 0.2, 0)("heartbeat", 5.2, 5)
    once, _ = apply(SessionStats(duration=60), p.events)
    twice, observed = apply(once, p.events)
    assert twice == once
    assert observed.startup_s is None


def test_cursor_survives_json() -> None:
    cursor = Cursor(t=3.5, state="stalled", anchor=(2.0, 3.0), bitrate=800_000, stall_t=3.1)
    assert Cursor.from_json(cursor.to_json()) == cursor
    assert Cursor.from_json(None) == Cursor()


@given(st.lists(st.integers(min_value=1, max_value=9), min_size=0, max_size=6))
def test_folding_in_batches_equals_folding_at_once(cuts: list[int]) -> None:
    p = Player()("start", 0, 0)("switch", 0.1, bitrate=700_000)("first_frame", 0.5, 0)
    p("heartbeat", 5.5, 5)("stall_start", 7, 6.5)("playing", 8, 6.5)("pause", 10, 8.5)
    p("playing", 20, 8.5)("seek", 21, None, **{"from": 9.5, "to": 40})("playing", 21.5, 40)
    p("heartbeat", 26.5, 45)("ended", 41.5, 60)("end", 42, 60)
    whole = fold(p.events)
    stats = SessionStats(duration=60)
    start = 0
    for cut in [*sorted(set(cuts)), len(p.events)]:
        stats, _ = apply(stats, p.events[start:cut])
        start = max(start, cut)
    assert stats.watched == whole.watched
    assert stats.playing_s == pytest.approx(whole.playing_s)
    assert stats.rebuffer_s == pytest.approx(whole.rebuffer_s)
    assert stats.bitrate_bits == pytest.approx(whole.bitrate_bits)
    assert (stats.reached_end, stats.finished, stats.last_seq) == (
        whole.reached_end,
        whole.finished,
        whole.last_seq,
    )


@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100)), max_size=20))
def test_merge_is_a_union(pairs: list[tuple[float, float]]) -> None:
    intervals = [(min(a, b), max(a, b)) for a, b in pairs]
    merged = merge(intervals)
    assert all(a < b for a, b in merged)
    assert all(merged[i][1] < merged[i + 1][0] for i in range(len(merged) - 1))
    for a, b in intervals:
        if b > a:
            assert any(x <= a and b <= y for x, y in merged)
    assert measure(merged) <= sum(b - a for a, b in intervals) + 1e-9


def test_percent_and_percentile() -> None:
    assert percent([(0, 30)], 60) == pytest.approx(0.5)
    assert percent([(0, 30)], None) is None
    assert percentile([], 50) is None
    values = [0.1 * i for i in range(1, 21)]
    assert percentile(values, 50) == pytest.approx(1.0)
    assert percentile(values, 95) == pytest.approx(1.9)
    assert percentile([3.0], 95) == 3.0
