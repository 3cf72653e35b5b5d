"""Jobs and the event log over HTTP (read scope): what ``vodstack jobs list`` and
``vodstack events`` show, paged like every listing (web/listing.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from vodstack.catalogue import Event, Job, is_valid_id
from vodstack.catalogue.listing import EVENTS, JOBS
from vodstack.errors import NotFound
from vodstack.web import listing
from vodstack.web.scopes import require_scope
from vodstack.web.state import services_of

router = APIRouter(prefix="/api", tags=["jobs"], dependencies=[require_scope("read")])


class JobOut(BaseModel):
    id: str
    asset_id: str
    kind: str = Field(description="transcode, extras (poster, storyboard, download, VMAF), …")
    lane: str = Field(description="ondemand or backfill")
    state: str = Field(description="queued, running, succeeded, failed or dead (DLQ)")
    attempts: int
    max_attempts: int
    progress: float
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    stages: dict[str, Any] | None = Field(
        default=None, description="wall and CPU seconds per stage (transcode.timing)"
    )


class EventOut(BaseModel):
    id: int
    type: str
    asset_id: str | None
    created_at: datetime
    payload: dict[str, Any]


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=job.id,
        asset_id=job.asset_id,
        kind=job.kind,
        lane=job.queue,
        state=job.state,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        progress=round(job.progress, 4),
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        stages=job.stages,
    )


def event_out(event: Event) -> EventOut:
    return EventOut(
        id=event.id,
        type=event.type,
        asset_id=event.asset_id,
        created_at=event.created_at,
        payload=event.payload or {},
    )


@router.get(
    "/jobs",
    response_model=list[JobOut],
    summary="Jobs, newest first; filter by state, lane, asset, kind, time (paged)",
    **listing.listing_openapi(JOBS, "jobs"),
)
def list_jobs(request: Request, response: Response) -> list[JobOut]:
    return listing.respond(request, response, JOBS, lambda rows: [job_out(j) for j in rows])


@router.get("/jobs/{job_id}", response_model=JobOut, summary="One job")
def get_job(request: Request, job_id: str) -> JobOut:
    if not is_valid_id(job_id):
        raise NotFound(f"no job {job_id[:40]!r}")
    return job_out(services_of(request).catalogue.get_job(job_id))


@router.get(
    "/events",
    response_model=list[EventOut],
    summary="The event and audit log, newest first; filter by type, asset, time (paged)",
    **listing.listing_openapi(EVENTS, "events"),
)
def list_events(request: Request, response: Response) -> list[EventOut]:
    return listing.respond(request, response, EVENTS, lambda rows: [event_out(e) for e in rows])
