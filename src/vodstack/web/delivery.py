"""Delivery: ``GET|HEAD /v1/{assetId}/{path}`` → gate → origin → bytes.

The gate runs first, on every request, before any catalogue or storage work; it is the slot
where signature verification (CloudFront-style cookies/URLs) lives.
"""

from __future__ import annotations

from typing import Protocol

from fastapi import APIRouter, Request
from starlette.responses import Response

from vodstack.catalogue.repository import is_valid_id
from vodstack.errors import NotFound
from vodstack.web.responses import ResourceResponse

router = APIRouter(tags=["delivery"])


class Gate(Protocol):
    """Decides whether a delivery request may reach the origin; raises Forbidden if not."""

    def check(self, request: Request, asset_id: str) -> None: ...


@router.api_route(
    "/v1/{asset_id}/{path:path}",
    methods=["GET", "HEAD"],
    summary="Manifests (index.m3u8, index.mpd), playlists, init and media segments",
    responses={206: {}, 304: {}, 403: {}, 404: {}, 416: {}},
)
async def deliver(request: Request, asset_id: str, path: str) -> Response:
    state = request.app.state
    state.gate.check(request, asset_id)
    if not is_valid_id(asset_id):
        raise NotFound("no such asset")
    state.services.metrics.origin_requests.labels(object_kind(path)).inc()
    resource = await _resolve(request, asset_id, path)
    return ResourceResponse(resource, state.services.store, {})


def object_kind(path: str) -> str:
    """Metric label: manifest | init | segment | other."""
    if path.endswith((".m3u8", ".mpd")):
        return "manifest"
    if path.endswith("init.mp4"):
        return "init"
    return "segment" if path.endswith(".m4s") else "other"


async def _resolve(request: Request, asset_id: str, path: str):
    import anyio

    origin = request.app.state.origin
    return await anyio.to_thread.run_sync(origin.resolve, asset_id, path)
