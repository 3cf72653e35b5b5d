"""Resumable uploads over HTTP: the tus 1.0.0 protocol at ``/api/uploads`` (core, creation,
termination, expiration), for masters too large or connections too poor for one request.

A client creates an upload with ``POST /api/uploads`` (``Upload-Length``, optional
``Upload-Metadata`` with ``filename``, ``title``, ``ladder``), sends bytes with ``PATCH``
(``Upload-Offset`` = what the server has, ``Content-Type: application/offset+octet-stream``),
asks ``HEAD`` where to resume after a failure, and gets the asset id in ``Vodstack-Asset-Id``
once the last byte is in (or from ``GET /api/uploads/{id}``). Any tus client works
(tus-js-client, tuspy, Uppy); the tests use tuspy. State and bytes: ``ingest/resumable.py``.
Spec: https://tus.io/protocols/resumable-upload (1.0.0).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from email.utils import formatdate
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel

from vodstack.errors import InvalidInput, UploadRejected
from vodstack.ingest import ResumableUploads, UploadState
from vodstack.web.auth import require_admin
from vodstack.web.state import services_of

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,expiration"
_PIECE = 1024 * 1024  # bytes handed to the writer thread at a time

router = APIRouter(prefix="/api/uploads", tags=["uploads"], dependencies=[Depends(require_admin)])


class UploadOut(BaseModel):
    id: str
    offset: int
    length: int
    asset_id: str | None


def uploads(request: Request) -> ResumableUploads:
    services = services_of(request)
    settings = services.settings
    return ResumableUploads(settings.home / "uploads", services.ingestor, settings.upload_expiry_s)


def _check_version(tus_resumable: str | None) -> None:
    if tus_resumable != TUS_VERSION:
        raise UploadRejected(f"Tus-Resumable {TUS_VERSION} is required", status=412)


def _headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **(extra or {})}


def _expires(store: ResumableUploads, state: UploadState) -> dict[str, str]:
    if state.asset_id is not None:
        return {"Vodstack-Asset-Id": state.asset_id}
    return {"Upload-Expires": formatdate(store.expires_at(state), usegmt=True)}


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (value optional)."""
    out: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        key, _, value = pair.strip().partition(" ")
        if key not in ("filename", "title", "ladder", "filetype", "name"):
            continue  # other keys are the client's business
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")[:500]
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput(f"Upload-Metadata value of {key!r} is not base64 UTF-8") from None
    if "filename" not in out and "name" in out:  # Uppy calls it "name"
        out["filename"] = out["name"]
    return out


@router.options("", summary="What this tus server supports", status_code=204)
def options(request: Request) -> Response:
    settings = services_of(request).settings
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": EXTENSIONS,
            "Tus-Max-Size": str(settings.max_upload_bytes),
        },
    )


@router.post(
    "",
    status_code=201,
    summary="Create a resumable upload (tus creation)",
    responses={400: {}, 401: {}, 412: {}, 413: {}},
)
def create(
    request: Request,
    upload_length: Annotated[int, Header(ge=0)],
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header(max_length=4096)] = None,
) -> Response:
    _check_version(tus_resumable)
    metadata = parse_metadata(upload_metadata)
    profiles = services_of(request).settings.ladder_profiles
    if metadata.get("ladder") and metadata["ladder"] not in profiles:
        raise InvalidInput(f"no ladder named {metadata['ladder']!r}; known: {', '.join(profiles)}")
    store = uploads(request)
    state = store.create(upload_length, metadata)
    return Response(
        status_code=201,
        headers=_headers({"Location": f"/api/uploads/{state.id}", **_expires(store, state)}),
    )


@router.head("/{upload_id}", summary="Where to resume (tus core)", responses={404: {}})
def head(
    request: Request, upload_id: str, tus_resumable: Annotated[str | None, Header()] = None
) -> Response:
    _check_version(tus_resumable)
    store = uploads(request)
    state = store.state(upload_id)
    return Response(
        status_code=200,
        headers=_headers(
            {
                "Upload-Offset": str(store.offset(upload_id)),
                "Upload-Length": str(state.length),
                **_expires(store, state),
            }
        ),
    )


@router.get("/{upload_id}", response_model=UploadOut, summary="An upload's progress and asset")
def get(request: Request, upload_id: str) -> UploadOut:
    store = uploads(request)
    state = store.state(upload_id)
    return UploadOut(
        id=state.id, offset=store.offset(upload_id), length=state.length, asset_id=state.asset_id
    )


@router.patch(
    "/{upload_id}",
    status_code=204,
    summary="Append bytes at Upload-Offset (tus core)",
    responses={400: {}, 404: {}, 409: {}, 412: {}, 415: {}},
)
async def patch(
    request: Request,
    upload_id: str,
    upload_offset: Annotated[int, Header(ge=0)],
    tus_resumable: Annotated[str | None, Header()] = None,
    content_type: Annotated[str | None, Header()] = None,
) -> Response:
    _check_version(tus_resumable)
    if (content_type or "").split(";")[0].strip() != "application/offset+octet-stream":
        raise UploadRejected("PATCH needs Content-Type: application/offset+octet-stream", 415)
    store = uploads(request)
    state = await anyio.to_thread.run_sync(_append_stream, store, upload_id, upload_offset, request)
    return Response(
        status_code=204,
        headers=_headers({"Upload-Offset": str(store.offset(upload_id)), **_expires(store, state)}),
    )


def _append_stream(
    store: ResumableUploads, upload_id: str, offset: int, request: Request
) -> UploadState:
    """Runs in a worker thread: pulls the body from the event loop piece by piece, so a
    multi-GB PATCH never sits in memory and the file lock is held by one thread."""
    body: AsyncIterator[bytes] = request.stream()

    async def next_piece() -> bytes | None:
        buffer = bytearray()
        async for chunk in body:
            buffer += chunk
            if len(buffer) >= _PIECE:
                break
        return bytes(buffer) if buffer else None

    def pieces() -> Any:
        while (piece := anyio.from_thread.run(next_piece)) is not None:
            yield piece

    return store.append(upload_id, offset, pieces())


@router.delete("/{upload_id}", status_code=204, summary="Abandon an upload (tus termination)")
def delete(
    request: Request, upload_id: str, tus_resumable: Annotated[str | None, Header()] = None
) -> Response:
    _check_version(tus_resumable)
    uploads(request).terminate(upload_id)
    return Response(status_code=204, headers=_headers())
