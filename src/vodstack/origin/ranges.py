"""HTTP Range parsing (RFC 9110 §14): pure and strict, for one resource of known size.

Only single ranges are honoured; a multi-range request is answered with the whole resource,
which RFC 9110 §14.2 allows (a server MAY ignore Range). Players ask for one range at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from vodstack.errors import RangeNotSatisfiable

MAX_HEADER = 200


def _digits(text: str) -> bool:
    """1*DIGIT with DIGIT = %x30-39 [RFC 9110 §14.1.1, RFC 5234 B.1]. ``str.isdigit`` is not
    it: it accepts "²" (which ``int`` then refuses) and other scripts' digits."""
    return text.isascii() and text.isdigit()


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int  # first byte, inclusive
    end: int  # last byte, inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """None = serve the whole resource (no header, not ``bytes=``, several ranges, garbage).

    Raises RangeNotSatisfiable when the single range lies entirely beyond the resource.
    """
    if not header or len(header) > MAX_HEADER:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (_digits(first) or first == "") or not (_digits(last) or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        suffix = int(last)  # bytes=-N: the last N bytes
        if suffix == 0:
            raise RangeNotSatisfiable("empty suffix range", size)
        return ByteRange(max(0, size - suffix), size - 1) if size else None
    start = int(first)
    if last and int(last) < start:
        return None  # syntactically invalid: ignore the header [RFC 9110 §14.1.1]
    if start >= size:
        raise RangeNotSatisfiable(
            f"range starts at {start} but the resource has {size} bytes", size
        )
    end = int(last) if last else size - 1
    return ByteRange(start, min(end, size - 1))
