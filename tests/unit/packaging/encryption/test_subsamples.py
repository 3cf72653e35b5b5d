"""Subsample rules for NAL-structured video on hand-made samples (ISO/IEC 23001-7 §9.5)."""

from __future__ import annotations

import struct

import pytest

from vodstack.errors import MediaError
from vodstack.packaging.encryption.h264 import SliceHeaderParser
from vodstack.packaging.encryption.subsamples import nal_subsamples


def nal(kind: int, size: int, ref_idc: int = 3, fill: int = 0xAB) -> bytes:
    """A length-prefixed H.264 NAL unit of ``size`` bytes (header included)."""
    return struct.pack(">I", size) + bytes([ref_idc << 5 | kind]) + bytes([fill]) * (size - 1)


def subsamples(sample: bytes, *, align: bool, parser: SliceHeaderParser | None = None) -> list:
    return nal_subsamples(sample, 4, hevc=False, parser=parser, align=align)


def test_non_vcl_units_are_clear_and_merge_into_the_next_subsample() -> None:
    sample = nal(9, 2) + nal(6, 30) + nal(5, 500)  # AUD, SEI, IDR slice
    clear = 4 + 2 + 4 + 30 + 4 + 1  # both non-VCL units + the slice's length and NAL header
    assert subsamples(sample, align=False) == [(clear, 499)]
    # cenc: the 499 % 16 = 3 extra bytes join the clear part at the front of the same NAL
    assert subsamples(sample, align=True) == [(clear + 3, 496)]


def test_one_subsample_per_slice_and_a_trailing_clear_run() -> None:
    sample = nal(1, 100) + nal(1, 33) + nal(12, 8)  # two slices, then filler data
    assert subsamples(sample, align=False) == [(5, 99), (5, 32), (12, 0)]
    assert subsamples(sample, align=True) == [(8, 96), (5, 32), (12, 0)]


def test_cenc_moves_short_runs_entirely_to_clear_but_cbcs_lists_them() -> None:
    sample = nal(1, 10) + nal(5, 40)
    assert subsamples(sample, align=True) == [(4 + 10 + 4 + 1 + 7, 32)]
    assert subsamples(sample, align=False) == [(5, 9), (5, 39)]  # as Shaka Packager lists them


def test_clear_runs_over_65535_bytes_are_split() -> None:
    sample = nal(6, 70_000) + nal(5, 64)
    result = subsamples(sample, align=True)
    assert result == [(65_535, 0), (70_004 + 5 + 15 - 65_535, 48)]
    assert sum(c + p for c, p in result) == len(sample)
    only_clear = nal(6, 140_000)
    assert subsamples(only_clear, align=True) == [(65_535, 0), (65_535, 0), (140_004 - 131_070, 0)]


def test_edge_samples() -> None:
    assert subsamples(b"", align=True) == [(0, 0)]
    assert subsamples(struct.pack(">I", 0), align=True) == [(4, 0)]  # zero-length NAL
    with pytest.raises(MediaError, match="runs past"):
        subsamples(nal(5, 40)[:-1], align=True)
    with pytest.raises(MediaError, match="length field"):
        subsamples(nal(5, 40) + b"\0\0", align=True)
    two_byte = struct.pack(">H", 40) + bytes([0x65]) + bytes(39)
    assert nal_subsamples(two_byte, 2, hevc=False, parser=None, align=True) == [(3 + 7, 32)]


def test_hevc_keeps_the_two_byte_nal_header_clear() -> None:
    vps = struct.pack(">I", 20) + bytes([32 << 1, 1]) + bytes(18)
    trail = struct.pack(">I", 100) + bytes([1 << 1, 1]) + bytes(98)
    result = nal_subsamples(vps + trail, 4, hevc=True, parser=None, align=True)
    assert result == [(24 + 6 + 2, 96)]


class Bits:
    """Test-side RBSP writer with Exp-Golomb codes (ISO/IEC 14496-10 §9.1)."""

    def __init__(self) -> None:
        self.bits = ""

    def u(self, n: int, value: int) -> Bits:
        self.bits += format(value, f"0{n}b") if n else ""
        return self

    def ue(self, value: int) -> Bits:
        code = format(value + 1, "b")
        self.bits += "0" * (len(code) - 1) + code
        return self

    def bytes(self, trailing: bool = True) -> bytes:
        bits = self.bits + ("1" if trailing else "")
        bits += "0" * (-len(bits) % 8)
        return int(bits, 2).to_bytes(len(bits) // 8, "big")


def escape(rbsp: bytes) -> bytes:
    """Insert emulation_prevention_three_byte (§7.4.1)."""
    out = bytearray()
    for byte in rbsp:
        if len(out) >= 2 and out[-1] == 0 and out[-2] == 0 and byte <= 3:
            out.append(3)
        out.append(byte)
    return bytes(out)


# Baseline SPS: id 0, log2_max_frame_num 16, POC type 2, frame_mbs_only; PPS 0 on SPS 0, CAVLC.
SPS = (
    bytes([0x67])
    + Bits().u(8, 66).u(16, 0).ue(0).ue(12).ue(2).ue(1).u(1, 0).ue(19).ue(14).u(1, 1).bytes()
)
PPS = (
    bytes([0x68])
    + Bits().ue(0).ue(0).u(2, 0).ue(0).ue(0).ue(0).u(3, 0).ue(0).ue(0).ue(0).u(3, 0).bytes()
)


def idr_slice() -> tuple[bytes, int]:
    """An IDR I-slice whose zero frame_num and long idr_pic_id code make the escaping insert
    0x03 bytes inside the header; returns (NAL, RBSP bytes of the slice header)."""
    header = Bits().ue(0).ue(7).ue(0).u(16, 0).ue(65_535).u(2, 0).ue(0)
    header_bytes = (len(header.bits) + 7) // 8
    data = header.u(40, 0x0102030405).bytes()
    return bytes([0x65]) + escape(data), header_bytes


def test_slice_header_size_counts_emulation_prevention_bytes() -> None:
    parser = SliceHeaderParser((SPS, PPS))
    unit, header_rbsp = idr_slice()
    rbsp = unit[1:].replace(b"\x00\x00\x03", b"\x00\x00")
    expected = 1 + len(escape(rbsp[:header_rbsp]))
    assert expected > 1 + header_rbsp  # the case under test: escapes inside the header
    assert parser.header_size(unit) == expected
    sample = struct.pack(">I", len(unit)) + unit
    assert nal_subsamples(sample, 4, hevc=False, parser=parser, align=False) == [
        (4 + expected, len(unit) - expected)
    ]


def test_in_band_parameter_sets_are_learnt_and_unknown_ones_fall_back() -> None:
    unit, _ = idr_slice()
    assert SliceHeaderParser().header_size(unit) is None  # no PPS known: cannot measure
    sample = struct.pack(">I", len(unit)) + unit
    fallback = nal_subsamples(sample, 4, hevc=False, parser=SliceHeaderParser(), align=False)
    assert fallback == [(5, len(unit) - 1)]  # the 23001-7 minimum: NAL header only
    in_band = b"".join(struct.pack(">I", len(x)) + x for x in (SPS, PPS, unit))
    result = nal_subsamples(in_band, 4, hevc=False, parser=SliceHeaderParser(), align=False)
    measured = SliceHeaderParser((SPS, PPS)).header_size(unit)
    assert measured is not None and measured > 1
    assert result == [(4 + len(SPS) + 4 + len(PPS) + 4 + measured, len(unit) - measured)]
