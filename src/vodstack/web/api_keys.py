"""``/api/api-keys``: scoped API keys (catalogue.apikeys) — create (the token is in that
answer only), list, inspect, revoke. Scope ``keys``; a key can grant only scopes it holds.

Not ``/api/keys``: that path already serves the signing key group (CloudFront-style public
keys), whose routes and CLI (``vodstack keys``) stay as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from vodstack.catalogue.apikeys import MAX_NAME, SCOPES, ApiKey, ApiKeys, Principal
from vodstack.web.scopes import require_scope
from vodstack.web.state import authenticator_of, services_of

router = APIRouter(prefix="/api/api-keys", tags=["api keys"])

API_KEY_CREATED = "api_key.created"
API_KEY_REVOKED = "api_key.revoked"


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME, description="What the key is for")
    scopes: list[str] = Field(
        min_length=1,
        max_length=len(SCOPES),
        description="Any of: " + "; ".join(f"`{k}`: {v}" for k, v in SCOPES.items()),
    )


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None = Field(description="to the minute")
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    token: str = Field(
        description="`Authorization: Bearer <token>`. Shown once: only its SHA-256 is kept."
    )


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        scopes=list(key.scopes),
        created_at=key.created_at,
        created_by=key.created_by,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _keys(request: Request) -> ApiKeys:
    return authenticator_of(request).keys


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key with some scopes; the token is in this answer only",
    responses={400: {}, 403: {"description": "Granting a scope the caller does not hold"}},
)
def create_key(
    request: Request, body: ApiKeyIn, principal: Annotated[Principal, require_scope("keys")]
) -> JSONResponse:
    key, token = _keys(request).create(body.name, body.scopes, principal)
    services_of(request).bus.publish(
        API_KEY_CREATED, None, id=key.id, name=key.name, scopes=key.scopes, by=key.created_by
    )
    created = ApiKeyCreated(**_out(key).model_dump(), token=token)
    return JSONResponse(
        created.model_dump(mode="json"),
        status_code=201,
        headers={"Cache-Control": "no-store", "Location": f"/api/api-keys/{key.id}"},
    )


@router.get(
    "",
    dependencies=[require_scope("keys")],
    response_model=list[ApiKeyOut],
    summary="API keys (never their tokens), oldest first",
)
def list_keys(
    request: Request,
    revoked: Annotated[bool, Query(description="Include revoked keys")] = False,
) -> list[ApiKeyOut]:
    return [_out(k) for k in _keys(request).list(include_revoked=revoked)]


@router.get(
    "/{key_id}",
    dependencies=[require_scope("keys")],
    response_model=ApiKeyOut,
    summary="One API key",
)
def get_key(request: Request, key_id: str) -> ApiKeyOut:
    return _out(_keys(request).get(key_id))


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke an API key: refused from the next request on, in every process",
)
def revoke_key(
    request: Request, key_id: str, principal: Annotated[Principal, require_scope("keys")]
) -> None:
    key = _keys(request).revoke(key_id)
    services_of(request).bus.publish(
        API_KEY_REVOKED, None, id=key.id, name=key.name, by=principal.describe()
    )
