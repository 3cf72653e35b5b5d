"""Re-time CMAF fragments encoded on their own so they splice into one continuous track.

A window of a rung encoded by a separate FFmpeg run starts its timeline at zero and numbers
its fragments from one. Placed at ``start`` in the full track, every ``tfdt``
(baseMediaDecodeTime) must be shifted by ``start`` and every ``mfhd`` sequence number continue
the track's count [ISO/IEC 14496-12 §8.8.5, §8.8.12]. Both fields are fixed-width, so the
rewrite is in place and size-preserving: byte offsets inside the fragments stay valid.
"""

from __future__ import annotations

import struct

from vodstack.errors import BoxParseError
from vodstack.packaging.isobmff import Box, children, iter_boxes, read_full_box_header


def retime_fragments(data: bytes, tfdt_offset: int, first_sequence: int) -> bytes:
    """``data`` = consecutive top-level boxes (moof, mdat, optionally styp/sidx/mfra)."""
    if tfdt_offset < 0 or first_sequence < 1:
        raise ValueError("offsets are non-negative and sequence numbers start at 1")
    out = bytearray(data)
    sequence = first_sequence
    for box in iter_boxes(out):
        if box.type != "moof":
            continue
        for child in children(out, box):
            if child.type == "mfhd":
                struct.pack_into(">I", out, child.payload_offset + 4, sequence)
            elif child.type == "traf":
                _shift_tfdt(out, child, tfdt_offset)
        sequence += 1
    return bytes(out)


def _shift_tfdt(buf: bytearray, traf: Box, offset: int) -> None:
    for box in children(buf, traf):
        if box.type != "tfdt":
            continue
        version, _ = read_full_box_header(buf, box)
        at = box.payload_offset + 4
        if version == 1:
            (value,) = struct.unpack_from(">Q", buf, at)
            struct.pack_into(">Q", buf, at, value + offset)
        else:
            (value,) = struct.unpack_from(">I", buf, at)
            if value + offset > 0xFFFFFFFF:
                raise BoxParseError("a 32-bit tfdt cannot hold the shifted decode time", box.offset)
            struct.pack_into(">I", buf, at, value + offset)
        return
    raise BoxParseError("a traf without tfdt cannot be re-timed", traf.offset)
