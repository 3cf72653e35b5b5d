"""The usage ledger: classification, hourly aggregation, flush to the catalogue, retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.fixtures.databases import postgres_available, postgres_database

from vodstack.catalogue.db import Database
from vodstack.costs import store
from vodstack.costs.ledger import UsageLedger, classify


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("index.m3u8", ("-", "manifest")),
        ("index.mpd", ("-", "manifest")),
        ("poster.jpg", ("-", "picture")),
        ("download.mp4", ("-", "download")),
        ("r1-4s/v720.m3u8", ("v720", "playlist")),
        ("r1-4s/en1.vtt", ("en1", "text")),
        ("r1-4s-aes1/key", ("-", "key")),
        ("r1-4s/sb/1.jpg", ("-", "picture")),
        ("r1-4s/v720/init.mp4", ("v720", "init")),
        ("r1-4s/v720/12.m4s", ("v720", "segment")),
        ("r1-4s/v720/k3.m4s", ("v720", "segment")),
        ("r1-4s/v720/iframes.m3u8", ("v720", "playlist")),
        ("r1-4s/en1/2.vtt", ("en1", "text")),
    ],
)
def test_classify_delivery_paths(path: str, expected: tuple[str, str]) -> None:
    assert classify(path) == expected


def test_ledger_aggregates_per_hour_and_key() -> None:
    now = [3600.0 * 100 + 10]
    ledger = UsageLedger(clock=lambda: now[0])
    for _ in range(3):
        ledger.add("a" * 20, "r1-4s/v720/1.m4s", "Hit", 1000)
    ledger.add("a" * 20, "r1-4s/v720/1.m4s", "Miss", 500)
    now[0] += 3600  # the next hour
    ledger.add("a" * 20, "r1-4s/v720/2.m4s", "Hit", 7)
    rows = {(k.hour, k.result): (u.requests, u.bytes) for k, u in ledger.drain()}
    assert rows == {(100, "Hit"): (3, 3000), (100, "Miss"): (1, 500), (101, "Hit"): (1, 7)}
    assert ledger.drain() == []
    assert ledger.totals == {"Hit": 3007, "Miss": 500}


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """The ledger's table on both catalogue backends (same code, same migration)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'c.db'}")
        database.migrate()
        yield database
        database.dispose()
        return
    if not postgres_available():
        pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (it runs in CI)")
    with postgres_database() as url:
        database = Database(url)
        database.migrate()
        yield database
        database.dispose()


def test_flush_adds_to_existing_rows_and_prunes(db: Database) -> None:
    hour = int(datetime.now(UTC).timestamp() // 3600)
    for _ in range(2):  # two edges (or two flushes) adding to the same hour
        ledger = UsageLedger(clock=lambda: hour * 3600.0 + 5)
        ledger.add("b" * 20, "r1-4s/v360/3.m4s", "Hit", 100)
        assert store.flush(db, ledger.drain()) == 1
    old = UsageLedger(clock=lambda: (hour - 24 * 100) * 3600.0)
    old.add("b" * 20, "index.m3u8", "Miss", 9)
    store.flush(db, old.drain())
    rows = store.usage(db)
    assert [(r.track, r.requests, r.bytes) for r in rows] == [("-", 1, 9), ("v360", 2, 200)]
    assert store.prune(db, retention_days=90) == 1
    assert [r.bytes for r in store.usage(db, since=datetime.now(UTC) - timedelta(days=1))] == [200]
