"""Keyset paging: opaque cursors over ``(sort key, id)``, stable while rows are inserted.

Why keyset and not offsets: an offset counts rows, so a row inserted before the reader's
position shifts every later page by one (a row seen twice, or one never seen). A keyset page
starts strictly after the last row of the previous page in a total order (the sort key, then
the unique id), so every row that existed when paging began is returned exactly once, however
many are inserted meanwhile (a new row lands either before the reader's position, then it is
not returned, or after it, then it is returned once).

A cursor is base64url JSON ``{"s": sort, "k": [key values], "f": filter fingerprint}``: not
signed (it grants nothing: the same rows are one query away), but validated on the way in,
and refused when it was made for another sort or other filters (400 either way).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Select, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from vodstack.errors import InvalidInput

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR_CHARS = 1024

T = TypeVar("T")


class InvalidCursor(InvalidInput):
    """A cursor that is not one of ours, or not for this query."""


@dataclass(frozen=True)
class SortOrder:
    """One way to order a listing: key columns (the last one unique), each value's kind
    (``datetime``, ``str``, ``int``) for reading cursors back."""

    columns: tuple[InstrumentedAttribute[Any], ...]
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class PageRequest:
    sort: str  # e.g. "-created": the name of a SortOrder, "-" for descending
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    fingerprint: str = ""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def parse_limit(value: str | int | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def fingerprint(values: Mapping[str, Any]) -> str:
    """A short digest of a query's filters: a cursor is only valid for the same filters."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def encode_cursor(sort: str, values: Sequence[Any], filters: str) -> str:
    data = {"s": sort, "k": [_encode_value(v) for v in values], "f": filters}
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_value(value: Any, kind: str) -> Any:
    if kind == "datetime" and isinstance(value, str) and len(value) <= 40:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed.astimezone(UTC)
    if kind == "int" and type(value) is int and 0 <= value < 2**63:
        return value
    if kind == "str" and isinstance(value, str) and len(value) <= 600:
        return value
    raise ValueError(f"not a {kind}")


def decode_cursor(token: str, sort: str, kinds: Sequence[str], filters: str) -> tuple[Any, ...]:
    """The key values inside ``token``; InvalidCursor (→ 400) says what is wrong."""
    if len(token) > MAX_CURSOR_CHARS:
        raise InvalidCursor("invalid cursor: too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("k"), list):
            raise ValueError("not a cursor")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor(
            "invalid cursor: pass the X-Next-Cursor value (or follow the Link header) unchanged"
        ) from None
    if data.get("s") != sort or data.get("f") != filters:
        raise InvalidCursor(
            "invalid cursor: it was made for another sort or other filters; "
            "keep the query of the first page, or start again without a cursor"
        )
    if len(data["k"]) != len(kinds):
        raise InvalidCursor("invalid cursor: wrong number of key values")
    try:
        return tuple(_decode_value(v, k) for v, k in zip(data["k"], kinds, strict=True))
    except (TypeError, ValueError):
        raise InvalidCursor("invalid cursor: a key value is malformed") from None


def paginate(
    session: Session,
    stmt: Select[Any],
    order: SortOrder,
    request: PageRequest,
) -> Page[Any]:
    """One page of ``stmt`` (already filtered) in ``order``, after ``request.cursor``."""
    descending = request.sort.startswith("-")
    columns = order.columns
    if request.cursor:
        after = decode_cursor(request.cursor, request.sort, order.kinds, request.fingerprint)
        # Row-value comparison (SQL-92; SQLite ≥ 3.15, PostgreSQL): one index range scan.
        bound = tuple_(*(literal(v, c.type) for v, c in zip(after, columns, strict=True)))
        key = tuple_(*columns)
        stmt = stmt.where(key < bound if descending else key > bound)
    stmt = stmt.order_by(*(c.desc() if descending else c.asc() for c in columns))
    # The limit written into the statement too: a generic plan with an unknown limit walked
    # the created-at index to a searched title (all of it for the oldest title).
    rows = list(
        session.scalars(stmt.limit(literal(request.limit + 1, Integer(), literal_execute=True)))
    )
    if len(rows) <= request.limit:
        return Page(rows, None)
    rows = rows[: request.limit]
    last = rows[-1]
    values = [getattr(last, c.key) for c in columns]
    return Page(rows, encode_cursor(request.sort, values, request.fingerprint))
