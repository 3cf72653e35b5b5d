"""Property tests: whatever the bytes, encryption ends and only vodstack media errors escape."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.packaging.encryption.support import KEY

from vodstack.errors import BoxParseError, MediaError
from vodstack.packaging.encryption import (
    TrackCrypto,
    encrypt_init,
    encrypt_segment,
    read_track_crypto,
)
from vodstack.packaging.encryption.h264 import SliceHeaderParser
from vodstack.packaging.encryption.subsamples import nal_subsamples
from vodstack.packaging.isobmff import iter_boxes
from vodstack.packaging.track_index import read_track_index_bytes

# database=None: no .hypothesis/ directory left in the checkout
FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
SCHEMES = st.sampled_from(["cenc", "cbcs"])
EDGE_WORDS = st.sampled_from([0, 1, 7, 8, 16, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])


@dataclass(frozen=True)
class Track:
    init: bytes
    segment: bytes  # two fragments
    crypto: TrackCrypto
    positions: list[int]  # moof bytes and the first bytes of every sample's data


def _track(data: bytes) -> Track:
    index = read_track_index_bytes(data)
    a, b = index.fragments[0], index.fragments[1]
    segment = data[a.offset : b.offset + b.size]
    positions: list[int] = []
    for box in iter_boxes(segment):
        if box.type == "moof":
            positions += range(box.offset, box.end)
        elif box.type == "mdat":
            positions += range(box.offset, min(box.end, box.offset + 160))
    init = data[: index.init_size]
    return Track(init, segment, read_track_crypto(init), positions)


@pytest.fixture(scope="module")
def tracks(clip_bytes: Callable[[str], bytes], clear_bytes: Callable[[str], bytes]) -> list[Track]:
    """The packaging tests' 64x64 B-frame clip (0.5 s fragments) and our AAC clip."""
    return [_track(clip_bytes("tiny")), _track(clear_bytes("audio"))]


def check_segment(segment: bytes, scheme: str, track: TrackCrypto) -> None:
    try:
        out = encrypt_segment(segment, scheme, KEY, track)  # type: ignore[arg-type]
    except (BoxParseError, MediaError):
        return
    mdats_in = [b.size for b in iter_boxes(segment) if b.type == "mdat"]
    mdats_out = [b.size for b in iter_boxes(out) if b.type == "mdat"]
    assert mdats_in == mdats_out


@FUZZ
@given(st.data(), SCHEMES)
def test_mutated_bytes_of_real_fragments(
    tracks: list[Track], data: st.DataObject, scheme: str
) -> None:
    track = data.draw(st.sampled_from(tracks))
    mutated = bytearray(track.segment)
    for _ in range(data.draw(st.integers(1, 4))):
        mutated[data.draw(st.sampled_from(track.positions))] = data.draw(st.integers(0, 255))
    check_segment(bytes(mutated), scheme, track.crypto)


@FUZZ
@given(st.data(), SCHEMES)
def test_mutated_words_of_real_fragments(
    tracks: list[Track], data: st.DataObject, scheme: str
) -> None:
    """Sizes, counts, flags and offsets set to edge values."""
    track = data.draw(st.sampled_from(tracks))
    mutated = bytearray(track.segment)
    at = data.draw(st.sampled_from(track.positions[:-4]))
    struct.pack_into(">I", mutated, at, data.draw(EDGE_WORDS | st.integers(0, 2**32 - 1)))
    check_segment(bytes(mutated), scheme, track.crypto)


@FUZZ
@given(st.data(), SCHEMES)
def test_truncated_or_random_segments(
    tracks: list[Track], data: st.DataObject, scheme: str
) -> None:
    track = data.draw(st.sampled_from(tracks))
    cut = data.draw(st.integers(0, len(track.segment)))
    check_segment(track.segment[:cut] + data.draw(st.binary(max_size=64)), scheme, track.crypto)


@FUZZ
@given(st.data(), SCHEMES)
def test_mutated_init_segments(tracks: list[Track], data: st.DataObject, scheme: str) -> None:
    track = data.draw(st.sampled_from(tracks))
    mutated = bytearray(track.init)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] = data.draw(st.integers(0, 255))
    for attempt in (
        lambda: encrypt_init(bytes(mutated), scheme, KEY),  # type: ignore[arg-type]
        lambda: read_track_crypto(bytes(mutated)),
    ):
        with contextlib.suppress(BoxParseError, MediaError):
            attempt()


@FUZZ
@given(st.binary(max_size=300))
def test_slice_header_parser_on_any_nal(tracks: list[Track], payload: bytes) -> None:
    parser = SliceHeaderParser(tracks[0].crypto.parameter_sets)
    for header in (0x65, 0x41, 0x01):  # IDR, referenced and non-referenced non-IDR slices
        unit = bytes([header]) + payload
        size = parser.header_size(unit)
        assert size is None or 1 <= size <= len(unit)
        parser.parameter_set(bytes([0x67]) + payload)  # garbage SPS/PPS must not break it
        parser.parameter_set(bytes([0x68]) + payload)


@FUZZ
@given(st.binary(max_size=400), st.booleans(), st.sampled_from([1, 2, 4]))
def test_subsamples_of_any_sample(sample: bytes, align: bool, length_size: int) -> None:
    try:
        result = nal_subsamples(sample, length_size, hevc=False, parser=None, align=align)
    except MediaError:
        return
    assert sum(c + p for c, p in result) == len(sample)
    assert all(0 <= c <= 0xFFFF and p >= 0 for c, p in result)
    if align:
        assert all(p % 16 == 0 for _, p in result)
