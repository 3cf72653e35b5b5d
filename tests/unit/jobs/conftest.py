"""Run every catalogue test on SQLite and on PostgreSQL (same code, same migrations)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import make_settings
from tests.fixtures.databases import postgres_available, postgres_database

from vodstack.config import Settings


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield make_settings(tmp_path / "home")
        return
    if not postgres_available():
        pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (it runs in CI)")
    with postgres_database() as url:
        yield make_settings(tmp_path / "home", database_url=url)
