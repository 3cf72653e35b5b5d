"""Pure cost arithmetic: tiered egress, rung watch time, the report and recommendations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from vodstack.costs.prices import GB, Prices, egress_cost
from vodstack.costs.report import AssetFacts, TrackFacts, build
from vodstack.costs.rungs import fold
from vodstack.costs.store import UsageRow

PRICES = Prices(((10, 0.1), (0, 0.05)), {"local": 0.0, "STANDARD": 0.02}, cpu_hour=1.0)


def test_egress_tiers_price_each_tier_at_its_rate() -> None:
    assert egress_cost(5 * GB, PRICES.egress_tiers) == pytest.approx(0.5)
    assert egress_cost(30 * GB, PRICES.egress_tiers) == pytest.approx(10 * 0.1 + 20 * 0.05)


def test_rung_fold_charges_playing_time_to_the_last_switch() -> None:
    events = [
        (0, "start", 0.0, {"screen_h": 1440}),
        (1, "switch", 0.5, {"height": 360}),
        (2, "first_frame", 1.0, {}),
        (3, "switch", 5.0, {"height": 720}),
        (4, "pause", 9.0, {}),
        (5, "playing", 20.0, {}),  # paused 9 → 20: not watch time
        (6, "end", 21.0, {}),
    ]
    session = fold("a", reversed(events))
    assert session.seconds == {360: 4.0, 720: 5.0}
    assert session.screen_height == 1440


def test_report_splits_egress_storage_transcode_and_rungs() -> None:
    hour = datetime(2026, 12, 1, 10, tzinfo=UTC)
    rows = [
        UsageRow(hour, "a", "v720", "segment", "Hit", 3, 3 * GB),
        UsageRow(hour, "a", "v360", "segment", "Miss", 1, GB),
        UsageRow(hour, "b", "v360", "segment", "Hit", 1, GB),
    ]
    tracks = (
        TrackFacts("v360", "video", 360, 800_000, GB),
        TrackFacts("v720", "video", 720, 3_000_000, 2 * GB),
        TrackFacts("a0", "audio", None, 128_000, GB // 10),
    )
    facts = [AssetFacts("a", "A", "default", 120.0, 10 * GB, "STANDARD", tracks, cpu_s=3600.0)]
    sessions = [
        fold(
            "a", [(0, "first_frame", 0, {}), (1, "switch", 0, {"height": 720}), (2, "end", 30, {})]
        )
    ]
    report = build(facts, rows, sessions, PRICES, scope="a")
    asset = report.assets[0]
    assert report.egress.bytes == 4 * GB  # b's bytes are priced in the bill, not shown
    assert asset.egress.hit_ratio == pytest.approx(0.75)
    assert asset.egress.origin_offload == pytest.approx(0.75)
    assert asset.money["egress"] == pytest.approx(0.5 * 4 / 5)  # 5 GB bill at 0.1
    assert asset.money["transcode"] == pytest.approx(1.0)
    assert asset.cpu_s_per_media_minute == pytest.approx(1800)
    assert asset.money["storage_month"] == pytest.approx((10 + 3.1) * 0.02)
    by_track = {r.track_id: r for r in asset.rungs}
    assert by_track["v720"].watch_share == 1.0 and by_track["v360"].watch_share == 0.0
    assert by_track["v720"].bytes_share == pytest.approx(0.75)
    assert report.bytes_per_day == {"2026-12-01": 4 * GB}


def _asset(asset_id: str, seconds: dict[int, float], screen: int | None = None):
    tracks = tuple(TrackFacts(f"v{h}", "video", h, h * 1000, h * 10**6) for h in (240, 480, 720))
    facts = AssetFacts(asset_id, asset_id, "default", 60.0, GB, "STANDARD", tracks)
    events = [(0, "start", 0.0, {"screen_h": screen} if screen else {})]
    t = 0.0
    for i, (height, sec) in enumerate(seconds.items()):
        events += [(2 * i + 1, "switch", t, {"height": height}), (2 * i + 2, "playing", t, {})]
        t += sec
    events.append((99, "end", t, {}))
    return facts, fold(asset_id, events)


def test_recommendations_drop_unwatched_rungs_and_add_one_for_large_screens() -> None:
    from vodstack.costs.recommend import recommend

    a, sa = _asset("a", {480: 99.5, 720: 0.5})  # 240 unwatched, 720 under 1 %
    b, sb = _asset("b", {720: 100.0}, screen=2160)  # all on the top rung, on a 4K screen
    report = build([a, b], [], [sa, sb], PRICES)
    recs = recommend(report, 0.01, {"default": [240, 480, 720], "small": [480]})
    drops = {(r.scope, r.name, r.height) for r in recs if r.action == "drop"}
    assert ("asset", "a", 240) in drops and ("asset", "a", 720) in drops
    assert ("asset", "a", 480) not in drops
    a240 = next(r for r in recs if r.name == "a" and r.height == 240)
    assert a240.floor and a240.stored_bytes == 240 * 10**6
    assert a240.apply_ladder == "small"  # a's ladder without 240 and 720
    adds = [(r.scope, r.name, r.height) for r in recs if r.action == "add"]
    assert ("asset", "b", 1080) in adds
    assert ("ladder", "default", 1080) in adds  # b's 4K screen is half the template's time
    assert recommend(build([a], [], [], PRICES), 0.01) == []  # no watch time, no verdict


@pytest.mark.parametrize("text", ["soon", "99999999999d", "7x", "d", "2026-13-01"])
def test_since_refuses_what_it_cannot_read(text: str) -> None:
    from vodstack.costs.report import parse_since
    from vodstack.errors import InvalidInput

    with pytest.raises(InvalidInput, match="--since"):
        parse_since(text, datetime(2026, 12, 6, tzinfo=UTC))


def test_since_reads_durations_and_dates() -> None:
    from vodstack.costs.report import parse_since

    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert parse_since("2026-12-01", now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_since(None, now) is None


def test_start_beacon_keeps_the_screen_size() -> None:
    from vodstack.web.telemetry import BeaconEventIn

    event = BeaconEventIn.model_validate(
        {"seq": 0, "type": "start", "t": 0, "pos": 0, "screen_w": 3840, "screen_h": 2160}
    ).beacon()
    assert event.data == {"screen_w": 3840, "screen_h": 2160}
    assert fold("a", [(event.seq, event.type, event.t, event.data)]).screen_height == 2160


def test_transcode_cpu_is_read_from_the_jobs_stage_record() -> None:
    """The job's own record (transcode/timing.py) wins over the wall-time upper bound."""
    from datetime import UTC, datetime, timedelta

    from vodstack.catalogue.models import Job
    from vodstack.costs.service import _job_cpu

    start = datetime(2026, 12, 6, tzinfo=UTC)
    timed = {"stages": {"ladder": {"seconds": 9.0, "cpu_s": 15.5}}, "seconds": 10.0, "cpu_s": 16.0}
    job = Job(stages=timed, started_at=start, finished_at=start + timedelta(seconds=10))
    assert _job_cpu(job, cpus=2) == (16.0, True)
    old = Job(stages=None, started_at=start, finished_at=start + timedelta(seconds=10))
    assert _job_cpu(old, cpus=2) == (20.0, False)
