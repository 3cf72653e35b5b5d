"""What fragment encryption needs to know about a track, read once from its clear init segment.

Media segments carry no codec configuration, so :func:`encrypt_segment` is given a
:class:`TrackCrypto`: the track kind (video gets subsample encryption, audio whole-sample), the
clear sample entry fourcc, the NAL length size and parameter sets from ``avcC``/``hvcC`` (to walk
NAL units and size slice headers), and the ``trex`` default sample size (the last fallback for
sample sizes, ISO/IEC 14496-12 §8.8.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from vodstack.errors import BoxParseError, MediaError
from vodstack.packaging.isobmff import Box, ByteReader, Region, children, iter_boxes

__all__ = [
    "AVC_ENTRIES",
    "HEVC_ENTRIES",
    "TrackCrypto",
    "entry_fixed_size",
    "read_track_crypto",
]

AVC_ENTRIES = frozenset({"avc1", "avc3"})
HEVC_ENTRIES = frozenset({"hvc1", "hev1", "dvh1", "dvhe"})
_KINDS = {"vide": "video", "soun": "audio"}
# ISO/IEC 14496-12 §12.1.3 / §12.2.3: bytes before a sample entry's child boxes; QuickTime sound
# description versions 1 and 2 add 16 / 36 bytes (QTFF "Sound Sample Descriptions").
_VISUAL_FIXED = 78
_AUDIO_FIXED = 28
_QT_AUDIO_EXTRA = {1: 16, 2: 36}


@dataclass(frozen=True, slots=True)
class TrackCrypto:
    """Per-track facts for :func:`~vodstack.packaging.encryption.fragment.encrypt_segment`.

    ``iv_tag`` goes into every ``cenc`` per-sample IV: tracks that share one content key (the
    rungs of a ladder, usually) must have distinct tags, or two tracks would reuse CTR
    keystreams. The rendition's position in the asset is a natural choice.
    """

    kind: str  # "video" | "audio"
    sample_entry: str  # clear coding name, e.g. "avc1", "mp4a"
    nal_length_size: int = 0  # 1, 2 or 4 for AVC/HEVC, 0 for every other codec
    parameter_sets: tuple[bytes, ...] = ()  # SPS and PPS NAL units from avcC
    default_sample_size: int = 0  # trex default_sample_size
    iv_tag: int = 0  # 0..255, see above

    def __post_init__(self) -> None:
        if self.kind not in ("video", "audio"):
            raise ValueError(f"track kind must be 'video' or 'audio', got {self.kind!r}")
        if self.nal_length_size not in (0, 1, 2, 4):
            raise ValueError(f"NAL length size must be 1, 2 or 4, got {self.nal_length_size}")
        if not 0 <= self.iv_tag <= 0xFF:
            raise ValueError(f"iv_tag must be 0..255, got {self.iv_tag}")


def entry_fixed_size(buf: bytes | memoryview, entry: Box, handler: str) -> int:
    """Bytes between a sample entry's header and its first child box."""
    if handler == "vide":
        return _VISUAL_FIXED
    if handler == "soun":
        r = ByteReader.of(buf, entry)
        r.skip(8)  # reserved[6], data_reference_index
        return _AUDIO_FIXED + _QT_AUDIO_EXTRA.get(r.u16(), 0)
    raise MediaError(f"a {handler!r} track cannot be encrypted: only video and audio tracks can")


def _avcc(data: bytes) -> tuple[int, tuple[bytes, ...]]:
    """NAL length size and the SPS/PPS units of an AVCDecoderConfigurationRecord
    (ISO/IEC 14496-15 §5.3.3.1)."""
    r = ByteReader(data, 0, len(data), what="avcC")
    r.skip(4)  # configurationVersion, profile, compatibility, level
    length_size = (r.u8() & 0x03) + 1
    units = [r.read(r.u16()) for _ in range(r.u8() & 0x1F)]
    units += [r.read(r.u16()) for _ in range(r.u8())]
    return length_size, tuple(units)


def _hvcc(data: bytes) -> int:
    """lengthSizeMinusOne is the low 2 bits of byte 21 (ISO/IEC 14496-15 §8.3.3.1.2)."""
    if len(data) < 23:
        raise BoxParseError(f"hvcC of {len(data)} bytes is too short")
    return (data[21] & 0x03) + 1


def _trex_default_size(moov: Region, box: Box, track_id: int) -> int:
    mvex = moov.child(box, "mvex")
    for trex in () if mvex is None else moov.children(mvex):
        if trex.type == "trex":
            r = moov.reader(trex)
            r.skip(4)
            if r.u32() == track_id:
                r.skip(8)  # default_sample_description_index, default_sample_duration
                return r.u32()
    return 0


def read_track_crypto(init: bytes, *, iv_tag: int = 0) -> TrackCrypto:
    """Describe the single track of a clear CMAF header (ftyp+moov)."""
    moov_box = next((b for b in iter_boxes(init) if b.type == "moov"), None)
    if moov_box is None:
        raise BoxParseError("init segment has no moov box")
    moov = Region(init)
    traks = [b for b in moov.children(moov_box) if b.type == "trak"]
    if len(traks) != 1:
        raise MediaError(f"expected one trak (a CMAF track file), found {len(traks)}")
    trak = traks[0]
    r = moov.reader(moov.require(trak, "tkhd"))
    version, _ = r.full_box_header()
    r.skip(16 if version == 1 else 8)
    track_id = r.u32()
    mdia = moov.require(trak, "mdia")
    r = moov.reader(moov.require(mdia, "hdlr"))
    r.skip(8)  # FullBox header, pre_defined
    handler = r.fourcc()
    if handler not in _KINDS:
        raise MediaError(f"a {handler!r} track cannot be encrypted: only video and audio can")
    stsd = moov.require(moov.require(moov.require(mdia, "minf"), "stbl"), "stsd")
    entry = next(moov.children(stsd, skip=8), None)
    if entry is None:
        raise BoxParseError("stsd has no sample entry", stsd.offset)
    if entry.type in ("encv", "enca"):
        raise MediaError("the init segment is already encrypted: give the clear one")
    length_size = 0
    units: tuple[bytes, ...] = ()
    skip = entry_fixed_size(init, entry, handler)
    boxes = children(init, entry, skip=skip, allow_padding=True)
    configs = {b.type: b for b in boxes if b.type in ("avcC", "hvcC")}
    if handler == "vide" and entry.type in AVC_ENTRIES | HEVC_ENTRIES:
        name = "avcC" if entry.type in AVC_ENTRIES else "hvcC"
        if name not in configs:
            raise BoxParseError(f"{entry.type!r} sample entry has no {name!r} box", entry.offset)
        data = bytes(moov.payload(configs[name]))
        if name == "avcC":
            length_size, units = _avcc(data)
        else:
            length_size = _hvcc(data)
        if length_size == 3:
            raise MediaError("a 3-byte NAL length size is not allowed (ISO/IEC 14496-15)")
    return TrackCrypto(
        kind=_KINDS[handler],
        sample_entry=entry.type,
        nal_length_size=length_size,
        parameter_sets=units,
        default_sample_size=_trex_default_size(moov, moov_box, track_id),
        iv_tag=iv_tag,
    )
