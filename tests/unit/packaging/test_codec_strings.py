"""RFC 6381 CODECS strings: spec examples on hand-made records, then real FFmpeg output."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from vodstack.errors import BoxParseError
from vodstack.packaging.codecs import (
    DecoderConfig,
    SampleEntry,
    av1_codec,
    avc_codec,
    hevc_codec,
    mp4a_codec,
    parse_audio_specific_config,
    parse_esds,
    parse_sample_entry,
    vp9_codec,
)
from vodstack.packaging.isobmff import find_box, make_box, make_full_box
from vodstack.packaging.track_index import read_track_index


def bits(*fields: tuple[int, int]) -> bytes:
    """Pack (value, width) fields MSB-first, zero-padded to whole bytes."""
    value, width = 0, 0
    for field, size in fields:
        value, width = (value << size) | field, width + size
    pad = -width % 8
    return (value << pad).to_bytes((width + pad) // 8, "big")


def descriptor(tag: int, body: bytes, width: int) -> bytes:
    """MPEG-4 descriptor with a ``width``-byte expandable length (ISO/IEC 14496-1 §8.3.3)."""
    n = len(body)
    groups = [(n >> (7 * i)) & 0x7F for i in reversed(range(width))]
    return bytes([tag, *(g | 0x80 for g in groups[:-1]), groups[-1]]) + body


def esds(asc: bytes | None, *, width: int = 1, oti: int = 0x40, es_flags: int = 0) -> bytes:
    dsi = descriptor(5, asc, width) if asc is not None else b""
    config = bytes([oti, 0x15]) + b"\0\0\0" + struct.pack(">II", 128000, 128000) + dsi
    optional = b""
    if es_flags & 0x80:
        optional += b"\0\7"
    if es_flags & 0x40:
        optional += b"\3abc"
    if es_flags & 0x20:
        optional += b"\0\2"
    body = struct.pack(">HB", 1, es_flags) + optional + descriptor(4, config, width)
    return b"\0\0\0\0" + descriptor(3, body + descriptor(6, b"\2", width), width)


AAC_LC_48K_STEREO = bits((2, 5), (3, 4), (2, 4))


def test_avc_is_profile_constraints_level_in_lowercase_hex() -> None:
    # the vector from shaka-packager's avc_decoder_configuration_record unittest
    assert avc_codec("avc1", bytes([1, 0x12, 0x34, 0x56, 0xFF])) == "avc1.123456"
    assert avc_codec("avc3", bytes([1, 0x64, 0x00, 0x1F])) == "avc3.64001f"
    with pytest.raises(BoxParseError):
        avc_codec("avc1", b"\1\2")


def hvcc(first: int, compat: int, constraints: bytes, level: int) -> bytes:
    return bytes([1, first]) + compat.to_bytes(4, "big") + constraints + bytes([level]) + b"\0" * 10


def test_hevc_follows_14496_15_annex_e_examples() -> None:
    main = hvcc(0x01, 0x60000000, b"\xb0\0\0\0\0\0", 93)
    assert hevc_codec("hev1", main) == "hev1.1.6.L93.B0"
    # "hev1.A4.41.H120.B0.23": profile space 1, high tier, flags 0 and 6, two constraint bytes
    other = hvcc(0x40 | 0x20 | 4, 0x82000000, b"\xb0\x23\0\0\0\0", 120)
    assert hevc_codec("hev1", other) == "hev1.A4.41.H120.B0.23"
    middle_zero = hvcc(0x02, 0x20000000, b"\x90\0\x01\0\0\0", 120)
    assert hevc_codec("hvc1", middle_zero) == "hvc1.2.4.L120.90.0.1"
    with pytest.raises(BoxParseError):
        hevc_codec("hvc1", main[:12])


def test_av1_short_form() -> None:
    assert av1_codec(bytes([0x81, 0x08, 0x0C, 0])) == "av01.0.08M.08"
    assert av1_codec(bytes([0x81, (1 << 5) | 13, 0x80 | 0x40, 0])) == "av01.1.13H.10"
    assert av1_codec(bytes([0x81, (2 << 5) | 4, 0x60, 0])) == "av01.2.04M.12"
    with pytest.raises(BoxParseError):
        av1_codec(bytes([0x01, 0x08, 0x0C]))


def test_vp9() -> None:
    assert vp9_codec(bytes([1, 0, 0, 0, 0, 31, 0x82, 1, 1, 1, 0, 0])) == "vp09.00.31.08"
    assert vp9_codec(bytes([1, 0, 0, 0, 2, 40, 0xA2, 1, 1, 1, 0, 0])) == "vp09.02.40.10"


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_esds_descriptor_lengths_of_one_to_four_bytes(width: int) -> None:
    config = parse_esds(esds(AAC_LC_48K_STEREO, width=width))
    assert config == DecoderConfig(0x40, AAC_LC_48K_STEREO)
    assert mp4a_codec(config) == "mp4a.40.2"


def test_esds_optional_es_descriptor_fields_are_skipped() -> None:
    assert parse_esds(esds(AAC_LC_48K_STEREO, es_flags=0xE0)).specific_info == AAC_LC_48K_STEREO


@pytest.mark.parametrize(
    ("asc", "codec", "rate", "channels"),
    [
        (AAC_LC_48K_STEREO, "mp4a.40.2", 48000, 2),
        # HE-AAC: 24 kHz core, explicit SBR extension to 48 kHz
        (bits((5, 5), (6, 4), (2, 4), (3, 4), (2, 5)), "mp4a.40.5", 48000, 2),
        (bits((29, 5), (6, 4), (1, 4), (3, 4), (2, 5)), "mp4a.40.29", 48000, 1),
        # audioObjectType escape: 31 then 6 bits (42 = USAC); explicit 24-bit rate
        (bits((31, 5), (42 - 32, 6), (15, 4), (44056, 24), (7, 4)), "mp4a.40.42", 44056, 8),
        (bits((2, 5), (4, 4), (0, 4)), "mp4a.40.2", 44100, None),  # channels in a PCE
    ],
)
def test_audio_specific_config(asc: bytes, codec: str, rate: int, channels: int | None) -> None:
    assert mp4a_codec(DecoderConfig(0x40, asc)) == codec
    parsed = parse_audio_specific_config(asc)
    assert (parsed.sample_rate, parsed.channels) == (rate, channels)


def test_non_aac_object_types_use_the_hex_oti() -> None:
    assert mp4a_codec(parse_esds(esds(None, oti=0x6B))) == "mp4a.6b"
    assert mp4a_codec(DecoderConfig(0x40, None)) == "mp4a.40"


@pytest.mark.parametrize(
    "data",
    [
        esds(b"\x12"),  # AudioSpecificConfig cut after 8 bits
        esds(AAC_LC_48K_STEREO)[:-6],  # descriptor claims more than the box holds
        b"\0\0\0\0" + descriptor(4, b"\x40", 1),  # no ES_Descriptor
        b"\0\0",
    ],
)
def test_broken_esds_raises_box_parse_error(data: bytes) -> None:
    with pytest.raises(BoxParseError):
        mp4a_codec(parse_esds(data))


def visual_entry(fourcc: str, *boxes: bytes, width: int = 1280, height: int = 720) -> bytes:
    fixed = b"\0" * 6 + b"\0\1" + b"\0" * 16 + struct.pack(">HH", width, height) + b"\0" * 50
    return make_box(fourcc, fixed + b"".join(boxes))


def audio_entry(fourcc: str, *boxes: bytes, version: int = 0, extra: bytes = b"") -> bytes:
    fixed = b"\0" * 6 + b"\0\1" + struct.pack(">H6xHH4xI", version, 6, 16, 44100 << 16) + extra
    return make_box(fourcc, fixed + b"".join(boxes))


def sinf(original: str, scheme: str) -> bytes:
    schm = make_full_box("schm", 0, 0, scheme.encode() + struct.pack(">I", 0x10000))
    return make_box("sinf", make_box("frma", original.encode()) + schm)


def describe(entry: bytes, handler: str) -> SampleEntry:
    box = find_box(entry, entry[4:8].decode())
    assert box is not None
    return parse_sample_entry(entry, box, handler)


def test_encrypted_video_entry_reports_the_original_format() -> None:
    avcc = make_box("avcC", bytes([1, 0x64, 0x00, 0x28, 0xFF]))
    entry = describe(visual_entry("encv", avcc, sinf("avc1", "cbcs")), "vide")
    assert (entry.fourcc, entry.format, entry.codec, entry.scheme) == (
        "encv",
        "avc1",
        "avc1.640028",
        "cbcs",
    )
    assert (entry.width, entry.height) == (1280, 720)


def test_encrypted_audio_entry_and_asc_channels_win_over_the_entry() -> None:
    entry = describe(
        audio_entry("enca", make_box("esds", esds(AAC_LC_48K_STEREO)), sinf("mp4a", "cenc")), "soun"
    )
    assert (entry.format, entry.codec, entry.scheme) == ("mp4a", "mp4a.40.2", "cenc")
    assert (entry.channels, entry.sample_rate) == (2, 48000)  # entry says 6 ch, 44.1 kHz


def test_quicktime_sound_v1_entry_and_trailing_terminator() -> None:
    esds_box = make_box("esds", esds(AAC_LC_48K_STEREO))
    entry = describe(
        audio_entry("mp4a", esds_box, b"\0\0\0\0", version=1, extra=b"\0" * 16), "soun"
    )
    assert entry.codec == "mp4a.40.2"


def test_encrypted_entry_without_frma_is_refused() -> None:
    with pytest.raises(BoxParseError, match="no sinf"):
        describe(visual_entry("encv"), "vide")
    with pytest.raises(BoxParseError, match="no frma"):
        describe(visual_entry("encv", make_box("sinf", b"")), "vide")


def test_text_and_bare_entries() -> None:
    wvtt = make_box("wvtt", b"\0" * 6 + b"\0\1" + make_box("vttC", b"WEBVTT\n"))
    assert describe(wvtt, "text").codec == "wvtt"
    assert describe(audio_entry("Opus", make_box("dOps", b"\0" * 11)), "soun").codec == "opus"
    assert describe(visual_entry("avc1"), "vide").codec == "avc1"  # no avcC: say what we know


@pytest.mark.parametrize(
    ("name", "codec", "profile"),
    [
        ("video", "avc1.42c01e", "Constrained Baseline"),  # x264 ultrafast: no CABAC, no B
        ("bframes", "avc1.64000d", "High"),
        ("audio", "mp4a.40.2", "LC"),
        ("hevc", "hvc1.1.6.L30.90", "Main"),
        ("av1", "av01.0.00M.08", "Main"),
        ("opus", "opus", None),
    ],
)
def test_ffmpeg_clips(
    clip: Callable[[str], Path], name: str, codec: str, profile: str | None
) -> None:
    with clip(name).open("rb") as f:
        index = read_track_index(f)
    assert index.codec == codec
    with av.open(str(clip(name))) as container:
        assert container.streams[0].codec_context.profile == profile
