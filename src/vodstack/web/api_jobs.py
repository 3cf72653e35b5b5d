"""Job actions over HTTP: re-drive a dead job, re-send the queued ones to the broker — what
``vodstack jobs redrive`` and ``vodstack jobs resend`` do. Reading jobs is web/api_activity.py
(scope ``read``); these write, so they live in a router of their own with their own scopes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from vodstack.catalogue import is_valid_id
from vodstack.errors import NotFound
from vodstack.web.api_activity import JobOut, job_out
from vodstack.web.scopes import require_scope
from vodstack.web.state import services_of

router = APIRouter(prefix="/api/jobs", tags=["jobs"])


class ResentOut(BaseModel):
    resent: list[str] = Field(description="ids of the queued jobs dispatched again")


@router.post(
    "/resend",
    dependencies=[require_scope("admin")],
    response_model=ResentOut,
    summary="Send every queued job to the broker again (after it lost its data); idempotent",
)
def resend(request: Request) -> ResentOut:
    return ResentOut(resent=services_of(request).pipeline.resend_queued())


@router.post(
    "/{job_id}/redrive",
    dependencies=[require_scope("publish")],
    response_model=JobOut,
    summary="Put a dead job back in its queue with fresh attempts (fix its cause first)",
    description="404: no such job; 409: the job is not in the dead-letter queue, or another "
    "job of its asset is active (the reason says which).",
    responses={404: {}, 409: {}},
)
def redrive(request: Request, job_id: str) -> JobOut:
    if not is_valid_id(job_id):
        raise NotFound(f"no job {job_id[:40]!r}")
    return job_out(services_of(request).pipeline.redrive(job_id))
