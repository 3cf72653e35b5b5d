"""The bad-input corpus: every kind of broken, hostile or odd master, generated at test time.

Each entry says what the upload is and what must happen to it: refused at the door (4xx with
a reason), accepted and then ``failed`` with a reason a person understands, or — for odd but
valid files — ``ready``. Files are derived from one short FFmpeg clip by cutting, patching
and wrapping bytes, so the whole corpus costs a few FFmpeg runs.
"""

from __future__ import annotations

import os
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import make_clip_file
from vodstack.media import ffmpeg_exe


@dataclass(frozen=True)
class Case:
    """One kind of input. ``expect``: "reject" (HTTP status), "failed", "ready", or "either"
    (ready or failed, for damage a decoder may conceal). ``reason`` must appear in the error
    (any of them, when a tuple)."""

    kind: str
    filename: str
    data: bytes
    expect: str
    status: int = 0
    reason: str | tuple[str, ...] = ()


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _patch_after(data: bytes, marker: bytes, offset: int, value: bytes) -> bytes:
    at = data.index(marker)
    out = bytearray(data)
    out[at + offset : at + offset + len(value)] = value
    return bytes(out)


def _box(kind: bytes, body: bytes, size: int | None = None) -> bytes:
    return struct.pack(">I4s", 8 + len(body) if size is None else size, kind) + body


FTYP = _box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41")


def build(d: Path, size_limit: int, duration_limit_s: int) -> list[Case]:
    d.mkdir(parents=True, exist_ok=True)
    plain = make_clip_file(d / "plain.mp4", seconds=2, size="320x180").read_bytes()  # moov last
    fast = make_clip_file(
        d / "fast.mp4", seconds=2, size="320x180", extra=["-movflags", "+faststart"]
    ).read_bytes()
    audio = make_clip_file(d / "audio.mp4", seconds=2, video=False).read_bytes()
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=1", "-frames:v", "1", str(d / "p.png"))
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=1", "-frames:v", "1", str(d / "j.jpg"))
    one_frame = make_clip_file(
        d / "one.mp4", seconds=2, size="320x180", audio=False, extra=["-frames:v", "1"]
    ).read_bytes()
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-frames:v", "0"),
        *("-c:v", "libx264", str(d / "zero.mp4")),
    )
    # A decompression bomb: 2 black 8192x8192 frames are ~0.2 MB to upload and ~1 GB of RAM
    # and many seconds of CPU per transcode.
    _ffmpeg(
        *("-f", "lavfi", "-i", "color=black:size=8192x8192:rate=30", "-frames:v", "2"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(d / "big.mp4")),
    )
    # Inflated duration: a few hundred KB that claim more than the duration limit.
    _ffmpeg(
        *("-f", "lavfi", "-i", f"color=black:size=16x16:rate=1:duration={duration_limit_s * 2}"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(d / "long.mp4")),
    )
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=1000:duration=0.2"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(d / "fast.mkv")),
    )

    rng = __import__("random").Random(9)
    corrupt = bytearray(fast)
    mdat = fast.index(b"mdat")
    for start in range(mdat + 4000, len(fast) - 2000, 6000):  # NAL payloads hit mid-stream
        corrupt[start : start + 700] = rng.randbytes(700)
    ts_junk = b"".join(b"\x47" + rng.randbytes(187) for _ in range(2000))
    stsd = fast.index(b"stsd")
    unsupported = fast[:stsd] + fast[stsd:].replace(b"avc1", b"zzzz", 1)
    many_boxes = FTYP + _box(b"free", b"") * 200_000
    # Box loops: containers nested far deeper than any real file, and a child that claims to
    # be as large as its parent (a reader that trusts it walks the same bytes again).
    deep = b""
    for _ in range(4000):
        deep = _box(b"trak", deep)
    loop_child = _box(b"trak", b"\0" * 256)
    self_sized = _box(b"moov", struct.pack(">I4s", 8 + len(loop_child) + 8, b"trak") + loop_child)
    # Frames present, but the movie and track headers declare a duration of 0 (version 0
    # mvhd: duration 20 bytes after the type; tkhd: 24).
    zero_declared = _patch_after(fast, b"mvhd", 20, b"\0\0\0\0")
    zero_declared = _patch_after(zero_declared, b"tkhd", 24, b"\0\0\0\0")
    return [
        # -- refused at the door
        Case("empty", "empty.mp4", b"", "reject", 400, "empty"),
        Case("over_size_limit", "big.mp4", b"\0" * (size_limit + 1024), "reject", 413, "limit"),
        # -- not media at all
        Case(
            "random_bytes", "noise.mp4", os.urandom(64 * 1024), "failed", reason="not a recognised"
        ),
        Case(
            "text_as_mp4",
            "notes.mp4",
            b"just some notes\n" * 400,
            "failed",
            reason="not a recognised",
        ),
        Case(
            "html_polyglot",
            "page.mp4",
            b"<html><script>alert(1)</script></html>" * 100,
            "failed",
            reason="not a recognised",
        ),
        Case("mpegts_junk", "junk.ts", ts_junk, "failed", reason=("not a recognised", "no video")),
        # -- truncated uploads (moov written last, as FFmpeg and cameras do by default)
        *(
            Case(
                f"truncated_{pct}pct",
                "cut.mp4",
                plain[: len(plain) * pct // 100],
                "failed",
                reason=("truncated", "incomplete"),
            )
            for pct in (10, 50, 90)
        ),
        Case(
            "truncated_in_moov",
            "cut.mp4",
            fast[:1500],
            "failed",
            reason=("truncated", "damaged", "not a recognised", "incomplete"),
        ),
        Case("truncated_mid_mdat_faststart", "cut.mp4", fast[: len(fast) // 2], "either"),
        # -- hostile box structure
        Case(
            "huge_declared_box",
            "huge.mp4",
            FTYP + struct.pack(">I4sQ", 1, b"mdat", 2**62) + b"\0" * 4096,
            "failed",
            reason=("incomplete", "not a recognised", "truncated"),
        ),
        Case(
            "moov_larger_than_file",
            "moov.mp4",
            _patch_after(fast, b"moov", -4, struct.pack(">I", 0x7FFFFFF0)),
            "either",  # FFmpeg clamps the moov to the file: usable, so it may well play
        ),
        Case("box_flood", "flood.mp4", many_boxes, "failed"),
        Case(
            "box_nested_4000_deep",
            "deep.mp4",
            FTYP + _box(b"moov", deep),
            "failed",
            reason=("not a recognised", "damaged", "no video"),
        ),
        Case(
            "box_child_as_large_as_parent",
            "loop.mp4",
            FTYP + self_sized,
            "failed",
            reason=("not a recognised", "damaged", "no video", "truncated", "incomplete"),
        ),
        Case("zero_size_box", "zero.mp4", FTYP + _box(b"moov", os.urandom(2048), size=0), "failed"),
        Case("undersized_box", "small.mp4", FTYP + _box(b"moov", b"\0" * 64, size=4), "failed"),
        Case(
            "inflated_sample_count",
            "stsz.mp4",
            _patch_after(fast, b"stsz", 12, struct.pack(">I", 0x7FFFFFF0)),
            "failed",
        ),
        # -- valid containers with the wrong content
        Case("audio_only", "audio.mp4", audio, "failed", reason="audio only"),
        Case("image_png", "still.png", (d / "p.png").read_bytes(), "failed", reason="still image"),
        Case(
            "jpeg_as_mp4", "photo.mp4", (d / "j.jpg").read_bytes(), "failed", reason="still image"
        ),
        Case("single_frame", "one.mp4", one_frame, "failed", reason="single picture"),
        Case("zero_frames", "zero.mp4", (d / "zero.mp4").read_bytes(), "failed", reason="no video"),
        # the decoder may recover the duration from the samples: playable or a clear failure
        Case("zero_declared_duration", "nodur.mp4", zero_declared, "either"),
        Case(
            "unsupported_codec",
            "odd.mp4",
            unsupported,
            "failed",
            reason="codec that cannot be decoded",
        ),
        Case(
            "decompression_bomb_8192x8192",
            "bomb.mp4",
            (d / "big.mp4").read_bytes(),
            "failed",
            reason="megapixels",
        ),
        Case(
            "inflated_duration",
            "long.mp4",
            (d / "long.mp4").read_bytes(),
            "failed",
            reason="the limit is",
        ),
        Case(
            "absurd_frame_rate",
            "fast.mkv",
            (d / "fast.mkv").read_bytes(),
            "failed",
            reason="frame rate",
        ),
        Case("corrupt_nal_units_mid_stream", "corrupt.mp4", bytes(corrupt), "either"),
        # -- odd but valid: these must work
        Case("moov_at_end_complete", "plain.mp4", plain, "ready"),
        Case("wrong_extension", "clip.txt", fast, "ready"),
        Case("no_extension", "clip", fast, "ready"),
    ]


#: Filenames an attacker might send; each must end up as display text only.
MALICIOUS_FILENAMES = [
    "../../../../etc/passwd.mp4",
    "..\\..\\windows\\system32\\evil.mp4",
    "/absolute/path.mp4",
    "$(touch pwned).mp4",
    "`id`;rm -rf ~.mp4",
    "<img src=x onerror=alert(1)>.mp4",
    "\u202egpj.mp4",  # right-to-left override
    "CON.mp4",
    "A" * 5000 + ".mp4",
    "line\r\nX-Injected: 1.mp4",
    ".hidden.mp4",
    "%2e%2e%2fescape.mp4",
]
