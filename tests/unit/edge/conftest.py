"""Edge cache tests: async tests run on asyncio through anyio's pytest plugin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vodstack.edge.cache import EdgeCache

from .support import FakeClock


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def disk_cache(tmp_path: Path, clock: FakeClock) -> Iterator[EdgeCache]:
    cache = EdgeCache(
        memory_bytes=64 * 1024,
        disk_dir=tmp_path / "edge",
        disk_bytes=10_000,
        disk_threshold=1000,
        clock=clock,
    )
    yield cache
    cache.close()
