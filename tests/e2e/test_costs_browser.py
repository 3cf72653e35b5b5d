"""Costs against a real browser (Debian Chromium): two titles played, one at full speed and
one throttled; the usage ledger's bytes per rung match the bytes the browser received, the
watch time per rung matches the beacons' playing time, and a recommendation names the rung
nobody watched."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from tests.conftest import make_clip_file
from tests.e2e.browser import Chromium, Page, missing_requirements
from tests.e2e.conftest import ADMIN_TOKEN, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LADDER = [  # crf 12: each rung runs at its cap, so a throttle between them decides the rung
    {"height": 180, "maxrate_kbps": 250, "crf": 12},
    {"height": 360, "maxrate_kbps": 1000, "crf": 12},
    {"height": 720, "maxrate_kbps": 3000, "crf": 12},
]
THROTTLE_KBPS = 600  # under the 360p rung, over the 180p one
# Body bytes of every delivery response this page fetched over the network (Resource Timing;
# transferSize 0 = answered from the browser's cache, which the edge never saw).
BODY_BYTES = """performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/v1/') && e.transferSize > 0)
  .map(e => [new URL(e.name).pathname, e.encodedBodySize])"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    with Chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    home = tmp_path_factory.mktemp("costs")
    server = LiveServer(
        home / "home",
        {
            "VODSTACK_LADDER": json.dumps(LADDER),
            "VODSTACK_AUDIO_BITRATE_KBPS": "64",
            "VODSTACK_COSTS_FLUSH_S": "1",
            # Templates a recommendation can apply: the ladder without its upper rung(s).
            "VODSTACK_LADDERS": json.dumps({"low": LADDER[:1], "small": LADDER[:2]}),
            "VODSTACK_MINT_RATE_PER_MIN": "600",
        },
    )
    server.start()
    yield server
    server.stop()


def play_to_end(
    browser: Chromium, server: LiveServer, asset_id: str, subject: str, throttle: bool
) -> list[tuple[str, int]]:
    server.subscribe(subject)
    page: Page = browser.page(subject)
    if throttle:
        page.throttle(THROTTLE_KBPS, latency_ms=40)
    page.goto(f"{server.base_url}/watch/{asset_id}?engine=hls#token={server.token(subject)}")
    page.wait_for("window.vodstackPlayer?.phase === 'ready'", 15)
    page.eval("performance.setResourceTimingBufferSize(10000)")
    page.click("#play")
    page.wait_for("document.querySelector('video').ended", 60, polling_ms=250)
    received = [(path, int(size)) for path, size in page.eval(BODY_BYTES)]
    page.close()  # pagehide: the last beacons
    return received


def track_of(path: str) -> str | None:
    match = re.search(r"/r\d+-\d+s/([a-z][a-z0-9]*)(?:/|\.m3u8$)", path)
    return match.group(1) if match else None


def test_ledger_and_watch_time_match_the_browser(
    browser: Chromium, server: LiveServer, tmp_path
) -> None:
    ids = {}
    for name in ("fast", "slow"):
        clip = make_clip_file(tmp_path / f"{name}.mp4", seconds=12, size="1280x720")
        ids[name] = server.upload(clip, title=name).json()["id"]
    for asset_id in ids.values():
        assert server.wait(asset_id, timeout=240)["status"] == "ready"
    received = {
        "fast": play_to_end(browser, server, ids["fast"], "fast-viewer", throttle=False),
        "slow": play_to_end(browser, server, ids["slow"], "slow-viewer", throttle=True),
    }
    time.sleep(3)  # a ledger flush and the closed pages' beacons

    for name, asset_id in ids.items():
        report = server.client.get(f"/api/costs/{asset_id}", headers=server.admin).json()
        asset = report["assets"][0]
        browser_bytes: dict[str, int] = {}
        for path, size in received[name]:
            track = track_of(path)
            if track:
                browser_bytes[track] = browser_bytes.get(track, 0) + size
        ledger_bytes = {r["track_id"]: r["egress_bytes"] for r in asset["rungs"]}
        for track, sent in ledger_bytes.items():  # every rung, watched or not
            assert sent == pytest.approx(browser_bytes.get(track, 0), rel=0.02), (
                name,
                track,
                ledger_bytes,
                browser_bytes,
            )
        assert sum(ledger_bytes.values()) > 0
        total = sum(size for _, size in received[name])
        assert report["egress"]["bytes"] == pytest.approx(total, rel=0.02), name

        # Watch time per rung (from switch beacons) adds up to the QoE fold's playing time.
        analytics = server.client.get(
            f"/api/assets/{asset_id}/analytics", headers=server.admin
        ).json()
        playing = sum(s["playing_s"] for s in analytics["recent_sessions"])
        watched = sum(r["watch_s"] for r in report["rungs"])
        assert playing > 5 and watched == pytest.approx(playing, rel=0.02), (name, report["rungs"])
        # The rung the browser fetched most media from is the rung with most watch time.
        top_bytes = max(ledger_bytes, key=ledger_bytes.get)
        top_watch = max(asset["rungs"], key=lambda r: r["watch_s"])["track_id"]
        assert top_bytes == top_watch, (name, asset["rungs"])

    # The throttled title never fetched its 720p rung: a recommendation names it.
    slow_rungs = {r["height"]: r for r in report_of(server, ids["slow"])["assets"][0]["rungs"]}
    assert slow_rungs[720]["watch_share"] == 0 and slow_rungs[720]["egress_bytes"] == 0
    recs = server.client.get("/api/costs/recommendations", headers=server.admin).json()
    named = {(r["name"], r["height"]) for r in recs if r["action"] == "drop"}
    assert (ids["slow"], 720) in named, recs
    dropped = next(r for r in recs if r["name"] == ids["slow"] and r["height"] == 720)
    assert dropped["stored_bytes"] == slow_rungs[720]["stored_bytes"] > 0
    text = server.cli("costs", "recommend")
    assert f"asset {ids['slow']}: drop 720p" in text, text
    assert "would re-transcode" in text  # a dry run first

    # Applying it re-transcodes the title on the backfill lane with the fitting template.
    applied = json.loads(
        server.cli("costs", "recommend", "--asset", ids["slow"], "--apply", "--json")
    )
    job_id = applied["jobs"][ids["slow"]]
    assert applied["retranscode"][ids["slow"]] in ("low", "small")
    jobs = json.loads(server.cli("jobs", "list", "--json"))
    assert next(j for j in jobs if j["id"] == job_id)["queue"] == "backfill"
    deadline = time.monotonic() + 180
    while 720 in (heights := {r["height"] for r in server.asset(ids["slow"])["renditions"]}):
        assert time.monotonic() < deadline, heights
        time.sleep(1)
    assert 180 in heights

    # The admin page draws the three plots (bytes per day, watch time per rung, cost per title).
    page = browser.page("admin")
    page.goto(f"{server.base_url}/admin")
    page.eval(
        f"document.getElementById('token').value = {json.dumps(ADMIN_TOKEN)};"
        "document.getElementById('login').requestSubmit()"
    )
    page.click("#costs-button")
    page.wait_for("document.querySelectorAll('#costs svg').length === 3", 15)
    bars = page.eval("document.querySelectorAll('#costs svg rect').length")
    assert bars >= 2 + 2 + 1, bars  # two titles, two watched rungs at least, one day
    page.close()


def report_of(server: LiveServer, asset_id: str) -> dict:
    return server.client.get(f"/api/costs/{asset_id}", headers=server.admin).json()
