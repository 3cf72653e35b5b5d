"""Catalogue-wide operations over HTTP (admin): start one, follow its progress, cancel or
resume it. Same operations as ``vodstack operations …`` (jobs.operations)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from vodstack.catalogue import is_valid_id
from vodstack.catalogue.operations import STATES, Operation, Operations, progress
from vodstack.errors import NotFound
from vodstack.jobs import operations as engine
from vodstack.web.scopes import require_scope
from vodstack.web.state import delivery_of, services_of

router = APIRouter(
    prefix="/api/operations", tags=["operations"], dependencies=[require_scope("admin")]
)


class OperationIn(BaseModel):
    kind: Literal["retranscode", "protect", "rekey", "publish", "unpublish"] = Field(
        description="retranscode: every master again (`ladder`: a ladder backfill), on the "
        "backfill lane; protect: serve with `schemes`; rekey: new keys for protected assets; "
        "publish / unpublish: allow or stop playback"
    )
    ladder: str | None = Field(default=None, max_length=20)
    schemes: list[str] | None = Field(default=None, max_length=4)
    status: list[str] | None = Field(
        default=None, max_length=5, description="only assets in these states"
    )
    tag: list[str] | None = Field(
        default=None, max_length=20, description="only assets with all these tags"
    )
    max_per_s: float | None = Field(default=None, gt=0, description="assets per second, at most")


class OperationOut(BaseModel):
    id: str
    kind: str
    params: dict[str, Any]
    state: str = Field(description="queued, running, paused, succeeded, failed, cancelled")
    total: int
    done: int
    skipped: int
    failed: int
    remaining: int
    rate_per_s: float | None = Field(description="assets per second in the current run")
    eta_s: float | None
    errors: dict[str, str] = Field(description="asset id → reason (the first 100)")
    error: str | None
    created_at: str
    updated_at: str
    finished_at: str | None


def operation_out(op: Operation) -> OperationOut:
    p = progress(op)
    return OperationOut(
        id=op.id,
        kind=op.kind,
        params=op.params,
        state=op.state,
        total=op.total,
        done=op.done,
        skipped=op.skipped,
        failed=op.failed,
        remaining=p.remaining,
        rate_per_s=None if p.rate_per_s is None else round(p.rate_per_s, 2),
        eta_s=None if p.eta_s is None else round(p.eta_s, 1),
        errors=dict(op.errors or {}),
        error=op.error,
        created_at=op.created_at.isoformat(),
        updated_at=op.updated_at.isoformat(),
        finished_at=op.finished_at.isoformat() if op.finished_at else None,
    )


def _get(request: Request, op_id: str) -> Operation:
    if not is_valid_id(op_id):
        raise NotFound(f"no operation {op_id!r}")
    return Operations(services_of(request).db).get(op_id)


@router.post(
    "",
    status_code=202,
    response_model=OperationOut,
    summary="Start a catalogue-wide operation (batched, resumable; progress at its URL)",
)
def start(request: Request, body: OperationIn) -> JSONResponse:
    services = services_of(request)
    params = body.model_dump(exclude={"kind"}, exclude_none=True)
    op = engine.create(services, body.kind, params)
    engine.launch(services, op.id, delivery_of(request).protection)
    return JSONResponse(
        operation_out(_get(request, op.id)).model_dump(),
        status_code=202,
        headers={"Location": f"/api/operations/{op.id}"},
    )


@router.get("", response_model=list[OperationOut], summary="Operations, newest first")
def list_operations(
    request: Request,
    state: Annotated[Literal[STATES] | None, Query()] = None,  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[OperationOut]:
    ops = Operations(services_of(request).db).list(state=state, limit=limit)
    return [operation_out(op) for op in ops]


@router.get(
    "/{op_id}",
    response_model=OperationOut,
    summary="One operation: done/total, rate, ETA, per-asset reasons",
)
def get_operation(request: Request, op_id: str) -> OperationOut:
    return operation_out(_get(request, op_id))


@router.post("/{op_id}/cancel", response_model=OperationOut, summary="Stop after this batch")
def cancel(request: Request, op_id: str) -> OperationOut:
    _get(request, op_id)
    return operation_out(Operations(services_of(request).db).cancel(op_id))


@router.post(
    "/{op_id}/resume",
    response_model=OperationOut,
    summary="Go on from the cursor (a paused, cancelled or failed operation)",
)
def resume(request: Request, op_id: str) -> OperationOut:
    services = services_of(request)
    _get(request, op_id)
    op = Operations(services.db).requeue(op_id)
    if op.state == "queued":
        engine.launch(services, op_id, delivery_of(request).protection)
    return operation_out(_get(request, op_id))
