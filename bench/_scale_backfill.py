"""The backfill part of bench/catalogue_scale.py: a catalogue-wide re-transcode queued on
Celery/Redis at every size, and a new upload's time-to-ready while the backfill runs.

``vodstack assets retranscode --all`` runs as the operator would run it (a subprocess); its
wall time and peak RSS (``wait4``) show whether queueing grows in time only, not in memory.
At the largest size a ``vodstack worker`` (ondemand and backfill lanes) runs meanwhile: a
probe upload is timed on the idle worker, then while the backfill lane works through the
queue it was just given.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _catalogue_build as build
from bench.common import make_clip
from vodstack.compose.services import Services, build_services

REDIS = os.environ.get("VODSTACK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Enqueued:
    size: int
    jobs: int
    seconds: float
    peak_rss_mb: float


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping())
    except Exception:
        return False


def clean_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(f"{prefix}*", count=1000))
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])


def env_for(cat: build.Catalogue, objects: Path, prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "VODSTACK_HOME": str(cat.home),
        "VODSTACK_DATABASE_URL": cat.url,
        "VODSTACK_STORAGE_URL": f"file://{objects}",
        "VODSTACK_BROKER_URL": REDIS,
        "VODSTACK_BROKER_KEY_PREFIX": prefix,
        "VODSTACK_LADDER": json.dumps([r.model_dump() for r in build.LADDER]),
        "VODSTACK_X264_PRESET": "ultrafast",
        "VODSTACK_LOG_LEVEL": "WARNING",
        "VODSTACK_JOB_SWEEP_S": "2",
    }


def enqueue_all(cat: build.Catalogue, env: dict[str, str], out: Path) -> Enqueued:
    """``vodstack assets retranscode --all --json``, timed; peak RSS from wait4."""
    argv = [sys.executable, "-m", "vodstack.cli", "assets", "retranscode", "--all", "--json"]
    started = time.perf_counter()
    with open(out, "wb") as fh:
        proc = subprocess.Popen(argv, env=env, stdout=fh, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"retranscode --all failed ({proc.returncode}): {err[-2000:]}")
    data = json.loads(out.read_text())
    return Enqueued(cat.size, len(data["jobs"]), seconds, usage.ru_maxrss / 1024)


class Worker:
    """``vodstack worker --queues ondemand,backfill`` until stopped."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vodstack.cli", "worker", "--queues", "ondemand,backfill"],
                env={**env, "VODSTACK_LOG_LEVEL": "INFO"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while log.read_text(errors="replace").count(" ready.") < 2:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"worker did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            time.sleep(3)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@dataclass(frozen=True)
class Ready:
    """A probe upload: seconds to ready, and where they went (from its job row)."""

    seconds: float
    wait_s: float  # queued, until a worker started it
    job_s: float  # the job's run: probe, ladder, commit
    ladder_s: float

    def __str__(self) -> str:
        return (
            f"{self.seconds:.2f} (wait {self.wait_s:.2f}, job {self.job_s:.2f}, "
            f"ladder {self.ladder_s:.2f})"
        )


def time_to_ready(services: Services, clip: Path) -> Ready:
    started = time.perf_counter()
    asset_id = services.ingestor.ingest_file(clip, "probe")
    deadline = time.monotonic() + 300
    while True:
        asset = services.catalogue.get_asset(asset_id)
        job = services.catalogue.latest_job(asset_id)
        if asset.status == "failed":
            raise SystemExit(f"probe failed: {asset.error}")
        if asset.status == "ready" and job is not None and job.state == "succeeded":
            seconds = time.perf_counter() - started
            break
        if time.monotonic() > deadline:
            raise SystemExit("probe not ready in 300 s")
        time.sleep(0.05)
    stages = job.stages or {}
    wait = (job.started_at - job.created_at).total_seconds() if job.started_at else 0.0
    ladder = (stages.get("stages") or {}).get("ladder", {}).get("seconds", 0.0)
    return Ready(seconds, wait, float(stages.get("seconds", 0.0)), float(ladder))


def backfill_phase(
    catalogues: list[build.Catalogue], objects: Path, root: Path, *, quick: bool
) -> None:
    if not redis_available():
        print(f"backfill: skipped (no Redis at {REDIS})")
        return
    repeat = 3 if quick else 5
    results: list[Enqueued] = []
    for cat in catalogues[:-1]:
        prefix = f"vodstack-scale-{secrets.token_hex(4)}:"
        try:
            results.append(enqueue_all(cat, env_for(cat, objects, prefix), root / "jobs.json"))
        finally:
            clean_redis(prefix)
    largest = catalogues[-1]
    prefix = f"vodstack-scale-{secrets.token_hex(4)}:"
    env = env_for(largest, objects, prefix)
    probe = make_clip(root / "probe.mp4", 8, "1280x720")
    settings: Any = build.settings_for(largest.home, objects, largest.url)
    settings = settings.model_copy(update={"broker_url": REDIS, "broker_key_prefix": prefix})
    services = build_services(settings)
    worker = Worker(env, root / "worker.log")
    try:
        idle = [time_to_ready(services, probe) for _ in range(repeat)]
        results.append(enqueue_all(largest, env, root / "jobs.json"))
        time.sleep(2)  # the backfill lane is at work
        busy = [time_to_ready(services, probe) for _ in range(repeat)]
        counts = services.pipeline.job_counts()
    finally:
        worker.stop()
        services.pipeline.dispatcher.close()  # type: ignore[union-attr]
        services.close()
        clean_redis(prefix)
    print("vodstack assets retranscode --all (Celery on Redis; jobs queued on the backfill lane):")
    for r in results:
        print(
            f"  {r.size:>7,} titles: {r.jobs:>7,} jobs in {r.seconds:6.1f} s "
            f"({r.jobs / r.seconds:6.0f} jobs/s), peak RSS of the command {r.peak_rss_mb:5.0f} MB"
        )
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"  ratio {last.size:,}/{first.size:,}: time {last.seconds / first.seconds:.1f}×, "
            f"peak RSS {last.peak_rss_mb / first.peak_rss_mb:.2f}×"
        )
    print(f"  goal: {largest.size:,} jobs in ≤ 60 s → {results[-1].seconds:.1f} s")
    med_idle = statistics.median(r.seconds for r in idle)
    med_busy = statistics.median(r.seconds for r in busy)
    print(
        f"new upload (8 s 1280x720 → 3 rungs) ready: idle {med_idle:.2f} s, during the backfill "
        f"{med_busy:.2f} s → {med_busy / med_idle:.2f}× (goal ≤ 1.5×; medians of {repeat})"
    )
    print(f"  idle: {'; '.join(map(str, idle))}")
    print(f"  busy: {'; '.join(map(str, busy))}")
    print(f"  jobs when the worker stopped: {counts}")
