"""HLS AES-128 (RFC 8216 §4.3.2.4): whole-resource CBC+PKCS7, derived IVs, played by FFmpeg."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from tests.unit.packaging.encryption.support import KEY, WRONG_KEY, framemd5

from vodstack.packaging.encryption import (
    aes128_encrypt,
    aes128_init_iv,
    aes128_segment_iv,
    hls_iv,
)
from vodstack.packaging.track_index import read_track_index_bytes

Clip = Callable[[str], Path]


def decrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    """Independent AES-128-CBC + PKCS7 removal with ``cryptography``."""
    padded = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(data)
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 4096, 100_003])
def test_whole_resource_cbc_with_pkcs7(size: int) -> None:
    data = bytes(i * 7 % 251 for i in range(size))
    iv = aes128_segment_iv(KEY.iv, 3)
    out = aes128_encrypt(data, KEY, iv)
    assert len(out) == (size // 16 + 1) * 16  # PKCS7 always pads, 1-16 bytes
    assert decrypt(out, KEY.key, iv) == data
    assert aes128_encrypt(data, KEY.key, iv) == out  # raw key bytes work too; deterministic


def test_iv_derivation() -> None:
    base = bytes.fromhex("ffffffffffffffffffffffffffffffff")
    assert aes128_init_iv(base) == base
    assert aes128_segment_iv(base, 0) == bytes(16)  # base + 1, mod 2^128
    assert aes128_segment_iv(bytes(16), 41) == (42).to_bytes(16, "big")
    assert aes128_segment_iv(bytes(16), 41, track_tag=2) == (2 << 64 | 42).to_bytes(16, "big")
    ivs = [aes128_init_iv(KEY.iv, t) for t in range(4)]
    ivs += [aes128_segment_iv(KEY.iv, n, t) for t in range(4) for n in range(500)]
    assert len(set(ivs)) == len(ivs)
    assert hls_iv(bytes(range(16))) == "0x000102030405060708090A0B0C0D0E0F"
    with pytest.raises(ValueError, match="16 bytes"):
        aes128_init_iv(b"short")
    with pytest.raises(ValueError, match="sequence"):
        aes128_segment_iv(KEY.iv, -1)
    with pytest.raises(ValueError, match="16-byte"):
        aes128_encrypt(b"x", KEY, b"short")


def frames(lines: list[str]) -> list[tuple[str, str]]:
    """(size, md5) per decoded frame: the HLS demuxer ignores the edit list (AAC priming), so
    timestamps differ from the mp4 demuxer's while the decoded frames must not."""
    return [(fields[-2].strip(), fields[-1].strip()) for fields in (x.split(",") for x in lines)]


def write_playlist(
    directory: Path, data: bytes, *, encrypt_map: bool, key_bytes: bytes = KEY.key
) -> Path:
    """A local VOD playlist over AES-128 segments, one EXT-X-KEY (with IV) per segment.

    ``encrypt_map``: EXT-X-KEY precedes EXT-X-MAP, so the init section is encrypted too and
    the KEY's IV attribute is required (RFC 8216 §4.3.2.5); else the map comes first, clear.
    """
    index = read_track_index_bytes(data)
    (directory / "key.bin").write_bytes(key_bytes)
    init = data[: index.init_size]
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-TARGETDURATION:3", "#EXT-X-PLAYLIST-TYPE:VOD"]
    if encrypt_map:
        iv = aes128_init_iv(KEY.iv)
        init = aes128_encrypt(init, KEY, iv)
        lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="key.bin",IV={hls_iv(iv)}')
    (directory / "init.mp4").write_bytes(init)
    lines.append('#EXT-X-MAP:URI="init.mp4"')
    for n, fragment in enumerate(index.fragments):
        iv = aes128_segment_iv(KEY.iv, n)
        segment = data[fragment.offset : fragment.offset + fragment.size]
        encrypted = aes128_encrypt(segment, KEY, iv)
        assert decrypt(encrypted, KEY.key, iv) == segment
        (directory / f"seg{n}.m4s").write_bytes(encrypted)
        lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="key.bin",IV={hls_iv(iv)}')
        lines += [f"#EXTINF:{fragment.duration / index.timescale:.3f},", f"seg{n}.m4s"]
    lines.append("#EXT-X-ENDLIST")
    playlist = directory / "media.m3u8"
    playlist.write_text("\n".join(lines) + "\n")
    return playlist


@pytest.mark.slow
@pytest.mark.parametrize("encrypt_map", [False, True])
@pytest.mark.parametrize("clip", ["video", "audio"])
def test_ffmpeg_plays_the_aes128_playlist(
    clear_clip: Clip, tmp_path: Path, clip: str, encrypt_map: bool
) -> None:
    data = clear_clip(clip).read_bytes()
    expected = frames(framemd5(clear_clip(clip)))
    assert len(expected) >= 60
    playlist = write_playlist(tmp_path, data, encrypt_map=encrypt_map)
    assert frames(framemd5(playlist, hls=True)) == expected
    # control: the wrong key in the key file does not play the same frames
    write_playlist(tmp_path, data, encrypt_map=encrypt_map, key_bytes=WRONG_KEY.key)
    assert frames(framemd5(playlist, hls=True)) != expected
