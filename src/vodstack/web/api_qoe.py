"""Catalogue-wide QoE (``GET /api/qoe``): startup, rebuffering, errors and completion over all
assets, and per asset measured the same way (telemetry/catalogue_qoe.py), for the admin
page's "Viewing quality" view beside each asset's own report (``/api/assets/{id}/analytics``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from vodstack.telemetry import (
    DEFAULT_THRESHOLD,
    AssetFacts,
    CatalogueQoe,
    PlaybackTelemetry,
    catalogue_summary,
)
from vodstack.web.scopes import require_scope
from vodstack.web.state import server_of

router = APIRouter(prefix="/api", tags=["telemetry"], dependencies=[require_scope("read")])

#: At most this many sessions (the newest) are read for one summary: the answer stays fast
#: and bounded in memory on a busy catalogue; ``truncated`` says when the cap applied.
MAX_SESSIONS = 100_000


def catalogue_qoe(
    telemetry: PlaybackTelemetry,
    *,
    days: int | None,
    threshold: float,
    top: int,
    now: datetime | None = None,
) -> CatalogueQoe:
    since = (now or datetime.now(UTC)) - timedelta(days=days) if days else None
    sessions = telemetry.sessions
    records = sessions.recent_totals(since=since, limit=MAX_SESSIONS + 1)
    truncated = len(records) > MAX_SESSIONS
    records = records[:MAX_SESSIONS]
    known = sessions.asset_facts({r.asset_id for r in records})
    facts = {asset_id: AssetFacts(title, duration) for asset_id, (title, duration) in known.items()}
    return catalogue_summary(
        records, facts, threshold=threshold, since=since, truncated=truncated, top=top
    )


@router.get(
    "/qoe",
    response_model=CatalogueQoe,
    summary="Catalogue-wide QoE: startup, rebuffering, errors, completion; and per asset",
    description=(
        "Over every session (or those of the last `days`): startup p50/p95, rebuffering "
        "ratio (Σ stalled / Σ (playing + stalled)), share of sessions with a fatal error, and "
        "completion (a view = one viewer's sessions of one asset; completed at `threshold` "
        "of the duration). `per_asset`: the same figures per asset, most-watched first "
        f"(`top` of them). At most the newest {MAX_SESSIONS:,} sessions are read "
        "(`truncated` says so)."
    ),
)
def qoe(
    request: Request,
    days: Annotated[
        int | None, Query(ge=1, le=3650, description="Only sessions of the last N days")
    ] = None,
    threshold: Annotated[
        float, Query(gt=0, le=1, description="Share of the duration that counts as completed.")
    ] = DEFAULT_THRESHOLD,
    top: Annotated[int, Query(ge=1, le=500, description="Per-asset rows returned")] = 50,
) -> CatalogueQoe:
    return catalogue_qoe(server_of(request).playback, days=days, threshold=threshold, top=top)
