"""What a master is before a demuxer opens it: its size and its top-level ISO-BMFF boxes, read
from a local file or a seekable stream of one (a master in S3), so a truncated upload gets a
reason of its own ("the index is missing") rather than FFmpeg's "invalid data"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def source_size(source: Path | BinaryIO) -> int:
    if isinstance(source, Path):
        return source.stat().st_size
    return source.seek(0, 2)


@contextmanager
def opened(source: Path | BinaryIO) -> Iterator[BinaryIO]:
    """The source from its first byte (a path is opened; a stream is rewound, left open)."""
    if isinstance(source, Path):
        with open(source, "rb") as fh:
            yield fh
    else:
        source.seek(0)
        yield source


def looks_like_mp4(fh: BinaryIO) -> bool:
    head = fh.read(12)
    return head[4:8] in (b"ftyp", b"wide", b"mdat", b"free", b"moov")


def has_top_level_box(fh: BinaryIO, box: bytes, max_boxes: int = 10_000) -> bool:
    """Walk top-level ISO-BMFF box headers (cheap: a few reads) looking for ``box``."""
    size = fh.seek(0, 2)
    offset = 0
    for _ in range(max_boxes):
        if offset + 8 > size:
            return False
        fh.seek(offset)
        header = fh.read(16)
        length, kind = int.from_bytes(header[:4], "big"), header[4:8]
        if kind == box:
            return True
        if length == 1 and len(header) == 16:
            length = int.from_bytes(header[8:16], "big")
        if length < 8:
            return False
        offset += length
    return False
