"""Player beacons in (``POST /api/beacons``), QoE analytics and completion reports out."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from vodstack.catalogue import Beacon, is_valid_id
from vodstack.errors import NotFound, UploadRejected
from vodstack.telemetry import (
    DEFAULT_THRESHOLD,
    EVENT_TYPES,
    AssetAnalytics,
    PlaybackTelemetry,
    ViewerCompletion,
    completions_csv,
)
from vodstack.web.auth import require_admin
from vodstack.web.state import server_of

router = APIRouter(tags=["telemetry"])
admin_router = APIRouter(prefix="/api", tags=["telemetry"], dependencies=[Depends(require_admin)])

MAX_BATCH_BYTES = 256 * 1024
_DATA_FIELDS = ("ms", "bitrate", "height", "width", "track", "fatal", "code", "message", "to")
_DATA_FIELDS += ("screen_w", "screen_h")


class BeaconEventIn(BaseModel):
    """One player event. Unknown fields are ignored; unknown types are stored, not folded."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    seq: int = Field(ge=0, le=10**9, description="Per-session sequence number, from 0.")
    type: str = Field(
        pattern=r"^[a-z_]{1,32}$", description=f"One of: {', '.join(sorted(EVENT_TYPES))}."
    )
    t: float = Field(ge=0, le=30 * 86400, description="Seconds since the viewer pressed play.")
    pos: float | None = Field(default=None, ge=0, le=10**6, description="Playhead (s).")
    ms: float | None = Field(default=None, ge=0, le=10**7, description="first_frame: startup.")
    bitrate: int | None = Field(default=None, ge=0, le=10**10, description="switch: bit/s.")
    height: int | None = Field(default=None, ge=0, le=100_000)
    width: int | None = Field(default=None, ge=0, le=100_000)
    track: str | None = Field(default=None, max_length=64)
    screen_w: int | None = Field(
        default=None, ge=0, le=100_000, description="start: screen width in device pixels."
    )
    screen_h: int | None = Field(
        default=None, ge=0, le=100_000, description="start: screen height in device pixels."
    )
    from_: float | None = Field(default=None, alias="from", ge=0, le=10**6)
    to: float | None = Field(default=None, ge=0, le=10**6)
    fatal: bool | None = None
    code: str | None = Field(default=None, max_length=100)
    message: str | None = Field(default=None, max_length=500)

    def beacon(self) -> Beacon:
        data = {k: getattr(self, k) for k in _DATA_FIELDS if getattr(self, k) is not None}
        if self.from_ is not None:
            data["from"] = self.from_
        return Beacon(self.seq, self.type, self.t, self.pos, data)


class BeaconBatchIn(BaseModel):
    session: str = Field(max_length=2048, description="`session.token` from POST /play.")
    engine: str | None = Field(default=None, pattern=r"^[a-z0-9._-]{1,16}$")
    events: list[BeaconEventIn] = Field(max_length=500)


class BeaconsAccepted(BaseModel):
    accepted: int


def _telemetry(request: Request) -> PlaybackTelemetry:
    return server_of(request).playback


@router.post(
    "/api/beacons",
    response_model=BeaconsAccepted,
    summary="Player QoE/completion beacons, batched, authenticated by the play session token",
    description=(
        "The player posts events (start, first_frame, playing, pause, stall_start, seek, "
        "heartbeat, switch, error, ended, end) with the `session.token` that `POST /play` "
        "returned. Events are numbered (`seq`): a batch sent twice is counted once. "
        "Works with `navigator.sendBeacon` (no headers needed)."
    ),
    responses={401: {"description": "missing, forged or expired session token"}, 413: {}},
)
async def beacons(request: Request, batch: BeaconBatchIn) -> BeaconsAccepted:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise UploadRejected("beacon batch too large", status=413)
    events = [e.beacon() for e in batch.events]
    kept = await anyio.to_thread.run_sync(
        lambda: _telemetry(request).ingest(
            batch.session,
            events,
            user_agent=request.headers.get("user-agent", ""),
            engine=batch.engine,
        )
    )
    return BeaconsAccepted(accepted=kept)


Threshold = Annotated[
    float, Query(gt=0, le=1, description="Share of the duration that counts as completed.")
]


def _known(asset_id: str) -> None:
    if not is_valid_id(asset_id):
        raise NotFound(f"no asset {asset_id!r}")


@admin_router.get(
    "/assets/{asset_id}/analytics",
    response_model=AssetAnalytics,
    summary="QoE (startup, rebuffering, bitrate, errors) and per-viewer completion of an asset",
)
def asset_analytics(
    request: Request, asset_id: str, threshold: Threshold = DEFAULT_THRESHOLD
) -> AssetAnalytics:
    _known(asset_id)
    return _telemetry(request).analytics(asset_id, threshold)


@admin_router.get(
    "/assets/{asset_id}/completions",
    response_model=list[ViewerCompletion],
    summary="Who completed this asset (≥ threshold of distinct seconds watched); JSON or CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def asset_completions(
    request: Request,
    asset_id: str,
    threshold: Threshold = DEFAULT_THRESHOLD,
    format: Literal["json", "csv"] = "json",
    include_incomplete: Annotated[
        bool, Query(alias="all", description="Also list viewers who did not complete.")
    ] = False,
) -> list[ViewerCompletion] | PlainTextResponse:
    _known(asset_id)
    rows = _telemetry(request).completions(asset_id, threshold)
    if not include_incomplete:
        rows = [r for r in rows if r.completed]
    if format == "csv":
        return PlainTextResponse(completions_csv(asset_id, rows), media_type="text/csv")
    return rows
