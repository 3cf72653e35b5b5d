"""Transcode benchmark: one-decode ladder vs one FFmpeg run per rung (same clip, same run).

    python bench/transcode.py [--seconds 10] [--repeat 2]

Prints wall time, realtime factor and the speed-up ratio (target ≥ 1.6×). The baseline encodes
exactly the same rungs with exactly the same encoder settings, one FFmpeg process per rung,
each decoding the master again — what a naive pipeline does.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from vodstack.config import DEFAULT_LADDER
from vodstack.transcode.command import ladder_command
from vodstack.transcode.ladder import LadderPlan, plan_ladder
from vodstack.transcode.runner import ffmpeg_exe


def make_master(path: Path, seconds: int) -> None:
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "18",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            str(path),
        ],
        check=True,
    )


def one_rung_plans(plan: LadderPlan) -> list[LadderPlan]:
    """The baseline: the same ladder as N single-rung plans (audio with the first one)."""
    return [
        LadderPlan(
            rungs=(rung,),
            fps=plan.fps,
            gop_frames=plan.gop_frames,
            audio_kbps=plan.audio_kbps if i == 0 else None,
        )
        for i, rung in enumerate(plan.rungs)
    ]


def timed(argvs: list[list[str]]) -> float:
    start = time.perf_counter()
    for argv in argvs:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--preset", default="veryfast")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vodstack-bench-"))
    try:
        master = work / "master.mp4"
        make_master(master, args.seconds)
        plan = plan_ladder(
            width=1920,
            height=1080,
            fps=Fraction(30),
            has_audio=True,
            template=DEFAULT_LADDER,
            fragment_s=2,
            audio_kbps=128,
        )
        ffmpeg = ffmpeg_exe()
        ours_out, base_out = work / "ours", work / "baseline"
        ours_out.mkdir()
        base_out.mkdir()
        ours = [ladder_command(ffmpeg, master, ours_out, plan, fragment_s=2, preset=args.preset)]
        baseline = [
            ladder_command(ffmpeg, master, base_out, p, fragment_s=2, preset=args.preset)
            for p in one_rung_plans(plan)
        ]
        ours_t, base_t = [], []
        for _ in range(args.repeat):  # interleaved so machine noise hits both alike
            base_t.append(timed(baseline))
            ours_t.append(timed(ours))
        ours_s, base_s = statistics.median(ours_t), statistics.median(base_t)
        size = lambda d: sum(p.stat().st_size for p in d.iterdir())  # noqa: E731
        rungs = "/".join(str(r.height) for r in plan.rungs)
        print(
            f"clip: {args.seconds} s 1080p30 + AAC; ladder {rungs}p + AAC; preset {args.preset}; "
            f"median of {args.repeat}"
        )
        print(f"{'method':<34}{'wall s':>9}{'× realtime':>12}{'MB out':>9}")
        print(
            f"{'one FFmpeg run per rung (baseline)':<34}{base_s:>9.2f}"
            f"{args.seconds / base_s:>12.2f}{size(base_out) / 1e6:>9.2f}"
        )
        print(
            f"{'vodstack one-decode ladder':<34}{ours_s:>9.2f}"
            f"{args.seconds / ours_s:>12.2f}{size(ours_out) / 1e6:>9.2f}"
        )
        print(f"speed-up: {base_s / ours_s:.2f}× (target ≥ 1.6×)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
