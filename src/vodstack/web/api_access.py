"""Read an asset's access rules (``GET /api/assets/{id}/access``), the counterpart of
``PUT /api/assets/{id}/access`` (web/api_entitlement.py): the admin page shows the rules in
force before an operator changes them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vodstack.web.api_entitlement import AccessIn
from vodstack.web.scopes import require_scope
from vodstack.web.state import services_of

router = APIRouter(prefix="/api", tags=["entitlement"], dependencies=[require_scope("read")])


@router.get(
    "/assets/{asset_id}/access",
    response_model=AccessIn,
    summary="Which plans and countries may play (as set with PUT; null = no restriction)",
    responses={404: {}},
)
def get_access(request: Request, asset_id: str) -> AccessIn:
    asset = services_of(request).assets.get(asset_id)
    return AccessIn(
        plans=None if asset.plans is None else list(asset.plans),
        geo_allow=None if asset.geo_allow is None else list(asset.geo_allow),
        geo_deny=None if asset.geo_deny is None else list(asset.geo_deny),
    )
