"""What a protected segment weighs, known without encrypting it: manifests advertise the bit
rate of the bytes actually served (RFC 8216 §4.3.4.2, ISO/IEC 23009-1 §5.3.5.2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.unit.packaging.encryption.support import KEY

from vodstack.packaging.encryption import (
    aes128_encrypt,
    aes128_size,
    encrypt_segment,
    protected_size,
    read_track_crypto,
)
from vodstack.packaging.track_index import read_track_index_bytes

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
