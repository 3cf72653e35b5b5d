"""The two AES modes of common encryption, applied in place to byte ranges of a buffer.

``cenc`` (ISO/IEC 23001-7 §10.1): AES-128-CTR; the 16-byte counter block is the 8-byte
per-sample IV followed by a 64-bit block counter starting at 0, and the protected ranges of
all subsamples of a sample form one keystream (§9.5: the counter continues across
subsamples).

``cbcs`` (§10.4): AES-128-CBC with the constant IV, restarted at the start of every protected
range (each subsample; the whole sample for full-sample audio). Within a range the pattern
encrypts ``crypt`` blocks then leaves ``skip`` blocks clear (§9.6); only whole 16-byte blocks
are encrypted, so a trailing partial block stays clear, as does a final crypt group cut short
by the end of the range (FFmpeg's reading of §9.6.1; with crypt = 1 every reading agrees).
Pattern 0:0 means every whole block (audio).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["BLOCK", "cbcs_encrypt", "cenc_encrypt"]

BLOCK = 16
Range = tuple[int, int]  # (start index in the buffer, length)


def cenc_encrypt(
    key: bytes, iv8: bytes, buf: bytearray | memoryview, ranges: Sequence[Range]
) -> None:
    """Encrypt ``ranges`` of ``buf`` as one AES-CTR keystream starting at ``iv8 || 0^64``."""
    ranges = [(start, size) for start, size in ranges if size]
    if not ranges:
        return
    plain = b"".join(buf[start : start + size] for start, size in ranges)
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv8 + bytes(8))).encryptor()
    cipher = encryptor.update(plain) + encryptor.finalize()
    pos = 0
    for start, size in ranges:
        buf[start : start + size] = cipher[pos : pos + size]
        pos += size


def _crypt_groups(size: int, crypt: int, skip: int) -> list[Range]:
    """(first block, block count) of each group the pattern encrypts within ``size`` bytes."""
    blocks = size // BLOCK
    if crypt == 0 and skip == 0:
        return [(0, blocks)] if blocks else []
    period = crypt + skip
    return [(i, crypt) for i in range(0, blocks - crypt + 1, period)]


def cbcs_encrypt(
    key: bytes,
    iv: bytes,
    buf: bytearray | memoryview,
    ranges: Sequence[Range],
    crypt: int,
    skip: int,
) -> None:
    """Pattern-encrypt each range of ``buf`` with AES-CBC, the chain starting at ``iv`` for
    every range."""
    algorithm = algorithms.AES(key)
    for start, size in ranges:
        groups = _crypt_groups(size, crypt, skip)
        if not groups:
            continue
        spans = [(start + first * BLOCK, count * BLOCK) for first, count in groups]
        plain = b"".join(buf[a : a + n] for a, n in spans)
        encryptor = Cipher(algorithm, modes.CBC(iv)).encryptor()
        cipher = encryptor.update(plain) + encryptor.finalize()
        pos = 0
        for a, n in spans:
            buf[a : a + n] = cipher[pos : pos + n]
            pos += n
