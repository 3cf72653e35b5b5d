"""Delivery: ``GET|HEAD /v1/{assetId}/{path}``.

Edge roles (``all``, ``edge``): signature gate (cookies, signed URL or path token
``/v1/{assetId}/t/{token}/{path}``, stripped before the cache key) → edge cache → origin
(in-process or remote).
Shield role: shared-secret check → cache → origin (the mid tier that collapses the misses of
many edges into one origin fetch per object). Origin role: shared-secret check → origin.

The gate runs first on every request, before any cache, catalogue or storage work. The parts
are the fields of :class:`~vodstack.compose.delivery.Delivery`, built by the composition root.
"""

from __future__ import annotations

import hmac
import json

import anyio
from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from vodstack.catalogue import is_valid_id
from vodstack.compose import Delivery
from vodstack.edge import CacheEntry, ResultType, delivery_key
from vodstack.entitlement import pathtoken
from vodstack.errors import Forbidden, NotFound, OriginError, Unavailable
from vodstack.packaging import cache_path
from vodstack.packaging.layout import asset_prefix
from vodstack.protection import CLEAR_KEY_REFUSED
from vodstack.storage.slices import BytesResource, FileSlice
from vodstack.web import accesslog, errors
from vodstack.web.responses import ResourceResponse
from vodstack.web.state import delivery_of

router = APIRouter(tags=["delivery"])


def check_origin_secret(delivery: Delivery, request: Request) -> None:
    """The origin answers only its edges: the shared secret, compared in constant time,
    any of the configured ones (two are valid during a rotation)."""
    presented = request.headers.get(delivery.origin_secret_header, "").encode()
    valid = False
    for secret in delivery.origin_secrets():  # no early exit: time does not reveal which matched
        valid |= hmac.compare_digest(presented, secret.encode())
    if not valid:  # counted by the access log, reason "origin_secret"
        raise Forbidden("access denied", rule="origin_secret", public=False)


def entry_resource(entry: CacheEntry, hot: bytes | None = None) -> BytesResource | FileSlice:
    """What to send for a cached entry; ``hot`` is an in-memory copy of its file, if held."""
    if entry.status == 404:
        raise NotFound("no such resource")
    if entry.status == 503:  # the origin could not make it now (a window being encoded)
        retry = entry.header("retry-after") or "0"
        raise Unavailable(
            "this part of the title is not available right now",
            int(retry) if retry.isdigit() else 0,
        )
    if entry.status == 403 and (refusal := _public_refusal(entry)) is not None:
        raise refusal
    if entry.status != 200:
        raise OriginError(f"the origin answered {entry.status}")
    content_type = entry.header("content-type") or "application/octet-stream"
    cache_control = entry.header("cache-control") or "no-cache"
    etag = entry.header("etag") or f'"{entry.key}-{entry.size}"'
    if entry.path is not None and hot is None:
        return FileSlice(entry.key, entry.path, 0, entry.size, content_type, cache_control, etag)
    return BytesResource(hot or entry.body or b"", content_type, cache_control, etag)


def _public_refusal(entry: CacheEntry) -> Forbidden | None:
    """An origin's 403 that carries a rule meant for the viewer (a clear key refused); any
    other 403 (a wrong origin secret) is the edge's problem, answered as an origin error."""
    try:
        body = json.loads(entry.body or b"")
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("rule") != CLEAR_KEY_REFUSED:
        return None
    return Forbidden(str(body.get("error", "refused")), rule=CLEAR_KEY_REFUSED)


@router.get(
    "/v1/{asset_id}/{path:path}",
    summary="Manifests (index.m3u8, index.mpd), playlists, init and media segments",
    description="HEAD is answered too. 503 with Retry-After: a window of a title still being "
    "encoded (progressive mode) could not be made right now, or every thumbnail cut slot is "
    "busy. 429: too many thumbnail.jpg requests from this address (a bucket of their own). "
    "thumbnail.jpg is answered at whole seconds within the title and at the next of 160, 240, "
    "320, 480, 640, 960, 1280, 1920 px up. The grant is the CloudFront-* cookies, a signed "
    "URL, or a path token: `/v1/{assetId}/t/{token}/{path}` (from POST /play `token`; relative "
    "URIs in manifests carry it) or `/v1/{assetId}/p/{token}/{picture}` (signed picture URLs "
    "of the asset API: poster, thumbnail, storyboard only). A `public` title needs none. Every "
    "refusal is a plain 403.",
    responses={206: {}, 304: {}, 403: {}, 404: {}, 416: {}, 429: {}, 502: {}, 503: {}},
)
async def deliver(request: Request, asset_id: str, path: str) -> Response:
    # Normally answered by DeliveryFastPath before routing; kept as a route for the OpenAPI
    # document and for apps built without the fast path.
    return await _routed(request, asset_id, path)


@router.head("/v1/{asset_id}/{path:path}", include_in_schema=False)
async def deliver_head(request: Request, asset_id: str, path: str) -> Response:
    return await _routed(request, asset_id, path)


async def _routed(request: Request, asset_id: str, path: str) -> Response:
    try:
        return await deliver_response(delivery_of(request), request, asset_id, path)
    except Exception as exc:  # answered by the app's error handlers; the reason is logged
        accesslog.note_error(request.scope, accesslog.error_reason(exc))
        raise


async def deliver_response(
    delivery: Delivery, request: Request, asset_id: str, path: str
) -> Response:
    if delivery.role == "origin":
        assert delivery.origin is not None  # the origin role runs one, and no edge
        check_origin_secret(delivery, request)
        if not is_valid_id(asset_id):
            raise NotFound("no such asset")
        path = cache_path(path, request.query_params)
        resource = await anyio.to_thread.run_sync(delivery.origin.resolve, asset_id, path)
        return ResourceResponse(resource, delivery.store, {})
    assert delivery.edge is not None  # every other role runs one
    raw = _raw_rest(request.scope, asset_id, path)  # read once: for the gate and the cache key
    if delivery.role == "shield":
        check_origin_secret(delivery, request)  # a mid-tier cache answers edges only
    else:
        # A path token is split off here and checked by the gate; from then on the request
        # is the token-less one: one cache key and one origin fetch for every viewer.
        picture = pathtoken.segment(path) == pathtoken.PICTURE_SEGMENT
        token, path = pathtoken.split(path)
        delivery.gate.check(request, asset_id, token, picture, raw)
    if not is_valid_id(asset_id):
        raise NotFound("no such asset")
    # One cache key per object: the parsed path, spelled only as the layout spells it
    # (thumbnail.jpg?time=&width= per canonical query, clamped to the title); anything else
    # is refused here. A path token is not part of the key: viewers share cached objects.
    raw_rest = pathtoken.split(raw)[1]
    duration = (
        await _admit_thumbnail(delivery, request, asset_id) if path == "thumbnail.jpg" else None
    )
    key = delivery_key(raw_rest, path, request.query_params, duration)
    entry, result = await delivery.edge.get(asset_id, key)
    extra = {
        "x-cache": f"{'Hit' if result is ResultType.HIT else result.value} from vodstack",
        "x-edge-result-type": result.value,
    }
    hot = delivery.edge.hot_body(entry) if entry.path is not None else None
    return ResourceResponse(entry_resource(entry, hot), delivery.store, extra)


async def _admit_thumbnail(delivery: Delivery, request: Request, asset_id: str) -> float | None:
    """Its own rate bucket, then the title length that clamps its cache key (guard.py)."""
    admission = delivery.thumbnails
    if delivery.role != "shield":  # a shield's requests come from edges, which counted them
        peer = request.client.host if request.client else None
        admission.check_rate(delivery.locator.client_ip(peer, request.headers))
    return await anyio.to_thread.run_sync(admission.duration, asset_id)


def _raw_rest(scope: Scope, asset_id: str, path: str) -> str:
    """The part after ``/v1/{assetId}/`` as the client sent it, before percent-decoding
    (``""`` when the asset id itself was encoded: that spelling is refused too)."""
    raw = scope.get("raw_path")
    if raw is None:  # the server gave no raw path: the decoded one is all there is
        return path
    text = raw.decode("latin-1")
    prefix = asset_prefix(asset_id)
    return text[len(prefix) :] if text.startswith(prefix) else ""


class DeliveryFastPath:
    """Answers ``GET|HEAD /v1/…`` as raw ASGI, before FastAPI's router and dependency
    machinery, which cost several times the gate and the cache lookup together on a hit
    (profiled: bench/origin.py). Everything else goes to the app unchanged."""

    def __init__(self, app: ASGIApp, delivery: Delivery) -> None:
        self.app = app
        self.delivery = delivery

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith("/v1/")
            or scope["method"] not in ("GET", "HEAD")
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        asset_id, _, rest = path[4:].partition("/")
        try:
            response = await deliver_response(self.delivery, request, asset_id, rest)
        except Exception as exc:
            accesslog.note_error(scope, accesslog.error_reason(exc))
            response = await errors.respond(request, exc)
        await response(scope, receive, send)
