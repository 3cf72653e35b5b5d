"""ASGI responses for origin resources: Range (206/416), HEAD, ETag/If-None-Match (304).

Slices of stored files are read in chunks off the event loop, never whole into memory; a
slice that is a whole local file goes out with zero-copy ``http.response.pathsend`` when the
server supports it (granian does).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from functools import lru_cache

import anyio
import brotli
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from vodstack.errors import RangeNotSatisfiable
from vodstack.origin import MANIFEST_TYPES, ByteRange, parse_range
from vodstack.storage import ObjectStore
from vodstack.storage.slices import BytesResource, FileSlice, Resource, open_slice

CHUNK = 256 * 1024
_COMPRESSIBLE = frozenset(MANIFEST_TYPES.values())


@lru_cache(maxsize=512)
def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=6, mtime=0)


@lru_cache(maxsize=512)
def _brotli(body: bytes) -> bytes:
    # Quality 5: most of brotli's gain over gzip on text at a fraction of quality 11's CPU.
    return brotli.compress(body, quality=5, mode=brotli.MODE_TEXT)


_ENCODERS = {"br": _brotli, "gzip": _gzip}


def pick_encoding(accept_encoding: str) -> str | None:
    """``br`` or ``gzip`` if the client accepts it (q > 0), brotli first; else ``None``
    (RFC 9110 §12.5.3: a coding with ``q=0`` is refused, ``*`` stands for the others)."""
    accepted: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding:
            accepted[coding.strip()] = q
    for coding in ("br", "gzip"):
        if accepted.get(coding, accepted.get("*", 0.0)) > 0:
            return coding
    return None


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


class ResourceResponse(Response):
    """Serve one resource to one request (a Starlette Response so routes can return it)."""

    def __init__(self, resource: Resource, store: ObjectStore, extra: Mapping[str, str]) -> None:
        # Deliberately not calling Response.__init__: headers are computed per request in
        # __call__ (they depend on Range/If-None-Match), and there is no body to render.
        self.status_code = 200
        self.background = None
        self.resource = resource
        self.store = store
        self.extra = dict(extra)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        r = self.resource
        request_headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        size = len(r.body) if isinstance(r, BytesResource) else r.length
        headers = {
            "content-type": r.content_type,
            "cache-control": r.cache_control,
            "etag": r.etag,
            "accept-ranges": "bytes",
            **self.extra,
        }
        coding = (
            pick_encoding(request_headers.get("accept-encoding", ""))
            if isinstance(r, BytesResource)
            and r.content_type in _COMPRESSIBLE
            and "range" not in request_headers
            else None
        )
        if coding is not None:
            # Manifests shrink several-fold (brotli a little more than gzip); segments are
            # already compressed media.
            body = _ENCODERS[coding](r.body)
            r = BytesResource(body, r.content_type, r.cache_control, f'{r.etag[:-1]}-{coding}"')
            headers["content-encoding"] = coding
            headers["etag"] = r.etag
            size = len(r.body)
        if isinstance(self.resource, BytesResource) and self.resource.content_type in _COMPRESSIBLE:
            headers["vary"] = "Accept-Encoding"
        if _etag_matches(request_headers.get("if-none-match"), r.etag):
            await self._start(send, 304, headers)
            await send({"type": "http.response.body", "body": b""})
            return
        wanted: ByteRange | None = None
        if_range = request_headers.get("if-range")
        if if_range is None or if_range.strip() == r.etag:
            try:
                wanted = parse_range(request_headers.get("range"), size)
            except RangeNotSatisfiable:
                headers["content-range"] = f"bytes */{size}"
                headers["content-length"] = "0"
                await self._start(send, 416, headers)
                await send({"type": "http.response.body", "body": b""})
                return
        status, start, length = 200, 0, size
        if wanted is not None:
            status, start, length = 206, wanted.start, wanted.length
            headers["content-range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
        headers["content-length"] = str(length)
        await self._start(send, status, headers)
        if scope.get("method") == "HEAD":
            await send({"type": "http.response.body", "body": b""})
            return
        if isinstance(r, BytesResource):
            await send({"type": "http.response.body", "body": r.body[start : start + length]})
            return
        await self._send_slice(scope, send, r, start, length)

    @staticmethod
    async def _start(send: Send, status: int, headers: Mapping[str, str]) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            }
        )

    async def _send_slice(
        self, scope: Scope, send: Send, r: FileSlice, start: int, length: int
    ) -> None:
        offset = r.offset + start
        if r.path is not None:
            whole = offset == 0 and length == os.stat(r.path).st_size
            if whole and "http.response.pathsend" in scope.get("extensions", {}):
                await send({"type": "http.response.pathsend", "path": str(r.path)})
                return
        reader = await anyio.to_thread.run_sync(open_slice, self.store, r.key, r.path)
        try:
            await self._pump(send, reader.read_at, offset, length)
        finally:
            reader.close()

    @staticmethod
    async def _pump(send: Send, read_at, offset: int, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = await anyio.to_thread.run_sync(read_at, min(CHUNK, remaining), offset)
            if not chunk:
                break  # file shorter than the index says: stop rather than hang
            offset += len(chunk)
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        if remaining > 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
