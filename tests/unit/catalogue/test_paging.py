"""Keyset paging on both backends: every row exactly once while rows are inserted, cursors
that refuse to be tampered with or reused for another query, filters and search."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from vodstack.catalogue.listing import ASSETS, EVENTS, JOBS, LICENCES, SUBSCRIPTIONS, Listing
from vodstack.catalogue.models import Asset
from vodstack.catalogue.paging import (
    InvalidCursor,
    decode_cursor,
    encode_cursor,
    parse_limit,
)
from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services
from vodstack.errors import InvalidInput

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def bulk_assets(
    services: Services, count: int, *, start: datetime = T0, title: str = "t"
) -> list[str]:
    """``count`` asset rows in one statement, one millisecond apart (ids random)."""
    rows = [
        {
            "id": new_id(),
            "title": f"{title} {i % 97}",
            "status": "ready" if i % 3 else "failed",
            "source_key": "masters/x/s.mp4",
            "source_name": "s.mp4",
            "source_size": 1,
            "created_at": start + timedelta(milliseconds=i),
            "updated_at": start,
        }
        for i in range(count)
    ]
    with services.db.session() as session:
        session.execute(insert(Asset), rows)
    return [r["id"] for r in rows]


def walk(services: Services, listing: Listing, params: dict[str, list[str]]) -> list[Any]:
    """Every page, following the cursors; the rows in order."""
    seen: list[Any] = []
    cursor: str | None = None
    while True:
        query = listing.parse({**params, **({"cursor": [cursor]} if cursor else {})})
        page = listing.page(services.db, query)
        assert len(page.items) <= query.page.limit
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_ten_thousand_assets_each_exactly_once_while_inserts_happen(services: Services) -> None:
    existing = set(bulk_assets(services, 10_000))
    stop = threading.Event()
    inserted: list[str] = []

    def insert_meanwhile() -> None:
        # New uploads (newest) and rows dated inside the range already paged or still ahead:
        # whatever their position, no existing row may be skipped or repeated.
        n = 0
        while not stop.is_set():
            when = T0 + timedelta(milliseconds=(n * 7919) % 10_000, microseconds=500)
            inserted.extend(bulk_assets(services, 5, start=when, title="late"))
            inserted.extend(bulk_assets(services, 5, start=datetime.now(UTC), title="new"))
            n += 1

    writer = threading.Thread(target=insert_meanwhile)
    writer.start()
    try:
        rows = walk(services, ASSETS, {"limit": ["250"]})
    finally:
        stop.set()
        writer.join()
    ids = [a.id for a in rows]
    assert len(inserted) > 0  # the writer really ran during the walk
    assert len(ids) == len(set(ids))  # nothing twice
    assert existing <= set(ids)  # nothing existing missed
    keys = [(a.created_at, a.id) for a in rows]
    assert keys == sorted(keys, reverse=True)  # newest first, ties by id


def test_sorts_by_title_and_ascending_with_ties(services: Services) -> None:
    bulk_assets(services, 300)  # 97 distinct titles: many ties, broken by id
    rows = walk(services, ASSETS, {"limit": ["7"], "sort": ["title"]})
    assert [(a.title, a.id) for a in rows] == sorted((a.title, a.id) for a in rows)
    assert len(rows) == 300
    rows = walk(services, ASSETS, {"limit": ["50"], "sort": ["created"]})
    assert [a.created_at for a in rows] == sorted(a.created_at for a in rows)
    desc = walk(services, ASSETS, {"limit": ["1000"], "sort": ["-title"]})
    assert [a.id for a in desc] == [
        a.id for a in reversed(walk(services, ASSETS, {"sort": ["title"]}))
    ]


def test_filters_narrow_and_cursors_keep_them(services: Services) -> None:
    bulk_assets(services, 120)
    failed = walk(services, ASSETS, {"status": ["failed"], "limit": ["9"]})
    assert len(failed) == 40 and {a.status for a in failed} == {"failed"}
    both = walk(services, ASSETS, {"status": ["failed", "ready"], "limit": ["50"]})
    assert len(both) == 120
    middle = walk(
        services,
        ASSETS,
        {
            "created_after": [(T0 + timedelta(milliseconds=10)).isoformat()],
            "created_before": [(T0 + timedelta(milliseconds=20)).isoformat()],
        },
    )
    assert len(middle) == 10  # [10 ms, 20 ms): after is inclusive, before exclusive
    assert len(walk(services, ASSETS, {"created_after": ["2025-01-02"]})) == 0


def test_a_cursor_only_works_for_its_own_query(services: Services) -> None:
    bulk_assets(services, 30)
    page = ASSETS.page(services.db, ASSETS.parse({"limit": ["10"], "status": ["ready"]}))
    assert page.next_cursor
    for other in (
        {"status": ["failed"]},  # other filters
        {"status": ["ready"], "sort": ["title"]},  # other sort
        {},
    ):
        with pytest.raises(InvalidCursor, match="another sort or other filters"):
            ASSETS.page(services.db, ASSETS.parse({**other, "cursor": [page.next_cursor]}))
    # another listing's cursor neither
    jobs_cursor = encode_cursor("-created", [T0, "a" * 20], "x")
    with pytest.raises(InvalidCursor):
        ASSETS.page(services.db, ASSETS.parse({"cursor": [jobs_cursor]}))


@pytest.mark.parametrize(
    "cursor",
    [
        "x",
        "!!!!",
        "a" * 2000,
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_garbage_cursors_are_400s(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, "-created", ("datetime", "str"), "f")


def test_tampered_key_values_are_refused() -> None:
    def forged(values: list[Any]) -> str:
        raw = json.dumps({"s": "-created", "k": values, "f": "f"}).encode()
        return base64.urlsafe_b64encode(raw).decode()

    good = forged([T0.isoformat(), "abc"])
    assert decode_cursor(good, "-created", ("datetime", "str"), "f") == (T0, "abc")
    for values in (
        ["2025-01-01T00:00:00", "abc"],  # naive time
        ["yesterday", "abc"],
        [T0.isoformat()],  # too few
        [T0.isoformat(), 5],  # wrong type
        [T0.isoformat(), "x" * 700],
    ):
        with pytest.raises(InvalidCursor):
            decode_cursor(forged(values), "-created", ("datetime", "str"), "f")
    with pytest.raises(InvalidCursor):
        decode_cursor(forged([T0.isoformat(), True]), "-created", ("datetime", "int"), "f")


def test_limits_and_unknown_parameters() -> None:
    assert parse_limit(None) == 100 and parse_limit("1") == 1 and parse_limit("1000") == 1000
    for bad in ("0", "1001", "-1", "ten", "1.5", " "):
        with pytest.raises(InvalidInput, match="1 to 1000"):
            parse_limit(bad)
    for listing in (ASSETS, JOBS, EVENTS, SUBSCRIPTIONS, LICENCES):
        with pytest.raises(InvalidInput, match="unknown parameter 'colour'"):
            listing.parse({"colour": ["red"]})
        with pytest.raises(InvalidInput, match="sort must be one of"):
            listing.parse({"sort": ["size"]})
        with pytest.raises(InvalidInput, match="once"):
            listing.parse({"limit": ["5", "6"]})
    with pytest.raises(InvalidInput, match="unknown parameter 'q'"):
        JOBS.parse({"q": ["x"]})  # jobs have no search
    with pytest.raises(InvalidInput, match="asset id"):
        JOBS.parse({"asset": ["../etc"]})
    with pytest.raises(InvalidInput, match="true or false"):
        ASSETS.parse({"published": ["maybe"]})
    with pytest.raises(InvalidInput, match="metadata"):
        ASSETS.parse({"metadata[bad key]": ["x"]})


def test_jobs_events_and_grants_page(services: Services) -> None:
    (asset_id,) = bulk_assets(services, 1)
    for _ in range(5):
        services.catalogue.add_event("asset.updated", asset_id, {"n": 1})
        services.catalogue.add_event("key.rotated", None, {})
    services.catalogue.enqueue_job(asset_id, max_attempts=3)
    for i in range(12):
        services.grants.subscribe(f"viewer-{i % 3}", "basic" if i % 2 else "premium")
        services.grants.license(f"uni-{i % 2}", asset_id if i % 3 else None)
    events = walk(services, EVENTS, {"limit": ["3"], "type_prefix": ["asset."]})
    assert len(events) == 5 and all(e.type == "asset.updated" for e in events)
    assert [e.id for e in events] == sorted((e.id for e in events), reverse=True)
    assert len(walk(services, EVENTS, {"type": ["key.rotated", "asset.updated"]})) == 10
    assert len(walk(services, JOBS, {"asset": [asset_id], "state": ["queued"]})) == 1
    assert walk(services, JOBS, {"lane": ["backfill"]}) == []
    subs = walk(services, SUBSCRIPTIONS, {"limit": ["5"], "subject": ["viewer-1"]})
    assert len(subs) == 4 and [s.id for s in subs] == sorted(s.id for s in subs)  # oldest first
    assert len(walk(services, SUBSCRIPTIONS, {"plan": ["basic"], "cancelled": ["false"]})) == 6
    covering = walk(services, LICENCES, {"asset": [asset_id], "limit": ["2"]})
    assert len(covering) == 12  # its own and the catalogue-wide ones
    assert len(walk(services, LICENCES, {"institution": ["uni-0"]})) == 6
