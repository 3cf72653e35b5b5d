"""Cost reports over HTTP (admin): ``GET /api/costs``, ``/api/costs/recommendations``,
``/api/costs/{asset_id}``. Same figures as ``vodstack costs`` (docs/costs.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from vodstack.catalogue import is_valid_id
from vodstack.costs import CostService, parse_since
from vodstack.costs.recommend import recommend
from vodstack.errors import NotFound
from vodstack.web.auth import require_admin
from vodstack.web.state import services_of

router = APIRouter(prefix="/api/costs", tags=["costs"], dependencies=[Depends(require_admin)])

Since = Annotated[
    str | None,
    Query(description="Usage since: a duration ago (`7d`, `24h`, `30m`) or an ISO date/time."),
]
_ABOUT = (
    " Money is an estimate from the operator's unit prices (`VODSTACK_COST_*`; the defaults "
    "are examples). Egress: bytes edges sent viewers, by cache result; hit ratio = cached "
    "answers / answers; origin offload = cached bytes / bytes."
)


def _service(request: Request) -> CostService:
    services = services_of(request)
    return CostService(services.settings, services.db, services.store)


@router.get(
    "",
    summary="Egress, storage, transcode and money, per title and in total",
    description="Every title with a finished transcode." + _ABOUT,
)
def costs(request: Request, since: Since = None) -> dict[str, Any]:
    return _service(request).report(None, parse_since(since, datetime.now(UTC))).to_json()


@router.get(
    "/recommendations",
    summary="Ladder recommendations: rungs under the watch-time threshold, rungs missing",
    description="Per ladder template and per asset. Applying one is a re-transcode on the "
    "backfill lane: `vodstack costs recommend --apply` (dry run without it).",
)
def recommendations(
    request: Request,
    since: Since = None,
    min_share: Annotated[float | None, Query(ge=0, le=1)] = None,
) -> list[dict[str, Any]]:
    service = _service(request)
    report = service.report(None, parse_since(since, datetime.now(UTC)))
    settings = service.settings
    share = min_share if min_share is not None else settings.costs_min_share
    return [asdict(r) for r in recommend(report, share, service.template_heights())]


@router.get("/{asset_id}", summary="One title's costs, rung by rung", description=_ABOUT.strip())
def asset_costs(request: Request, asset_id: str, since: Since = None) -> dict[str, Any]:
    if not is_valid_id(asset_id):
        raise NotFound(f"no asset {asset_id!r}")
    return _service(request).report(asset_id, parse_since(since, datetime.now(UTC))).to_json()
