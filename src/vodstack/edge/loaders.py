"""Where the edge gets objects on a miss: the origin in this process, or origins over HTTP.

Either way the result is an ``edge.Fetched``: manifests as bytes, segments as a finished file
staged on the cache's filesystem so that adopting it is a rename (no second copy).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import anyio
import httpx

from vodstack.edge.entry import Fetched
from vodstack.errors import Forbidden, NotFound, OriginError, TruncatedObject, Unavailable
from vodstack.origin import Origin
from vodstack.storage import ObjectStore
from vodstack.storage.slices import BytesResource, FileSlice, copy_slice, read_slice
from vodstack.telemetry import Metrics, request_id

log = logging.getLogger(__name__)
_COPY_CHUNK = 1024 * 1024
_KEPT_HEADERS = ("content-type", "cache-control", "etag", "last-modified")


def _staging_path(staging: Path) -> Path:
    staging.mkdir(parents=True, exist_ok=True)
    return staging / f"{secrets.token_hex(8)}.part"


class InProcessOrigin:
    """Loader calling the origin directly (``serve`` with the default role ``all``)."""

    def __init__(
        self,
        origin: Origin,
        store: ObjectStore,
        staging: Path,
        metrics: Metrics,
        memory_threshold: int,
    ) -> None:
        self.origin = origin
        self.store = store
        self.staging = staging
        self.metrics = metrics
        self.memory_threshold = memory_threshold

    async def load(self, key: str, etag: str | None) -> Fetched:
        asset_id, _, path = key.partition("/")
        started = time.perf_counter()
        try:
            return await anyio.to_thread.run_sync(self._load, asset_id, path, etag)
        finally:
            self.metrics.origin_fetch_seconds.observe(time.perf_counter() - started)

    def _load(self, asset_id: str, path: str, etag: str | None) -> Fetched:
        try:
            resource = self.origin.resolve(asset_id, path)
        except NotFound:
            return Fetched(
                404, (("content-type", "application/json"),), body=b'{"error":"not found"}'
            )
        except Forbidden as exc:  # a refusal with a reason for the viewer; never cached
            body = {"error": exc.message, **({"rule": exc.rule} if exc.public else {})}
            return Fetched(403, (("content-type", "application/json"),), json.dumps(body).encode())
        except Unavailable as exc:  # passed through, never cached (not a negative status)
            headers = (("content-type", "application/json"), ("retry-after", str(exc.retry_after)))
            return Fetched(503, headers, body=json.dumps({"error": exc.message}).encode())
        headers = (
            ("content-type", resource.content_type),
            ("cache-control", resource.cache_control),
            ("etag", resource.etag),
        )
        if etag is not None and etag == resource.etag:
            return Fetched(304, headers)
        if isinstance(resource, BytesResource):
            return Fetched(200, headers, body=resource.body)
        return Fetched(200, headers, **self._slice(resource))

    def _slice(self, r: FileSlice) -> dict[str, object]:
        try:
            if r.length < self.memory_threshold:
                return {"body": read_slice(self.store, r.key, r.offset, r.length, r.path)}
            target = _staging_path(self.staging)
            copy_slice(self.store, r.key, r.offset, r.length, target, r.path)
        except TruncatedObject as exc:  # the index and the stored bytes disagree
            raise OriginError(f"{r.key} is shorter than its index") from exc
        return {"file": target}


class HttpOrigins:
    """Loader for ``serve --role edge``: an origin group over HTTP(S) with failover.

    The primary is tried first; on a connection failure, a timeout or a 5xx the next origin
    is tried, so an origin outage fails over without clients noticing (CloudFront origin
    groups). Every request carries the origin shared secret.
    """

    def __init__(
        self,
        urls: Sequence[str],
        secret_header: str,
        secret: str | Callable[[], str],
        staging: Path,
        metrics: Metrics,
        *,
        memory_threshold: int,
        timeout_s: float = 10.0,
        verify: bool | str = True,
    ) -> None:
        if not urls:
            raise ValueError("an edge needs at least one origin URL")
        self.urls = [u.rstrip("/") for u in urls]
        # a callable is read per request: a rotated secret (secrets.LiveSecret) is sent
        # as soon as this node has read it
        self.secret_header = secret_header
        self.secret = secret if callable(secret) else (lambda: secret)
        self.staging = staging
        self.metrics = metrics
        self.memory_threshold = memory_threshold
        self.client = httpx.AsyncClient(
            timeout=timeout_s, verify=verify, limits=httpx.Limits(max_connections=64)
        )

    async def load(self, key: str, etag: str | None) -> Fetched:
        last_error = "no origin answered"
        for index, base in enumerate(self.urls):
            started = time.perf_counter()
            try:
                fetched = await self._get(f"{base}/v1/{key}", etag)
            except httpx.HTTPError as exc:
                last_error = f"origin {index} unreachable ({type(exc).__name__})"
                self.metrics.origin_failover.labels(str(index)).inc()
                log.warning("%s for %s", last_error, key)
                continue
            finally:
                self.metrics.origin_fetch_seconds.observe(time.perf_counter() - started)
            if fetched.status >= 500 and index + 1 < len(self.urls):
                self.metrics.origin_failover.labels(str(index)).inc()
                if fetched.file is not None:
                    fetched.file.unlink(missing_ok=True)
                last_error = f"origin {index} answered {fetched.status}"
                continue
            return fetched
        raise OriginError(last_error)

    async def _get(self, url: str, etag: str | None) -> Fetched:
        headers = {self.secret_header: self.secret()}
        rid = request_id.get()
        if rid is not None:  # the viewer request that caused this fetch, for the logs upstream
            headers["x-request-id"] = rid
        if etag is not None:
            headers["if-none-match"] = etag
        async with self.client.stream("GET", url, headers=headers) as response:
            kept = tuple((k, v) for k, v in response.headers.items() if k in _KEPT_HEADERS)
            length = int(response.headers.get("content-length", "0") or 0)
            if response.status_code != 200 or length < self.memory_threshold:
                return Fetched(response.status_code, kept, body=await response.aread())
            target = _staging_path(self.staging)
            try:
                with open(target, "wb") as fh:
                    async for chunk in response.aiter_raw(_COPY_CHUNK):
                        await asyncio.to_thread(fh.write, chunk)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
            return Fetched(200, kept, file=target)

    async def aclose(self) -> None:
        await self.client.aclose()
