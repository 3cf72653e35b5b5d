"""The one place where vodstack errors become HTTP statuses (style lesson 6)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from vodstack.edge import OriginTimeout
from vodstack.entitlement import pathtoken, www_authenticate
from vodstack.errors import (
    AuthError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OriginError,
    RangeNotSatisfiable,
    RateLimited,
    SourceInvalid,
    StorageError,
    Unavailable,
    UploadRejected,
    VodstackError,
)
from vodstack.web import accesslog

log = logging.getLogger(__name__)


def status_for(exc: VodstackError) -> int:
    if isinstance(exc, UploadRejected):
        return exc.status
    if isinstance(exc, RangeNotSatisfiable):
        return 416
    if isinstance(exc, RateLimited):
        return 429
    if isinstance(exc, OriginTimeout):
        return 504
    table: tuple[tuple[type[VodstackError], int], ...] = (
        (OriginError, 502),
        (AuthError, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (Conflict, 409),
        (InvalidInput, 400),
        (SourceInvalid, 422),
        (StorageError, 503),
        (Unavailable, 503),
    )
    for cls, status in table:
        if isinstance(exc, cls):
            return status
    return 500


async def _vodstack_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VodstackError)
    status = status_for(exc)
    accesslog.note_error(request.scope, accesslog.error_reason(exc))
    # Origin failures carry internal detail (paths, exception text): log it, show a summary.
    public = "the origin is unavailable" if isinstance(exc, OriginError) else exc.message
    body: dict[str, object] = {"error": public}
    headers: dict[str, str] = {}
    if isinstance(exc, Forbidden) and exc.public:
        body["rule"] = exc.rule
    if isinstance(exc, RateLimited) or (isinstance(exc, Unavailable) and exc.retry_after):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = www_authenticate(exc)
    if status >= 500:
        log.error(
            "%s %s → %d: %s",
            request.method,
            pathtoken.redact(request.url.path),
            status,
            exc.message,
        )
    return JSONResponse(body, status_code=status, headers=headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # The catalogue is down or restarting: answer fast and let clients retry; the connection
    # pool (pre-ping) recovers on its own once the database is back.
    log.error(
        "%s %s → 503: catalogue unavailable (%s)",
        request.method,
        pathtoken.redact(request.url.path),
        type(exc).__name__,
    )
    return JSONResponse(
        {"error": "the catalogue is unavailable; retry shortly"},
        status_code=503,
        headers={"Retry-After": "2"},
    )


#: Longest message kept per validation error: pydantic's own are short; this bounds the rest.
_MAX_MESSAGE = 200
#: At most this many validation errors are listed (a hostile list can hold millions).
_MAX_ERRORS = 20


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each field and its problem, without echoing the input back.

    FastAPI's default puts every offending value (``input``) into the response: a 20 MB body
    came back as a 20 MB 422, and a reflected value is a gift to anyone probing the API."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "loc": [str(part) for part in error.get("loc", ())][:10],
            "msg": str(error.get("msg", "invalid"))[:_MAX_MESSAGE],
            "type": str(error.get("type", "value_error"))[:60],
        }
        for error in exc.errors()[:_MAX_ERRORS]
    ]
    fields = ", ".join(".".join(p["loc"][1:] or p["loc"]) for p in problems[:3])  # type: ignore[arg-type]
    accesslog.note_error(request.scope, "invalid_input")
    summary = f"invalid request: {fields}" if fields else "invalid request"
    return JSONResponse({"error": summary, "detail": problems}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(VodstackError, _vodstack_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _database_error)


async def respond(request: Request, exc: Exception) -> JSONResponse:
    """The response the app's handlers give for ``exc`` (for code outside the router)."""
    if isinstance(exc, VodstackError):
        return await _vodstack_error(request, exc)
    if isinstance(exc, DBAPIError):
        return await _database_error(request, exc)
    log.exception(
        "unhandled error on %s %s", request.method, pathtoken.redact(request.url.path), exc_info=exc
    )
    return JSONResponse({"error": "internal error"}, status_code=500)
