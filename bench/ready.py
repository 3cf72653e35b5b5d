"""Ready means the ladder: ``vodstack ingest --wait`` against a bare FFmpeg ladder.

    python bench/ready.py [--seconds 10] [--repeat 2]

Same clip (10 s 1080p30 + AAC), same five default rungs, same preset, same run, interleaved:

* **baseline**: one plain FFmpeg run encoding the five rungs with ``split`` and the audio
  (vodstack's own ladder argv, run bare: no CLI, no probe, no catalogue);
* ``vodstack ingest FILE --wait --json`` in a fresh home, ``VODSTACK_TRANSCODE_MODE=single``
  (apples to apples: one FFmpeg run makes the ladder) and ``progressive`` (the default): the
  whole process, Python start-up included, until the ladder is committed. The extras (poster,
  storyboard, download, VMAF) are not in that time: they are a job of their own afterwards;
  the benchmark then runs that job in-process and reports its cost beside it.

Goal (issue #16): ingest --wait ≤ 1.2× the bare ladder. Stage timings come from the job row
(``stages``), CPU from ``getrusage`` of the FFmpeg children.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench.transcode import make_master  # noqa: E402
from vodstack.catalogue.repository import EXTRAS_KIND  # noqa: E402
from vodstack.compose.services import build_services  # noqa: E402
from vodstack.config import DEFAULT_LADDER, Settings  # noqa: E402
from vodstack.media import ffmpeg_exe  # noqa: E402
from vodstack.transcode.command import ladder_command  # noqa: E402
from vodstack.transcode.ladder import plan_ladder  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare_ladder(master: Path, out: Path, preset: str) -> tuple[float, float]:
    """Wall and CPU seconds of one FFmpeg run making the five rungs + audio."""
    plan = plan_ladder(
        width=1920,
        height=1080,
        fps=Fraction(30),
        has_audio=True,
        template=DEFAULT_LADDER,
        fragment_s=2,
        audio_kbps=128,
    )
    out.mkdir(parents=True)
    argv = ladder_command(ffmpeg_exe(), master, out, plan, fragment_s=2, preset=preset)
    cpu0, start = children_cpu(), time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, children_cpu() - cpu0


def ingest_wait(master: Path, home: Path, mode: str, preset: str) -> tuple[float, dict[str, Any]]:
    """Wall seconds of ``vodstack ingest --wait --json`` and its JSON output."""
    env = {
        **os.environ,
        "VODSTACK_HOME": str(home),
        "VODSTACK_TRANSCODE_MODE": mode,
        "VODSTACK_X264_PRESET": preset,
        "VODSTACK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "src"),
    }
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "vodstack.cli", "ingest", str(master), "--wait", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ingest --wait ({mode}) failed: {proc.stderr[-2000:]}")
    return wall, json.loads(proc.stdout)


def run_extras(home: Path, asset_id: str, mode: str, preset: str) -> dict[str, Any]:
    """Run the queued extras job here (what ``serve``/``worker`` do) and return its stages."""
    settings = Settings(home=home, transcode_mode=mode, x264_preset=preset)  # type: ignore[arg-type]
    services = build_services(settings)
    pool = services.pipeline.pool(workers=1, only_asset=asset_id, only_kind=EXTRAS_KIND)
    pool.start()
    try:
        while True:
            job = services.catalogue.latest_job(asset_id, kind=EXTRAS_KIND)
            if job is not None and job.state in ("succeeded", "failed", "dead"):
                return dict(job.stages or {})
            time.sleep(0.2)
    finally:
        pool.stop()
        services.close()


def stage_line(stages: dict[str, Any]) -> str:
    parts = [
        f"{name} {v['seconds']:.2f}s/{v['cpu_s']:.1f}cpu" for name, v in stages["stages"].items()
    ]
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--preset", default="veryfast")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vodstack-ready-"))
    walls: dict[str, list[float]] = {"bare": [], "single": [], "progressive": []}
    cpu_bare: list[float] = []
    ready_s: list[float] = []
    last: dict[str, dict[str, Any]] = {}
    extras: dict[str, Any] = {}
    try:
        master = work / "master.mp4"
        make_master(master, args.seconds)
        for n in range(args.repeat):  # interleaved: machine noise hits every method alike
            wall, cpu = bare_ladder(master, work / f"bare{n}", args.preset)
            walls["bare"].append(wall)
            cpu_bare.append(cpu)
            for mode in ("single", "progressive"):
                home = work / f"{mode}{n}"
                wall, data = ingest_wait(master, home, mode, args.preset)
                walls[mode].append(wall)
                last[mode] = data["job"]["stages"]
                if mode == "progressive":
                    ready_s.append(data["job"]["stages"].get("ready_s", float("nan")))
                if mode == "single" and n == args.repeat - 1:
                    extras = run_extras(home, data["id"], mode, args.preset)
                shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(work / f"bare{n}", ignore_errors=True)
        med = {k: statistics.median(v) for k, v in walls.items()}
        rungs = "/".join(str(r.height) for r in DEFAULT_LADDER)
        print(
            f"clip: {args.seconds} s 1080p30 + AAC; ladder {rungs}p + AAC; preset {args.preset}; "
            f"median of {args.repeat}; load {os.getloadavg()[0]:.1f}"
        )
        print(f"{'method':<52}{'wall s':>8}{'× bare':>8}")
        rows = [
            ("bare FFmpeg ladder (one run, split) — baseline", med["bare"]),
            ("vodstack ingest --wait, transcode_mode=single", med["single"]),
            ("vodstack ingest --wait, progressive (whole ladder)", med["progressive"]),
        ]
        for label, wall in rows:
            print(f"{label:<52}{wall:>8.2f}{wall / med['bare']:>8.2f}")
        if ready_s:
            r = statistics.median(ready_s)
            print(f"{'  progressive: playable after (job start → ready)':<52}{r:>8.2f}")
        print(f"ratio single/bare: {med['single'] / med['bare']:.2f}× (goal ≤ 1.2×)")
        print(f"ratio progressive/bare: {med['progressive'] / med['bare']:.2f}×")
        media_min = args.seconds / 60
        print(f"CPU-s per media-minute: bare {statistics.median(cpu_bare) / media_min:.1f}", end="")
        for mode in ("single", "progressive"):
            print(f", {mode} {last[mode].get('cpu_s_per_media_min', float('nan')):.1f}", end="")
        print()
        for mode in ("single", "progressive"):
            print(f"stages ({mode}, last run): {stage_line(last[mode])}")
        if extras:
            cpu = extras.get("cpu_s", 0.0)
            print(
                f"extras job after ready (single, last run): {extras.get('seconds', 0):.2f} s, "
                f"{cpu:.1f} CPU-s = {cpu / max(1e-9, statistics.median(cpu_bare)):.0%} of the "
                f"bare ladder's CPU; {stage_line(extras)}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
