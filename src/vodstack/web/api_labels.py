"""``PATCH /api/assets/{id}``: an asset's title and labels (metadata, tags, governance).

Metadata merges like an RFC 7396 JSON merge patch (a key set to null is removed); ``tags``
replaces the list; a governance label set to null is cleared; fields left out stay. Limits
(catalogue.labels) are checked on the merged result: 400 with the reason, nothing changed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from vodstack.assets.labelling import relabel
from vodstack.catalogue.labels import GOVERNANCE_LIMITS, LabelsPatch
from vodstack.errors import InvalidInput
from vodstack.web.api import AssetOut, _get, asset_out
from vodstack.web.scopes import require_scope
from vodstack.web.state import services_of

router = APIRouter(prefix="/api", tags=["assets"])


class AssetPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=500)
    metadata: dict[str, str | None] | None = Field(
        default=None,
        description="Merged into the asset's metadata; a null value removes the key. At most "
        "50 keys and 16 KB (as JSON); keys 1-64 of A-Z a-z 0-9 _ . : -, values ≤ 512 "
        "characters.",
    )
    tags: list[str] | None = Field(
        default=None, description="Replaces the tags: at most 50, each 1-64 characters."
    )
    classification: str | None = Field(default=None, description="null clears it")
    owner: str | None = Field(default=None, description="null clears it")
    cost_center: str | None = Field(default=None, description="null clears it")


@router.patch(
    "/assets/{asset_id}",
    dependencies=[require_scope("upload")],
    response_model=AssetOut,
    summary="Change an asset's title, metadata, tags and governance labels",
    responses={400: {"description": "Over a limit (keys, size, length) or a bad character"}},
)
def patch_asset(request: Request, asset_id: str, body: AssetPatch) -> AssetOut:
    services = services_of(request)
    asset = _get(request, asset_id)
    given = body.model_fields_set
    if "title" in given and body.title is None:
        raise InvalidInput("title cannot be null")
    patch = LabelsPatch(
        metadata=body.metadata,
        tags=body.tags,
        governance={name: getattr(body, name) for name in GOVERNANCE_LIMITS if name in given},
    )
    labels = relabel(services, asset.id, patch, title=body.title, fields=sorted(given))
    return asset_out(request, services.catalogue.get_asset(asset.id), labels=labels)
