"""Windowed encoding: the layout (pure), the audio fragment writer, and a real chain of windows
encoded out of order by FFmpeg that joins into tracks with exactly the planned timing."""

from __future__ import annotations

import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vodstack.errors import BoxParseError
from vodstack.media import ffmpeg_exe, run_ffmpeg
from vodstack.packaging.fragment_writer import adts_frames, audio_fragment
from vodstack.packaging.isobmff import children, iter_boxes
from vodstack.transcode.ladder import AudioRendition, Rung
from vodstack.transcode.windowed import (
    Layout,
    encode_audio_windows,
    encode_video_windows,
    join_track,
)
from vodstack.transcode.windows import audio_fragment_starts, audio_frame_count

RUNGS = (Rung("v144", 256, 144, 23, 200, 400), Rung("v240", 426, 240, 23, 400, 800))
AUDIO = (AudioRendition("a0", 0, 0, 2, 96, default=True),)


def layout(seconds: float = 12, window_fragments: int = 2) -> Layout:
    return Layout(
        source_key="masters/x",
        duration_s=seconds,
        fps=Fraction(30),
        frame_count=round(seconds * 30),
        fragment_s=2,
        window_fragments=window_fragments,
        rungs=RUNGS,
        audios=AUDIO,
        gop_frames=60,
        preset="ultrafast",
    )


def test_audio_grid_follows_the_video_grid() -> None:
    # 2 s at 48 kHz is 93.75 AAC frames: fragments start at the first frame at or after 2k s
    assert audio_fragment_starts(563, 2) == [0, 94, 188, 282, 375, 469]
    assert audio_frame_count(12.0) == 563  # 576000 samples → 562.5 frames, the last padded


def test_layout_geometry_and_planned_timing() -> None:
    lay = layout(12)
    assert lay.window_count == 3
    assert lay.fragments_of(2, "video") == (4, 2)
    assert lay.window_of_fragment(5) == 2
    with pytest.raises(IndexError):
        lay.fragments_of(3, "video")
    video = lay.planned_fragments("v144", 15360)
    assert [f.decode_time for f in video] == [k * 30720 for k in range(6)]
    assert sum(f.duration for f in video) == 360 * 512
    audio = lay.planned_fragments("a0", 48000)
    assert sum(f.duration for f in audio) == 563 * 1024
    assert [f.sample_count for f in audio] == [94, 94, 94, 93, 94, 94]
    assert lay.kind("a0") == "audio" and lay.kind("v240") == "video"
    assert Layout.from_json(lay.to_json()) == lay


def test_layout_takes_audio_from_the_master_only() -> None:
    from vodstack.transcode.ladder import LadderPlan

    plan = LadderPlan(
        rungs=RUNGS,
        fps=Fraction(30),
        gop_frames=60,
        audio_kbps=96,
        audios=(AudioRendition("a1", 1, 0, 2, 96),),
    )
    with pytest.raises(ValueError, match="master"):
        Layout.from_plan(
            plan, source_key="k", duration_s=4, fragment_s=2, window_fragments=2, preset="x"
        )


def adts(payload: bytes) -> bytes:
    length = len(payload) + 7
    header = bytearray(b"\xff\xf1\x50\x80\x00\x1f\xfc")
    header[3] |= (length >> 11) & 0x03
    header[4] = (length >> 3) & 0xFF
    header[5] = ((length & 0x07) << 5) | 0x1F
    return bytes(header) + payload


def test_adts_frames_and_errors() -> None:
    data = adts(b"abc") + adts(b"defgh")
    assert adts_frames(data) == [b"abc", b"defgh"]
    with pytest.raises(BoxParseError):
        adts_frames(data[:-1])
    with pytest.raises(BoxParseError):
        adts_frames(b"\x00" * 10)


def test_audio_fragment_boxes() -> None:
    frag = audio_fragment([b"aa", b"bbb"], sequence=7, decode_time=96256)
    boxes = list(iter_boxes(frag))
    assert [b.type for b in boxes] == ["moof", "mdat"]
    moof, mdat = boxes
    kids = {b.type: b for b in children(frag, moof)}
    assert struct.unpack_from(">I", frag, kids["mfhd"].payload_offset + 4)[0] == 7
    traf = {b.type: b for b in children(frag, kids["traf"])}
    assert struct.unpack_from(">Q", frag, traf["tfdt"].payload_offset + 4)[0] == 96256
    count, data_offset = struct.unpack_from(">Ii", frag, traf["trun"].payload_offset + 4)
    assert count == 2
    assert data_offset == mdat.payload_offset - moof.offset  # default-base-is-moof
    assert frag[mdat.payload_offset :] == b"aabbb"


@pytest.mark.slow
def test_windows_encoded_out_of_order_and_in_batches_join_into_the_planned_tracks(
    tmp_path: Path,
) -> None:
    from tests.conftest import make_clip_file

    src = make_clip_file(tmp_path / "src.mp4", seconds=12, size="426x240")
    lay = layout(12)
    chunks = {}
    # any order and any grouping: each window is re-timed into its place
    for first, count in ((2, 1), (0, 2)):
        made = encode_video_windows(ffmpeg_exe(), src, lay, RUNGS, first, count)
        made += encode_audio_windows(ffmpeg_exe(), src, lay, AUDIO[0], first, count, run=run_ffmpeg)
        for chunk in made:
            chunks[(chunk.track_id, chunk.window)] = chunk
    assert len(chunks) == 3 * 3
    joined = {}
    for track in lay.track_ids():
        parts = [chunks[(track, w)].data for w in range(lay.window_count)]
        index = join_track(chunks[(track, 0)].init, parts, tmp_path / f"{track}.mp4")
        planned = lay.planned_fragments(track, index.timescale)
        assert [(f.decode_time, f.duration, f.sample_count) for f in index.fragments] == [
            (f.decode_time, f.duration, f.sample_count) for f in planned
        ], track
        joined[track] = tmp_path / f"{track}.mp4"
    out = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-v",
            "warning",
            "-i",
            str(joined["v240"]),
            "-i",
            str(joined["a0"]),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-f",
            "framemd5",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    video = [line for line in out.stdout.splitlines() if line.startswith("0,")]
    audio = [line.split(",") for line in out.stdout.splitlines() if line.startswith("1,")]
    assert len(video) == 360 and out.stderr == ""
    assert sum(int(a[3]) for a in audio) == 563 * 1024

    # The audio seams are inaudible: the joined track follows the source as closely across a
    # window boundary as inside a window (pre-roll primes the decoder's overlap).
    def pcm(path: Path) -> np.ndarray:
        raw = subprocess.run(
            [
                ffmpeg_exe(),
                "-v",
                "error",
                "-i",
                str(path),
                "-vn",
                "-ac",
                "1",
                "-ar",
                "48000",
                "-f",
                "f32le",
                "-",
            ],
            capture_output=True,
            check=True,
        ).stdout
        return np.frombuffer(raw, dtype=np.float32)

    ours, source = pcm(joined["a0"]), pcm(src)
    n = min(len(ours), len(source))
    error = ours[:n] - source[:n]

    def snr(lo: int, hi: int) -> float:
        return float(10 * np.log10(np.sum(source[lo:hi] ** 2) / np.sum(error[lo:hi] ** 2)))

    seam = 188 * 1024  # the first sample of window 1
    assert snr(seam - 2048, seam + 2048) > 20
    assert snr(48000, 96000) > 20  # inside window 0, for comparison
