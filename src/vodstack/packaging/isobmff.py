"""Generic ISO-BMFF box walking: pure functions over bytes, no file I/O.

Everything here works on a buffer (``bytes`` or ``memoryview``) that holds some part of a file;
``base_offset`` is the absolute file position of ``buf[0]``, so every :class:`Box` carries
absolute offsets whatever slice it was found in. The same functions serve the read-only
track index and, later, the rewriting packager (encryption inserts senc/saiz/saio into traf,
which needs headers re-sized: :func:`make_box`, :func:`make_full_box`).

Malformed input only ever raises :class:`~vodstack.errors.BoxParseError`; every box advances
the walk by at least 8 bytes, so no input can make it loop.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from vodstack.errors import BoxParseError

__all__ = [
    "Box",
    "Buffer",
    "ByteReader",
    "Region",
    "box_header",
    "children",
    "find_box",
    "find_child",
    "fourcc",
    "iter_boxes",
    "make_box",
    "make_full_box",
    "parse_box_header",
    "payload",
    "read_full_box_header",
]

Buffer = bytes | bytearray | memoryview

_U32_MAX = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Box:
    """One box header as found in a file (ISO/IEC 14496-12 §4.2); offsets are absolute."""

    type: str
    offset: int
    size: int
    header_size: int
    usertype: bytes | None = None  # the 16-byte extended type of a 'uuid' box

    @property
    def payload_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def end(self) -> int:
        return self.offset + self.size


def fourcc(raw: bytes) -> str:
    """Box and format codes are four bytes, not text; latin-1 maps each byte to one char."""
    return bytes(raw).decode("latin-1")


def parse_box_header(
    buf: Buffer, pos: int, parent_end: int, *, base_offset: int = 0, container: str = ""
) -> Box:
    """Parse the header at ``buf[pos]``; ``parent_end`` is the absolute end the box must fit in
    and ``container`` names that space in the error message (default: its end offset).

    size==1 means a u64 largesize follows, size==0 means "to the end of the enclosing space"
    and type 'uuid' adds a 16-byte usertype (ISO/IEC 14496-12 §4.2).
    """
    offset = base_offset + pos
    avail = len(buf) - pos
    if avail < 8:
        raise BoxParseError(f"truncated box header: {max(avail, 0)} of 8 bytes", offset)
    size, raw_type = struct.unpack_from(">I4s", buf, pos)
    box_type = fourcc(raw_type)
    header = 8
    if size == 1:
        if avail < 16:
            raise BoxParseError(f"truncated 64-bit size of box {box_type!r}", offset)
        (size,) = struct.unpack_from(">Q", buf, pos + 8)
        header = 16
    elif size == 0:
        size = parent_end - offset
    usertype = None
    if box_type == "uuid":
        if avail < header + 16:
            raise BoxParseError("truncated usertype of 'uuid' box", offset)
        usertype = bytes(buf[pos + header : pos + header + 16])
        header += 16
    if size < header:
        raise BoxParseError(
            f"box {box_type!r} claims {size} bytes, less than its {header}-byte header", offset
        )
    if offset + size > parent_end:
        raise BoxParseError(
            f"{container or f'the space ending at byte {parent_end}'} cannot hold "
            f"box {box_type!r} of {size} bytes starting",
            offset,
        )
    return Box(box_type, offset, size, header, usertype)


def iter_boxes(
    buf: Buffer,
    start: int = 0,
    end: int | None = None,
    *,
    base_offset: int = 0,
    allow_padding: bool = False,
) -> Iterator[Box]:
    """Yield the consecutive boxes in ``buf[start:end]`` (buffer indices, not file offsets).

    Trailing bytes too short for a header are an error, because they mean the parent's size
    and its children disagree, unless ``allow_padding``: QuickTime-style sample entries may end
    with a 4-byte zero terminator.
    """
    stop = len(buf) if end is None else end
    if not 0 <= start <= stop <= len(buf):
        raise BoxParseError(f"box range {start}..{stop} outside a {len(buf)}-byte buffer")
    view = memoryview(buf)[:stop]
    pos = start
    while pos < stop:
        if allow_padding and stop - pos < 8:
            return
        box = parse_box_header(view, pos, base_offset + stop, base_offset=base_offset)
        yield box
        pos += box.size


def children(
    buf: Buffer, parent: Box, *, base_offset: int = 0, skip: int = 0, allow_padding: bool = False
) -> Iterator[Box]:
    """Yield the child boxes of ``parent``; ``skip`` jumps fixed fields (FullBox, entry data)."""
    start = parent.payload_offset - base_offset + skip
    end = parent.end - base_offset
    if start > end:
        raise BoxParseError(f"box {parent.type!r} too small for its fixed fields", parent.offset)
    return iter_boxes(buf, start, end, base_offset=base_offset, allow_padding=allow_padding)


def find_box(
    buf: Buffer,
    path: str | Sequence[str],
    start: int = 0,
    end: int | None = None,
    *,
    base_offset: int = 0,
) -> Box | None:
    """First box along ``path`` ("moov/trak/mdia" or a sequence), descending plain containers."""
    names = path.split("/") if isinstance(path, str) else list(path)
    found: Box | None = None
    lo, hi = start, end
    for name in names:
        found = next(
            (b for b in iter_boxes(buf, lo, hi, base_offset=base_offset) if b.type == name), None
        )
        if found is None:
            return None
        lo, hi = found.payload_offset - base_offset, found.end - base_offset
    return found


def find_child(buf: Buffer, parent: Box, name: str, *, base_offset: int = 0) -> Box | None:
    """First direct child of ``parent`` called ``name``."""
    return next((b for b in children(buf, parent, base_offset=base_offset) if b.type == name), None)


def payload(buf: Buffer, box: Box, *, base_offset: int = 0) -> memoryview:
    """The bytes after the header, without copying."""
    return memoryview(buf)[box.payload_offset - base_offset : box.end - base_offset]


class ByteReader:
    """Bounds-checked big-endian cursor over one box payload.

    Running past the box raises BoxParseError naming the box, never ``struct.error``.
    """

    __slots__ = ("_buf", "_end", "_what", "base_offset", "pos")

    def __init__(self, buf: Buffer, start: int, end: int, *, base_offset: int = 0, what: str = ""):
        self._buf = buf
        self.pos = start
        self._end = end
        self.base_offset = base_offset
        self._what = what

    @classmethod
    def of(cls, buf: Buffer, box: Box, *, base_offset: int = 0) -> ByteReader:
        start, end = box.payload_offset - base_offset, box.end - base_offset
        return cls(buf, start, end, base_offset=base_offset, what=f"box {box.type!r}")

    @property
    def remaining(self) -> int:
        return self._end - self.pos

    def _take(self, n: int) -> int:
        if n < 0 or self.pos + n > self._end:
            raise BoxParseError(
                f"{self._what or 'data'} truncated: needs {n} more bytes, has {self.remaining}",
                self.base_offset + self.pos,
            )
        pos = self.pos
        self.pos += n
        return pos

    def _unpack(self, fmt: str, n: int) -> int:
        return int(struct.unpack_from(fmt, self._buf, self._take(n))[0])

    def u8(self) -> int:
        return self._unpack(">B", 1)

    def u16(self) -> int:
        return self._unpack(">H", 2)

    def s16(self) -> int:
        return self._unpack(">h", 2)

    def u24(self) -> int:
        hi = self.u8()
        return (hi << 16) | self.u16()

    def u32(self) -> int:
        return self._unpack(">I", 4)

    def s32(self) -> int:
        return self._unpack(">i", 4)

    def u64(self) -> int:
        return self._unpack(">Q", 8)

    def s64(self) -> int:
        return self._unpack(">q", 8)

    def fourcc(self) -> str:
        return fourcc(self.read(4))

    def read(self, n: int) -> bytes:
        pos = self._take(n)
        return bytes(self._buf[pos : pos + n])

    def view(self, n: int) -> memoryview:
        pos = self._take(n)
        return memoryview(self._buf)[pos : pos + n]

    def skip(self, n: int) -> None:
        self._take(n)

    def full_box_header(self) -> tuple[int, int]:
        """FullBox version (u8) and flags (u24), ISO/IEC 14496-12 §4.2."""
        return self.u8(), self.u24()

    def uint(self, version: int) -> int:
        """u32 for version 0, u64 for version 1: the usual FullBox time/offset widening."""
        return self.u64() if version == 1 else self.u32()


def read_full_box_header(buf: Buffer, box: Box, *, base_offset: int = 0) -> tuple[int, int]:
    """``(version, flags)`` of a FullBox; its fields start 4 bytes into the payload."""
    return ByteReader.of(buf, box, base_offset=base_offset).full_box_header()


def box_header(box_type: str, payload_size: int, usertype: bytes | None = None) -> bytes:
    """Serialise a header, switching to largesize only when the box needs it (§4.2)."""
    raw_type = box_type.encode("latin-1")
    if len(raw_type) != 4:
        raise ValueError(f"box type must be 4 bytes: {box_type!r}")
    extra = b""
    if box_type == "uuid":
        if usertype is None or len(usertype) != 16:
            raise ValueError("a 'uuid' box needs a 16-byte usertype")
        extra = usertype
    size = 8 + len(extra) + payload_size
    if size > _U32_MAX:
        return struct.pack(">I4sQ", 1, raw_type, size + 8) + extra
    return struct.pack(">I4s", size, raw_type) + extra


def make_box(box_type: str, body: bytes, usertype: bytes | None = None) -> bytes:
    return box_header(box_type, len(body), usertype) + body


def make_full_box(box_type: str, version: int, flags: int, body: bytes) -> bytes:
    return make_box(box_type, struct.pack(">I", (version << 24) | (flags & 0xFFFFFF)) + body)


@dataclass(frozen=True, slots=True, eq=False)
class Region:
    """Bytes read from a file plus the absolute offset of their first byte (e.g. a whole moov).

    Saves threading ``base_offset`` through every call when walking one box's subtree.
    """

    data: Buffer
    base: int = 0

    def boxes(self) -> Iterator[Box]:
        return iter_boxes(self.data, base_offset=self.base)

    def children(self, parent: Box, *, skip: int = 0) -> Iterator[Box]:
        return children(self.data, parent, base_offset=self.base, skip=skip)

    def child(self, parent: Box, name: str) -> Box | None:
        return find_child(self.data, parent, name, base_offset=self.base)

    def require(self, parent: Box, name: str) -> Box:
        """The child ``name`` of ``parent``, which the spec makes mandatory."""
        box = self.child(parent, name)
        if box is None:
            raise BoxParseError(f"box {parent.type!r} has no {name!r} box", parent.offset)
        return box

    def reader(self, box: Box) -> ByteReader:
        return ByteReader.of(self.data, box, base_offset=self.base)

    def payload(self, box: Box) -> memoryview:
        return payload(self.data, box, base_offset=self.base)
