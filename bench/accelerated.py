"""Accelerated transcoding: the windowed job with 1, 2 and 4 workers vs the single-pass ladder.

    python bench/accelerated.py [--seconds 60] [--size 1280x720] [--repeat 1]

The same master, ladder (the benchmark ladder 240/360/720p + AAC, x264 veryfast) and
transcode stage (probe, ladder, poster, storyboard, download, commit) run in this process,
once per mode, each on a fresh catalogue and store. Baseline: ``single`` — one FFmpeg run
decodes the master once and encodes every rung (bench/transcode.py shows that this already
beats one run per rung). ``windowed ×N``: the master is cut into 4 s keyframe-aligned windows
encoded by N parallel workers and joined (issue #10). The ratio is baseline wall time over
windowed wall time; on a 2-core machine the single-pass run already keeps both cores busy,
so the parallel win here is small — the same code spreads over every core (and, through the
store, every worker process) of a bigger box.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench.common import SMALL_LADDER, make_clip
from vodstack.catalogue.repository import new_id
from vodstack.compose.services import build_services
from vodstack.config import Settings


def run_once(master: Path, home: Path, mode: str, workers: int) -> float:
    settings = Settings(
        home=home,
        ladder=SMALL_LADDER,
        x264_preset="veryfast",
        transcode_mode=mode,
        window_workers=workers,
        progressive_cleanup_s=0,
    )
    services = build_services(settings)
    try:
        asset_id = new_id()
        key = f"masters/{asset_id}/source.mp4"
        with services.store.writer(key) as fh, open(master, "rb") as src:
            shutil.copyfileobj(src, fh)
        services.catalogue.create_asset(
            asset_id, title=mode, source_key=key, source_name="m.mp4", source_size=1
        )
        started = time.perf_counter()
        services.pipeline.stage.run(asset_id, new_id(), lambda f: None, threading.Event())
        return time.perf_counter() - started
    finally:
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    modes = [("single", 1)] + [("windowed", int(n)) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="vodstack-accel-") as tmp:
        root = Path(tmp)
        master = make_clip(root / "master.mp4", seconds=args.seconds, size=args.size)
        times: dict[tuple[str, int], list[float]] = {m: [] for m in modes}
        for round_ in range(args.repeat):  # interleaved: machine noise hits every mode alike
            for mode, workers in modes:
                home = root / f"home-{mode}-{workers}-{round_}"
                times[(mode, workers)].append(run_once(master, home, mode, workers))
                shutil.rmtree(home, ignore_errors=True)
    base = statistics.median(times[("single", 1)])
    print(
        f"transcode job, {args.seconds} s {args.size} master → 240/360/720p + AAC, x264 veryfast, "
        f"median of {args.repeat}"
    )
    print(f"{'mode':<22}{'wall s':>9}{'× realtime':>12}{'speed-up':>10}")
    for mode, workers in modes:
        wall = statistics.median(times[(mode, workers)])
        label = "single (baseline)" if mode == "single" else f"windowed × {workers} workers"
        print(f"{label:<22}{wall:>9.1f}{wall / args.seconds:>12.2f}{base / wall:>9.2f}×")


if __name__ == "__main__":
    main()
