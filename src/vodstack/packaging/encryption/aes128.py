"""HLS ``METHOD=AES-128``: the whole resource, AES-128-CBC with PKCS7 padding (RFC 8216 §4.3.2.4).

Each served resource (a segment = the exact bytes of one or more fragments, or the init
section) is encrypted on its own, so the ciphertext is 1-16 bytes longer than the clear bytes:
byte ranges in the playlist must therefore address separate resources, never sub-ranges of an
encrypted file.

IVs are explicit and derived, never random, so every edge produces the same bytes. From the
key's 16-byte IV base ``B`` and a track tag ``t`` (distinct per rendition sharing the key):

    init section IV  = B + t·2^64              (mod 2^128)
    segment n IV     = B + t·2^64 + n + 1      (n = media sequence number, from 0)

so no two resources under one key share an IV. The IV of the EXT-X-KEY tag applies to every
following segment, so a playlist with per-segment IVs repeats EXT-X-KEY before each segment.

The init section: RFC 8216 §4.3.2.4 makes an EXT-X-KEY apply "to every Media Segment and to
every Media Initialization Section declared by an EXT-X-MAP tag that appears between it and
the next EXT-X-KEY tag", and §4.3.2.5 requires the KEY's IV attribute when the section is
AES-128 encrypted (the media sequence number is undefined for it). A clear init before the
first KEY is valid too, but GStreamer's hlsdemux2 and GPAC decrypt the header with the first
segment's key (issue 14), so vodstack serves :func:`aes128_encrypt` of the init with
:func:`aes128_init_iv` as the IV of a KEY placed before the MAP; FFmpeg 9's HLS demuxer,
hls.js and ExoPlayer decrypt it with the key that applies to it. (GStreamer 1.22 still fails
on AES-128 fMP4 in every layout: it applies the segment's key and IV to the header, then
frees the cipher context before the segment's bytes; README "Clients tested".)
"""

from __future__ import annotations

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from vodstack.packaging.encryption.keys import ContentKey

__all__ = ["aes128_encrypt", "aes128_init_iv", "aes128_segment_iv", "aes128_size", "hls_iv"]

_MOD = 1 << 128


def _iv(base: bytes, tag: int, index: int) -> bytes:
    if len(base) != 16:
        raise ValueError(f"the IV base is 16 bytes, got {len(base)}")
    if not 0 <= tag < 1 << 64:
        raise ValueError(f"track tag must be 0..2^64-1, got {tag}")
    value = (int.from_bytes(base, "big") + (tag << 64) + index) % _MOD
    return value.to_bytes(16, "big")


def aes128_init_iv(base: bytes, track_tag: int = 0) -> bytes:
    """IV for an encrypted EXT-X-MAP resource (see the module docstring)."""
    return _iv(base, track_tag, 0)


def aes128_segment_iv(base: bytes, sequence: int, track_tag: int = 0) -> bytes:
    """IV for media segment ``sequence`` (the media sequence number, from 0)."""
    if not 0 <= sequence < (1 << 64) - 1:
        raise ValueError(f"media sequence number out of range: {sequence}")
    return _iv(base, track_tag, sequence + 1)


def hls_iv(iv: bytes) -> str:
    """The IV attribute value: a 0x-prefixed 128-bit hexadecimal-sequence (RFC 8216 §4.3.2.4)."""
    if len(iv) != 16:
        raise ValueError(f"an HLS IV is 16 bytes, got {len(iv)}")
    return "0x" + iv.hex().upper()


def aes128_encrypt(data: bytes, key: ContentKey | bytes, iv: bytes) -> bytes:
    """AES-128-CBC with PKCS7 padding over the whole resource (RFC 8216 §4.3.2.4, §5.2)."""
    raw_key = key.key if isinstance(key, ContentKey) else bytes(key)
    if len(raw_key) != 16 or len(iv) != 16:
        raise ValueError("AES-128 needs a 16-byte key and a 16-byte IV")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(bytes(data)) + padder.finalize()
    encryptor = Cipher(algorithms.AES(raw_key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def aes128_size(clear_size: int) -> int:
    """Bytes of ``aes128_encrypt`` of ``clear_size`` bytes: PKCS7 always adds 1-16 bytes, up
    to the next multiple of the block size (RFC 5652 §6.3)."""
    return (clear_size // 16 + 1) * 16
