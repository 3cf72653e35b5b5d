"""Backfill benchmark: jobs on Celery/Redis through real `vodstack worker` processes.

    python bench/backfill.py [--assets 6] [--seconds 4] [--repeat 3]

Needs Redis on 127.0.0.1:6379 (VODSTACK_BENCH_REDIS) and uses PostgreSQL on 127.0.0.1:5432
when it answers (else SQLite). Prints, all measured in this run:

1. throughput: N short assets through 1 worker, then through 2 workers (ratio);
2. time-to-playable (upload → ``ready``) of a new upload on an idle worker, while a
   catalogue-wide re-transcode runs on the backfill lane (target ≤ 1.5× idle), and — the
   baseline that shows why lanes exist — while the same re-transcode sits in the upload
   queue ahead of it (one queue, first come first served).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SMALL_LADDER, make_clip
from vodstack.compose.services import Services, build_services
from vodstack.config import Settings

REDIS = os.environ.get("VODSTACK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
PG_ADMIN = os.environ.get("VODSTACK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def database() -> Iterator[str | None]:
    """A fresh PostgreSQL database if one answers, else None (SQLite in the home)."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=2, autocommit=True) as conn:
            name = f"vodstack_bench_{secrets.token_hex(4)}"
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        yield None
        return
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    """One installation: a home, a catalogue, a Redis prefix, and worker processes."""

    def __init__(self, root: Path, db_url: str | None) -> None:
        self.home = root / f"home-{secrets.token_hex(3)}"
        self.prefix = f"vodstack-bench-{secrets.token_hex(4)}:"
        self.env = {
            **os.environ,
            "VODSTACK_HOME": str(self.home),
            "VODSTACK_BROKER_URL": REDIS,
            "VODSTACK_BROKER_KEY_PREFIX": self.prefix,
            "VODSTACK_LADDER": json.dumps([r.model_dump() for r in SMALL_LADDER]),
            "VODSTACK_X264_PRESET": "veryfast",
            "VODSTACK_LOG_LEVEL": "WARNING",
            "VODSTACK_JOB_SWEEP_S": "2",
        }
        if db_url:
            self.env["VODSTACK_DATABASE_URL"] = db_url
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("VODSTACK_")})
        self.services: Services = build_services(Settings())
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_workers(self, count: int, queues: str = "ondemand,backfill") -> None:
        lanes = len(queues.split(","))
        for n in range(count):
            log = self.home / f"worker{len(self.workers)}.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "vodstack.cli", "worker", "--queues", queues],
                    env={**self.env, "VODSTACK_LOG_LEVEL": "INFO"},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.workers.append(proc)
            deadline = time.monotonic() + 60
            while log.read_text(errors="replace").count(" ready.") < lanes:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"worker {n} did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)

    def ingest(self, clip: Path) -> str:
        return self.services.ingestor.ingest_file(clip)

    def wait_ready(self, ids: list[str], timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        pending = set(ids)
        while pending:
            for asset_id in list(pending):
                asset = self.services.catalogue.get_asset(asset_id)
                if asset.status == "failed":
                    raise SystemExit(f"{asset_id} failed: {asset.error}")
                if asset.status == "ready" and not self._active(asset_id):
                    pending.discard(asset_id)
            if time.monotonic() > deadline:
                raise SystemExit(f"not ready after {timeout} s: {pending}")
            time.sleep(0.05)

    def _active(self, asset_id: str) -> bool:
        job = self.services.catalogue.latest_job(asset_id)
        return job is not None and job.state in ("queued", "running")

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.services.pipeline.dispatcher.close()  # type: ignore[union-attr]
        self.services.close()
        import redis

        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(f"{self.prefix}*"))
        if keys:
            client.delete(*keys)


def throughput(root: Path, clips: list[Path], workers: int) -> float:
    """Seconds from submitting every clip until all are ready, with ``workers`` processes."""
    with database() as db:
        stack = Stack(root, db)
        try:
            stack.start_workers(workers, "ondemand")
            started = time.monotonic()
            ids = [stack.ingest(c) for c in clips]
            stack.wait_ready(ids)
            return time.monotonic() - started
        finally:
            stack.close()


def time_to_playable(stack: Stack, clip: Path) -> float:
    started = time.monotonic()
    asset_id = stack.ingest(clip)
    stack.wait_ready([asset_id])
    return time.monotonic() - started


def playable_under_load(root: Path, clips: list[Path], probe: Path, repeat: int) -> dict:
    with database() as db:
        stack = Stack(root, db)
        try:
            stack.start_workers(1)
            catalogue = [stack.ingest(c) for c in clips]
            stack.wait_ready(catalogue)
            idle = [time_to_playable(stack, probe) for _ in range(repeat)]
            busy = []
            for _ in range(repeat):
                for asset_id in catalogue:  # catalogue-wide re-transcode on the backfill lane
                    stack.services.assets.retranscode(asset_id, queue="backfill")
                time.sleep(1.0)  # the backfill lane is busy now
                busy.append(time_to_playable(stack, probe))
                stack.wait_ready(catalogue)
            # Baseline: the same re-transcode in the upload queue, ahead of the new upload.
            fifo = []
            for _ in range(repeat):
                for asset_id in catalogue:
                    stack.services.assets.retranscode(asset_id, queue="ondemand")
                time.sleep(1.0)
                fifo.append(time_to_playable(stack, probe))
                stack.wait_ready(catalogue)
            return {"idle": idle, "backfill": busy, "one_queue": fifo}
        finally:
            stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only-playable", action="store_true", help="Skip the throughput part.")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vodstack-bench-backfill-"))
    try:
        clips = [make_clip(root / f"c{n}.mp4", args.seconds) for n in range(args.assets)]
        probe = make_clip(root / "probe.mp4", args.seconds)
        print(
            f"{args.assets} assets of {args.seconds} s 1280x720, ladder 240/360/720 veryfast, "
            f"{os.cpu_count()} cores"
        )
        if not args.only_playable:
            one = throughput(root, clips, 1)
            two = throughput(root, clips, 2)
            print(f"throughput  1 worker: {one:6.2f} s ({args.assets / one * 60:5.1f} assets/min)")
            print(
                f"throughput 2 workers: {two:6.2f} s ({args.assets / two * 60:5.1f} assets/min)"
                f"  → {one / two:.2f}× of 1 worker"
            )
        r = playable_under_load(root, clips, probe, args.repeat)
        idle = statistics.median(r["idle"])
        for name in ("idle", "backfill", "one_queue"):
            med = statistics.median(r[name])
            runs = ", ".join(f"{v:.2f}" for v in r[name])
            print(
                f"time-to-playable {name:>9}: median {med:6.2f} s ({med / idle:4.2f}× idle)"
                f"  runs: {runs}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
