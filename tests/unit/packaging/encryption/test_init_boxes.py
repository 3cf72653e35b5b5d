"""encrypt_init on real FFmpeg headers, checked field by field against ISO/IEC 23001-7."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from tests.unit.packaging.encryption.support import (
    CONTAINERS,
    KEY,
    WRONG_KEY,
    body,
    first,
    parse_tenc,
    walk,
)

from vodstack.errors import BoxParseError, MediaError
from vodstack.packaging.codecs import parse_sample_entry
from vodstack.packaging.encryption import (
    WIDEVINE_SYSTEM_ID,
    ContentKey,
    clearkey_pssh,
    encrypt_init,
    make_pssh,
    read_track_crypto,
)
from vodstack.packaging.isobmff import Box, iter_boxes
from vodstack.packaging.track_index import read_track_index_bytes

Bytes = Callable[[str], bytes]
PSSH = clearkey_pssh([KEY.kid])


def header(data: bytes) -> bytes:
    return data[: read_track_index_bytes(data).init_size]


def check_sizes(data: bytes) -> None:
    """Every container's children tile its payload exactly; the top level tiles the data."""
    assert sum(b.size for b in iter_boxes(data)) == len(data)
    boxes = walk(data)
    for box in boxes:
        if box.type in CONTAINERS:
            kids = list(iter_boxes(data, box.payload_offset, box.end))
            assert sum(k.size for k in kids) == box.size - box.header_size, box.type


def sample_entry(data: bytes) -> Box:
    stsd = first(data, "stsd")
    return next(iter_boxes(data, stsd.payload_offset + 8, stsd.end))


@pytest.mark.parametrize("scheme", ["cenc", "cbcs"])
@pytest.mark.parametrize(
    ("clip", "clear", "protected"), [("video", "avc1", "encv"), ("audio", "mp4a", "enca")]
)
def test_sinf_and_tenc_fields(
    clear_bytes: Bytes, scheme: str, clip: str, clear: str, protected: str
) -> None:
    init = header(clear_bytes(clip))
    out = encrypt_init(init, scheme, KEY, [PSSH])  # type: ignore[arg-type]
    check_sizes(out)
    entry, clear_entry = sample_entry(out), sample_entry(init)
    assert (clear_entry.type, entry.type) == (clear, protected)
    fixed = 78 if clip == "video" else 28
    # fixed fields and the original child boxes are unchanged, sinf is appended
    assert (
        out[entry.payload_offset : entry.payload_offset + fixed]
        == (init[clear_entry.payload_offset : clear_entry.payload_offset + fixed])
    )
    kids = list(iter_boxes(out, entry.payload_offset + fixed, entry.end))
    clear_kids = list(iter_boxes(init, clear_entry.payload_offset + fixed, clear_entry.end))
    assert [k.type for k in kids] == [k.type for k in clear_kids] + ["sinf"]
    for new, old in zip(kids, clear_kids, strict=False):
        assert body(out, new) == body(init, old)
    sinf = kids[-1]
    assert [b.type for b in walk(out, sinf.payload_offset, sinf.end)] == [
        "frma", "schm", "schi", "tenc",
    ]  # fmt: skip
    assert body(out, first(out, "frma", sinf.payload_offset, sinf.end)) == clear.encode()
    schm = body(out, first(out, "schm", sinf.payload_offset, sinf.end))
    assert schm == b"\0\0\0\0" + scheme.encode() + struct.pack(">I", 0x00010000)
    tenc = parse_tenc(body(out, first(out, "tenc", sinf.payload_offset, sinf.end)))
    assert (tenc.protected, tenc.kid) == (1, KEY.kid)
    if scheme == "cenc":
        assert (tenc.version, tenc.crypt, tenc.skip, tenc.iv_size, tenc.constant_iv) == (
            0, 0, 0, 8, b"",
        )  # fmt: skip
    else:
        pattern = (1, 9) if clip == "video" else (0, 0)
        assert (tenc.version, (tenc.crypt, tenc.skip), tenc.iv_size) == (1, pattern, 0)
        assert tenc.constant_iv == KEY.iv
    # the existing readers see the protected entry as the same codec
    hdlr = "vide" if clip == "video" else "soun"
    described = parse_sample_entry(out, entry, hdlr)
    assert (described.format, described.scheme) == (clear, scheme)
    assert described.codec == parse_sample_entry(init, clear_entry, hdlr).codec


def test_pssh_boxes_close_the_moov_and_the_rest_is_untouched(clear_bytes: Bytes) -> None:
    init = header(clear_bytes("video"))
    widevine = make_pssh(WIDEVINE_SYSTEM_ID, b"opaque", [KEY.kid])
    out = encrypt_init(init, "cenc", KEY, [PSSH, widevine])
    moov = first(out, "moov")
    kids = list(iter_boxes(out, moov.payload_offset, moov.end))
    assert [k.type for k in kids[-2:]] == ["pssh", "pssh"]
    assert out[kids[-2].offset : kids[-1].end] == PSSH + widevine
    clear_moov = first(init, "moov")
    clear_kids = list(iter_boxes(init, clear_moov.payload_offset, clear_moov.end))
    assert [k.type for k in kids[:-2]] == [k.type for k in clear_kids]
    for new, old in zip(kids, clear_kids, strict=False):
        if old.type != "trak":
            assert body(out, new) == body(init, old)
    ftyp = first(init, "ftyp")
    assert out[: ftyp.size] == init[: ftyp.size]
    assert len(out) == len(init) + len(PSSH) + len(widevine) + first(out, "sinf").size


def test_encrypted_header_still_indexes_with_the_rest_of_the_file(clear_bytes: Bytes) -> None:
    data = clear_bytes("video")
    init = header(data)
    out = encrypt_init(init, "cbcs", KEY, [PSSH]) + data[len(init) :]
    clear, protected = read_track_index_bytes(data), read_track_index_bytes(out)
    assert (protected.sample_entry, protected.codec) == (clear.sample_entry, clear.codec)
    assert len(protected.fragments) == len(clear.fragments)


def test_deterministic_and_free_of_the_secret(clear_bytes: Bytes) -> None:
    init = header(clear_bytes("audio"))
    a = encrypt_init(init, "cbcs", KEY, [PSSH])
    assert a == encrypt_init(bytearray(init), "cbcs", KEY, (PSSH,))
    # the header names the KID and (cbcs) the constant IV, never the key itself
    assert KEY.key not in a
    assert encrypt_init(init, "cbcs", WRONG_KEY, [PSSH]) == a
    other = ContentKey(bytes(16), WRONG_KEY.key, bytes(16))
    b = encrypt_init(init, "cbcs", other, [PSSH])
    assert len(a) == len(b) and a != b


@pytest.mark.parametrize(("name", "fourcc"), [("av1", "av01"), ("opus", "Opus"), ("hevc", "hvc1")])
def test_any_sample_entry_fourcc(clip_bytes: Bytes, name: str, fourcc: str) -> None:
    """Generic handling by fourcc; ``clip_bytes`` is the packaging tests' clip fixture."""
    init = header(clip_bytes(name))
    out = encrypt_init(init, "cenc", KEY)
    check_sizes(out)
    assert body(out, first(out, "frma")) == fourcc.encode("latin-1")
    assert sample_entry(out).type == ("enca" if name == "opus" else "encv")


def test_refuses_what_is_not_a_clear_header(clear_bytes: Bytes, clip_bytes: Bytes) -> None:
    data = clear_bytes("video")
    init = header(data)
    with pytest.raises(MediaError, match="must end before"):
        encrypt_init(data, "cenc", KEY)
    with pytest.raises(MediaError, match="already protected"):
        encrypt_init(encrypt_init(init, "cenc", KEY), "cenc", KEY)
    with pytest.raises(MediaError, match="cannot be encrypted"):
        encrypt_init(header(clip_bytes("text")), "cenc", KEY)
    with pytest.raises(ValueError, match="scheme"):
        encrypt_init(init, "cens", KEY)  # type: ignore[arg-type]
    with pytest.raises(BoxParseError):
        encrypt_init(init, "cenc", KEY, [b"\0\0\0\x08free"])
    with pytest.raises(BoxParseError):
        encrypt_init(init[:28], "cenc", KEY)  # ftyp only
    with pytest.raises(BoxParseError):
        encrypt_init(init[:-1], "cenc", KEY)


def test_track_crypto_from_the_clear_header(clear_bytes: Bytes, clip_bytes: Bytes) -> None:
    video = read_track_crypto(header(clear_bytes("video")), iv_tag=3)
    assert (video.kind, video.sample_entry, video.nal_length_size, video.iv_tag) == (
        "video", "avc1", 4, 3,
    )  # fmt: skip
    assert [unit[0] & 0x1F for unit in video.parameter_sets] == [7, 8]  # SPS, PPS
    audio = read_track_crypto(header(clear_bytes("audio")))
    assert (audio.kind, audio.sample_entry, audio.nal_length_size) == ("audio", "mp4a", 0)
    hevc = read_track_crypto(header(clip_bytes("hevc")))
    assert (hevc.sample_entry, hevc.nal_length_size) == ("hvc1", 4)
    with pytest.raises(MediaError):
        read_track_crypto(encrypt_init(header(clear_bytes("audio")), "cenc", KEY))
    with pytest.raises(ValueError, match="iv_tag"):
        read_track_crypto(header(clear_bytes("audio")), iv_tag=256)
