"""Attack-run findings at the edge, each through a real server process (issue 20, items 4, 8).

* Cache-key pollution: ``…/2.m4s%3Fnonce`` resolved to the real segment under a cache key of
  its own, so every nonce was an origin fetch and a fresh disk copy.
* Request collapsing under CPU contention: 50 concurrent misses of one segment made 2-4
  origin fetches on a loaded box. The cause was not the collapsing itself but purges that
  were not the edge's to apply: a freshly started edge replayed the purge events of the last
  window of the event log (and a process applied its own events twice, the second time from
  a worker thread, racing the event loop). Each purge detached the loads in flight, and on a
  busy CPU a burst of misses was far more likely to straddle one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from tests.e2e.test_edge import metric
from tests.reliability.rawhttp import request

pytestmark = pytest.mark.slow

SEGMENT = 'kind="segment"'
BUSY_S = 90  # a busy loop ends by itself after this, even if the test process dies


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    root = tmp_path_factory.mktemp("edge-findings")
    server = LiveServer(root / "home")
    server.start()
    try:
        asset_id = server.upload(make_clip_file(root / "m.mp4", seconds=8, size="320x180"))
        asset = server.wait(asset_id.json()["id"])
        assert asset["status"] == "ready"
        yield server, asset["id"]
    finally:
        server.stop()


def test_encoded_query_or_fragment_in_a_delivery_path_is_refused_before_the_cache(
    live: tuple[LiveServer, str],
) -> None:
    server, a = live
    viewer = server.viewer(a, "pollution")
    cookie = "; ".join(f"{k}={v}" for k, v in viewer.client.cookies.items())
    real = f"/v1/{a}/r1-4s/v180/2.m4s"
    assert viewer.get(real).status_code == 200
    before = metric(server, "vodstack_origin_requests_total", SEGMENT)
    entries = metric(server, "vodstack_edge_cache_entries", 'tier="memory"') + metric(
        server, "vodstack_edge_cache_entries", 'tier="disk"'
    )
    spellings = [f"{real}%3Fnonce{i}" for i in range(5)] + [
        f"{real}%3fx",
        f"{real}%23frag",
        f"/v1/{a}/r1-4s/v180/%32.m4s",
    ]
    for target in spellings:
        answer = request(server.port, "GET", target, [("Cookie", cookie)])
        assert answer.status == 400, (target, answer.status, answer.body[:200])
        assert b"percent-encoded" in answer.body
    # nothing reached the origin and nothing new was cached
    assert metric(server, "vodstack_origin_requests_total", SEGMENT) == before
    after = metric(server, "vodstack_edge_cache_entries", 'tier="memory"') + metric(
        server, "vodstack_edge_cache_entries", 'tier="disk"'
    )
    assert after == entries
    # names outside the layout are a 404 without an origin fetch; the real one still plays
    for name in ("r1-4s/v180/02.m4s", "r1-4s/v180/2.m4s.bak", "r01-4s/v180/2.m4s"):
        assert viewer.get(f"/v1/{a}/{name}").status_code == 404
    assert metric(server, "vodstack_origin_requests_total", SEGMENT) == before
    assert viewer.get(real).headers["x-edge-result-type"] == "Hit"


@contextlib.contextmanager
def busy_cpu(processes: int) -> Iterator[None]:
    """``processes`` pure-Python busy loops, each bounded to BUSY_S, killed on exit."""
    code = f"import time\nend = time.monotonic() + {BUSY_S}\nwhile time.monotonic() < end: pass"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(processes)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_fifty_concurrent_misses_make_one_origin_fetch_with_the_cpu_busy(
    live: tuple[LiveServer, str],
) -> None:
    """Every core busy; a second server process starts on the same catalogue (an edge
    restart, or one more edge) and 50 viewers at once ask for each segment. Meanwhile another
    process changes the title's access rules (an event every edge reads from the log). Asked
    again after the purge follower's first polls: still one origin fetch per segment."""
    origin, a = live
    viewer = origin.viewer(a, "collapse")  # cookies for the public URL both servers share
    cookies = dict(viewer.client.cookies)
    paths = [f"/v1/{a}/r1-4s/{track}/{n}.m4s" for track in ("v144", "v180") for n in (1, 2)]
    with busy_cpu(os.cpu_count() or 2):
        env = {"VODSTACK_LOG_LEVEL": "WARNING", "VODSTACK_PUBLIC_URL": origin.base_url}
        server = LiveServer(origin.home, env)
        server.start()
        try:
            before = metric(server, "vodstack_origin_requests_total", SEGMENT)

            async def burst(client: httpx.AsyncClient) -> list[httpx.Response]:
                out: list[httpx.Response] = []
                for path in paths:
                    out += await asyncio.gather(*(client.get(path) for _ in range(50)))
                return out

            async def play() -> list[httpx.Response]:
                async with httpx.AsyncClient(
                    base_url=server.base_url,
                    cookies=cookies,
                    timeout=60,
                    limits=httpx.Limits(max_connections=50),
                ) as client:
                    out = await burst(client)
                    changed = await asyncio.to_thread(
                        origin.client.put,
                        f"/api/assets/{a}/access",
                        headers=origin.admin,
                        json={"plans": None},
                    )
                    assert changed.status_code == 200, changed.text
                    await asyncio.sleep(2.5)  # the follower polls every second
                    return out + await burst(client)

            answers = asyncio.run(play())
            fetched = metric(server, "vodstack_origin_requests_total", SEGMENT) - before
        finally:
            server.stop()
    assert {r.status_code for r in answers} == {200}
    assert fetched == len(paths), f"{fetched:g} origin fetches for {len(paths)} segments"
