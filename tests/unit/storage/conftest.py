"""Stores under test: the local directory and S3 (moto_server on loopback), side by side.

The ``store`` fixture is parametrized over both, so one behavioural suite pins the
ObjectStore contract for every implementation; S3-only behaviour lives in ``test_s3*.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.fixtures.moto import MotoS3, moto_s3  # noqa: F401 - re-exported fixture
from tests.unit.storage.support import KiB, MakeS3Store, RequestLog

from vodstack.storage import LocalStore, ObjectStore
from vodstack.storage.s3 import S3Store

S3_PREFIX = "vod"


@pytest.fixture
def s3_client(moto_s3: MotoS3) -> Any:  # noqa: F811 - the fixture imported above
    """A fresh client per test, so request hooks registered by one test never leak."""
    return moto_s3.client()


@pytest.fixture
def requests_log(s3_client: Any) -> RequestLog:
    return RequestLog(s3_client)


@pytest.fixture
def bucket(s3_client: Any) -> str:
    name = f"vod-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def make_s3_store(s3_client: Any, bucket: str) -> MakeS3Store:
    """S3 stores on this test's bucket; small chunks so tests cross chunk boundaries cheaply."""

    def make(**options: Any) -> S3Store:
        defaults: dict[str, Any] = {
            "client": s3_client,
            "chunk_size": 64 * KiB,
            "readahead": 256 * KiB,
            "cache_bytes": 256 * KiB,  # smaller than most test objects: evictions happen
        }
        return S3Store(bucket, options.pop("prefix", S3_PREFIX), **{**defaults, **options})

    return make


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalStore(tmp_path / "objects")
    else:
        yield request.getfixturevalue("make_s3_store")()
