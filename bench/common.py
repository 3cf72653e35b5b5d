"""Shared benchmark plumbing: a prepared asset, server processes, wrk runs, tables."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from vodstack.compose.services import build_services  # noqa: E402
from vodstack.config import RungTemplate, Settings  # noqa: E402
from vodstack.media import ffmpeg_argv  # noqa: E402

SMALL_LADDER = (
    RungTemplate(height=240, maxrate_kbps=400),
    RungTemplate(height=360, maxrate_kbps=800),
    RungTemplate(height=720, maxrate_kbps=3000),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: /metrics needs a bearer token on the viewer port: benchmarks read it with this one.
METRICS_TOKEN = "bench-metrics-token"


def bench_env(home: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "VODSTACK_METRICS_TOKEN": METRICS_TOKEN,
        "VODSTACK_HOME": str(home),
        "VODSTACK_LADDER": json.dumps([r.model_dump() for r in SMALL_LADDER]),
        "VODSTACK_X264_PRESET": "veryfast",
        "VODSTACK_MINT_RATE_PER_MIN": "0",
        "VODSTACK_PLAYBACK_RATE_PER_S": "0",
        "VODSTACK_LOG_LEVEL": "WARNING",
        # Comparable with earlier runs (the edge cache's own metrics are per worker process);
        # bench/workers.py sets --workers itself.
        "VODSTACK_SERVER_WORKERS": "1",
        **extra,
    }


def make_clip(path: Path, seconds: int = 12, size: str = "1280x720") -> Path:
    subprocess.run(
        [
            *ffmpeg_argv(),
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=30:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            str(path),
        ],
        check=True,
    )
    return path


@dataclass
class Prepared:
    home: Path
    asset_id: str
    token: str
    env: dict[str, str]


def prepare_asset(home: Path, seconds: int = 12) -> Prepared:
    """Ingest and transcode a clip in-process; subscribe a viewer; mint a token."""
    env = bench_env(home)
    os.environ.update({k: v for k, v in env.items() if k.startswith("VODSTACK_")})
    services = build_services(Settings())
    clip = make_clip(home / "clip.mp4", seconds)
    asset_id = services.ingestor.ingest_file(clip, "bench")
    pool = services.pipeline.pool(workers=1, only_asset=asset_id)
    pool.start()
    # Every job of the asset, the extras (poster, storyboard, VMAF) after the ladder too: a
    # server started on this home would otherwise run them during the measurements (FFmpeg
    # in the gated server of bench/entitlement.py read as 10-15 % "gate overhead").
    catalogue = services.catalogue
    while catalogue.get_asset(asset_id).status not in ("ready", "failed") or any(
        job.state in ("queued", "running") for job in catalogue.list_jobs(asset_id=asset_id)
    ):
        time.sleep(0.2)
    pool.stop()
    assert services.catalogue.get_asset(asset_id).status == "ready"
    services.grants.subscribe("bench-viewer", "bench")
    assert services.dev_idp is not None
    token = services.dev_idp.mint("bench-viewer", ttl=3600)
    services.close()
    return Prepared(home, asset_id, token, env)


def pinned(argv: list[str], cpus: str | None) -> list[str]:
    """``argv`` run on the cores ``cpus`` only (``taskset -c``; util-linux), or as it is."""
    return argv if cpus is None else ["taskset", "-c", cpus, *argv]


def split_cores() -> tuple[str, str] | None:
    """(server core, load-generator core) on a machine with at least two cores, else None.

    A server and its load generator on the same cores disturb each other by more than the
    few microseconds a comparison looks for: measured here, unpinned, identical servers under
    the same fixed rate read 129-210 µs of CPU per request from one five-second run to the
    next; pinned, at saturation, within ±5 % (BENCHMARKS.md, entitlement)."""
    cores = sorted(os.sched_getaffinity(0))
    return (str(cores[-1]), str(cores[0])) if len(cores) >= 2 else None


#: base URL -> process group of the server started by :func:`server` (its workers included).
SERVER_GROUPS: dict[str, int] = {}


def server_cpu_seconds(base: str) -> float:
    """User + system CPU time used so far by every process of the server at ``base``.

    CPU per request is what a gate or a cache costs; throughput on a shared machine also
    measures whatever else runs at the same time (Linux: read from /proc)."""
    group, ticks = SERVER_GROUPS[base], 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[2]) == group:  # pgrp: the server runs in a session of its own
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuRun:
    """One wrk run and the server CPU it cost."""

    wrk: WrkResult
    cpu_s: float

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / max(self.wrk.requests, 1) * 1e6


def wrk_cpu(base: str, path: str, **kwargs: object) -> CpuRun:
    """A wrk run against ``base + path`` with the server CPU it used."""
    before = server_cpu_seconds(base)
    result = wrk(base + path, **kwargs)  # type: ignore[arg-type]
    return CpuRun(result, server_cpu_seconds(base) - before)


@contextmanager
def server(
    env: dict[str, str],
    target: str | None = None,
    port: int | None = None,
    args: list[str] | None = None,
    cpus: str | None = None,
) -> Iterator[str]:
    """A server process: `vodstack serve`, or granian on another ASGI factory ``target``;
    ``cpus``: run it (every thread it starts) on these cores only (``taskset -c``)."""
    port = port or free_port()
    # this checkout's sources first: the venv may hold an editable install of another one
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env = {**env, "VODSTACK_PORT": str(port), "VODSTACK_HOST": "127.0.0.1", "PYTHONPATH": path}
    if target is None:
        argv = [sys.executable, "-m", "vodstack.cli", "serve", "--port", str(port), *(args or [])]
    else:
        argv = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            target,
        ]
    proc = subprocess.Popen(
        pinned(argv, cpus),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    SERVER_GROUPS[base] = proc.pid
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@dataclass(frozen=True)
class WrkResult:
    rps: float
    mb_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(
    url: str,
    *,
    seconds: int = 5,
    connections: int = 32,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    cpus: str | None = None,
) -> WrkResult:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    argv = pinned(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"], cpus)
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    if script is not None:
        argv += ["-s", str(script)]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    if os.environ.get("BENCH_DEBUG"):
        print(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    scale = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}
    mb_s = float(transfer.group(1)) * scale.get(transfer.group(2), 1.0) if transfer else 0.0
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)$", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)$", out, re.M).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), "
        r"timeout (\d+)",
        out,
    )
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return WrkResult(rps, mb_s, p50, p99, errors, requests)


def median_of(results: list[WrkResult]) -> WrkResult:
    return WrkResult(
        statistics.median(r.rps for r in results),
        statistics.median(r.mb_s for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.errors for r in results),
        sum(r.requests for r in results),
    )


def play_cookies(base: str, asset_id: str, token: str) -> str:
    return play_grant(base, asset_id, token)[0]


def play_grant(base: str, asset_id: str, token: str) -> tuple[str, str]:
    """The viewer's Cookie header and the path-token base (``/v1/{id}/t/{token}``)."""
    r = httpx.post(f"{base}/play/{asset_id}", headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    cookie = "; ".join(f"{k}={v}" for k, v in r.cookies.items())
    return cookie, "/" + r.json()["token"]["base"].split("/", 3)[3]
