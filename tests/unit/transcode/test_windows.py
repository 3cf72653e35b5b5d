"""Window planning and re-timing (pure), plus a real splice check with FFmpeg."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from vodstack.media import ffmpeg_exe
from vodstack.packaging.retime import retime_fragments
from vodstack.packaging.track_index import read_track_index_bytes
from vodstack.transcode.windows import (
    fragment_start_frames,
    keyframe_times,
    plan_windows,
    window_of_fragment,
    window_tfdt,
)


def test_fragment_grid_integer_and_ntsc_rates() -> None:
    assert fragment_start_frames(300, Fraction(30), 2) == [0, 60, 120, 180, 240]
    assert fragment_start_frames(301, Fraction(30), 2) == [0, 60, 120, 180, 240, 300]
    ntsc = fragment_start_frames(200, Fraction(30000, 1001), 2)
    assert ntsc == [0, 60, 120, 180]  # ceil(59.94) = 60, ceil(119.88) = 120, …


def test_windows_cover_every_frame_once() -> None:
    windows = plan_windows(301, Fraction(30), 2, 2)
    assert [(w.start_frame, w.frame_count) for w in windows] == [(0, 120), (120, 120), (240, 61)]
    assert sum(w.frame_count for w in windows) == 301
    assert window_of_fragment(windows, 5).index == 2
    with pytest.raises(IndexError):
        window_of_fragment(windows, 6)


def test_keyframe_times_and_tfdt() -> None:
    windows = plan_windows(300, Fraction(30), 2, 2)
    assert keyframe_times(windows[1], 300, Fraction(30), 2) == "0.000000,2.000000"
    assert window_tfdt(windows[1], Fraction(30), 15360) == 120 * 512


def encode_window(src: Path, out: Path, start_frame: int, frames: int, keyframes: str) -> bytes:
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-ss",
            f"{start_frame / 30:.6f}",
            "-i",
            str(src),
            "-frames:v",
            str(frames),
            "-vf",
            "fps=30",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "60",
            "-keyint_min",
            "60",
            "-sc_threshold",
            "0",
            "-force_key_frames",
            keyframes,
            "-an",
            "-movflags",
            "+cmaf+frag_keyframe+empty_moov+default_base_moof",
            str(out),
        ],
        check=True,
    )
    return out.read_bytes()


@pytest.mark.slow
def test_windows_encoded_apart_splice_into_one_track(tmp_path: Path) -> None:
    from tests.conftest import make_clip_file

    src = make_clip_file(tmp_path / "src.mp4", seconds=8, size="320x180", audio=False)
    windows = plan_windows(240, Fraction(30), 2, 2)
    parts = []
    init = b""
    sequence = 1
    for w in windows:
        raw = encode_window(
            src,
            tmp_path / f"w{w.index}.mp4",
            w.start_frame,
            w.frame_count,
            keyframe_times(w, 240, Fraction(30), 2),
        )
        index = read_track_index_bytes(raw)
        init = init or raw[: index.init_size]
        body = raw[
            index.fragments[0].offset : index.fragments[-1].offset + index.fragments[-1].size
        ]
        parts.append(
            retime_fragments(body, window_tfdt(w, Fraction(30), index.timescale), sequence)
        )
        sequence += len(index.fragments)
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(init + b"".join(parts))
    index = read_track_index_bytes(joined.read_bytes())
    assert [f.decode_time for f in index.fragments] == [i * 30720 for i in range(4)]
    decoded = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-v", "error", "-i", str(joined), "-f", "framemd5", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    frames = [line.split(",") for line in decoded.stdout.splitlines() if line.startswith("0,")]
    assert len(frames) == 240
    pts = [int(f[2]) for f in frames]
    assert pts == sorted(pts)
    assert len(set(pts)) == 240  # no gaps, no duplicates across the seams
    assert decoded.stderr == ""
    # the right frames at the right times: compared with the source frame by frame, a seam
    # that dropped or repeated a frame would misalign everything after it (PSNR collapses)
    psnr = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-i",
            str(joined),
            "-i",
            str(src),
            "-lavfi",
            "[0:v][1:v]psnr",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    average = float(psnr.rsplit("average:", 1)[1].split()[0])
    assert average > 30, psnr[-500:]
