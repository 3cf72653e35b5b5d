"""Sample entries → RFC 6381 ``CODECS`` strings and the facts players need (size, channels).

The per-codec functions take the raw configuration record (avcC, hvcC, av1C, vpcC, esds)
so they can be tested with hand-made bytes and reused by the rewriting packager.
"""

from __future__ import annotations

from dataclasses import dataclass

from vodstack.errors import BoxParseError
from vodstack.packaging.isobmff import Box, Buffer, ByteReader, children, find_child, payload

__all__ = [
    "AudioSpecificConfig",
    "DecoderConfig",
    "SampleEntry",
    "av1_codec",
    "avc_codec",
    "hevc_codec",
    "mp4a_codec",
    "parse_audio_specific_config",
    "parse_esds",
    "parse_sample_entry",
    "vp9_codec",
]

# ISO/IEC 14496-12 §12.1.3: a VisualSampleEntry has 78 bytes before its child boxes (8 of
# SampleEntry, width/height at +24/+26); an AudioSampleEntry has 28 (§12.2.3).
_VISUAL_FIXED = 78
# QuickTime sound description versions 1 and 2 append 16 / 36 bytes (QTFF "Sound Sample
# Descriptions"); FFmpeg writes them only in .mov mode, but they must not break the walk.
_QT_AUDIO_EXTRA = {1: 16, 2: 36}

# ISO/IEC 14496-3 §1.6.3.3 Table 1.18 samplingFrequencyIndex.
_AAC_RATES = (
    96000,
    88200,
    64000,
    48000,
    44100,
    32000,
    24000,
    22050,
    16000,
    12000,
    11025,
    8000,
    7350,
)
# ISO/IEC 14496-3 Table 1.19 channelConfiguration → channel count (0 = in the PCE; 8-10 reserved).
_AAC_CHANNELS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8}
_SBR_AOTS = (5, 29)  # explicit hierarchical SBR signalling, §1.6.2.1


@dataclass(frozen=True, slots=True)
class AudioSpecificConfig:
    """The fields of AudioSpecificConfig a packager needs (ISO/IEC 14496-3 §1.6.2.1)."""

    object_type: int
    sample_rate: int | None  # output rate: the SBR extension rate when signalled explicitly
    channel_config: int

    @property
    def channels(self) -> int | None:
        return _AAC_CHANNELS.get(self.channel_config)


@dataclass(frozen=True, slots=True)
class DecoderConfig:
    """DecoderConfigDescriptor from esds (ISO/IEC 14496-1 §7.2.6.6)."""

    object_type_indication: int
    specific_info: bytes | None


@dataclass(frozen=True, slots=True)
class SampleEntry:
    """The first stsd entry, described (ISO/IEC 14496-12 §8.5.2)."""

    fourcc: str  # as stored, e.g. "encv"
    format: str  # the real coding name: sinf/frma's for encrypted entries
    codec: str  # RFC 6381
    width: int | None = None
    height: int | None = None
    channels: int | None = None
    sample_rate: int | None = None
    scheme: str | None = None  # sinf/schm scheme_type ("cenc", "cbcs") when protected


class _Bits:
    """MSB-first bit reader for AudioSpecificConfig; running out is a BoxParseError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, n: int) -> int:
        if self._pos + n > len(self._data) * 8:
            raise BoxParseError(f"AudioSpecificConfig of {len(self._data)} bytes is truncated")
        value = 0
        for _ in range(n):
            byte = self._data[self._pos >> 3]
            value = (value << 1) | ((byte >> (7 - (self._pos & 7))) & 1)
            self._pos += 1
        return value


def _aot(bits: _Bits) -> int:
    aot = bits.read(5)
    return 32 + bits.read(6) if aot == 31 else aot  # §1.6.2.1 GetAudioObjectType escape


def _rate(bits: _Bits) -> int | None:
    index = bits.read(4)
    if index == 15:
        return bits.read(24)
    return _AAC_RATES[index] if index < len(_AAC_RATES) else None


def parse_audio_specific_config(data: bytes) -> AudioSpecificConfig:
    """The leading fields of AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1); for explicit SBR
    (HE-AAC v1/v2) the output rate is the extension rate that follows the channels."""
    bits = _Bits(data)
    aot = _aot(bits)
    rate = _rate(bits)
    channel_config = bits.read(4)
    if aot in _SBR_AOTS:
        rate = _rate(bits)
    return AudioSpecificConfig(aot, rate, channel_config)


def _descriptor(r: ByteReader) -> tuple[int, int]:
    """(tag, length) of an MPEG-4 descriptor: the size takes 1-4 bytes of 7 bits, top bit =
    more (ISO/IEC 14496-1 §8.3.3 expandable class)."""
    tag = r.u8()
    length = 0
    for _ in range(4):
        byte = r.u8()
        length = (length << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    if length > r.remaining:
        raise BoxParseError(f"descriptor tag {tag} claims {length} bytes, {r.remaining} left")
    return tag, length


def _sub_descriptor(r: ByteReader, end: int, wanted: int) -> int | None:
    """Skip sibling descriptors until ``wanted``; returns its length with ``r`` at its body."""
    while r.pos < end:
        tag, length = _descriptor(r)
        if tag == wanted:
            return length
        r.skip(length)
    return None


def parse_esds(esds: Buffer) -> DecoderConfig:
    """ES_Descriptor(3) → DecoderConfigDescriptor(4) → DecoderSpecificInfo(5), §7.2.6.5-7."""
    r = ByteReader(esds, 4, len(esds), what="esds")  # skip the FullBox version/flags
    es_len = _sub_descriptor(r, len(esds), 3)
    if es_len is None:
        raise BoxParseError("esds has no ES_Descriptor")
    es_end = r.pos + es_len
    r.skip(2)  # ES_ID
    es_flags = r.u8()
    if es_flags & 0x80:  # streamDependenceFlag
        r.skip(2)
    if es_flags & 0x40:  # URL_Flag
        r.skip(r.u8())
    if es_flags & 0x20:  # OCRstreamFlag
        r.skip(2)
    dc_len = _sub_descriptor(r, es_end, 4)
    if dc_len is None:
        raise BoxParseError("esds has no DecoderConfigDescriptor")
    dc_end = r.pos + dc_len
    oti = r.u8()
    r.skip(12)  # streamType/upStream, bufferSizeDB, maxBitrate, avgBitrate
    dsi_len = _sub_descriptor(r, dc_end, 5)
    return DecoderConfig(oti, None if dsi_len is None else r.read(dsi_len))


def mp4a_codec(config: DecoderConfig) -> str:
    """RFC 6381 §3.3: ``mp4a.<OTI hex>[.<audioObjectType decimal>]``."""
    codec = f"mp4a.{config.object_type_indication:02x}"
    if config.object_type_indication == 0x40 and config.specific_info:
        codec += f".{parse_audio_specific_config(config.specific_info).object_type}"
    return codec


def avc_codec(fmt: str, avcc: Buffer) -> str:
    """``avc1.PPCCLL`` from AVCDecoderConfigurationRecord bytes 1-3 (ISO/IEC 14496-15 §5.3.3)."""
    if len(avcc) < 4:
        raise BoxParseError(f"avcC of {len(avcc)} bytes is too short")
    return f"{fmt}.{bytes(avcc[1:4]).hex()}"


def hevc_codec(fmt: str, hvcc: Buffer) -> str:
    """ISO/IEC 14496-15 Annex E.3: ``hvc1.[A-C]<profile>.<compat reversed, hex>.<L|H><level>``
    then the constraint bytes in hex, trailing zero bytes omitted (e.g. ``hvc1.1.6.L93.B0``)."""
    if len(hvcc) < 13:
        raise BoxParseError(f"hvcC of {len(hvcc)} bytes is too short")
    b1 = hvcc[1]
    space = ("", "A", "B", "C")[b1 >> 6]
    compat = int.from_bytes(hvcc[2:6], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    tier = "H" if b1 & 0x20 else "L"
    constraints = bytes(hvcc[6:12]).rstrip(b"\0")
    fields = [fmt, f"{space}{b1 & 0x1F}", f"{reversed_compat:X}", f"{tier}{hvcc[12]}"]
    return ".".join(fields + [f"{b:X}" for b in constraints])


def av1_codec(av1c: Buffer) -> str:
    """Short form ``av01.P.LLT.DD`` of the AV1 ISOBMFF binding's codecs parameter, from av1C."""
    if len(av1c) < 3 or av1c[0] != 0x81:
        raise BoxParseError("av1C is not marker=1, version=1")
    profile, level = av1c[1] >> 5, av1c[1] & 0x1F
    tier = "H" if av1c[2] & 0x80 else "M"
    high, twelve = av1c[2] & 0x40, av1c[2] & 0x20
    depth = (12 if twelve else 10) if high else 8
    return f"av01.{profile}.{level:02d}{tier}.{depth:02d}"


def vp9_codec(vpcc: Buffer) -> str:
    """``vp09.PP.LL.DD`` (VP codec ISO media file format binding) from a version-1 vpcC."""
    if len(vpcc) < 7 or vpcc[0] != 1:
        raise BoxParseError("vpcC is not version 1")
    return f"vp09.{vpcc[4]:02d}.{vpcc[5]:02d}.{vpcc[6] >> 4:02d}"


_CONFIG_BOX = {"avc1": "avcC", "avc3": "avcC", "hvc1": "hvcC", "hev1": "hvcC", "av01": "av1C"}
_CONFIG_BOX |= {"vp09": "vpcC", "mp4a": "esds"}
_BARE = {"Opus": "opus", "opus": "opus", "fLaC": "fLaC", "ac-3": "ac-3", "ec-3": "ec-3"}
_PROTECTED = ("encv", "enca", "enct", "encs")  # ISO/IEC 14496-12 §8.12, 23001-7 §4


def _protection(buf: Buffer, sinf: Box | None, base: int) -> tuple[str, str | None]:
    """sinf/frma holds the real format; sinf/schm the scheme (e.g. "cbcs")."""
    if sinf is None:
        raise BoxParseError("protected sample entry has no sinf box")
    frma = find_child(buf, sinf, "frma", base_offset=base)
    if frma is None:
        raise BoxParseError("sinf has no frma box", sinf.offset)
    fmt = ByteReader.of(buf, frma, base_offset=base).fourcc()
    schm = find_child(buf, sinf, "schm", base_offset=base)
    if schm is None:
        return fmt, None
    r = ByteReader.of(buf, schm, base_offset=base)
    r.skip(4)  # FullBox header
    return fmt, r.fourcc()


def _codec(fmt: str, config: memoryview | None, esds: DecoderConfig | None) -> str:
    if esds is not None:
        return mp4a_codec(esds)
    if config is None:
        return _BARE.get(fmt, fmt)
    if fmt in ("avc1", "avc3"):
        return avc_codec(fmt, config)
    if fmt in ("hvc1", "hev1"):
        return hevc_codec(fmt, config)
    if fmt == "av01":
        return av1_codec(config)
    return vp9_codec(config)


def parse_sample_entry(
    buf: Buffer, entry: Box, handler: str, *, base_offset: int = 0
) -> SampleEntry:
    """Describe one stsd entry; ``handler`` (hdlr type) decides the fixed-field layout because
    encv/enca and unknown fourccs say nothing about it (ISO/IEC 14496-12 §12.1.3, §12.2.3)."""
    r = ByteReader.of(buf, entry, base_offset=base_offset)
    r.skip(8)  # reserved[6], data_reference_index
    width = height = channels = rate = None
    if handler == "vide":
        r.skip(16)
        width, height = r.u16(), r.u16()
        r.skip(_VISUAL_FIXED - 28)
    elif handler == "soun":
        version = r.u16()
        r.skip(6)
        channels = r.u16()
        r.skip(6)
        rate = r.u32() >> 16  # 16.16 fixed point
        r.skip(_QT_AUDIO_EXTRA.get(version, 0))
    boxes: dict[str, Box] = {}
    if handler in ("vide", "soun") or entry.type == "wvtt":
        skip = r.pos - (entry.payload_offset - base_offset)
        for child in children(buf, entry, base_offset=base_offset, skip=skip, allow_padding=True):
            boxes.setdefault(child.type, child)
    fmt, scheme = entry.type, None
    if entry.type in _PROTECTED:
        fmt, scheme = _protection(buf, boxes.get("sinf"), base_offset)
    config_box = boxes.get(_CONFIG_BOX.get(fmt, ""))
    config = None if config_box is None else payload(buf, config_box, base_offset=base_offset)
    esds = parse_esds(config) if fmt == "mp4a" and config is not None else None
    if esds is not None and esds.object_type_indication == 0x40 and esds.specific_info:
        asc = parse_audio_specific_config(esds.specific_info)
        channels = asc.channels or channels
        rate = asc.sample_rate or rate
    codec = _codec(fmt, config, esds)
    return SampleEntry(entry.type, fmt, codec, width, height, channels, rate, scheme)
