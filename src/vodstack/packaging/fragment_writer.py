"""Write CMAF audio fragments (moof+mdat) from raw AAC frames.

Why by hand: an AAC window encoded on its own starts with the encoder's priming frame and
(for every window but the first) two pre-roll frames that only prime the MDCT overlap. Those
frames must go, and the rest must land at exact AAC-frame decode times on the track's grid,
cut into fragments at the grid's boundaries. FFmpeg's muxer can neither drop leading packets
of a copied stream by count nor cut fragments at given sample numbers, so the ~40 lines of
box writing live here [ISO/IEC 14496-12 §8.8.4–8.8.12; ISO/IEC 23000-19 §7.3.2.2].

Input frames come from FFmpeg's ADTS output: a 7- or 9-byte header per frame, then the raw
access unit [ISO/IEC 13818-7 §6.2, §8.1].
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from vodstack.errors import BoxParseError

# tfhd flags: default-base-is-moof | default-sample-duration | default-sample-flags.
_TFHD_FLAGS = 0x020000 | 0x000008 | 0x000020
# trun flags: data-offset | sample-size.
_TRUN_FLAGS = 0x000001 | 0x000200
# Every AAC frame is a sync sample that depends on no other (what FFmpeg writes for audio).
_AUDIO_SAMPLE_FLAGS = 0x02000000


def adts_frames(data: bytes) -> list[bytes]:
    """Raw AAC access units of an ADTS stream, headers removed."""
    frames = []
    at = 0
    while at < len(data):
        if at + 7 > len(data) or data[at] != 0xFF or data[at + 1] & 0xF0 != 0xF0:
            raise BoxParseError("not an ADTS frame", at)
        header = 7 if data[at + 1] & 0x01 else 9  # protection_absent: no CRC
        length = ((data[at + 3] & 0x03) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
        if length < header or at + length > len(data):
            raise BoxParseError("truncated ADTS frame", at)
        frames.append(data[at + header : at + length])
        at += length
    return frames


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def audio_fragment(
    samples: Sequence[bytes],
    *,
    sequence: int,
    decode_time: int,
    track_id: int = 1,
    sample_duration: int = 1024,
) -> bytes:
    """One moof+mdat holding ``samples``, each ``sample_duration`` ticks long."""
    if not samples:
        raise ValueError("a fragment needs at least one sample")
    mfhd = _full_box(b"mfhd", 0, 0, struct.pack(">I", sequence))
    tfhd = _full_box(
        b"tfhd", 0, _TFHD_FLAGS, struct.pack(">III", track_id, sample_duration, _AUDIO_SAMPLE_FLAGS)
    )
    tfdt = _full_box(b"tfdt", 1, 0, struct.pack(">Q", decode_time))
    sizes = b"".join(struct.pack(">I", len(s)) for s in samples)

    def trun(data_offset: int) -> bytes:
        head = struct.pack(">Ii", len(samples), data_offset)
        return _full_box(b"trun", 0, _TRUN_FLAGS, head + sizes)

    moof_size = len(_box(b"moof", mfhd + _box(b"traf", tfhd + tfdt + trun(0))))
    moof = _box(b"moof", mfhd + _box(b"traf", tfhd + tfdt + trun(moof_size + 8)))
    return moof + _box(b"mdat", b"".join(samples))
