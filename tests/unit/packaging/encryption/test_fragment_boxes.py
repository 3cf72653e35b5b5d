"""encrypt_segment output checked against ISO/IEC 23001-7 §7.2 and ISO/IEC 14496-12 §8.7-8.8.

Every fragment of real FFmpeg clips is compared with its clear original: box layout, offsets,
senc/saiz/saio fields, subsample rules, and a spec-side decryption that must give back the
clear mdat byte for byte.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from tests.unit.packaging.encryption.support import (
    KEY,
    Trun,
    body,
    decrypt_sample,
    encrypt_file,
    first,
    fragments,
    parse_saio,
    parse_saiz,
    parse_senc,
    parse_trun,
    tfhd_default_size,
    walk,
)

from vodstack.packaging.encryption import cenc_iv
from vodstack.packaging.isobmff import Box, iter_boxes

Bytes = Callable[[str], bytes]
CASES = [
    ("video", "cenc"), ("video", "cbcs"), ("audio", "cenc"), ("audio", "cbcs"),
    ("sliced", "cenc"), ("sliced", "cbcs"), ("hevc", "cenc"), ("hevc", "cbcs"),
]  # fmt: skip


@dataclass
class Pair:
    """One fragment, clear and protected."""

    clear: bytes
    enc: bytes
    cmoof: Box
    cmdat: Box
    emoof: Box
    emdat: Box

    def traf(self, data: bytes, moof: Box) -> list[Box]:
        traf = first(data, "traf", moof.payload_offset, moof.end)
        return list(iter_boxes(data, traf.payload_offset, traf.end))


def trun_of(data: bytes, traf: list[Box]) -> Trun:
    default = tfhd_default_size(body(data, next(k for k in traf if k.type == "tfhd")))
    return parse_trun(body(data, next(k for k in traf if k.type == "trun")), default)


def pairs(clear: bytes, enc: bytes) -> list[Pair]:
    a, b = fragments(clear), fragments(enc)
    assert len(a) == len(b) > 0
    return [Pair(clear, enc, *x, *y) for x, y in zip(a, b, strict=True)]


def nal_units(sample: bytes, hevc: bool) -> list[tuple[int, int, int]]:
    """(start, end, type) of each 4-byte-length-prefixed NAL unit."""
    units, pos = [], 0
    while pos < len(sample):
        (size,) = struct.unpack_from(">I", sample, pos)
        kind = (sample[pos + 4] >> 1) & 0x3F if hevc else sample[pos + 4] & 0x1F
        units.append((pos, pos + 4 + size, kind))
        pos += 4 + size
    return units


@pytest.fixture(scope="module")
def protected(clear_bytes: Bytes) -> Callable[[str, str], tuple[bytes, bytes]]:
    made: dict[tuple[str, str], tuple[bytes, bytes]] = {}

    def get(clip: str, scheme: str) -> tuple[bytes, bytes]:
        if (clip, scheme) not in made:
            clear = clear_bytes(clip)
            made[clip, scheme] = (clear, encrypt_file(clear, scheme, iv_tag=5))
        return made[clip, scheme]

    return get


@pytest.mark.parametrize(("clip", "scheme"), CASES)
def test_fragment_layout(
    protected: Callable[..., tuple[bytes, bytes]], clip: str, scheme: str
) -> None:
    clear, enc = protected(clip, scheme)
    walk(enc)  # every box, every level, parses within its parent
    video = clip != "audio"
    for p in pairs(clear, enc):
        # the mdat keeps its size and header; moof+mdat stay adjacent
        assert p.emdat.size == p.cmdat.size and p.emdat.offset == p.emoof.end
        assert (
            enc[p.emdat.offset : p.emdat.payload_offset]
            == clear[p.cmdat.offset : p.cmdat.payload_offset]
        )
        assert body(enc, first(enc, "mfhd", p.emoof.offset)) == body(
            clear, first(clear, "mfhd", p.cmoof.offset)
        )
        ckids, ekids = p.traf(clear, p.cmoof), p.traf(enc, p.emoof)
        aux = ["saiz", "saio", "senc"] if video or scheme == "cenc" else ["senc"]
        assert [k.type for k in ekids] == [k.type for k in ckids] + aux  # senc last
        for old, new in zip(ckids, ekids, strict=False):
            if old.type != "trun":
                assert body(clear, old) == body(enc, new)
        ctrun, etrun = trun_of(clear, ckids), trun_of(enc, ekids)
        assert etrun.sizes == ctrun.sizes
        assert ctrun.data_offset is not None and etrun.data_offset is not None
        # data_offset (from the moof start) still lands on the first sample byte
        assert p.cmoof.offset + ctrun.data_offset == p.cmdat.payload_offset
        assert p.emoof.offset + etrun.data_offset == p.emdat.payload_offset
        assert etrun.data_offset - ctrun.data_offset == p.emoof.size - p.cmoof.size


@pytest.mark.parametrize(("clip", "scheme"), CASES)
def test_senc_saiz_saio_and_subsamples(
    protected: Callable[..., tuple[bytes, bytes]], clip: str, scheme: str
) -> None:
    clear, enc = protected(clip, scheme)
    video, hevc = clip != "audio", clip == "hevc"
    iv_size = 8 if scheme == "cenc" else 0
    all_ivs: list[bytes] = []
    for p in pairs(clear, enc):
        ekids = p.traf(enc, p.emoof)
        senc = next(k for k in ekids if k.type == "senc")
        flags, samples = parse_senc(body(enc, senc), iv_size)
        assert flags == (0x2 if video else 0)
        sizes = trun_of(enc, ekids).sizes
        assert len(samples) == len(sizes)
        records = [
            iv_size + (2 + 6 * len(s.subsamples) if s.subsamples is not None else 0)
            for s in samples
        ]
        if any(records):
            saiz = parse_saiz(body(enc, next(k for k in ekids if k.type == "saiz")))
            (saio,) = parse_saio(body(enc, next(k for k in ekids if k.type == "saio")))
            assert saiz == records
            # saio: from the first byte of the moof to the first per-sample record in senc
            assert p.emoof.offset + saio == senc.payload_offset + 8
            assert samples[0].record_offset == 8
        seq = struct.unpack_from(">I", body(enc, first(enc, "mfhd", p.emoof.offset)), 4)[0]
        start = p.emdat.payload_offset
        for index, (sample, size) in enumerate(zip(samples, sizes, strict=True)):
            if scheme == "cenc":
                assert sample.iv == struct.pack(">Q", 5 << 56 | seq << 24 | index)
                assert sample.iv == cenc_iv(5, seq, index)
                all_ivs.append(sample.iv)
            enc_sample = enc[start : start + size]
            clear_sample = clear[start - p.emdat.payload_offset + p.cmdat.payload_offset :][:size]
            subs = sample.subsamples
            if subs is not None:
                assert sum(c + q for c, q in subs) == size
                assert all(c <= 0xFFFF for c, _ in subs)
                if scheme == "cenc":
                    assert all(q % 16 == 0 for _, q in subs)
                clear_mask = bytearray(size)
                pos = 0
                for c, q in subs:
                    clear_mask[pos : pos + c] = b"\x01" * c
                    # clear bytes are untouched; a protected run's first block changed
                    assert enc_sample[pos : pos + c] == clear_sample[pos : pos + c]
                    if q >= 16:
                        assert (
                            enc_sample[pos + c : pos + c + 16]
                            != clear_sample[pos + c : pos + c + 16]
                        )
                    pos += c + q
                for a, b, kind in nal_units(clear_sample, hevc):
                    header = 2 if hevc else 1
                    vcl = kind < 32 if hevc else kind in (1, 5)
                    span = (a, a + 4 + header) if vcl else (a, b)  # NAL header / whole non-VCL
                    assert all(clear_mask[span[0] : span[1]]), (kind, span)
            elif scheme == "cbcs":  # audio: whole blocks only, the partial tail is clear
                tail = size % 16
                assert enc_sample[size - tail :] == clear_sample[size - tail :]
            decrypted = decrypt_sample(enc_sample, scheme, KEY, sample.iv, subs)
            assert decrypted == clear_sample
            start += size
    assert len(set(all_ivs)) == len(all_ivs)  # cenc IVs never repeat within the track


def test_deterministic_and_independent_of_segment_grouping(clear_bytes: Bytes) -> None:
    clear = clear_bytes("video")
    one = encrypt_file(clear, "cenc")
    assert one == encrypt_file(clear, "cenc")
    assert encrypt_file(clear, "cenc", group=2) == one  # a segment = its fragments' bytes
    assert encrypt_file(clear, "cbcs", group=2) == encrypt_file(clear, "cbcs")


def test_tracks_sharing_a_key_get_different_ivs(clear_bytes: Bytes) -> None:
    clear = clear_bytes("audio")
    a, b = encrypt_file(clear, "cenc", iv_tag=1), encrypt_file(clear, "cenc", iv_tag=2)
    ivs_a = [s.iv for s in parse_senc(body(a, first(a, "senc")), 8)[1]]
    ivs_b = [s.iv for s in parse_senc(body(b, first(b, "senc")), 8)[1]]
    assert not set(ivs_a) & set(ivs_b)


def test_ffmpeg_sequence_numbers_increase(clear_bytes: Bytes) -> None:
    """The cenc IV scheme relies on distinct mfhd sequence numbers within a track."""
    for clip in ("video", "audio"):
        data = clear_bytes(clip)
        seqs = [
            struct.unpack_from(">I", body(data, first(data, "mfhd", moof.offset)), 4)[0]
            for moof, _ in fragments(data)
        ]
        assert seqs == sorted(set(seqs)) and seqs[0] >= 1
