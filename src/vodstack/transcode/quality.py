"""VMAF of each rung against the source, measured on sampled windows (FFmpeg's ``libvmaf``).

Why sampled: scoring every frame of every rung costs more than encoding them. A few windows
spread over the title (at fragment boundaries, so each rung decodes from a keyframe) and
every Nth frame inside them give a stable mean for a fraction of the cost.

How it is measured: the reference is the source through the same source filters and ``fps``
as the ladder, scaled to the *display* resolution (the top rung's size); each rung is scaled
up to that size (bicubic) and compared frame by frame (``setpts=N/FRAME_RATE/TB`` on both
sides, so timestamps rounded differently by two containers cannot pair frame *n* with frame
*n−1*). That is the usual ladder convention (Netflix's): scores are comparable across rungs,
so a 360p rung scores lower than a 1080p one of the same title.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from vodstack.media import ffmpeg_argv

__all__ = ["Window", "parse_vmaf_log", "pooled", "sample_windows", "vmaf_command"]


@dataclass(frozen=True, slots=True)
class Window:
    start: float
    duration: float


def sample_windows(
    duration_s: float, *, count: int, length_s: float, fragment_s: int
) -> tuple[Window, ...]:
    """``count`` windows of ``length_s`` spread evenly over the title, each starting on a
    fragment boundary (a keyframe of every rung); fewer when the title is short, so that at
    most a third of it is sampled."""
    length = min(length_s, duration_s)
    if length <= 0:
        return ()
    slots = max(1, int(duration_s // fragment_s))
    # Sample at most a third of the title (one window at least): cost stays a fraction.
    count = max(1, min(count, int(duration_s / 3 // length)))
    starts: list[float] = []
    for i in range(count):
        target = (duration_s - length) * (i + 0.5) / count
        start = min(slots - 1, round(target / fragment_s)) * fragment_s
        start = max(0.0, min(start, duration_s - length))
        start = (start // fragment_s) * fragment_s
        if start not in starts:
            starts.append(start)
    return tuple(Window(s, length) for s in starts)


def vmaf_command(
    ffmpeg: str,
    source: Path,
    rungs: Sequence[Path],
    logs: Sequence[Path],
    *,
    windows: Sequence[Window],
    fps: Fraction,
    size: tuple[int, int],
    source_filters: Sequence[str] = (),
    video_stream: int = 0,
    subsample: int = 1,
    threads: int = 2,
) -> list[str]:
    """One FFmpeg run scoring every rung over all windows; ``logs[i]`` gets rung i's JSON.

    Each window is an input of its own (``-ss``/``-t``: only that stretch is decoded); the
    windows are concatenated per side, then compared frame by frame.
    """
    rate = f"{fps.numerator}/{fps.denominator}"
    width, height = size
    count = len(rungs)
    argv = ffmpeg_argv(ffmpeg)
    for window in windows:
        seek = ["-ss", f"{window.start:.3f}", "-t", f"{window.duration:.3f}"]
        argv += [*seek, "-i", str(source)]
        for rung in rungs:
            argv += [*seek, "-i", str(rung)]
    ref_chain = [*source_filters, f"fps={rate}", "format=yuv420p"]
    ref_chain += [f"scale={width}:{height}:flags=bicubic", "setsar=1"]
    scale = f"scale={width}:{height}:flags=bicubic,setsar=1"
    parts: list[str] = []
    for j in range(len(windows)):
        base = j * (count + 1)
        parts.append(f"[{base}:v:{video_stream}]" + ",".join(ref_chain) + f"[r{j}]")
        parts += [f"[{base + 1 + i}:v:0]{scale}[d{j}x{i}]" for i in range(count)]
    n = len(windows)
    # Frame numbers as timestamps: the two sides pair frame n with frame n, whatever their
    # containers' timestamp rounding.
    renumber = f"setpts=N/({rate})/TB"
    refs = "".join(f"[ref{i}]" for i in range(count))
    joined = "".join(f"[r{j}]" for j in range(n))
    parts.append(f"{joined}concat=n={n}:v=1:a=0,{renumber},split={count}{refs}")
    for i, log in enumerate(logs):
        dis = "".join(f"[d{j}x{i}]" for j in range(n))
        parts.append(f"{dis}concat=n={n}:v=1:a=0,{renumber}[dis{i}]")
        options = f"log_fmt=json:log_path={filter_escape(str(log))}:n_subsample={subsample}"
        parts.append(f"[dis{i}][ref{i}]libvmaf={options}:n_threads={threads}[out{i}]")
    argv += ["-filter_complex", ";".join(parts)]
    for i in range(count):
        argv += ["-map", f"[out{i}]", "-f", "null", "-"]
    return argv


def filter_escape(path: str) -> str:
    """A filter option value: ``:`` and ``\\`` separate/escape inside filter arguments."""
    return path.replace("\\", "\\\\\\\\").replace(":", "\\\\:").replace("'", "\\\\'")


def parse_vmaf_log(path: Path) -> tuple[float, float, int] | None:
    """(mean, min, frames scored) from a libvmaf JSON log, None if it scored nothing."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pooled = data.get("pooled_metrics", {}).get("vmaf")
    frames = len(data.get("frames", []))
    if not pooled or not frames:
        return None
    return float(pooled["mean"]), float(pooled["min"]), frames


def pooled(results: Sequence[tuple[float, float, int]]) -> float | None:
    """Frame-weighted mean over windows."""
    frames = sum(r[2] for r in results)
    if not frames:
        return None
    return sum(r[0] * r[2] for r in results) / frames
