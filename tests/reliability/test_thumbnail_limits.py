"""Issue 20 item 5: frames cut on the fly cannot be turned into a CPU flood.

Times are clamped to the title and quantised, widths snapped to a few sizes, before the edge
keys anything (so distinct URLs do not mean distinct FFmpeg decodes); cuts have a concurrency
cap (503 + Retry-After over it); thumbnails have a rate bucket of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer, Viewer
from vodstack.packaging.layout import cache_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, Viewer]]:
    home = tmp_path_factory.mktemp("thumbs")
    server = LiveServer(
        home / "home",
        {
            "VODSTACK_THUMBNAIL_CONCURRENCY": "1",
            "VODSTACK_THUMBNAIL_WAIT_S": "0",
            "VODSTACK_THUMBNAIL_RATE_PER_S": "2",
            "VODSTACK_THUMBNAIL_BURST": "60",
        },
    )
    server.start()
    try:
        source = make_clip_file(home / "m.mp4", seconds=6, size="640x360")
        asset_id = server.upload(source).json()["id"]
        assert server.wait(asset_id)["status"] == "ready"
        yield server, asset_id, server.viewer(asset_id, "thumbs")
    finally:
        server.stop()


def test_out_of_range_and_near_identical_requests_share_one_entry(stack) -> None:
    _, asset_id, viewer = stack
    base = f"/v1/{asset_id}/thumbnail.jpg"
    first = viewer.get(f"{base}?time=1000&width=200")
    assert first.status_code == 200 and first.headers["x-edge-result-type"] == "Miss"
    for query in ("time=5000&width=200", "time=99999.5&width=230", "time=5.9&width=240"):
        again = viewer.get(f"{base}?{query}")
        assert again.status_code == 200, query
        assert again.headers["x-edge-result-type"] == "Hit", query  # no second decode
        assert again.content == first.content
    near = viewer.get(f"{base}?time=2.1&width=320")
    assert near.headers["x-edge-result-type"] == "Miss"
    assert viewer.get(f"{base}?time=2.7&width=300").headers["x-edge-result-type"] == "Hit"


def test_concurrent_cuts_are_capped_with_retry_after(stack) -> None:
    _, asset_id, viewer = stack
    urls = [
        f"/v1/{asset_id}/thumbnail.jpg?time={t}&width={w}"
        for t in range(5)
        for w in (160, 480, 640, 960)
    ]
    with ThreadPoolExecutor(len(urls)) as pool:
        answers = list(pool.map(viewer.get, urls))
    busy = [r for r in answers if r.status_code == 503]
    assert busy, [r.status_code for r in answers]
    assert all(r.headers.get("retry-after", "").isdigit() for r in busy)
    assert {r.status_code for r in answers} <= {200, 503}
    # the 503 was not cached: the same URL is cut once a slot is free
    assert viewer.get(str(busy[0].request.url)).status_code == 200


def test_thumbnails_have_their_own_rate_bucket(stack) -> None:
    _, asset_id, viewer = stack
    url = f"/v1/{asset_id}/thumbnail.jpg?time=1&width=160"
    statuses = [viewer.get(url).status_code for _ in range(80)]
    assert 429 in statuses, statuses
    limited = viewer.get(url)
    assert limited.status_code == 429 and limited.headers["retry-after"].isdigit()
    # segments and manifests are not limited by the thumbnail bucket
    assert viewer.get(f"/v1/{asset_id}/index.m3u8").status_code == 200


def test_keys_are_quantised_and_clamped() -> None:
    assert cache_path("thumbnail.jpg", {"time": "3.7", "width": "200"}) == (
        "thumbnail.jpg?time=3&width=240"
    )
    assert cache_path("thumbnail.jpg", {"time": "1e6", "width": "1900"}, 9.5) == (
        "thumbnail.jpg?time=9&width=1920"
    )
