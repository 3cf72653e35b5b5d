"""Key-frame-only fragments for DASH trick mode, cut just in time from a CMAF fragment (pure).

A DASH trick-mode AdaptationSet (``EssentialProperty http://dashif.org/guidelines/trickmode``,
DASH-IF IOP §3.2.9) holds a Representation of key frames only, which a player fetches while
fast-forwarding or scrubbing. vodstack has no such encode: every fragment already starts with
a key frame, so the trick segment n is fragment n reduced to its first sample —

* ``trun``: one sample; its duration becomes the whole fragment's, so the trick track's
  timeline is continuous (ISO/IEC 14496-12 §8.8.8); its flags stay those of a sync sample;
* ``tfhd``: a default sample duration, if it had one, becomes the fragment's duration;
* ``tfdt`` unchanged (the key frame decodes where it always did);
* ``mdat``: the key sample's bytes only; ``trun.data_offset`` points at them again.

Sample-group and encryption boxes are dropped (trick mode is offered for clear media only).
"""

from __future__ import annotations

import struct

from vodstack.errors import BoxParseError
from vodstack.packaging.isobmff import Box, Region, iter_boxes, make_box, make_full_box

_TFHD_DEFAULT_DURATION = 0x08
_TRUN_DATA_OFFSET, _TRUN_FIRST_FLAGS = 0x001, 0x004
_TRUN_FIELDS = ((0x100, 4), (0x200, 4), (0x400, 4), (0x800, 4))  # duration, size, flags, cto


def _tfhd(region: Region, box: Box, duration: int) -> tuple[bytes, int | None, int | None]:
    """The rewritten tfhd and its default sample duration and size (None if absent)."""
    data = bytearray(region.payload(box))
    flags = int.from_bytes(data[1:4], "big")
    pos = 8  # version/flags, track_ID
    pos += 8 if flags & 0x01 else 0  # base_data_offset
    pos += 4 if flags & 0x02 else 0  # sample_description_index
    default_duration = default_size = None
    if flags & _TFHD_DEFAULT_DURATION:
        default_duration = int.from_bytes(data[pos : pos + 4], "big")
        data[pos : pos + 4] = duration.to_bytes(4, "big")
        pos += 4
    if flags & 0x10:
        default_size = int.from_bytes(data[pos : pos + 4], "big")
    return make_box("tfhd", bytes(data)), default_duration, default_size


def _first_sample(region: Region, trun: Box, duration: int) -> tuple[bytes, int, int | None]:
    """(one-sample trun without its data offset filled in, data offset, sample size)."""
    r = region.reader(trun)
    version, flags = r.full_box_header()
    count = r.u32()
    if count < 1:
        raise BoxParseError("trun without samples", trun.offset)
    data_offset = r.s32() if flags & _TRUN_DATA_OFFSET else 0
    first_flags = r.u32() if flags & _TRUN_FIRST_FLAGS else None
    fields: dict[int, int] = {}
    for bit, _ in _TRUN_FIELDS:
        if flags & bit:
            fields[bit] = r.u32()
    if 0x100 in fields:
        fields[0x100] = duration
    body = struct.pack(">I", 1) + struct.pack(">i", 0)  # data_offset patched by the caller
    if first_flags is not None:
        body += struct.pack(">I", first_flags)
    for bit, _ in _TRUN_FIELDS:
        if bit in fields:
            body += struct.pack(">I", fields[bit] & 0xFFFFFFFF)
    new_flags = flags | _TRUN_DATA_OFFSET
    return make_full_box("trun", version, new_flags, body), data_offset, fields.get(0x200)


def keyframe_fragment(data: bytes, duration: int) -> bytes:
    """``moof+mdat`` (as stored; a leading styp/prft/emsg is dropped) reduced to its first,
    key, sample lasting ``duration`` (track timescale)."""
    boxes = list(iter_boxes(data))
    moof = next((b for b in boxes if b.type == "moof"), None)
    mdat = next((b for b in boxes if b.type == "mdat" and moof and b.offset > moof.offset), None)
    if moof is None or mdat is None:
        raise BoxParseError("not a fragment: no moof followed by an mdat")
    region = Region(data)
    mfhd = region.require(moof, "mfhd")
    traf = region.require(moof, "traf")
    tfhd, _, default_size = _tfhd(region, region.require(traf, "tfhd"), duration)
    tfdt_box = region.child(traf, "tfdt")
    tfdt = bytes(data[tfdt_box.offset : tfdt_box.end]) if tfdt_box else b""
    trun, old_offset, size = _first_sample(region, region.require(traf, "trun"), duration)
    if size is None:
        size = default_size
    if size is None:
        raise BoxParseError("sample size is neither in trun nor tfhd", traf.offset)
    start = moof.offset + old_offset  # default-base-is-moof: offsets from the moof [CMAF]
    sample = data[start : start + size]
    if start < mdat.payload_offset or len(sample) != size:
        raise BoxParseError("the key sample lies outside the mdat", start)
    new_traf = make_box("traf", tfhd + tfdt + trun)
    new_moof = make_box("moof", bytes(data[mfhd.offset : mfhd.end]) + new_traf)
    # data_offset: from the moof's first byte to the sample, past the mdat header
    offset_at = len(new_moof) - len(trun) + 16  # size, type, version/flags, sample_count
    patched = bytearray(new_moof)
    patched[offset_at : offset_at + 4] = struct.pack(">i", len(new_moof) + 8)
    return bytes(patched) + make_box("mdat", sample)
