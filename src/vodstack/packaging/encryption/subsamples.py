"""Which bytes of a NAL-structured video sample stay clear (ISO/IEC 23001-7 §9.5, §10).

Every NAL unit gets one subsample: its length prefix, NAL header and (H.264) slice header are
clear, the slice data after it is protected. Non-VCL NAL units (SPS, PPS, SEI, AUD, …) are
entirely clear and are merged into the clear part of the next subsample. For ``cenc`` the
protected size is cut to a multiple of 16 by moving the remainder into the clear part at the
front of the same NAL unit (CMAF, ISO/IEC 23000-19 §8.2.2), keeping one subsample per NAL unit
as Bento4, GPAC and Shaka Packager do (shaka-packager PR #1598 reverted a trailing-clear
variant that broke TV decrypt paths). ``cbcs`` runs are not aligned: a run shorter than one
block stays listed as protected and is left clear by the pattern rules (§9.6), exactly as
Shaka Packager lists it. Clear runs above 65535 bytes (u16 BytesOfClearData) are split into
(65535, 0) entries.
"""

from __future__ import annotations

from vodstack.errors import MediaError
from vodstack.packaging.encryption.h264 import SliceHeaderParser

__all__ = ["Subsample", "nal_subsamples"]

Subsample = tuple[int, int]  # (BytesOfClearData, BytesOfProtectedData)
_U16 = 0xFFFF
_BLOCK = 16


class _Organizer:
    """Accumulates (clear, protected) per NAL unit into senc-ready subsamples."""

    __slots__ = ("_align", "_clear", "out")

    def __init__(self, align: bool) -> None:
        self._align = align
        self._clear = 0
        self.out: list[Subsample] = []

    def add(self, clear: int, protected: int) -> None:
        moved = protected % _BLOCK if self._align else 0
        self._clear += clear + moved
        protected -= moved
        if protected:
            self._push(self._clear, protected)
            self._clear = 0

    def _push(self, clear: int, protected: int) -> None:
        while clear > _U16:
            self.out.append((_U16, 0))
            clear -= _U16
        if clear or protected or not self.out:
            self.out.append((clear, protected))

    def finish(self) -> list[Subsample]:
        if self._clear or not self.out:
            self._push(self._clear, 0)
            self._clear = 0
        return self.out


def nal_subsamples(
    sample: bytes | bytearray | memoryview,
    length_size: int,
    *,
    hevc: bool,
    parser: SliceHeaderParser | None,
    align: bool,
) -> list[Subsample]:
    """Subsamples of one length-prefixed AVC/HEVC sample; ``align`` for ``cenc``.

    ``parser`` measures H.264 slice headers and learns in-band SPS/PPS; without it (or when a
    header cannot be measured) only the NAL header is kept clear, the 23001-7 minimum.
    """
    size = len(sample)
    organizer = _Organizer(align)
    pos = 0
    while pos < size:
        if pos + length_size > size:
            raise MediaError(f"video sample of {size} bytes ends inside a NAL length field")
        nal_size = int.from_bytes(sample[pos : pos + length_size], "big")
        start = pos + length_size
        end = start + nal_size
        if end > size:
            raise MediaError(
                f"NAL unit of {nal_size} bytes at byte {pos} runs past the end of a "
                f"{size}-byte video sample"
            )
        clear = nal_size
        if nal_size:
            nal = sample[start:end]
            if hevc:
                if (nal[0] >> 1) & 0x3F < 32:  # VCL NAL unit types 0-31 (ISO/IEC 23008-2)
                    clear = min(2, nal_size)
            else:
                kind = nal[0] & 0x1F
                if kind in (7, 8) and parser is not None:
                    parser.parameter_set(nal)
                elif kind in (1, 5):  # coded slice (non-IDR / IDR), ISO/IEC 14496-10 Table 7-1
                    header = parser.header_size(nal) if parser is not None else None
                    clear = min(header if header is not None else 1, nal_size)
        organizer.add(length_size + clear, nal_size - clear)
        pos = end
    return organizer.finish()
