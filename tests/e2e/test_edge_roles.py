"""Split roles through real server processes: a shield between edges and the origin, purges
reaching a separate edge process, origin-group failover on a 5xx, the HTTPS redirect
listener, and why errors were answered (metrics and access log).

Every process shares one ``home`` (catalogue, object store and the origin secret generated
on first run), as processes on one machine would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer, free_port
from tests.e2e.test_edge import metric, result

pytestmark = pytest.mark.slow

SECRET_HEADER = "X-Vodstack-Origin-Secret"
# Manifests would expire from an edge after 2 s by default; with 300 s only a purge can take
# a cached one away within the few seconds these tests wait.
LONG_MANIFEST_TTL = {"VODSTACK_MANIFEST_MAX_AGE_S": "300"}


@dataclass
class Tier:
    root: Path
    home: Path
    origin: LiveServer
    asset_id: str  # ready, 8 s at 320x180: r1-4s/{v144,v180}/{1,2}.m4s

    @property
    def secret(self) -> str:
        """The origin secret generated on first run and shared through ``home``."""
        return (self.home / "secrets" / "origin-secret").read_text().strip()


Launch = Callable[..., LiveServer]


def role_server(home: Path, *args: str, env: dict[str, str] | None = None) -> LiveServer:
    return LiveServer(home, env, args=list(args))


@pytest.fixture(scope="module")
def tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tier]:
    root = tmp_path_factory.mktemp("roles")
    home = root / "home"
    origin = role_server(
        home, "--role", "origin", env={"VODSTACK_ACCESS_LOG": str(root / "origin.log")}
    )
    origin.start()
    try:
        clip = make_clip_file(root / "m.mp4", seconds=8, size="320x180")
        asset_id = origin.upload(clip).json()["id"]
        assert origin.wait(asset_id)["status"] == "ready"
        yield Tier(root, home, origin, asset_id)
    finally:
        origin.stop()


@pytest.fixture
def launch() -> Iterator[Launch]:
    """Start a ``vodstack serve`` process; ``log`` names its JSON access log."""
    started: list[LiveServer] = []

    def make(
        home: Path, *args: str, env: dict[str, str] | None = None, log: Path | None = None
    ) -> LiveServer:
        extra = dict(env or {})
        if log is not None:
            extra["VODSTACK_ACCESS_LOG"] = str(log)
        server = role_server(home, *args, env=extra)
        started.append(server)
        server.start()
        return server

    yield make
    for server in reversed(started):
        server.stop()


def log_lines(path: Path, url_path: str, *, at_least: int = 1) -> list[dict[str, object]]:
    """Access-log lines for ``url_path``, once ``at_least`` are there (a line is written just
    after its response went out)."""
    deadline = time.monotonic() + 5
    while True:
        text = path.read_text() if path.exists() else ""
        lines = [json.loads(x) for x in text.splitlines()]
        found = [x for x in lines if x["path"] == url_path]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


# -- (a) shield -------------------------------------------------------------------------------
def test_shield_turns_two_edges_worth_of_misses_into_one_origin_fetch(
    tier: Tier, launch: Launch
) -> None:
    """2 edges → 1 shield → 1 origin; 20 concurrent viewers' requests per edge for one
    uncached segment reach the origin once."""
    shield = launch(tier.home, "--role", "shield", "--origin", tier.origin.base_url)
    edges = [launch(tier.home, "--role", "edge", "--origin", shield.base_url) for _ in range(2)]
    viewers = [edge.viewer(tier.asset_id, f"shield-viewer-{i}") for i, edge in enumerate(edges)]
    path = f"/v1/{tier.asset_id}/r1-4s/v180/1.m4s"
    seg = 'kind="segment"'
    edge_before = [metric(e, "vodstack_origin_requests_total", seg) for e in edges]
    shield_before = metric(shield, "vodstack_origin_requests_total", seg)
    assert log_lines(tier.root / "origin.log", path, at_least=0) == []

    async def burst() -> list[httpx.Response]:
        clients = [
            httpx.AsyncClient(
                base_url=edge.base_url,
                cookies=dict(viewer.client.cookies),
                timeout=30,
                limits=httpx.Limits(max_connections=20),
            )
            for edge, viewer in zip(edges, viewers, strict=True)
        ]
        try:
            return await asyncio.gather(*(c.get(path) for c in clients for _ in range(20)))
        finally:
            for c in clients:
                await c.aclose()

    answers = asyncio.run(burst())
    assert len(answers) == 40
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1
    # each edge collapsed its 20 misses into one fetch from the shield ...
    for edge, before in zip(edges, edge_before, strict=True):
        assert metric(edge, "vodstack_origin_requests_total", seg) - before == 1
    # ... and the shield turned the edges' two into one fetch from the origin
    assert metric(shield, "vodstack_origin_requests_total", seg) - shield_before == 1
    # seen from the origin itself: one request for the segment, answered 200
    log_lines(tier.root / "origin.log", path)
    time.sleep(0.3)  # a second fetch, had there been one, would be logged by now
    served = log_lines(tier.root / "origin.log", path)
    assert [(x["status"], x["method"]) for x in served] == [(200, "GET")]
    # the object is now cached on both tiers
    assert all(result(v.get(path)) == "Hit" for v in viewers)


# -- (b) purge --------------------------------------------------------------------------------
def test_edge_process_purges_on_retranscode_and_delete(
    tier: Tier, launch: Launch, tmp_path: Path
) -> None:
    origin = tier.origin
    a = origin.upload(make_clip_file(tmp_path / "p.mp4", seconds=4, size="160x90")).json()["id"]
    assert origin.wait(a)["status"] == "ready"
    # A separate edge process: it learns of purges only through the catalogue's event log.
    edge = launch(tier.home, "--role", "edge", "--origin", origin.base_url, env=LONG_MANIFEST_TTL)
    viewer = edge.viewer(a, "purge-viewer")
    manifest, old_seg = f"/v1/{a}/index.m3u8", f"/v1/{a}/r1-4s/v90/1.m4s"
    assert "r1-4s/" in viewer.get(manifest).text
    assert result(viewer.get(manifest)) == "Hit"
    assert viewer.get(old_seg).status_code == 200
    assert result(viewer.get(old_seg)) == "Hit"
    purged = metric(edge, "vodstack_edge_cache_results_total", 'result="purged"')

    # retranscode: when the new revision is committed, the cached manifest (which names the
    # revision) and the old revision's objects leave the edge
    job_id = origin.cli("assets", "retranscode", a).split()[-1]

    def retranscoded() -> bool:
        job = origin.asset(a)["job"]
        assert job["state"] != "dead", job
        return job["id"] == job_id and job["state"] == "succeeded"

    until(retranscoded, "retranscode finished", timeout=120)
    until(lambda: "r2-4s/" in viewer.get(manifest).text, "edge serves the new manifest")
    # the previous revision stays playable (players finishing the title), and its segments
    # are immutable (the URL names the revision): the edge keeps its copy
    after = viewer.get(old_seg)
    assert (after.status_code, result(after)) == (200, "Hit")
    assert metric(edge, "vodstack_edge_cache_results_total", 'result="purged"') - purged >= 1
    assert metric(edge, "vodstack_edge_purges_total", 'scope="revision"') >= 1

    # delete: cached manifest and segment of the asset stop being served at once
    new_seg = f"/v1/{a}/r2-4s/v90/1.m4s"
    assert viewer.get(new_seg).status_code == 200
    assert result(viewer.get(new_seg)) == "Hit"
    assert result(viewer.get(manifest)) == "Hit"
    origin.cli("assets", "delete", a)
    until(
        lambda: all(viewer.get(p).status_code == 404 for p in (manifest, new_seg)),
        "deleted asset no longer served by the edge",
    )


def origin_fetches(edge: LiveServer) -> dict[str, float]:
    kinds = ("manifest", "playlist", "init", "segment", "other")
    return {k: metric(edge, "vodstack_origin_requests_total", f'kind="{k}"') for k in kinds}


def fetched_since(edge: LiveServer, before: dict[str, float]) -> dict[str, float]:
    return {k: v - before[k] for k, v in origin_fetches(edge).items() if v != before[k]}


def test_events_on_a_hot_title_purge_only_what_changed(
    tier: Tier, launch: Launch, tmp_path: Path
) -> None:
    """A caption upload, a poster change and an access-rule change, made in another process,
    send the edge back to the origin for the manifests and the new track only (poster: the
    poster only; access: nothing). Unpublish still takes every cached object down."""
    origin = tier.origin
    a = origin.upload(make_clip_file(tmp_path / "hot.mp4", seconds=8, size="160x90")).json()["id"]
    assert origin.wait(a)["status"] == "ready"
    edge = launch(tier.home, "--role", "edge", "--origin", origin.base_url, env=LONG_MANIFEST_TTL)
    viewer = edge.viewer(a, "hot-viewer")
    hot = [f"/v1/{a}/{p}" for p in ("index.m3u8", "index.mpd", "poster.jpg", "r1-4s/v90.m3u8")]
    hot += [f"/v1/{a}/r1-4s/v90/{n}" for n in ("init.mp4", "1.m4s", "2.m4s")]

    def play() -> None:
        for path in hot:
            assert viewer.get(path).status_code == 200, path

    def purges(scope: str) -> float:
        return metric(edge, "vodstack_edge_purges_total", f'scope="{scope}"')

    play()
    play()
    assert {result(viewer.get(p)) for p in hot} == {"Hit"}

    # caption upload: manifests (once each) and the new track's playlist, nothing else
    before = origin_fetches(edge)
    caption = origin.client.post(
        f"/api/assets/{a}/captions",
        params={"language": "en"},
        content=b"WEBVTT\n\n00:00.000 --> 00:02.000\nhello\n",
        headers={**origin.admin, "content-type": "text/vtt"},
    )
    assert caption.status_code == 201, caption.text
    track = caption.json()["track"]
    until(lambda: purges("track") == 1, "caption purge applied")
    assert f"r1-4s/{track}.m3u8" in viewer.get(f"/v1/{a}/index.m3u8").text
    hot.append(f"/v1/{a}/r1-4s/{track}.m3u8")
    play()
    time.sleep(1.5)  # a second application of the event, had there been one, is done by now
    play()
    assert fetched_since(edge, before) == {"manifest": 2, "playlist": 1}

    # poster change: the poster, nothing else
    before = origin_fetches(edge)
    changed = origin.client.put(f"/api/assets/{a}/poster", json={"time": 3}, headers=origin.admin)
    assert changed.status_code == 200, changed.text
    until(lambda: purges("pictures") == 1, "poster purge applied")
    play()
    assert fetched_since(edge, before) == {"other": 1}

    # access rules: the gate and /play decide per request; no cached object changes
    before = origin_fetches(edge)
    changed = origin.client.put(f"/api/assets/{a}/access", json={}, headers=origin.admin)
    assert changed.status_code == 200, changed.text
    time.sleep(1.5)  # the follower has read the event
    play()
    assert fetched_since(edge, before) == {}
    assert {result(viewer.get(p)) for p in hot} == {"Hit"}

    # unpublish: takedown; cached segments stop being served within the follower's second
    origin.cli("assets", "unpublish", a)
    until(
        lambda: all(viewer.get(p).status_code == 404 for p in hot),
        "unpublished asset no longer served by the edge",
        timeout=3,
    )
    assert purges("asset") == 1


def test_restarted_edge_makes_one_origin_fetch_for_fifty_concurrent_misses(
    tier: Tier, launch: Launch
) -> None:
    """An edge restarted on a catalogue full of recent events for the title (ready, caption,
    unpublish/publish...): its purge follower must not replay them. 50 viewers ask for a
    segment right after the start and again once the follower has polled: 1 origin fetch."""
    public = {**LONG_MANIFEST_TTL, "VODSTACK_PUBLIC_URL": "http://edge.example"}
    first = launch(tier.home, "--role", "edge", "--origin", tier.origin.base_url, env=public)
    viewer = first.viewer(tier.asset_id, "restart-viewer")
    cookies = dict(viewer.client.cookies)
    first.stop()
    # recent purging events for the title, all before the restart
    for published in ("false", "true"):
        flag = {"false": "unpublish", "true": "publish"}[published]
        tier.origin.cli("assets", flag, tier.asset_id)
    edge = launch(tier.home, "--role", "edge", "--origin", tier.origin.base_url, env=public)
    path = f"/v1/{tier.asset_id}/r1-4s/v144/2.m4s"
    seg = 'kind="segment"'

    async def burst(client: httpx.AsyncClient) -> list[httpx.Response]:
        return await asyncio.gather(*(client.get(path) for _ in range(50)))

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=edge.base_url,
            cookies=cookies,
            timeout=30,
            limits=httpx.Limits(max_connections=50),
        ) as client:
            first_burst = await burst(client)
            await asyncio.sleep(2.5)  # the follower polls every second
            return first_burst + await burst(client)

    answers = asyncio.run(run())
    assert {r.status_code for r in answers} == {200}
    assert metric(edge, "vodstack_origin_requests_total", seg) == 1
    assert metric(edge, "vodstack_edge_purges_total", 'scope="asset"') == 0


# -- (c) failover on a 5xx ----------------------------------------------------------------------
def test_origin_group_fails_over_when_the_primary_answers_5xx(tier: Tier, launch: Launch) -> None:
    """The primary is up and answering, with 502s: a shield whose own origin is down. The
    edge takes the object from the secondary (the origin) and the viewer sees a 200."""
    dead = f"http://127.0.0.1:{free_port()}"
    primary_log = tier.root / "primary.log"
    primary = launch(tier.home, "--role", "shield", "--origin", dead, log=primary_log)
    edge = launch(
        tier.home, "--role", "edge", "--origin", primary.base_url, "--origin", tier.origin.base_url
    )
    a, path = tier.asset_id, f"/v1/{tier.asset_id}/r1-4s/v144/1.m4s"
    secret = {SECRET_HEADER: tier.secret}
    assert primary.client.get(path, headers=secret).status_code == 502  # alive, failing
    viewer = edge.viewer(a, "failover-viewer")
    failovers = metric(edge, "vodstack_origin_failover_total", 'origin="0"')

    answer = viewer.get(path)
    assert answer.status_code == 200
    assert result(answer) == "Miss"
    assert answer.content == tier.origin.client.get(path, headers=secret).content
    assert metric(edge, "vodstack_origin_failover_total", 'origin="0"') - failovers == 1
    assert result(viewer.get(path)) == "Hit"  # the secondary's answer is cached
    assert viewer.get(f"/v1/{a}/index.m3u8").status_code == 200  # manifests fail over too
    assert metric(edge, "vodstack_origin_failover_total", 'origin="0"') - failovers == 2
    # what the primary answered, and why (reason and result type reach metrics and log)
    assert (
        metric(primary, "vodstack_http_responses_total", 'reason="origin_unavailable",status="502"')
        == 3
    )
    lines = log_lines(primary_log, path, at_least=2)
    assert [(x["status"], x["x-edge-result-type"], x["reason"]) for x in lines] == [
        (502, "Error", "origin_unavailable")
    ] * 2


# -- (d) redirect -----------------------------------------------------------------------------
def test_redirect_command_answers_308_to_https(tmp_path: Path) -> None:
    port = free_port()
    log = open(tmp_path / "redirect.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vodstack.cli",
            "redirect",
            "--to",
            "https://vod.example:8443/",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**os.environ, "VODSTACK_HOME": str(tmp_path / "home")},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "redirect.log").read_text()[-2000:]
            try:
                first = client.get("/v1/abcdefghij0123456789/index.m3u8?Policy=a%2Bb&x=1")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "redirect listener did not start"
                time.sleep(0.1)
        assert first.status_code == 308
        assert first.headers["location"] == (
            "https://vod.example:8443/v1/abcdefghij0123456789/index.m3u8?Policy=a%2Bb&x=1"
        )
        assert first.content == b""
        root = client.head("/")
        assert (root.status_code, root.headers["location"]) == (308, "https://vod.example:8443/")
        # 308, not 301: a client repeats the method and body at the new address
        post = client.post("/api/assets", content=b"x")
        assert (post.status_code, post.headers["location"]) == (
            308,
            "https://vod.example:8443/api/assets",
        )
        client.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


# -- error reasons ----------------------------------------------------------------------------
def test_errors_are_counted_and_logged_with_their_reason(tier: Tier, launch: Launch) -> None:
    a = tier.asset_id
    edge_log = tier.root / "edge-reasons.log"
    edge = launch(tier.home, "--role", "edge", "--origin", tier.origin.base_url, log=edge_log)
    viewer = edge.viewer(a, "reason-viewer")

    def responses(server: LiveServer, status: int, reason: str) -> float:
        labels = f'reason="{reason}",status="{status}"'  # as exposed: sorted by name
        return metric(server, "vodstack_http_responses_total", labels)

    # the viewer's cookies as a header: the jar sends them for this asset's path only
    cookies = "; ".join(f"{k}={v}" for k, v in viewer.client.cookies.items())
    cases = [  # (path, headers, status, reason) via the edge, with the viewer's cookies
        (f"/v1/{a}/index.mpd", None, 403, "missing"),  # no cookies
        ("/v1/zzzzzzzzzzzzzzzzzzzz/index.m3u8", None, 403, "scope"),  # another asset
        (f"/v1/{a}/r1-4s/v144/99.m4s", {}, 404, "not_found"),
        (f"/v1/{a}/r1-4s/v144/2.m4s", {"Range": "bytes=99999999-"}, 416, "range"),
    ]
    before = {(s, r): responses(edge, s, r) for _, _, s, r in cases}
    http_before = sum(responses(edge, s, "http") for s in (403, 404, 416))
    for path, headers, status, reason in cases:
        if headers is not None:
            answer = viewer.get(path, headers=headers)
        else:  # a client without the jar; the signed cookies only where the case wants them
            sent = {"Cookie": cookies} if reason == "scope" else {}
            answer = edge.client.get(path, headers=sent)
        assert answer.status_code == status, path
    for path, _, status, reason in cases:
        assert responses(edge, status, reason) - before[(status, reason)] == 1, reason
        line = log_lines(edge_log, path, at_least=1)[-1]
        assert (line["status"], line["reason"]) == (status, reason)
        # refused or failed: logged as an error, not "-"; a 416 keeps the cache's result
        expected = ("Hit", "Miss") if status == 416 else ("Error",)
        assert line["x-edge-result-type"] in expected, line
    assert sum(responses(edge, s, "http") for s in (403, 404, 416)) == http_before
    assert metric(edge, "vodstack_gate_denied_total", 'reason="scope"') >= 1

    # the origin refuses a request without the secret: counted once, with its reason
    origin = tier.origin
    secret_before = responses(origin, 403, "origin_secret")
    http_403 = responses(origin, 403, "http")
    path = f"/v1/{a}/r1-4s/v144/2.m4s"
    assert origin.client.get(path).status_code == 403
    assert responses(origin, 403, "origin_secret") - secret_before == 1
    assert responses(origin, 403, "http") == http_403
    line = log_lines(tier.root / "origin.log", path)[-1]
    assert (line["status"], line["reason"], line["x-edge-result-type"]) == (
        403,
        "origin_secret",
        "Error",
    )
