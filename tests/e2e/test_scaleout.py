"""Scale-out end to end: PostgreSQL + S3 (moto_server) + Celery on Redis, two `vodstack worker`
processes and a `vodstack serve`, all real processes on loopback, driven like an operator.

The tests share one stack (module scope) and run in file order; each leaves it usable for the
next. Media is tiny (2 s, 320x180) so the whole module stays within a couple of minutes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from tests.e2e.test_spine import decode_stats
from tests.fixtures.databases import postgres_available, postgres_database
from tests.fixtures.moto import MotoS3, moto_s3  # noqa: F401 - the session fixture
from tests.fixtures.scaleout import (
    REDIS_URL,
    LiveWorker,
    TcpProxy,
    WebhookReceiver,
    redis_available,
    redis_namespace,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
SMALL_LADDER = [{"height": 144, "maxrate_kbps": 200}]


@dataclass
class Stack:
    env: dict[str, str]
    server: LiveServer
    workers: list[LiveWorker]
    bucket: str
    s3: Any  # boto3 client
    receiver: WebhookReceiver
    db_url: str
    tmp: Path
    assets: list[str]

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.server.cli(*args, "--json"))

    def job(self, asset_id: str) -> dict[str, Any]:
        return self.server.asset(asset_id)["job"]

    def revision(self, asset_id: str) -> int:
        """The committed revision, read from the catalogue (the HTTP API does not show it)."""
        import psycopg

        url = self.db_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT revision FROM assets WHERE id = %s", (asset_id,)).fetchone()
        assert row is not None
        return int(row[0])

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        out: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"vod/{prefix}"):
            out += [o["Key"].removeprefix("vod/") for o in page.get("Contents", [])]
        return out


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, moto_s3: MotoS3) -> Iterator[Stack]:  # noqa: F811
    if not postgres_available():
        pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (it runs in CI)")
    if not redis_available():
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (it runs in CI)")
    tmp = tmp_path_factory.mktemp("scaleout")
    s3 = moto_s3.client()
    bucket = f"vod-{tmp.name.lower().replace('_', '-')[-20:]}"
    s3.create_bucket(Bucket=bucket)
    receiver = WebhookReceiver(WEBHOOK_SECRET.encode(), fail_first=("asset.ready",))
    with postgres_database() as db_url, redis_namespace() as prefix:
        env = {
            "VODSTACK_DATABASE_URL": db_url,
            "VODSTACK_STORAGE_URL": f"s3://{bucket}/vod",
            "VODSTACK_S3_ENDPOINT_URL": moto_s3.endpoint_url,
            "AWS_ACCESS_KEY_ID": moto_s3.access_key_id,
            "AWS_SECRET_ACCESS_KEY": moto_s3.secret_access_key,
            "AWS_DEFAULT_REGION": moto_s3.region,
            "VODSTACK_BROKER_URL": REDIS_URL,
            "VODSTACK_BROKER_KEY_PREFIX": prefix,
            "VODSTACK_BROKER_VISIBILITY_TIMEOUT_S": "8",
            "VODSTACK_JOB_LEASE_S": "5",
            "VODSTACK_JOB_SWEEP_S": "1",
            "VODSTACK_JOB_BACKOFF_S": "0.5",
            "VODSTACK_JOB_MAX_ATTEMPTS": "3",
            "VODSTACK_LADDERS": json.dumps({"small": SMALL_LADDER}),
            "VODSTACK_WEBHOOK_URLS": json.dumps([receiver.url]),
            "VODSTACK_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "VODSTACK_WEBHOOK_BACKOFF_S": "0.3",
            "VODSTACK_PLAYBACK_RATE_PER_S": "0",
            "VODSTACK_MINT_RATE_PER_MIN": "0",
            "VODSTACK_CPUS": "1",
            # These tests pin single-pass facts (one revision's files and nothing else, the
            # "covers" reason of a truncated master, a job killed mid-FFmpeg); progressive
            # windows across processes: tests/unit/transcode/test_ready_and_extras.py.
            "VODSTACK_TRANSCODE_MODE": "single",
            "VODSTACK_ACCESS_LOG": str(tmp / "access.log"),
        }
        server = LiveServer(tmp / "serve", env)
        server.start()
        # Each worker has a home of its own, as on separate machines: only the catalogue,
        # the bucket and the broker are shared.
        workers = [LiveWorker(tmp / f"worker{n}", server.env, f"worker{n}") for n in (1, 2)]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda w: w.start(), workers))
        st = Stack(env, server, workers, bucket, s3, receiver, db_url, tmp, [])
        try:
            yield st
        finally:
            for w in st.workers:
                w.stop()
            server.stop()
            receiver.close()


def _clip(stack: Stack, name: str, **kwargs: Any) -> Path:
    options = {"seconds": 2, "size": "320x180", **kwargs}
    return make_clip_file(stack.tmp / name, **options)


def _wait_job(stack: Stack, asset_id: str, states: tuple[str, ...], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = stack.job(asset_id)
        if job and job["state"] in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job of {asset_id} not in {states}: {stack.server.asset(asset_id)}")


def test_five_concurrent_uploads_are_transcoded_by_two_workers(stack: Stack) -> None:
    clips = [_clip(stack, f"c{n}.mp4") for n in range(5)]
    with ThreadPoolExecutor(5) as pool:
        responses = list(pool.map(stack.server.upload, clips))
    assert [r.status_code for r in responses] == [202] * 5
    stack.assets[:] = [r.json()["id"] for r in responses]
    assets = [stack.server.wait(a, timeout=120) for a in stack.assets]
    assert [a["status"] for a in assets] == ["ready"] * 5, assets
    assert all(stack.revision(a) == 1 for a in stack.assets)
    # Both worker processes took jobs (the owner names host:pid:lane of the lane process).
    completed = stack.cli_json("events", "--type", "transcode.completed")
    owners = {e["payload"]["worker"].split(":")[1] for e in completed}
    assert len(owners) >= 2, owners
    # Every one plays: FFmpeg decodes HLS and DASH through the signed delivery path.
    for asset_id in stack.assets[:2]:
        viewer = stack.server.viewer(asset_id, f"v-{asset_id}")
        for manifest in ("index.m3u8", "index.mpd"):
            frames, seconds = decode_stats(
                f"{stack.server.base_url}/v1/{asset_id}/{manifest}", viewer.ffmpeg_cookies
            )
            assert frames == 60 and abs(seconds - 2.0) <= 0.1
    for asset_id in stack.assets:
        keys = stack.keys(f"packaged/{asset_id}/")
        assert keys and all(k.startswith(f"packaged/{asset_id}/1/") for k in keys)


def _play_loop(
    server: LiveServer, asset_id: str, stop: threading.Event, log: list[tuple[str, int]]
) -> None:
    viewer = server.viewer(asset_id, "loop-viewer")
    base = f"{server.base_url}/v1/{asset_id}/"
    while not stop.is_set():
        r = viewer.get(base + "index.m3u8")
        log.append(("index.m3u8", r.status_code))
        if r.status_code != 200:
            continue
        master = m3u8.loads(r.text, uri=base + "index.m3u8")
        variant = master.playlists[0].absolute_uri
        r = viewer.get(variant)
        log.append((variant, r.status_code))
        if r.status_code != 200:
            continue
        media = m3u8.loads(r.text, uri=variant)
        urls = [media.segment_map[0].absolute_uri] + [s.absolute_uri for s in media.segments]
        for url in urls:
            r = viewer.get(url)
            log.append(
                (url, r.status_code) if r.status_code < 300 else (url + r.text, r.status_code)
            )
        dash = viewer.get(base + "index.mpd")
        log.append(("index.mpd", dash.status_code))


def test_retranscode_all_switches_while_a_viewer_plays(stack: Stack) -> None:
    stop = threading.Event()
    log: list[tuple[str, int]] = []
    player = threading.Thread(target=_play_loop, args=(stack.server, stack.assets[0], stop, log))
    player.start()
    try:
        time.sleep(1)
        out = stack.cli_json("assets", "retranscode", "--all", "--ladder", "small")
        assert out["queue"] == "backfill" and set(out["jobs"]) == set(stack.assets)
        deadline = time.monotonic() + 120
        while not all(stack.revision(a) == 2 for a in stack.assets):
            assert time.monotonic() < deadline, [stack.server.asset(a) for a in stack.assets]
            time.sleep(0.3)
        time.sleep(3)  # keep playing across the switch (manifest max-age 2 s)
    finally:
        stop.set()
        player.join(30)
    failures = [(url, status) for url, status in log if status not in (200, 206)]
    assert not failures, failures[:10]
    urls = [url for url, _ in log]
    assert any("/r1-" in u for u in urls) and any("/r2-" in u for u in urls)
    for asset_id in stack.assets:
        asset = stack.server.asset(asset_id)
        assert asset["status"] == "ready" and asset["job"]["state"] == "succeeded"
        assert sorted(r["track"] for r in asset["renditions"]) == ["a0", "v144"]
    jobs = stack.cli_json("jobs", "list", "--asset", stack.assets[0])
    transcodes = (j for j in jobs if j["kind"].startswith("transcode"))  # not the extras jobs
    assert next((j["kind"], j["queue"]) for j in transcodes) == ("transcode:small", "backfill")


def test_worker_killed_mid_transcode_the_other_finishes(stack: Stack) -> None:
    source = _clip(stack, "long.mp4", seconds=20, size="1280x720")
    asset_id = stack.server.upload(source).json()["id"]
    deadline = time.monotonic() + 60
    while (holder := _lease_holder(stack, asset_id)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)  # probing done, FFmpeg started
    victim = next(w for w in stack.workers if holder in w.log_text())
    victim.kill()  # kill -9: supervisor, lanes and FFmpeg
    asset = stack.server.wait(asset_id, timeout=120)
    assert asset["status"] == "ready", asset
    assert asset["job"]["attempts"] == 2, asset  # the first attempt died with its worker
    assert stack.revision(asset_id) == 1
    keys = stack.keys(f"packaged/{asset_id}/")
    assert keys and all(k.startswith(f"packaged/{asset_id}/1/") for k in keys)
    # The killed worker left scratch files; started again, it cleans them up.
    assert any((victim.home / "work").iterdir())
    victim.start()
    assert not any((victim.home / "work").iterdir())
    assert not stack.s3.list_multipart_uploads(Bucket=stack.bucket).get("Uploads")
    stack.assets.append(asset_id)


def _lease_holder(stack: Stack, asset_id: str) -> str | None:
    """The lane running the asset's job, as 'lane-PID@' (its Celery node name), or None."""
    import psycopg

    url = stack.db_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT lease_owner FROM jobs WHERE asset_id = %s AND state = 'running'", (asset_id,)
        ).fetchone()
    if row is None or not row[0]:
        return None
    _, tag, lane, _ = row[0].split(":")  # HOST:PID.START:LANE:THREAD (jobs/owner.py)
    return f"{lane}-{tag.partition('.')[0]}@"


def test_corrupt_source_ends_in_the_dead_letter_queue_and_redrive_fixes_it(stack: Stack) -> None:
    good = _clip(stack, "good.mp4", seconds=3, extra=["-movflags", "+faststart"])
    data = good.read_bytes()
    corrupt = stack.tmp / "corrupt.mp4"
    corrupt.write_bytes(data[: len(data) // 2])  # index intact, half the media missing
    asset_id = stack.server.upload(corrupt).json()["id"]
    job = _wait_job(stack, asset_id, ("dead",))
    assert job["attempts"] == 3
    assert "covers" in job["error"]  # "track v144 covers 1.5 s of a 3.0 s source"
    # The job shows dead first; the failure hook then reclaims the unserved revision's files
    # and only after that marks the asset failed (so whoever sees "failed" finds nothing left).
    asset = stack.server.wait(asset_id, timeout=30)
    assert asset["status"] == "failed" and asset["error"] == job["error"]
    dead = stack.cli_json("jobs", "dead")
    assert [(d["asset_id"], d["attempts"], d["error"]) for d in dead] == [
        (asset_id, 3, job["error"])
    ]
    # Fix the master in storage, then re-drive: attempts start again and it completes.
    master = next(k for k in stack.keys(f"masters/{asset_id}/"))
    stack.s3.put_object(
        Bucket=stack.bucket, Key=f"vod/{master}", Body=data, ServerSideEncryption="AES256"
    )
    out = stack.cli_json("jobs", "redrive", job["id"])
    assert out["redriven"][0]["attempts"] == 0
    asset = stack.server.wait(asset_id, timeout=60)
    assert asset["status"] == "ready", asset
    assert asset["job"]["attempts"] == 1 and asset["job"]["state"] == "succeeded"
    assert stack.cli_json("jobs", "dead") == []
    audit = stack.cli_json("events", "--asset", asset_id, "--type", "job.")
    assert [e["type"] for e in audit] == ["job.redriven", "job.dead_lettered"]
    assert audit[0]["payload"]["previous_attempts"] == 3
    assert audit[1]["payload"]["attempts"] == 3 and audit[1]["payload"]["kind"] == "transcode"
    stack.assets.append(asset_id)


def test_database_cut_answers_503_fast_and_recovers_without_restart(stack: Stack) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    via_proxy = stack.db_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    # A second server on the same home (signing keys) reaching PostgreSQL through the proxy.
    server = LiveServer(stack.server.home, {**stack.env, "VODSTACK_DATABASE_URL": via_proxy})
    server.start()
    try:
        asset_id = stack.assets[1]
        viewer = server.viewer(asset_id, "outage-viewer")
        manifest = f"/v1/{asset_id}/index.m3u8"
        assert viewer.get(manifest).status_code == 200
        pid = server.proc.pid if server.proc else None
        proxy.cut()
        for _ in range(3):
            started = time.monotonic()
            r = server.client.get(f"/api/assets/{asset_id}", headers=server.admin)
            assert r.status_code == 503, r.text
            assert time.monotonic() - started < 5
            assert r.headers.get("retry-after")
        started = time.monotonic()
        status = viewer.get(f"/v1/{asset_id}/index.mpd").status_code
        # The edge answers from a stale copy, or reports the failing (in-process) origin fast.
        assert status in (200, 502, 503) and time.monotonic() - started < 5
        proxy.restore()
        deadline = time.monotonic() + 20
        while True:
            try:
                r = server.client.get(f"/api/assets/{asset_id}", headers=server.admin)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "did not recover"
            time.sleep(0.2)
        assert viewer.get(manifest).status_code == 200
        assert server.proc is not None and server.proc.pid == pid and server.proc.poll() is None
    finally:
        server.stop()
        proxy.close()


def test_webhooks_are_signed_retried_and_seen_once(stack: Stack) -> None:
    ready = [a for a in stack.assets if stack.server.asset(a)["status"] == "ready"]
    expected = {("source.created", a) for a in stack.assets}
    expected |= {("asset.ready", a) for a in ready}
    expected.add(("asset.failed", stack.assets[-1]))  # the corrupt one, before its redrive
    deadline = time.monotonic() + 30
    while True:
        seen = {(b["type"], b["asset_id"]) for b in stack.receiver.processed.values()}
        if expected <= seen:
            break
        assert time.monotonic() < deadline, expected - seen
        time.sleep(0.2)
    received = stack.receiver.received
    assert all(r.signature_ok for r in received)
    # One delivery id per event and endpoint; retries repeat the id and the exact body.
    bodies: dict[str, set[str]] = {}
    for r in received:
        bodies.setdefault(r.delivery_id, set()).add(r.body)
    assert all(len(b) == 1 for b in bodies.values())
    per_event = Counter(body["event_id"] for body in stack.receiver.processed.values())
    assert set(per_event.values()) == {1}
    # asset.ready deliveries were refused once (500) and retried with the same id.
    ready_attempts = Counter(r.delivery_id for r in received if r.event_type == "asset.ready")
    assert ready_attempts and all(n == 2 for n in ready_attempts.values())
    # Every attempt is in the catalogue's event log.
    attempts = stack.cli_json("events", "--type", "webhook.attempt", "--limit", "1000")
    assert len(attempts) == len(received)
    assert {a["payload"]["delivery_id"] for a in attempts} == set(bodies)
