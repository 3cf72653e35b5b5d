"""The one place where vodstack errors become HTTP statuses (style lesson 6)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from vodstack.errors import (
    AuthError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RangeNotSatisfiable,
    SourceInvalid,
    StorageError,
    UploadRejected,
    VodstackError,
)

log = logging.getLogger(__name__)


def status_for(exc: VodstackError) -> int:
    if isinstance(exc, UploadRejected):
        return exc.status
    if isinstance(exc, RangeNotSatisfiable):
        return 416
    table: tuple[tuple[type[VodstackError], int], ...] = (
        (AuthError, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (Conflict, 409),
        (InvalidInput, 400),
        (SourceInvalid, 422),
        (StorageError, 503),
    )
    for cls, status in table:
        if isinstance(exc, cls):
            return status
    return 500


async def _vodstack_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VodstackError)
    status = status_for(exc)
    body: dict[str, object] = {"error": exc.message}
    headers: dict[str, str] = {}
    if isinstance(exc, Forbidden):
        body["rule"] = exc.rule
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = getattr(exc, "www_authenticate", None) or "Bearer"
    if status >= 500:
        log.error("%s %s → %d: %s", request.method, request.url.path, status, exc.message)
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(VodstackError, _vodstack_error)
