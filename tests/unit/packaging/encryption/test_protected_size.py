"""What a protected segment weighs, known without encrypting it: manifests advertise the bit
rate of the bytes actually served (RFC 8216 §4.3.4.2, ISO/IEC 23009-1 §5.3.5.2)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.unit.packaging.encryption.support import KEY

from vodstack.origin.protect import ProtectedPackager
from vodstack.packaging.encryption import (
    aes128_encrypt,
    aes128_size,
    encrypt_segment,
    protected_size,
    read_track_crypto,
)
from vodstack.packaging.encryption.growth import decode_growth, encode_growth, growth_key
from vodstack.packaging.layout import VariantTag
from vodstack.packaging.model import Presentation, Track
from vodstack.packaging.segments import segment_track
from vodstack.packaging.track_index import read_track_index_bytes
from vodstack.transcode.outputs import record_protection_growth

Bytes = Callable[[str], bytes]


@pytest.mark.parametrize("clip", ["video", "audio", "sliced", "hevc"])
@pytest.mark.parametrize("scheme", ["cenc", "cbcs"])
def test_protected_size_is_the_encrypted_length(clear_bytes: Bytes, clip: str, scheme: str) -> None:
    data = clear_bytes(clip)
    index = read_track_index_bytes(data)
    track = read_track_crypto(data[: index.init_size], iv_tag=3)
    grew = 0
    for f in index.fragments:
        clear = data[f.offset : f.offset + f.size]
        size = protected_size(clear, scheme, track)  # type: ignore[arg-type]
        assert size == len(encrypt_segment(clear, scheme, KEY, track))  # type: ignore[arg-type]
        grew += size - len(clear)
    # the senc/saiz/saio boxes: what the clear index alone under-counts
    assert grew >= 16 * len(index.fragments)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 4096, 100_003])
def test_aes128_size_counts_the_pkcs7_padding(n: int) -> None:
    assert aes128_size(n) == len(aes128_encrypt(bytes(n), KEY, bytes(16)))


@pytest.mark.parametrize("clip", ["video", "audio"])
@pytest.mark.parametrize("scheme", ["cenc", "cbcs"])
def test_manifest_sizes_recorded_or_measured_agree_with_the_bytes_served(
    clear_clip: Callable[[str], Path], tmp_path: Path, clip: str, scheme: str
) -> None:
    """What the transcoder records beside a track (outputs.record_protection_growth) and what
    the origin measures for a revision without that record give the same per-segment
    sizes: the lengths of the encrypted segments."""
    path = tmp_path / "v1.mp4"
    path.write_bytes(clear_clip(clip).read_bytes())
    data = path.read_bytes()
    index = read_track_index_bytes(data)
    record_protection_growth(path, index)
    recorded = decode_growth((tmp_path / "v1.protection.json").read_bytes(), len(index.fragments))
    assert set(recorded) == {"cenc", "cbcs"}
    track = Track(
        "v1", index.kind, index.codec, index.timescale, index.media_time, index.init_size,
        "k/v1.mp4", len(data), index.fragments,
    )  # fmt: skip
    packager = ProtectedPackager(None, "")  # type: ignore[arg-type]  # sizing needs no keys

    def read(_: Track, offset: int, length: int) -> bytes:
        return data[offset : offset + length]

    def nothing(_: Track, offset: int, length: int) -> bytes:
        raise AssertionError("a recorded track is not read")

    tag = VariantTag(1, 4, scheme, 1)
    measured = packager.served_sizes(Presentation("a", 1, 1.0, (track,)), tag, read, lambda _: {})
    fresh = dataclasses.replace(track, fragments=(*track.fragments,))  # nothing remembered
    stored = packager.served_sizes(
        Presentation("a", 1, 1.0, (fresh,)), tag, nothing, lambda _: recorded
    )
    crypto = read_track_crypto(data[: index.init_size])
    served = tuple(
        len(encrypt_segment(data[s.offset : s.offset + s.size], scheme, KEY, crypto))  # type: ignore[arg-type]
        for s in segment_track(track, 4)
    )
    assert measured["v1"] == stored["v1"] == served


def test_a_growth_record_that_does_not_fit_is_ignored() -> None:
    good = encode_growth({"cenc": [1, 2], "cbcs": [3, 4]})
    assert decode_growth(good, 2) == {"cenc": (1, 2), "cbcs": (3, 4)}
    assert decode_growth(good, 3) == {}  # another index
    assert decode_growth(b"not json", 2) == {}
    assert decode_growth(encode_growth({"cenc": [1, -2]}), 2) == {}
    assert growth_key("p/r1/v360.mp4") == "p/r1/v360.protection.json"
