"""Box walking on hand-made bytes: header variants, bounds, and the write helpers."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vodstack.errors import BoxParseError
from vodstack.packaging.isobmff import (
    Box,
    ByteReader,
    Region,
    box_header,
    children,
    find_box,
    iter_boxes,
    make_box,
    make_full_box,
    parse_box_header,
    payload,
    read_full_box_header,
)

UUID = bytes(range(16))


def test_plain_boxes_tile_the_buffer() -> None:
    data = make_box("ftyp", b"isom") + make_box("free", b"") + make_box("mdat", b"x" * 10)
    boxes = list(iter_boxes(data))
    assert [(b.type, b.offset, b.size, b.header_size) for b in boxes] == [
        ("ftyp", 0, 12, 8),
        ("free", 12, 8, 8),
        ("mdat", 20, 18, 8),
    ]
    assert boxes[2].payload_offset == 28
    assert boxes[2].end == len(data)


def test_largesize_header() -> None:
    data = struct.pack(">I4sQ", 1, b"mdat", 20) + b"abcd"
    (box,) = iter_boxes(data)
    assert (box.type, box.size, box.header_size, box.payload_offset) == ("mdat", 20, 16, 16)


def test_size_zero_runs_to_the_end_of_the_enclosing_space() -> None:
    data = make_box("ftyp", b"isom") + struct.pack(">I4s", 0, b"mdat") + b"z" * 7
    boxes = list(iter_boxes(data, base_offset=100))
    assert boxes[1] == Box("mdat", 112, 15, 8)


def test_uuid_box_has_usertype_in_its_header() -> None:
    data = make_box("uuid", b"payload", usertype=UUID)
    (box,) = iter_boxes(data)
    assert box.usertype == UUID
    assert box.header_size == 24
    assert bytes(payload(data, box)) == b"payload"


def test_offsets_are_absolute_with_base_offset() -> None:
    inner = make_box("tfhd", b"\0" * 8)
    data = make_box("traf", inner)
    traf = find_box(data, "traf", base_offset=1000)
    assert traf == Box("traf", 1000, 24, 8)
    assert list(children(data, traf, base_offset=1000)) == [Box("tfhd", 1008, 16, 8)]
    assert find_box(data, "traf/tfhd", base_offset=1000) == Box("tfhd", 1008, 16, 8)
    assert find_box(data, ["traf", "trun"]) is None


def test_child_overrunning_its_parent_is_refused_with_where_and_why() -> None:
    data = make_box("moov", struct.pack(">I4s", 999, b"trak") + b"\0" * 8)
    moov = find_box(data, "moov")
    assert moov is not None
    with pytest.raises(BoxParseError) as info:
        list(children(data, moov))
    assert info.value.offset == 8
    assert "box 'trak' of 999 bytes" in str(info.value)
    assert "ending at byte 24" in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (struct.pack(">I4s", 4, b"free"), "claims 4 bytes, less than its 8-byte header"),
        (struct.pack(">I4sQ", 1, b"mdat", 15) + b"\0" * 7, "less than its 16-byte header"),
        (struct.pack(">I4sQ", 1, b"mdat", 0), "less than its 16-byte header"),
        (struct.pack(">I4s", 1, b"mdat"), "truncated 64-bit size"),
        (struct.pack(">I4s", 40, b"uuid") + b"\0" * 4, "truncated usertype"),
        (make_box("free", b"") + b"\0\0\0", "truncated box header: 3 of 8 bytes"),
    ],
)
def test_malformed_headers(data: bytes, message: str) -> None:
    with pytest.raises(BoxParseError, match=message):
        list(iter_boxes(data))


def test_padding_after_sample_entry_children_can_be_allowed() -> None:
    data = make_box("avcC", b"\1\2\3\4") + b"\0\0\0\0"
    assert [b.type for b in iter_boxes(data, allow_padding=True)] == ["avcC"]
    with pytest.raises(BoxParseError):
        list(iter_boxes(data))


def test_range_outside_buffer_is_an_error_not_an_index_error() -> None:
    with pytest.raises(BoxParseError):
        list(iter_boxes(b"\0" * 8, 4, 100))


def test_full_box_header_and_reader() -> None:
    data = make_full_box("tfdt", 1, 0xABCDEF, struct.pack(">Q", 2**40))
    box = find_box(data, "tfdt")
    assert box is not None
    assert read_full_box_header(data, box) == (1, 0xABCDEF)
    r = ByteReader.of(data, box)
    assert r.full_box_header() == (1, 0xABCDEF)
    assert r.uint(1) == 2**40
    assert r.remaining == 0
    with pytest.raises(BoxParseError, match=r"box 'tfdt' truncated: needs 4 more bytes, has 0"):
        r.u32()


def test_region_walks_a_subtree_read_from_the_middle_of_a_file() -> None:
    moof = make_box("moof", make_box("mfhd", b"\0" * 8) + make_box("traf", b""))
    region = Region(moof, base=5000)
    (top,) = region.boxes()
    assert [b.offset for b in region.children(top)] == [5008, 5024]
    assert region.require(top, "traf").offset == 5024
    with pytest.raises(BoxParseError, match="box 'moof' has no 'trun' box at byte 5000"):
        region.require(top, "trun")


def test_header_switches_to_largesize_only_when_needed() -> None:
    big = box_header("mdat", 2**32)
    box = parse_box_header(big, 0, 2**33)
    assert (box.size, box.header_size) == (2**32 + 16, 16)
    assert len(box_header("mdat", 2**32 - 9)) == 8
    with pytest.raises(ValueError, match="usertype"):
        box_header("uuid", 0)


box_types = st.sampled_from(["moov", "trak", "free", "mdat", "uuid", "abcd"])


@st.composite
def box_trees(draw: st.DrawFn, depth: int = 0) -> tuple[bytes, list[tuple[str, int]]]:
    """Serialised sibling boxes plus the (type, size) list a walker must find."""
    data, expected = b"", []
    for _ in range(draw(st.integers(0, 3))):
        box_type = draw(box_types)
        if depth < 2 and draw(st.booleans()):
            body = draw(box_trees(depth + 1))[0]
        else:
            body = draw(st.binary(max_size=20))
        raw = make_box(box_type, body, usertype=UUID if box_type == "uuid" else None)
        data += raw
        expected.append((box_type, len(raw)))
    return data, expected


@settings(database=None)
@given(box_trees())
def test_walk_recovers_what_was_written(tree: tuple[bytes, list[tuple[str, int]]]) -> None:
    data, expected = tree
    assert [(b.type, b.size) for b in iter_boxes(data)] == expected


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=200), st.integers(0, 2**40))
def test_random_bytes_only_raise_box_parse_error(data: bytes, base: int) -> None:
    try:
        boxes = list(iter_boxes(data, base_offset=base))
    except BoxParseError:
        return
    position = base
    for box in boxes:  # whatever is accepted tiles the buffer exactly
        assert box.offset == position
        assert box.size >= box.header_size >= 8
        position = box.end
    assert position == base + len(data)


def test_deep_nesting_is_walked_without_recursion() -> None:
    # A hostile file nests containers far deeper than Python's recursion limit; the walker
    # descends level by level, so depth costs loops, never stack.
    data = b""
    for _ in range(20_000):
        data = make_box("trak", data)
    box = find_box(data, ["trak"] * 20_000)
    assert box is not None and box.size == 8
    assert find_box(data, ["trak"] * 20_001) is None


def test_child_as_large_as_its_parent_cannot_loop() -> None:
    inner = make_box("free", b"\0" * 16)
    data = make_box("moov", struct.pack(">I4s", 8 + 8 + len(inner), b"trak") + inner)
    moov = find_box(data, "moov")
    assert moov is not None
    with pytest.raises(BoxParseError, match="cannot hold"):
        list(children(data, moov))
