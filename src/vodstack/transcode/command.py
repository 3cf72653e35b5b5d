"""Build the FFmpeg argv for a ladder (pure: no I/O, unit-tested).

One FFmpeg process decodes the source once: ``fps`` (constant frame rate for a regular
keyframe grid) → ``split`` → one ``scale`` per rung → one libx264 encoder and one CMAF muxer
per rung, plus one AAC track. Every rung gets the same forced keyframe instants
(``-force_key_frames`` every fragment, ``-sc_threshold 0``, ``-g`` = ``-keyint_min``), closed
GOPs (x264's default), so all rungs can switch at the same fragment boundaries [CMAF §7].
"""

from __future__ import annotations

from pathlib import Path

from vodstack.transcode.ladder import LadderPlan

# CMAF fragmented MP4: ftyp+moov up front, one moof+mdat per fragment, moof-relative offsets,
# and a sidx describing every fragment [ISO/IEC 23000-19; 14496-12 §8.16.3].
MOVFLAGS = "+cmaf+frag_keyframe+empty_moov+default_base_moof+global_sidx"
AUDIO_TRACK_ID = "a0"


def filter_graph(plan: LadderPlan) -> str:
    """Decode once, then scale in a cascade: 1080p → 720p → 480p → … .

    Each rung is scaled from the next larger one rather than from the source, so the work of
    scaling shrinks with every step (measured: bench/transcode.py). Output ``[v{i}]`` is
    rung ``i`` of ``plan.rungs`` (lowest first).
    """
    fps = f"{plan.fps.numerator}/{plan.fps.denominator}"
    order = sorted(range(len(plan.rungs)), key=lambda i: -plan.rungs[i].height)
    parts: list[str] = []
    source, filters = "[0:v]", [f"fps={fps}", "format=yuv420p"]
    for step, i in enumerate(order):
        r = plan.rungs[i]
        filters.append(f"scale={r.width}:{r.height}:flags=bicubic,setsar=1")
        last = step == len(order) - 1
        outputs = f"[v{i}]" if last else f"split=2[v{i}][c{step}]"
        parts.append(source + ",".join(filters) + ("" if last else ",") + outputs)
        source, filters = f"[c{step}]", []
    return ";".join(parts)


def encoder_threads(plan: LadderPlan, cpus: int) -> list[int]:
    """Threads per rung, in proportion to its pixels, so 5 encoders do not each start
    1.5 × cores threads and fight over 2 cores. A single rung keeps FFmpeg's default (0)."""
    if len(plan.rungs) == 1:
        return [0]
    pixels = [r.width * r.height for r in plan.rungs]
    budget = 2 * max(1, cpus)
    return [max(1, round(budget * p / sum(pixels))) for p in pixels]


def ladder_command(
    ffmpeg: str,
    source: Path,
    out_dir: Path,
    plan: LadderPlan,
    *,
    fragment_s: int,
    preset: str,
    cpus: int = 2,
) -> list[str]:
    """The full argv: progress on stdout (``-progress pipe:1``), errors only on stderr."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats"]
    argv += ["-progress", "pipe:1", "-i", str(source), "-filter_complex", filter_graph(plan)]
    keyframes = f"expr:gte(t,n_forced*{fragment_s})"
    threads = encoder_threads(plan, cpus)
    for i, rung in enumerate(plan.rungs):
        argv += ["-map", f"[v{i}]", "-an", "-sn", "-dn", "-c:v", "libx264", "-preset", preset]
        argv += ["-profile:v", "high", "-crf", str(rung.crf)]
        argv += ["-maxrate", f"{rung.maxrate_kbps}k", "-bufsize", f"{rung.bufsize_kbps}k"]
        argv += ["-g", str(plan.gop_frames), "-keyint_min", str(plan.gop_frames)]
        argv += ["-sc_threshold", "0", "-force_key_frames", keyframes]
        if threads[i]:
            argv += ["-threads", str(threads[i])]
        argv += ["-movflags", MOVFLAGS, "-map_metadata", "-1"]
        argv += [str(out_dir / f"{rung.track_id}.mp4")]
    if plan.audio_kbps is not None:
        argv += ["-map", "0:a:0", "-vn", "-sn", "-dn", "-c:a", "aac", "-b:a", f"{plan.audio_kbps}k"]
        argv += ["-ac", "2", "-ar", "48000"]
        # Audio has no keyframes to cut at: fragment by duration instead (TOOLCHAIN.md).
        argv += ["-frag_duration", str(fragment_s * 1_000_000)]
        argv += ["-movflags", MOVFLAGS + "+delay_moov", "-map_metadata", "-1"]
        argv += [str(out_dir / f"{AUDIO_TRACK_ID}.mp4")]
    return argv
