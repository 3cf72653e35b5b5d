"""Property tests: whatever the bytes, the reader ends and only BoxParseError escapes."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vodstack.errors import BoxParseError
from vodstack.packaging.isobmff import iter_boxes, make_box
from vodstack.packaging.track_index import TrackIndex, read_track_index_bytes

CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "mvex", "edts", "moof", "traf", "sinf"}
# database=None: no .hypothesis/ directory left in the checkout
FUZZ = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def check(data: bytes) -> TrackIndex | None:
    """Index ``data`` and, when that succeeds, check what any caller relies on."""
    try:
        index = read_track_index_bytes(data)
    except BoxParseError:
        return None
    assert index.timescale > 0
    position = index.init_size
    for fragment in index.fragments:
        assert fragment.offset >= position
        assert fragment.offset < fragment.key_sample_end <= fragment.offset + fragment.size
        position = fragment.offset + fragment.size
    assert position <= index.file_size == len(data)
    return index


def header_positions(data: bytes, start: int = 0, end: int | None = None) -> list[int]:
    """Offsets of every box header in the parts of the file a reader parses."""
    found = []
    for box in iter_boxes(data, start, end):
        if box.type != "mdat":
            found.extend(range(box.offset, min(box.end, box.offset + 48)))
        if box.type in CONTAINERS:
            found.extend(header_positions(data, box.payload_offset, box.end))
        if box.type == "stsd":
            entries = header_positions(data, box.payload_offset + 8, box.end)
            found.extend(range(entries[0], min(box.end, entries[0] + 200)))
    return found


@pytest.fixture(scope="module")
def tiny(clip_bytes: Callable[[str], bytes]) -> tuple[bytes, list[int]]:
    data = clip_bytes("tiny")
    index = check(data)
    assert index is not None
    assert len(index.fragments) >= 3
    return data, sorted(set(header_positions(data)))


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.binary(max_size=256))
def test_random_bytes_after_a_valid_ftyp(data: bytes) -> None:
    check(make_box("ftyp", b"cmfc\0\0\0\0") + data)


boxes = st.recursive(
    st.tuples(
        st.sampled_from(["free", "mdat", "trun", "tfhd", "mvhd", "sidx"]), st.binary(max_size=40)
    ).map(lambda t: make_box(*t)),
    lambda inner: st.tuples(
        st.sampled_from(sorted(CONTAINERS)), st.lists(inner, max_size=4).map(b"".join)
    ).map(lambda t: make_box(*t)),
    max_leaves=12,
)


@FUZZ
@given(st.lists(boxes, max_size=6))
def test_random_box_trees(tree: list[bytes]) -> None:
    check(make_box("ftyp", b"cmfc\0\0\0\0") + b"".join(tree))


@FUZZ
@given(st.data())
def test_mutated_headers_of_a_real_file(tiny: tuple[bytes, list[int]], data: st.DataObject) -> None:
    original, positions = tiny
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.sampled_from(positions))
        mutated[at] = data.draw(st.integers(0, 255))
    check(bytes(mutated))


@FUZZ
@given(st.data())
def test_mutated_words_of_a_real_file(tiny: tuple[bytes, list[int]], data: st.DataObject) -> None:
    """Whole u32 fields set to edge values: sizes, counts, offsets, flags."""
    original, positions = tiny
    mutated = bytearray(original)
    at = data.draw(st.sampled_from(positions[:-4]))
    word = data.draw(
        st.sampled_from([0, 1, 7, 8, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])
        | st.integers(0, 2**32 - 1)
    )
    struct.pack_into(">I", mutated, at, word)
    check(bytes(mutated))


@FUZZ
@given(st.data())
def test_truncated_or_spliced_real_file(tiny: tuple[bytes, list[int]], data: st.DataObject) -> None:
    original, _ = tiny
    cut = data.draw(st.integers(0, len(original)))
    if data.draw(st.booleans()):
        check(original[:cut])
    else:
        length = data.draw(st.integers(1, 64))
        check(original[:cut] + original[cut + length :])


def test_every_truncation_of_the_header_region(tiny: tuple[bytes, list[int]]) -> None:
    original, _ = tiny
    index = check(original)
    assert index is not None
    for cut in range(index.fragments[1].offset):
        assert check(original[:cut]) is None
