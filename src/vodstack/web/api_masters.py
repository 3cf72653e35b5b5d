"""Retained masters of deleted assets over HTTP (``vodstack.masters``): look, restore, purge."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from vodstack.assets.masters import Masters
from vodstack.base.actor import api_actor
from vodstack.web.scopes import require_scope
from vodstack.web.state import services_of

router = APIRouter(prefix="/api", tags=["assets"])


class RetainedOut(BaseModel):
    id: str
    keys: list[str] = Field(description="Object keys under masters/{id}/")
    size: int = Field(description="Bytes kept")
    record: dict[str, Any] = Field(description="What the deletion kept to rebuild the asset")


class RestoredOut(BaseModel):
    id: str
    status: str
    job: str


class PurgedOut(BaseModel):
    id: str
    purged: bool
    keys: list[str]
    size: int


def _masters(request: Request) -> Masters:
    s = services_of(request)
    return Masters(s.catalogue, s.store, s.bus, s.pipeline)


@router.get(
    "/assets/{asset_id}/master",
    dependencies=[require_scope("read")],
    response_model=RetainedOut,
    summary="The retained master of a deleted asset (409 while the asset exists)",
    responses={404: {}, 409: {}},
)
def get_master(request: Request, asset_id: str) -> RetainedOut:
    kept = _masters(request).retained(asset_id)
    return RetainedOut(id=asset_id, keys=list(kept.keys), size=kept.size, record=kept.record)


@router.post(
    "/assets/{asset_id}/restore",
    dependencies=[require_scope("upload")],
    status_code=202,
    response_model=RestoredOut,
    summary="Rebuild a deleted asset from its retained master (same id; re-transcoded)",
    responses={404: {}, 409: {}},
)
def restore(request: Request, asset_id: str) -> RestoredOut:
    asset, job_id = _masters(request).restore(asset_id, api_actor(request))
    return RestoredOut(id=asset.id, status=asset.status, job=job_id)


@router.delete(
    "/assets/{asset_id}/master",
    dependencies=[require_scope("admin")],
    response_model=PurgedOut,
    summary="Delete the retained master of a deleted asset for good (audited: master.purged)",
    responses={404: {}, 409: {}},
)
def purge_master(request: Request, asset_id: str) -> PurgedOut:
    kept = _masters(request).purge(asset_id, api_actor(request))
    return PurgedOut(id=asset_id, purged=True, keys=list(kept.keys), size=kept.size)
