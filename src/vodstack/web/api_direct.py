"""Direct uploads over HTTP (ingest/direct.py; docs/uploads.md).

Admin side, ``/api/uploads/direct`` (admin token): create a one-time URL, look at it, cancel
it. Uploader's side, ``/direct-uploads/{token}`` (no key: the URL is the credential): tus
1.0.0 creation (``POST``), ``HEAD``, ``PATCH``, termination (``DELETE``) and ``OPTIONS``, all
at that one URL. Browsers on the origins of ``VODSTACK_DIRECT_UPLOAD_CORS_ORIGINS`` may call
it cross-origin (:class:`DirectUploadCors`; no credentials, so no cookie ever rides along).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vodstack.base.actor import api_actor
from vodstack.catalogue.ingests import DirectUpload, Ingests
from vodstack.errors import UploadRejected
from vodstack.ingest.direct import PUBLIC_PREFIX, DirectRequest, DirectUploads
from vodstack.web.api_uploads import (
    TUS_VERSION,
    _append_stream,
    _check_version,
    _expires,
    _headers,
    parse_metadata,
)
from vodstack.web.scopes import require_scope
from vodstack.web.state import services_of

admin_router = APIRouter(prefix="/api/uploads/direct", tags=["uploads"])
public_router = APIRouter(prefix=PUBLIC_PREFIX.rstrip("/"), tags=["direct uploads"])

TUS_HEADERS = (
    "Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata, Content-Type, "
    "Upload-Defer-Length, Upload-Concat, X-Requested-With"
)
EXPOSED = (
    "Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Upload-Offset, "
    "Upload-Length, Upload-Expires, Vodstack-Asset-Id"
)


def direct_uploads(request: Request) -> DirectUploads:
    services = services_of(request)
    return DirectUploads(services.settings, Ingests(services.db), services.ingestor, services.bus)


# -- admin side ---------------------------------------------------------------------------
class DirectUploadIn(BaseModel):
    title: str | None = Field(default=None, max_length=500)
    metadata: dict[str, str] | None = Field(
        default=None, description="Free key/values of the asset (≤ 50 keys), told in webhooks"
    )
    max_bytes: int | None = Field(
        default=None, gt=0, description="Largest master accepted (≤ VODSTACK_MAX_UPLOAD_BYTES)"
    )
    cors_origin: str | None = Field(
        default=None,
        max_length=255,
        description="The one web origin whose pages may upload (one of "
        "VODSTACK_DIRECT_UPLOAD_CORS_ORIGINS); default: any listed origin",
    )
    ladder: str | None = Field(default=None, max_length=20)
    expires_in_s: float | None = Field(
        default=None,
        gt=0,
        description="Seconds the URL may start its upload (≤ VODSTACK_DIRECT_UPLOAD_TTL_S)",
    )


class DirectUploadOut(BaseModel):
    id: str
    url: str | None = Field(
        default=None,
        description="The tus endpoint for the uploader: shown once, at creation; never stored",
    )
    status: str = Field(description="waiting, uploading, complete, cancelled or expired")
    title: str | None
    metadata: dict[str, Any]
    ladder: str | None
    max_bytes: int
    cors_origin: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    asset_id: str | None
    offset: int | None = Field(default=None, description="Bytes received so far")
    length: int | None = Field(default=None, description="Upload-Length the uploader declared")


def _out(uploads: DirectUploads, row: DirectUpload, url: str | None = None) -> DirectUploadOut:
    progress = uploads.progress(row)
    return DirectUploadOut(
        id=row.id,
        url=url,
        status=row.state(),
        title=row.title,
        metadata=row.meta or {},
        ladder=row.ladder,
        max_bytes=row.max_bytes,
        cors_origin=row.cors_origin,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        asset_id=row.asset_id,
        offset=progress[0] if progress else None,
        length=progress[1] if progress else None,
    )


@admin_router.post(
    "",
    dependencies=[require_scope("upload")],
    status_code=201,
    response_model=DirectUploadOut,
    summary="A one-time, expiring tus URL a browser may upload one master to, with no key",
    responses={400: {}, 401: {}},
)
def create_direct(request: Request, body: DirectUploadIn) -> DirectUploadOut:
    uploads = direct_uploads(request)
    row, token = uploads.create(
        DirectRequest(
            title=body.title,
            metadata=body.metadata,
            max_bytes=body.max_bytes,
            cors_origin=body.cors_origin,
            ladder=body.ladder,
            expires_in_s=body.expires_in_s,
        ),
        actor=api_actor(request),
    )
    return _out(uploads, row, uploads.url(token))


@admin_router.get(
    "/{direct_id}",
    dependencies=[require_scope("upload")],
    response_model=DirectUploadOut,
    summary="A direct upload: its state, bytes received, and the asset it made",
    responses={404: {}},
)
def get_direct(request: Request, direct_id: str) -> DirectUploadOut:
    uploads = direct_uploads(request)
    return _out(uploads, uploads.ingests.direct(direct_id[:64]))


@admin_router.delete(
    "/{direct_id}",
    dependencies=[require_scope("upload")],
    response_model=DirectUploadOut,
    summary="Cancel a direct upload not yet complete (its URL answers 410 from now on)",
    responses={404: {}, 409: {}},
)
def cancel_direct(request: Request, direct_id: str) -> DirectUploadOut:
    uploads = direct_uploads(request)
    row = uploads.cancel(direct_id[:64], actor=api_actor(request))
    return _out(uploads, row)


# -- uploader's side (no key) -----------------------------------------------------------------
@public_router.options(
    "/{token}", status_code=204, summary="What this tus endpoint supports", responses={404: {}}
)
def direct_options(request: Request, token: str) -> Response:
    row = direct_uploads(request).find(token)
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": "creation,termination,expiration",
            "Tus-Max-Size": str(row.max_bytes),
        },
    )


@public_router.post(
    "/{token}",
    status_code=201,
    summary="Create the one upload of this URL (tus creation); Location is this same URL",
    responses={400: {}, 403: {}, 404: {}, 409: {}, 410: {}, 412: {}, 413: {}},
)
def direct_create(
    request: Request,
    token: str,
    upload_length: Annotated[int, Header(ge=0)],
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header(max_length=4096)] = None,
    origin: Annotated[str | None, Header()] = None,
) -> Response:
    _check_version(tus_resumable)
    uploads = direct_uploads(request)
    uploads.check_origin(uploads.find(token), origin)
    filename = parse_metadata(upload_metadata).get("filename")  # title etc.: the server's
    if upload_length <= 0:
        raise UploadRejected("the upload is empty (Upload-Length must be at least 1)")
    _, state = uploads.start(token, upload_length, filename)
    return Response(
        status_code=201,
        headers=_headers({"Location": uploads.url(token), **_expires(uploads.resumable, state)}),
    )


@public_router.head("/{token}", summary="Where to resume (tus core)", responses={404: {}, 410: {}})
def direct_head(
    request: Request, token: str, tus_resumable: Annotated[str | None, Header()] = None
) -> Response:
    _check_version(tus_resumable)
    uploads = direct_uploads(request)
    _, upload_id = uploads.upload_of(token)
    state = uploads.resumable.state(upload_id)
    return Response(
        status_code=200,
        headers=_headers(
            {
                "Upload-Offset": str(uploads.resumable.offset(upload_id)),
                "Upload-Length": str(state.length),
                **_expires(uploads.resumable, state),
            }
        ),
    )


@public_router.patch(
    "/{token}",
    status_code=204,
    summary="Append bytes at Upload-Offset (tus core)",
    responses={400: {}, 403: {}, 404: {}, 409: {}, 410: {}, 412: {}, 415: {}},
)
async def direct_patch(
    request: Request,
    token: str,
    upload_offset: Annotated[int, Header(ge=0)],
    tus_resumable: Annotated[str | None, Header()] = None,
    content_type: Annotated[str | None, Header()] = None,
    origin: Annotated[str | None, Header()] = None,
) -> Response:
    _check_version(tus_resumable)
    if (content_type or "").split(";")[0].strip() != "application/offset+octet-stream":
        raise UploadRejected("PATCH needs Content-Type: application/offset+octet-stream", 415)
    uploads = direct_uploads(request)
    row, upload_id = await anyio.to_thread.run_sync(uploads.upload_of, token)
    uploads.check_origin(row, origin)
    store = uploads.resumable
    state = await anyio.to_thread.run_sync(_append_stream, store, upload_id, upload_offset, request)
    return Response(
        status_code=204,
        headers=_headers({"Upload-Offset": str(store.offset(upload_id)), **_expires(store, state)}),
    )


@public_router.delete(
    "/{token}",
    status_code=204,
    summary="Abandon the upload (tus termination); the URL is spent",
    responses={404: {}, 409: {}, 410: {}},
)
def direct_delete(
    request: Request, token: str, tus_resumable: Annotated[str | None, Header()] = None
) -> Response:
    _check_version(tus_resumable)
    direct_uploads(request).terminate(token)
    return Response(status_code=204, headers=_headers())


# -- CORS ---------------------------------------------------------------------------------------
class DirectUploadCors:
    """Raw ASGI: cross-origin tus requests to ``/direct-uploads/`` from the listed origins.

    No credentials (the URL is the credential, no cookie is needed or sent), so the answer
    names the page's origin and never allows credentials. A URL bound to one origin
    (``cors_origin``) is checked by the routes themselves (403 for another page)."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PUBLIC_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if origin not in self.origins:
            await self.app(scope, receive, send)
            return
        allow = [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            preflight = [
                *allow,
                (b"access-control-allow-methods", b"POST, HEAD, PATCH, DELETE, OPTIONS"),
                (b"access-control-allow-headers", TUS_HEADERS.encode()),
                (b"access-control-max-age", b"600"),
                (b"content-length", b"0"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": preflight})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", ()),
                        *allow,
                        (b"access-control-expose-headers", EXPOSED.encode()),
                    ],
                }
            await send(message)

        await self.app(scope, receive, with_cors)
