"""``POST /v1/{assetId}/license``: a W3C EME ClearKey licence server behind the signed gate.

The browser's CDM sends ``{"kids": [...], "type": "temporary"}``; the answer is a JWK set
with the keys of THIS asset among those KIDs [W3C EME §9.1.3–9.1.4]. The request carries the
viewer's signed cookies (same path scope as the media), which only entitled viewers hold.
Every issuance is logged in the event log — key ids only, never keys.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from vodstack.base import retry_after
from vodstack.catalogue import is_valid_id
from vodstack.errors import Forbidden, InvalidInput, NotFound, RateLimited
from vodstack.packaging.encryption import b64url, b64url_decode, clearkey_jwk
from vodstack.protection import CLEAR_KEY_REFUSED, refuse_external_in_clear
from vodstack.web.state import server_of

router = APIRouter(tags=["protection"])
_MAX_BODY = 8 * 1024


class LicenceRequest(BaseModel):
    kids: list[str] = Field(min_length=1, max_length=16)
    type: str = "temporary"


@router.post(
    "/v1/{asset_id}/license",
    summary="ClearKey licence (W3C EME JSON) for an entitled viewer's signed cookies",
    description="403 with rule `clear_key_refused` when the keys come from an external key "
    "service (SPEKE) and VODSTACK_CLEARKEY_EXTERNAL_KEYS is not set.",
    responses={400: {}, 403: {}, 404: {}, 429: {}},
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": LicenceRequest.model_json_schema()}}
        }
    },
)
async def licence(request: Request, asset_id: str) -> JSONResponse:
    return await _licence(request, asset_id, None)


@router.post(
    "/v1/{asset_id}/t/{token}/license",
    summary="ClearKey licence for a viewer holding a path token (cookie-less playback)",
    responses={400: {}, 403: {}, 404: {}, 429: {}},
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": LicenceRequest.model_json_schema()}}
        }
    },
)
async def token_licence(request: Request, asset_id: str, token: str) -> JSONResponse:
    return await _licence(request, asset_id, token)


async def _licence(request: Request, asset_id: str, token: str | None) -> JSONResponse:
    server = server_of(request)
    services, delivery = server.services, server.delivery
    # the viewer's signed cookie or path token, like for every /v1 URL
    delivery.gate.check(request, asset_id, token)
    peer = services.locator.client_ip(
        request.client.host if request.client else None, request.headers
    )
    wait = delivery.licence_limiter.acquire(peer)
    if wait > 0:
        raise RateLimited("too many licence requests", int(retry_after(wait)))
    if not is_valid_id(asset_id):
        raise NotFound("no such asset")
    body = await request.body()
    if len(body) > _MAX_BODY:
        raise InvalidInput("licence request too large")
    try:
        parsed = LicenceRequest.model_validate(json.loads(body))
        kids = [b64url_decode(k) for k in parsed.kids]
    except (ValueError, TypeError) as exc:
        raise InvalidInput('expected a ClearKey licence request {"kids": [...]}') from exc
    asset = services.catalogue.get_asset(asset_id)
    if asset.status != "ready" or not asset.published:
        raise NotFound("no such asset")
    keys = await anyio.to_thread.run_sync(delivery.protection.keys_for_licence, asset_id, kids)
    if not keys:
        raise NotFound("none of the requested keys belongs to this asset")
    try:
        refuse_external_in_clear(keys, services.settings.clearkey_external_keys)
    except Forbidden:
        services.bus.publish("licence.refused", asset_id, reason=CLEAR_KEY_REFUSED, client=peer)
        raise
    jwks: list[dict[str, Any]] = [clearkey_jwk(k.content_key) for k in keys]
    services.bus.publish(
        "licence.issued", asset_id, kids=[b64url(k.content_key.kid) for k in keys], client=peer
    )
    return JSONResponse({"keys": jwks, "type": parsed.type}, headers={"Cache-Control": "no-store"})
