"""Just enough H.264 (ISO/IEC 14496-10) to measure a slice header, so that it stays in the clear.

CMAF (ISO/IEC 23000-19 §8.2.2) wants the protected bytes of a ``cbcs`` slice to start at the
first byte of slice data, and Shaka Packager keeps the slice header clear for ``cenc`` too
(packager/media/crypto/subsample_generator.cc). Secure hardware decoders parse slice headers
before decryption, so this is what makes protected streams play on TVs and phones. We parse the
SPS and PPS fields the slice header syntax depends on (§7.3.2.1, §7.3.2.2) and walk the header
(§7.3.3); streams we cannot measure (slice groups, MVC/SVC, malformed data) get ``None`` and
the caller falls back to the ISO/IEC 23001-7 minimum (NAL header clear).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Pps", "SliceHeaderParser", "Sps"]

# profile_idc values whose SPS carries chroma_format_idc etc. (§7.3.2.1.1)
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
_P, _B, _I, _SP, _SI = range(5)  # slice_type % 5 (Table 7-6)
_PEEK = 256  # raw bytes unescaped on the first try: slice headers are rarely longer
_MAX_LOOP = 64  # bound on list-modification / MMCO loops in corrupt data


class _OutOfBits(Exception):
    """The RBSP ended (or a value is impossible): the header cannot be measured."""


class _Bits:
    """MSB-first reader over RBSP bytes with Exp-Golomb codes (§9.1)."""

    __slots__ = ("_left", "_value")

    def __init__(self, rbsp: bytes) -> None:
        self._value = int.from_bytes(rbsp, "big")
        self._left = len(rbsp) * 8

    def u(self, n: int) -> int:
        if n > self._left:
            raise _OutOfBits
        self._left -= n
        return (self._value >> self._left) & ((1 << n) - 1)

    def flag(self) -> bool:
        return bool(self.u(1))

    def ue(self) -> int:
        rest = self._value & ((1 << self._left) - 1)
        zeros = self._left - rest.bit_length()
        if zeros > 31 or rest == 0:
            raise _OutOfBits
        return self.u(2 * zeros + 1) - 1

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)

    def bits_left(self) -> int:
        return self._left


@dataclass(frozen=True, slots=True)
class Sps:
    """SPS fields that shape the slice header (§7.4.2.1.1)."""

    sps_id: int
    chroma_array_type: int
    separate_colour_plane: bool
    log2_max_frame_num: int
    poc_type: int
    log2_max_poc_lsb: int
    delta_pic_order_always_zero: bool
    frame_mbs_only: bool


@dataclass(frozen=True, slots=True)
class Pps:
    """PPS fields that shape the slice header (§7.4.2.2)."""

    pps_id: int
    sps_id: int
    cabac: bool
    bottom_field_pic_order: bool
    slice_groups: bool
    num_ref_idx_default: tuple[int, int]  # l0, l1 active minus 1
    weighted_pred: bool
    weighted_bipred_idc: int
    deblocking_control: bool
    redundant_pic_cnt: bool


def _skip_scaling_list(b: _Bits, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt:
            nxt = (last + b.se() + 256) % 256
        last = nxt or last


def _parse_sps(b: _Bits) -> Sps:
    profile = b.u(8)
    b.u(16)  # constraint flags, level_idc
    sps_id = b.ue()
    chroma, separate = 1, False
    if profile in _HIGH_PROFILES:
        chroma = b.ue()
        if chroma == 3:
            separate = b.flag()
        b.ue(), b.ue(), b.flag()  # bit depths, qpprime_y_zero_transform_bypass_flag
        if b.flag():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma != 3 else 12):
                if b.flag():
                    _skip_scaling_list(b, 16 if i < 6 else 64)
    log2_frame_num = b.ue() + 4
    poc_type = b.ue()
    log2_poc_lsb, always_zero = 0, False
    if poc_type == 0:
        log2_poc_lsb = b.ue() + 4
    elif poc_type == 1:
        always_zero = b.flag()
        b.se(), b.se()  # offset_for_non_ref_pic, offset_for_top_to_bottom_field
        for _ in range(min(b.ue(), 255)):
            b.se()
    b.ue(), b.flag(), b.ue(), b.ue()  # max_num_ref_frames, gaps, width, height in MBs
    frame_mbs_only = b.flag()
    if sps_id > 31 or log2_frame_num > 16 or log2_poc_lsb > 16 or poc_type > 2:
        raise _OutOfBits
    chroma_array_type = 0 if separate else chroma
    return Sps(
        sps_id, chroma_array_type, separate, log2_frame_num, poc_type, log2_poc_lsb,
        always_zero, frame_mbs_only,
    )  # fmt: skip


def _parse_pps(b: _Bits) -> Pps:
    pps_id, sps_id = b.ue(), b.ue()
    cabac, bottom = b.flag(), b.flag()
    slice_groups = b.ue() > 0  # slice group maps (FMO) are not measured: Baseline/Extended only
    defaults = (b.ue(), b.ue())
    weighted_pred, bipred = b.flag(), b.u(2)
    b.se(), b.se(), b.se()  # pic_init_qp, pic_init_qs, chroma_qp_index_offset
    deblocking, _constrained, redundant = b.flag(), b.flag(), b.flag()
    if pps_id > 255 or sps_id > 31:
        raise _OutOfBits
    return Pps(
        pps_id, sps_id, cabac, bottom, slice_groups, defaults, weighted_pred, bipred,
        deblocking, redundant,
    )  # fmt: skip


def _unescape(raw: bytes | bytearray | memoryview) -> tuple[bytes, list[int] | None]:
    """NAL payload → RBSP, dropping emulation_prevention_three_byte (§7.4.1); the second value
    maps RBSP byte i to its raw index (None when nothing was dropped)."""
    raw = bytes(raw)
    if b"\x00\x00\x03" not in raw:
        return raw, None
    out = bytearray()
    where: list[int] = []
    zeros = 0
    for i, byte in enumerate(raw):
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        where.append(i)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out), where


def _ref_list_modification(b: _Bits) -> None:
    if b.flag():
        for _ in range(_MAX_LOOP):
            idc = b.ue()
            if idc == 3:
                return
            if idc > 3:
                raise _OutOfBits
            b.ue()
        raise _OutOfBits


def _pred_weight_table(b: _Bits, sps: Sps, refs: tuple[int, int], is_b: bool) -> None:
    b.ue()  # luma_log2_weight_denom
    if sps.chroma_array_type:
        b.ue()
    for count in refs[: 2 if is_b else 1]:
        for _ in range(count + 1):
            if b.flag():
                b.se(), b.se()
            if sps.chroma_array_type and b.flag():
                b.se(), b.se(), b.se(), b.se()


def _dec_ref_pic_marking(b: _Bits, idr: bool) -> None:
    if idr:
        b.flag(), b.flag()  # no_output_of_prior_pics_flag, long_term_reference_flag
        return
    if b.flag():  # adaptive_ref_pic_marking_mode_flag
        for _ in range(_MAX_LOOP):
            op = b.ue()
            if op == 0:
                return
            if op > 6:
                raise _OutOfBits
            if op in (1, 3):
                b.ue()
            if op == 2:
                b.ue()
            if op in (3, 6):
                b.ue()
            if op == 4:
                b.ue()
        raise _OutOfBits


class SliceHeaderParser:
    """Parameter-set state for one run over a track's samples (in-band SPS/PPS update it)."""

    def __init__(self, parameter_sets: tuple[bytes, ...] = ()) -> None:
        self._sps: dict[int, Sps] = {}
        self._pps: dict[int, Pps] = {}
        for unit in parameter_sets:
            if unit:
                self.parameter_set(unit)

    def parameter_set(self, nal: bytes | bytearray | memoryview) -> None:
        """Record an SPS (type 7) or PPS (type 8); unparsable ones are ignored."""
        kind = nal[0] & 0x1F
        if kind not in (7, 8):
            return
        try:
            bits = _Bits(_unescape(nal[1:])[0])
            if kind == 7:
                sps = _parse_sps(bits)
                self._sps[sps.sps_id] = sps
            else:
                pps = _parse_pps(bits)
                self._pps[pps.pps_id] = pps
        except _OutOfBits:
            return

    def header_size(self, nal: bytes | bytearray | memoryview) -> int | None:
        """Raw bytes of NAL header + slice header of a slice NAL (type 1 or 5), or None."""
        for limit in (_PEEK, len(nal)):
            rbsp, where = _unescape(nal[1 : 1 + limit])
            try:
                used = self._slice_header_bytes(_Bits(rbsp), nal[0])
            except _OutOfBits:
                if limit >= len(nal) - 1:
                    return None
                continue
            return 1 + (where[used - 1] + 1 if where is not None else used)
        return None

    def _slice_header_bytes(self, b: _Bits, nal_header: int) -> int:
        """§7.3.3 slice_header(); returns the RBSP bytes it spans (rounded up)."""
        start = b.bits_left()
        ref_idc, idr = nal_header >> 5 & 3, nal_header & 0x1F == 5
        b.ue()  # first_mb_in_slice
        slice_type = b.ue()
        pps = self._pps.get(b.ue())
        sps = self._sps.get(pps.sps_id) if pps is not None else None
        if pps is None or sps is None or slice_type > 9 or pps.slice_groups:
            raise _OutOfBits
        kind = slice_type % 5
        if sps.separate_colour_plane:
            b.u(2)  # colour_plane_id
        b.u(sps.log2_max_frame_num)
        field = False
        if not sps.frame_mbs_only and (field := b.flag()):
            b.flag()  # bottom_field_flag
        if idr:
            b.ue()  # idr_pic_id
        if sps.poc_type == 0:
            b.u(sps.log2_max_poc_lsb)
            if pps.bottom_field_pic_order and not field:
                b.se()
        if sps.poc_type == 1 and not sps.delta_pic_order_always_zero:
            b.se()
            if pps.bottom_field_pic_order and not field:
                b.se()
        if pps.redundant_pic_cnt:
            b.ue()
        if kind == _B:
            b.flag()  # direct_spatial_mv_pred_flag
        refs = pps.num_ref_idx_default
        if kind in (_P, _SP, _B) and b.flag():  # num_ref_idx_active_override_flag
            refs = (b.ue(), b.ue() if kind == _B else refs[1])
        if max(refs) > 31:
            raise _OutOfBits
        if kind not in (_I, _SI):
            _ref_list_modification(b)
        if kind == _B:
            _ref_list_modification(b)
        weighted = pps.weighted_bipred_idc == 1 if kind == _B else pps.weighted_pred
        if weighted and kind not in (_I, _SI):
            _pred_weight_table(b, sps, refs, kind == _B)
        if ref_idc:
            _dec_ref_pic_marking(b, idr)
        if pps.cabac and kind not in (_I, _SI):
            b.ue()  # cabac_init_idc
        b.se()  # slice_qp_delta
        if kind in (_SP, _SI):
            if kind == _SP:
                b.flag()  # sp_for_switch_flag
            b.se()  # slice_qs_delta
        if pps.deblocking_control and b.ue() != 1:  # disable_deblocking_filter_idc
            b.se(), b.se()  # slice_alpha_c0_offset_div2, slice_beta_offset_div2
        # Shaka rounds the bit count up the same way (video_slice_header_parser.cc)
        return (start - b.bits_left() + 7) // 8
