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
from vodstack.packaging.layout import VariantTag
from vodstack.packaging.model import (
    Presentation,
    Track,
    fragment_from_row,
    fragment_to_row,
    growth_from_rows,
)
from vodstack.packaging.segments import segment_track
from vodstack.packaging.track_index import read_track_index_bytes
from vodstack.transcode.stage import protection_growth

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
def test_manifest_sizes_from_the_catalogue_or_measured_agree_with_the_bytes_served(
    clear_clip: Callable[[str], Path], clip: str, scheme: str
) -> None:
    """What the transcoder records per fragment (stage.protection_growth, into the fragment
    rows) and what the origin measures for a revision without it give the same per-segment
    sizes: the lengths of the encrypted segments."""
    path = clear_clip(clip)
    data = path.read_bytes()
    index = read_track_index_bytes(data)
    growth = protection_growth(path, index)
    rows = [fragment_to_row(f, tuple(g[i] for g in growth)) for i, f in enumerate(index.fragments)]
    track = Track(
        "v1", index.kind, index.codec, index.timescale, index.media_time, index.init_size,
        "k", len(data), tuple(fragment_from_row(r) for r in rows),
    )  # fmt: skip
    recorded = dataclasses.replace(track, growth=growth_from_rows(rows))
    assert recorded.growth_for(scheme) is not None and track.growth_for(scheme) is None
    packager = ProtectedPackager(None, "")  # type: ignore[arg-type]  # sizing needs no keys

    def read(_: Track, offset: int, length: int) -> bytes:
        return data[offset : offset + length]

    tag = VariantTag(1, 4, scheme, 1)
    p = Presentation("a", 1, 1.0, (track,))
    measured = packager.served_sizes(p, tag, read)["v1"]
    stored = packager.served_sizes(replace_tracks(p, recorded), tag, lambda *_: b"")["v1"]
    crypto = read_track_crypto(data[: index.init_size])
    served = tuple(
        len(encrypt_segment(data[s.offset : s.offset + s.size], scheme, KEY, crypto))  # type: ignore[arg-type]
        for s in segment_track(track, 4)
    )
    assert measured == stored == served


def replace_tracks(p: Presentation, *tracks: Track) -> Presentation:
    return dataclasses.replace(p, tracks=tracks)
