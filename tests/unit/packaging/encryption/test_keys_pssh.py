"""Content keys, their text forms, and pssh boxes (ISO/IEC 23001-7 §8.1)."""

from __future__ import annotations

import base64
import struct
import uuid

import pytest

from vodstack.errors import BoxParseError
from vodstack.packaging import encryption
from vodstack.packaging.encryption import (
    COMMON_SYSTEM_ID,
    WIDEVINE_SYSTEM_ID,
    ContentKey,
    b64url,
    b64url_decode,
    check_pssh,
    clearkey_jwk,
    clearkey_pssh,
    kid_from_uuid,
    kid_to_uuid,
    make_pssh,
    parse_pssh,
    pssh_from_base64,
)

KID = bytes.fromhex("9eb4050de44b4802932e27d75083e266")
KID2 = bytes(range(16))


def test_public_api_is_pinned() -> None:
    assert sorted(encryption.__all__) == sorted(
        [
            "COMMON_SYSTEM_ID", "DASHIF_CLEARKEY_SCHEME", "FAIRPLAY_SYSTEM_ID",
            "PLAYREADY_SYSTEM_ID", "WIDEVINE_SYSTEM_ID", "ContentKey", "Pssh", "Scheme",
            "TrackCrypto", "aes128_encrypt", "aes128_init_iv", "aes128_segment_iv", "aes128_size", "b64url",
            "b64url_decode", "cenc_iv", "check_pssh", "clearkey_jwk", "clearkey_pssh",
            "decode_growth", "encode_growth", "growth_key", "measure_growth",
            "encrypt_init", "encrypt_segment", "hls_iv", "kid_from_uuid", "kid_to_uuid",
            "make_pssh", "parse_pssh", "protected_size", "pssh_from_base64", "read_track_crypto",
        ]
    )  # fmt: skip


def test_content_key_validates_sizes_and_hides_secrets() -> None:
    key = ContentKey(KID, b"K" * 16, b"I" * 16)
    assert "KKKK" not in repr(key) and "IIII" not in repr(key)
    assert KID.hex() in repr(key) or repr(KID) in repr(key)
    for kid, k, iv in [(KID[:15], b"K" * 16, b"I" * 16), (KID, b"K" * 17, b"I" * 16)]:
        with pytest.raises(ValueError, match="16 bytes"):
            ContentKey(kid, k, iv)
    with pytest.raises(ValueError, match="hex"):
        ContentKey.from_hex("zz", "00" * 16, "00" * 16)


def test_kid_text_forms() -> None:
    key = ContentKey(KID, bytes(16), bytes(16))
    assert key.kid_uuid == kid_to_uuid(KID) == "9eb4050d-e44b-4802-932e-27d75083e266"
    assert kid_from_uuid(key.kid_uuid) == KID
    # base64url, no padding (W3C EME §9.1.4); checked against the stdlib encoder
    assert key.kid_b64url == base64.urlsafe_b64encode(KID).decode().rstrip("=")
    assert "=" not in key.kid_b64url and len(key.kid_b64url) == 22
    assert b64url_decode(key.kid_b64url) == KID
    assert b64url(b"\xfb\xff") == "-_8"
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode("a+b/")
    with pytest.raises(ValueError, match="UUID"):
        kid_from_uuid("nope")


def test_clearkey_jwk() -> None:
    key = ContentKey(KID, bytes(range(16, 32)), bytes(16))
    jwk = clearkey_jwk(key)
    assert jwk == {"kty": "oct", "kid": b64url(KID), "k": b64url(bytes(range(16, 32)))}


def test_common_pssh_layout_v1_with_kids_and_no_data() -> None:
    box = clearkey_pssh([KID, KID2])
    size, fourcc, version_flags = struct.unpack_from(">I4sI", box)
    assert (size, fourcc, version_flags) == (len(box), b"pssh", 0x01000000)
    assert box[12:28] == bytes.fromhex("1077efecc0b24d02ace33c1e52e2fb4b")
    assert struct.unpack_from(">I", box, 28) == (2,)
    assert box[32:48] == KID and box[48:64] == KID2
    assert struct.unpack_from(">I", box, 64) == (0,)  # DataSize 0
    assert len(box) == 68
    parsed = parse_pssh(box)
    assert (parsed.system_id, parsed.version, parsed.kids, parsed.data) == (
        COMMON_SYSTEM_ID,
        1,
        (KID, KID2),
        b"",
    )


def test_v0_pssh_layout() -> None:
    box = make_pssh(WIDEVINE_SYSTEM_ID, b"\x08\x01\x12\x10" + KID)
    assert struct.unpack_from(">I4sI", box) == (len(box), b"pssh", 0)
    assert uuid.UUID(bytes=box[12:28]) == WIDEVINE_SYSTEM_ID
    assert struct.unpack_from(">I", box, 28) == (20,)
    assert box[32:] == b"\x08\x01\x12\x10" + KID
    with pytest.raises(ValueError, match="version-0"):
        make_pssh(WIDEVINE_SYSTEM_ID, kids=[KID], version=0)
    with pytest.raises(ValueError, match="at least one KID"):
        clearkey_pssh([])


def test_opaque_pssh_from_a_key_service_is_kept_verbatim() -> None:
    box = make_pssh(WIDEVINE_SYSTEM_ID, b"opaque widevine data", [KID])
    text = base64.b64encode(box).decode()
    assert pssh_from_base64(text[:20] + "\n  " + text[20:]) == box
    assert check_pssh(box) == box


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x00\x00\x00\x08free",
        make_pssh(COMMON_SYSTEM_ID, kids=[KID])[:-1],
        make_pssh(COMMON_SYSTEM_ID, kids=[KID]) + b"\x00",
        make_pssh(COMMON_SYSTEM_ID, b"x")[:-4] + b"\x00\x00\x00\x10" + b"x" * 0,
    ],
)
def test_malformed_pssh_is_a_box_parse_error(bad: bytes) -> None:
    with pytest.raises(BoxParseError):
        check_pssh(bad)


def test_pssh_that_is_not_base64() -> None:
    with pytest.raises(BoxParseError, match="base64"):
        pssh_from_base64("not base64!")
