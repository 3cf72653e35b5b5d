"""Helpers for the storage tests: wire-level request log and independent bucket listings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vodstack.storage.s3 import S3Store

KiB = 1024
MiB = 1024 * KiB

MakeS3Store = Callable[..., S3Store]


class RequestLog:
    """Counts S3 requests per operation as they go on the wire (botocore ``before-send``)."""

    def __init__(self, client: Any) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        client.meta.events.register("before-send.s3", self._record)

    def _record(self, request: Any, event_name: str, **_: Any) -> None:
        headers = {
            k.lower(): (v.decode() if isinstance(v, bytes) else v)
            for k, v in request.headers.items()
        }
        self.calls.append((event_name.rsplit(".", 1)[-1], headers))

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    def reset(self) -> None:
        self.calls.clear()


def all_bucket_keys(client: Any, bucket: str) -> list[str]:
    """Every object in the bucket, listed independently of the store under test."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def pending_uploads(client: Any, bucket: str) -> list[str]:
    return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


class ClientWentAway(RuntimeError):
    """The failure the write tests inject in the middle of a ``with store.writer(...)`` block."""


def write_then_fail(store: Any, key: str, data: bytes, before_failing: Callable[[], None]) -> None:
    with store.writer(key) as fh:
        fh.write(data)
        before_failing()
        raise ClientWentAway(key)
