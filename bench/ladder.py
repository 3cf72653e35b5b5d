"""Ladder benchmark (issue #8): fixed vs per-title ladders, and transcode speed per codec.

    python bench/ladder.py [--seconds 10] [--size 1280x720] [--quick]

1. **Per-title vs fixed**, on three kinds of content made with lavfi (``static``: a still
   picture with one small moving object, a talking head's share of motion; ``moderate``:
   testsrc2's moving shapes; ``high``: the same under heavy temporal noise, like grain or a
   stadium crowd). Each master is transcoded by vodstack's own job three times with the same
   rungs: ``fixed`` (each rung encoded to its cap — the classic fixed ladder), ``per_title``
   (a probe picks each rung's CRF and cap to keep the fixed ladder's VMAF) and ``crf`` (the
   default capped CRF, for reference). Per rung: bitrate and VMAF (full clip, every 2nd frame,
   at the top rung's size), bytes saved by per-title at equal VMAF, and the probe's cost.
2. **Realtime factor per codec**: the same ladder encoded by H.264 (x264), AV1 (SVT-AV1) and
   HEVC (x265) alone, one decode each, as vodstack runs them (seconds of video per second of
   wall clock; > 1 is faster than real time).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.fixtures.media_sources import content_clip  # noqa: E402

from vodstack.compose.services import build_services  # noqa: E402
from vodstack.config import DEFAULT_LADDER, Settings  # noqa: E402
from vodstack.media import ffmpeg_exe, run_ffmpeg  # noqa: E402
from vodstack.transcode.command import ladder_command  # noqa: E402
from vodstack.transcode.ladder import plan_ladder  # noqa: E402
from vodstack.transcode.planning import codec_tuning  # noqa: E402
from vodstack.transcode.quality import Window, parse_vmaf_log, vmaf_command  # noqa: E402

KINDS = ("static", "moderate", "high")
MODES = ("fixed", "per_title", "crf")


def transcode(home: Path, master: Path, seconds: float) -> dict[str, dict]:  # type: ignore[type-arg]
    """Run vodstack's job for each mode; per mode: rung → (kbps, bytes), wall time, info."""
    rungs = [r.model_dump() for r in DEFAULT_LADDER]
    settings = Settings(
        home=home,
        ladders={mode: {"mode": mode, "rungs": rungs} for mode in MODES},
        x264_preset="veryfast",
        quality_scores=False,  # measured below on the whole clip instead of sampled
        download_max_height=0,
        log_level="WARNING",
    )
    services = build_services(settings)
    out: dict[str, dict] = {}  # type: ignore[type-arg]
    try:
        for mode in MODES:
            asset_id = services.ingestor.ingest_file(master, ladder=mode)
            pool = services.pipeline.pool(workers=1, only_asset=asset_id)
            pool.start()
            started = time.perf_counter()
            while services.catalogue.get_asset(asset_id).status not in ("ready", "failed"):
                time.sleep(0.05)
            wall = time.perf_counter() - started
            pool.stop()
            asset = services.catalogue.get_asset(asset_id)
            if asset.status != "ready":
                raise SystemExit(f"{mode}: {asset.error}")
            files = {}
            for r in services.catalogue.renditions(asset_id, asset.revision):
                if r.kind == "video":
                    path = services.store.local_path(r.file_key)
                    assert path is not None
                    files[r.track_id] = (path, sum(f[1] for f in r.fragments), r.width, r.height)
            out[mode] = {"files": files, "wall": wall, "info": asset.ladder_info}
        return out
    finally:
        services.close()


def full_vmaf(master: Path, files: dict, fps: Fraction, work: Path) -> dict[str, float]:  # type: ignore[type-arg]
    tracks = sorted(files, key=lambda t: files[t][2] * files[t][3])
    top = files[tracks[-1]]
    logs = [work / f"{t}.json" for t in tracks]
    run_ffmpeg(
        vmaf_command(
            ffmpeg_exe(),
            master,
            [files[t][0] for t in tracks],
            logs,
            windows=[Window(0.0, 1e6)],
            fps=fps,
            size=(top[2], top[3]),
            subsample=2,
        )
    )
    scores = {t: parse_vmaf_log(log) for t, log in zip(tracks, logs, strict=True)}
    return {t: s[0] for t, s in scores.items() if s}


def compare(kind: str, results: dict, vmaf: dict, seconds: float) -> list[str]:  # type: ignore[type-arg]
    fixed, per_title, crf = (results[m]["files"] for m in MODES)
    lines = [
        f"\n### {kind}\n",
        "| rung | fixed kb/s | fixed VMAF | per-title kb/s | per-title VMAF | saved | ΔVMAF "
        "| capped CRF kb/s | capped CRF VMAF |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    tot = dict.fromkeys(MODES, 0)
    for track in sorted(fixed, key=lambda t: fixed[t][2] * fixed[t][3]):
        kbps = {m: results[m]["files"][track][1] * 8 / seconds / 1000 for m in MODES}
        for m in MODES:
            tot[m] += results[m]["files"][track][1]
        v = {m: vmaf[m].get(track, float("nan")) for m in MODES}
        saved = 1 - kbps["per_title"] / kbps["fixed"]
        lines.append(
            f"| {track} | {kbps['fixed']:.0f} | {v['fixed']:.2f} | {kbps['per_title']:.0f} "
            f"| {v['per_title']:.2f} | {saved:.0%} | {v['per_title'] - v['fixed']:+.2f} "
            f"| {kbps['crf']:.0f} | {v['crf']:.2f} |"
        )
    saved = 1 - tot["per_title"] / tot["fixed"]
    probe = results["per_title"]["wall"] - results["fixed"]["wall"]
    lines.append(
        f"| **all rungs** | {tot['fixed'] / 1e6:.2f} MB | | {tot['per_title'] / 1e6:.2f} MB | "
        f"| **{saved:.0%}** | | {tot['crf'] / 1e6:.2f} MB | |"
    )
    lines.append(
        f"\njob wall time: fixed {results['fixed']['wall']:.1f} s, per-title "
        f"{results['per_title']['wall']:.1f} s (probe ≈ {max(probe, 0):.1f} s), capped CRF "
        f"{results['crf']['wall']:.1f} s; crf chosen per rung: "
        + ", ".join(
            f"{r['track']}={r['chosen']['crf'] if r['chosen'] else 'fixed'}"
            for r in results["per_title"]["info"]["per_title"]["rungs"]
        )
    )
    del crf, per_title
    return lines


def codec_speed(master: Path, seconds: float, work: Path, size: tuple[int, int]) -> list[str]:
    settings = Settings()
    lines = [
        "\n### Transcode speed per codec (same rungs, one decode, 2 cores)\n",
        "| codec | encoder settings | wall s | realtime factor | bytes (all rungs) |",
        "|---|---|---:|---:|---:|",
    ]
    base = plan_ladder(
        width=size[0],
        height=size[1],
        fps=Fraction(30),
        has_audio=False,
        template=DEFAULT_LADDER,
        fragment_s=2,
        audio_kbps=128,
        codecs=("h264", "av1", "hevc"),
        tuning=codec_tuning(settings),
    )
    described = {
        "h264": "libx264 veryfast, capped CRF 23",
        "av1": f"libsvtav1 preset {settings.av1_preset}, capped CRF 35",
        "hevc": f"libx265 {settings.hevc_preset}, capped CRF 27",
    }
    for codec in ("h264", "av1", "hevc"):
        plan = replace(base, rungs=base.rungs_for(codec))
        out = work / codec
        out.mkdir()
        argv = ladder_command(ffmpeg_exe(), master, out, plan, fragment_s=2, preset="veryfast")
        started = time.perf_counter()
        run_ffmpeg(argv)
        wall = time.perf_counter() - started
        size_bytes = sum(p.stat().st_size for p in out.glob("*.mp4"))
        lines.append(
            f"| {codec} | {described[codec]} | {wall:.1f} | {seconds / wall:.2f}× "
            f"| {size_bytes / 1e6:.2f} MB |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--quick", action="store_true", help="4 s, 640x360")
    args = parser.parse_args(argv)
    seconds, size = (4.0, "640x360") if args.quick else (args.seconds, args.size)
    w, h = (int(x) for x in size.split("x"))
    work = Path(tempfile.mkdtemp(prefix="vodstack-ladder-"))
    print(f"# Ladder benchmark: {seconds:g} s {size} masters, default ladder ≤ {h}p, 2 s GOP")
    try:
        summary = []
        for kind in KINDS:
            master = content_clip(work / f"{kind}.mp4", kind, seconds=seconds, size=size)
            results = transcode(work / f"home-{kind}", master, seconds)
            vmaf = {}
            for mode in MODES:
                scratch = work / f"vmaf-{kind}-{mode}"
                scratch.mkdir()
                vmaf[mode] = full_vmaf(master, results[mode]["files"], Fraction(30), scratch)
            lines = compare(kind, results, vmaf, seconds)
            print("\n".join(lines), flush=True)
            summary.append(lines[-2])
        moderate = work / "moderate.mp4"
        print("\n".join(codec_speed(moderate, seconds, work, (w, h))), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
