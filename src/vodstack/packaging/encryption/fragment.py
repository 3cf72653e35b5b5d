"""Protect CMAF media segments just in time: moof+mdat in, moof'+mdat' out (ISO/IEC 23001-7).

Each fragment's samples are encrypted in place (the cipher modes are size-preserving, so the
mdat keeps its size and every sample its offset inside it) and the traf gains
``saiz``, ``saio`` and, last, ``senc`` (23001-7 §7.2; 14496-12 §8.7.8-9), as Shaka Packager
writes them. The moof grows by the size of those boxes, so every trun ``data_offset`` grows by
the same amount (14496-12 §8.8.8) and ``saio`` points from the first byte of the moof
(default-base-is-moof, §8.8.7) to the first per-sample record of ``senc``.

``cenc`` per-sample IVs (8 bytes, CTR) are derived, never random, so every edge produces the
same bytes:

    IV = iv_tag (8 bits) ‖ mfhd sequence_number (32 bits) ‖ sample index in the traf (24 bits)

The fields fit without truncation, so distinct (tag, fragment, sample) always give distinct
IVs, and with a 64-bit block counter below them no two samples' keystreams overlap. Within a
track the mfhd sequence numbers are distinct (14496-12 §8.8.5: the fragment's ordinal number,
in increasing order; FFmpeg writes 1, 2, 3, …). tfdt is as unique but 64 bits wide: it would
have to be truncated, and then uniqueness would rest on the timescale and the title length.
Tracks sharing a key must differ in ``TrackCrypto.iv_tag``; re-encoding a track (new
fragments, same sequence numbers) needs a new key.

``cbcs`` uses the constant IV from ``tenc`` (§10.4), so its senc records hold only subsamples;
for full-sample audio they are empty and, like Shaka Packager, we write ``senc`` with its
sample count and no ``saiz``/``saio`` (there is no auxiliary information to point at).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vodstack.errors import BoxParseError, MediaError
from vodstack.packaging.encryption.cipher import cbcs_encrypt, cenc_encrypt
from vodstack.packaging.encryption.h264 import SliceHeaderParser
from vodstack.packaging.encryption.init import CBCS_VIDEO_PATTERN, Scheme, check_scheme
from vodstack.packaging.encryption.keys import ContentKey
from vodstack.packaging.encryption.subsamples import Subsample, nal_subsamples
from vodstack.packaging.encryption.track import AVC_ENTRIES, HEVC_ENTRIES, TrackCrypto
from vodstack.packaging.isobmff import Box, Region, box_header, iter_boxes, make_full_box

__all__ = ["cenc_iv", "encrypt_segment", "protected_size"]

_PASS_THROUGH = frozenset({"styp", "prft", "emsg", "free", "skip"})  # CMAF fragment prefixes
_MAX_SAMPLES = 1 << 24  # the sample-index field of the cenc IV
_SAMPLE_FIELDS = (0x100, 0x200, 0x400, 0x800)  # trun per-sample fields in order (§8.8.8)


def cenc_iv(iv_tag: int, sequence_number: int, sample_index: int) -> bytes:
    """The 8-byte per-sample IV described in the module docstring."""
    if not 0 <= sample_index < _MAX_SAMPLES:
        raise MediaError(f"a fragment of more than {_MAX_SAMPLES} samples cannot be encrypted")
    return struct.pack(">Q", iv_tag << 56 | (sequence_number & 0xFFFFFFFF) << 24 | sample_index)


@dataclass(frozen=True, slots=True)
class _Traf:
    """What one traf says about where its samples are."""

    samples: list[tuple[int, int]]  # (absolute start, size)
    data_offsets: list[int]  # absolute positions of the trun data_offset fields


class _SampleCoder:
    """Encrypts one sample at a time and returns its senc record."""

    def __init__(
        self, scheme: Scheme, key: ContentKey, track: TrackCrypto, *, cipher: bool = True
    ) -> None:
        self.scheme, self.key, self.track = scheme, key, track
        self.cipher = cipher  # False: only the senc records (sizes), samples left as they are
        self.video = track.kind == "video"
        entry = track.sample_entry
        if self.video and entry not in AVC_ENTRIES | HEVC_ENTRIES:
            raise MediaError(
                f"subsample encryption of {entry!r} video is not implemented (AVC and HEVC only)"
            )
        if self.video and not track.nal_length_size:
            raise MediaError(f"{entry!r} track has no NAL length size: read it from the init")
        self.hevc = entry in HEVC_ENTRIES
        self.parser: SliceHeaderParser | None = None

    def new_fragment(self) -> None:
        """Parameter-set state restarts per fragment, so a fragment's bytes never depend on
        which other fragments share its segment."""
        if self.video and not self.hevc:
            self.parser = SliceHeaderParser(self.track.parameter_sets)

    def encrypt(self, buf: bytearray | memoryview, start: int, size: int, iv: bytes) -> bytes:
        subsamples: list[Subsample] | None = None
        ranges = [(start, size)]
        if self.video:
            sample = memoryview(buf)[start : start + size]
            try:
                subsamples = nal_subsamples(
                    sample,
                    self.track.nal_length_size,
                    hevc=self.hevc,
                    parser=self.parser,
                    align=self.scheme == "cenc",
                )
            finally:
                sample.release()
            ranges, pos = [], start
            for clear, protected in subsamples:
                ranges.append((pos + clear, protected))
                pos += clear + protected
        if self.cipher and self.scheme == "cenc":
            cenc_encrypt(self.key.key, iv, buf, ranges)
        elif self.cipher:
            crypt, skip = CBCS_VIDEO_PATTERN if self.video else (0, 0)
            cbcs_encrypt(self.key.key, self.key.iv, buf, ranges, crypt, skip)
        if subsamples is None:
            return iv
        entries = b"".join(struct.pack(">HI", c, p) for c, p in subsamples)
        return iv + struct.pack(">H", len(subsamples)) + entries


def _parse_traf(moof: Region, moof_box: Box, traf: Box, mdat: Box, track: TrackCrypto) -> _Traf:
    """Sample positions from tfhd + truns (14496-12 §8.8.7-8), checked to lie in the mdat."""
    tfhd = moof.require(traf, "tfhd")
    r = moof.reader(tfhd)
    _, flags = r.full_box_header()
    r.skip(4)  # track_ID: one-track files, nothing to match
    if flags & 0x01:
        raise MediaError("tfhd has an explicit base-data-offset: CMAF needs default-base-is-moof")
    r.skip(4 * bool(flags & 0x02) + 4 * bool(flags & 0x08))
    default_size = r.u32() if flags & 0x10 else track.default_sample_size
    payload_size = mdat.end - mdat.payload_offset
    samples: list[tuple[int, int]] = []
    offsets: list[int] = []
    follow = moof_box.offset  # §8.8.8: without data_offset a run continues the previous one
    for trun in (b for b in moof.children(traf) if b.type == "trun"):
        r = moof.reader(trun)
        _, flags = r.full_box_header()
        count = r.u32()
        if flags & 0x001:
            offsets.append(r.pos)
            follow = moof_box.offset + r.s32()
        if flags & 0x004:
            r.skip(4)  # first_sample_flags
        width = 4 * sum(1 for bit in _SAMPLE_FIELDS if flags & bit)
        if count > max(payload_size, 1) or len(samples) + count > _MAX_SAMPLES:
            raise MediaError(f"trun claims {count} samples for a {payload_size}-byte mdat")
        if count * width > r.remaining:
            raise BoxParseError(f"trun claims {count} samples but is too short", trun.offset)
        if flags & 0x200:
            column = 1 if flags & 0x100 else 0
            rows = struct.iter_unpack(f">{width // 4}I", r.view(count * width))
            sizes = [row[column] for row in rows]
        else:
            sizes = [default_size] * count
        for size in sizes:
            samples.append((follow, size))
            follow += size
    for start, size in samples:
        if start < mdat.payload_offset or start + size > mdat.end:
            raise MediaError(
                f"sample data {start}..{start + size} lies outside the mdat payload "
                f"{mdat.payload_offset}..{mdat.end}"
            )
    return _Traf(samples, offsets)


def _aux_boxes(records: list[bytes], saio_offset: int) -> tuple[bytes, bytes]:
    """saiz and saio for ``records`` (14496-12 §8.7.8-9); empty when there is nothing to
    point at (cbcs full-sample: constant IV, no subsamples)."""
    sizes = [len(record) for record in records]
    if not any(sizes):
        return b"", b""
    if max(sizes) > 0xFF:
        raise MediaError(
            f"a sample needs {max(sizes)} bytes of encryption info, more than saiz can say (255)"
        )
    uniform = sizes[0] if len(set(sizes)) == 1 else 0
    table = b"" if uniform else bytes(sizes)
    saiz = make_full_box("saiz", 0, 0, struct.pack(">BI", uniform, len(sizes)) + table)
    saio = make_full_box("saio", 0, 0, struct.pack(">II", 1, saio_offset))
    return saiz, saio


@dataclass(frozen=True, slots=True)
class _Records:
    """A fragment's moof children, its traf, where its samples are, one senc record each."""

    kids: list[Box]
    traf: Box
    parsed: _Traf
    records: list[bytes]


def _fragment_records(
    data: bytes,
    moof_box: Box,
    mdat: Box,
    coder: _SampleCoder,
    scheme: Scheme,
    buf: bytearray | memoryview,
) -> _Records | None:
    """Encrypt the samples of one fragment in ``buf`` (its mdat, from the mdat header on)
    and return their senc records; None for a fragment without samples."""
    moof = Region(data)
    kids = list(moof.children(moof_box))
    trafs = [b for b in kids if b.type == "traf"]
    if len(trafs) != 1:
        raise MediaError(f"a CMAF fragment has one traf, this moof has {len(trafs)}")
    traf = trafs[0]
    r = moof.reader(moof.require(moof_box, "mfhd"))
    r.full_box_header()
    sequence_number = r.u32()
    traf_kids = list(moof.children(traf))
    if any(b.type in ("senc", "saiz", "saio") for b in traf_kids):
        raise MediaError("the fragment already carries encryption boxes (senc/saiz/saio)")
    parsed = _parse_traf(moof, moof_box, traf, mdat, coder.track)
    if not parsed.samples:
        return None
    coder.new_fragment()
    records = [
        coder.encrypt(
            buf,
            start - mdat.offset,
            size,
            cenc_iv(coder.track.iv_tag, sequence_number, index) if scheme == "cenc" else b"",
        )
        for index, (start, size) in enumerate(parsed.samples)
    ]
    return _Records(kids, traf, parsed, records)


def _fragment_growth(
    data: bytes, moof_box: Box, mdat: Box, coder: _SampleCoder, scheme: Scheme
) -> int:
    """Bytes the saiz, saio and senc boxes add to one fragment (nothing is encrypted)."""
    mdat_bytes = memoryview(data)[mdat.offset : mdat.end]  # read only: nothing is written
    found = _fragment_records(data, moof_box, mdat, coder, scheme, mdat_bytes)
    if found is None:
        return 0
    records = found.records
    senc = 16 + sum(map(len, records))  # FullBox header, sample_count, the records
    return senc + sum(map(len, _aux_boxes(records, 0)))


def _encrypt_fragment(
    data: bytes, moof_box: Box, mdat: Box, coder: _SampleCoder, scheme: Scheme
) -> bytes:
    out_mdat = bytearray(data[mdat.offset : mdat.end])
    found = _fragment_records(data, moof_box, mdat, coder, scheme, out_mdat)
    if found is None:
        return data[moof_box.offset : mdat.end]
    kids, traf, parsed, records = found.kids, found.traf, found.parsed, found.records
    blob = b"".join(records)
    senc_flags = 0x2 if coder.video else 0  # 23001-7 §7.2.1: subsample info present
    senc = make_full_box("senc", 0, senc_flags, struct.pack(">I", len(records)) + blob)
    # Every size is known before any offset is written: lay the new moof out first.
    before = b"".join(data[b.offset : b.end] for b in kids if b.end <= traf.offset)
    after = b"".join(data[b.offset : b.end] for b in kids if b.offset >= traf.end)
    traf_body = bytearray(data[traf.payload_offset : traf.end])
    aux_len = sum(map(len, _aux_boxes(records, 0)))
    senc_in_traf = len(traf_body) + aux_len
    traf_len = senc_in_traf + len(senc)
    traf_header = box_header("traf", traf_len, traf.usertype)
    moof_len = len(before) + len(traf_header) + traf_len + len(after)
    moof_header = box_header("moof", moof_len)
    senc_at = len(moof_header) + len(before) + len(traf_header) + senc_in_traf
    saiz, saio = _aux_boxes(records, senc_at + len(senc) - len(blob))  # first record
    grow = len(moof_header) + moof_len - moof_box.size
    for field in parsed.data_offsets:
        at = field - traf.payload_offset
        (old,) = struct.unpack_from(">i", traf_body, at)
        if not -(1 << 31) <= old + grow < 1 << 31:
            raise MediaError("trun data_offset overflows after adding the encryption boxes")
        struct.pack_into(">i", traf_body, at, old + grow)
    new_traf = traf_header + bytes(traf_body) + saiz + saio + senc
    return moof_header + before + new_traf + after + bytes(out_mdat)


def encrypt_segment(data: bytes, scheme: Scheme, key: ContentKey, track: TrackCrypto) -> bytes:
    """The protected form of a media segment: one or more consecutive moof+mdat fragments
    exactly as stored (styp/prft/emsg before a moof pass through unchanged).

    Only BoxParseError / MediaError escape for malformed media; a wrong scheme or key raises
    ValueError.
    """
    return _protect(data, scheme, key, track, cipher=True)


def protected_size(data: bytes, scheme: Scheme, track: TrackCrypto) -> int:
    """``len(encrypt_segment(data, scheme, key, track))`` for any key, without encrypting.

    The protected form is longer by the saiz/saio/senc boxes, whose size depends on each
    sample's subsample count (one entry per NAL unit holding protected bytes, §9.5), so it is
    measured by the same code that writes them: what a manifest advertises as a bit rate is
    then the rate of the bytes actually served [RFC 8216 §4.3.4.2; 23009-1 §5.3.5.2].
    """
    data = bytes(data)
    coder = _SampleCoder(check_scheme(scheme), _SIZE_ONLY_KEY, track, cipher=False)
    grow = sum(_fragment_growth(data, moof, mdat, coder, scheme) for moof, mdat in _fragments(data))
    return len(data) + grow


_SIZE_ONLY_KEY = ContentKey(bytes(16), bytes(16), bytes(16))  # never encrypts anything


def _fragments(data: bytes) -> list[tuple[Box, Box]]:
    """(moof, mdat) of each fragment of a segment, checked: only styp/prft/emsg/free/skip
    may stand between them."""
    boxes = list(iter_boxes(data))
    out: list[tuple[Box, Box]] = []
    i = 0
    while i < len(boxes):
        box = boxes[i]
        if box.type == "moof":
            if i + 1 == len(boxes) or boxes[i + 1].type != "mdat":
                raise BoxParseError("moof is not followed by an mdat", box.offset)
            out.append((box, boxes[i + 1]))
            i += 2
        elif box.type in _PASS_THROUGH:
            i += 1
        else:
            raise MediaError(f"unexpected {box.type!r} box at byte {box.offset} of a segment")
    if not out:
        raise MediaError("a media segment needs at least one moof+mdat fragment")
    return out


def _protect(
    data: bytes, scheme: Scheme, key: ContentKey, track: TrackCrypto, *, cipher: bool
) -> bytes:
    scheme = check_scheme(scheme)
    data = bytes(data)
    coder = _SampleCoder(scheme, key, track, cipher=cipher)
    out: list[bytes] = []
    at = 0
    for moof, mdat in _fragments(data):
        out.append(data[at : moof.offset])  # styp/prft/emsg pass through unchanged
        out.append(_encrypt_fragment(data, moof, mdat, coder, scheme))
        at = mdat.end
    out.append(data[at:])
    return b"".join(out)
