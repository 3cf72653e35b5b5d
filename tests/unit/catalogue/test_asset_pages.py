"""Asset list pages: keyset cursors walk every asset exactly once, in either order, with a
status filter and title search; ``GET /api/assets`` links the next page (SQLite and
PostgreSQL)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from tests.fixtures.catalogue_rows import add_assets, title_of

from vodstack.catalogue.asset_pages import AssetQuery, asset_page, decode_cursor, encode_cursor
from vodstack.catalogue.models import utcnow
from vodstack.errors import InvalidInput
from vodstack.services import Services
from vodstack.web.app import create_app


def walk(services: Services, **query: object) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        page = asset_page(services.db, AssetQuery(cursor=cursor, **query))  # type: ignore[arg-type]
        seen += [a.id for a in page.assets]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("more pages than assets")


def test_pages_visit_every_asset_once_in_both_orders(services: Services) -> None:
    ids = add_assets(services.db, 23)  # created one second apart, in list order
    # two more in the same microsecond: the id breaks the tie, none is lost or repeated
    twins = add_assets(services.db, 2, start=100, created_at=utcnow())
    newest_first = walk(services, limit=4)
    assert newest_first[:2] == sorted(twins, reverse=True)
    assert newest_first[2:] == ids[::-1]
    assert walk(services, limit=5, sort="created") == newest_first[::-1]


def test_status_filter_and_search(services: Services) -> None:
    ready = add_assets(services.db, 16)
    failed = add_assets(services.db, 3, start=16, status="failed")
    assert walk(services, limit=2, statuses=("failed",)) == failed[::-1]
    assert set(walk(services, limit=3, statuses=("ready", "failed"))) == set(ready + failed)
    # titles: "<Word> <word> #serial" (fixtures.catalogue_rows.title_of)
    harbour = walk(services, limit=2, q="HARBOUR")  # case-insensitive substring
    everything = ready + failed
    assert harbour == [everything[n] for n in range(19) if "harbour" in title_of(n).lower()][::-1]
    assert walk(services, q="#000007") == [ready[7]]
    assert walk(services, q=ready[3]) == [ready[3]]  # an exact id
    assert walk(services, q="%") == [] and walk(services, q="_") == []  # no wildcards
    quoted = add_assets(services.db, 1, start=50, title="O'Brien \\ 100% _x_ %(q)s")
    for q in ("O'Brien", "\\", "100%", "_x_", "%(q)s", "'; DROP TABLE assets; --"):
        assert walk(services, q=q) == (quoted if q[0] != "'" else []), q


def test_bad_queries_are_refused(services: Services) -> None:
    for query in (
        AssetQuery(limit=0),
        AssetQuery(limit=1001),
        AssetQuery(cursor="not-a-cursor"),
        AssetQuery(cursor=encode_cursor(utcnow(), "../../etc")),
        AssetQuery(statuses=("deleted",)),
    ):
        with pytest.raises(InvalidInput):
            asset_page(services.db, query)
    stamp = utcnow()
    assert decode_cursor(encode_cursor(stamp, "a" * 20)) == (stamp, "a" * 20)


def test_api_links_the_next_page(services: Services) -> None:
    ids = add_assets(services.db, 7)
    client = TestClient(create_app(services, run_workers=False))
    auth = {"Authorization": f"Bearer {services.admin_token}"}
    url, seen = "/api/assets?limit=3&q=%23&status=ready", []
    while url:
        r = client.get(url, headers=auth)
        assert r.status_code == 200, r.text
        assert isinstance(r.json(), list)
        seen += [a["id"] for a in r.json()]
        link = r.headers.get("link")
        if link is None:
            assert "x-next-cursor" not in r.headers
            break
        target, rel = link.split(";", 1)
        assert rel.strip() == 'rel="next"' and target.startswith("</api/assets?")
        url = target.strip("<>")
        query = parse_qs(urlsplit(url).query)
        assert query["cursor"] == [r.headers["x-next-cursor"]]
        assert query["limit"] == ["3"] and query["q"] == ["#"] and query["status"] == ["ready"]
    assert seen == ids[::-1]
    assert client.get("/api/assets?cursor=x", headers=auth).status_code == 400
    assert client.get("/api/assets?limit=5000", headers=auth).status_code in (400, 422)
