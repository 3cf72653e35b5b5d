"""Structured access log and per-response metrics, as raw ASGI middleware (cheap per request).

One JSON line per request with CloudFront-like fields: time, x-edge-result-type, status,
bytes, time-taken, asset id, path, client IP, and for 4xx/5xx the reason. Written only when
configured.

Error reasons travel in the request's ASGI scope state (``scope["state"]``, which Starlette
shows as ``request.state``; servers give each request its own copy): the layer that turns an
error into a response calls :func:`note_error`, and this layer reads the note for error
responses only, so a 200 costs nothing more. Without a note the reason is ``http``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any, TextIO

from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vodstack.costs import UsageLedger
from vodstack.edge import OriginTimeout, OriginUnavailable, object_kind
from vodstack.entitlement import pathtoken
from vodstack.errors import (
    AuthError,
    Forbidden,
    InvalidInput,
    NotFound,
    OriginError,
    RangeNotSatisfiable,
    RateLimited,
    StorageError,
    Unavailable,
    VodstackError,
)
from vodstack.telemetry import Metrics, request_id

# Keys of the scope state; vodstack's own, so they cannot clash with an app's request.state.
REASON = "vodstack.reason"
RESULT = "vodstack.result"

# Most specific class first. Forbidden is not here: its ``rule`` is the reason.
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (RateLimited, "rate_limited"),
    (OriginTimeout, "origin_timeout"),
    (OriginUnavailable, "origin_unavailable"),
    (OriginError, "origin_status"),  # the origin answered an error status, passed through
    (NotFound, "not_found"),
    (RangeNotSatisfiable, "range"),
    (InvalidInput, "invalid_input"),
    (Unavailable, "unavailable"),
    (StorageError, "storage"),
    (AuthError, "auth"),
    (DBAPIError, "catalogue_unavailable"),
    (VodstackError, "error"),
)
# Statuses that have one cause wherever they come from (a 416 is answered without an error).
_STATUS_REASONS = {416: "range"}


def error_reason(exc: BaseException) -> str:
    """A short metric label for why ``exc`` became an error response (a bounded set: gate
    denial reasons, ``origin_secret``, and the names above)."""
    if isinstance(exc, Forbidden):
        return exc.rule
    for cls, reason in _REASONS:
        if isinstance(exc, cls):
            return reason
    return "internal"


def note_error(scope: Scope, reason: str, result: str = "Error") -> None:
    """Tell the access log why this request ends in an error response, and the edge result
    type to log for it (CloudFront logs ``Error`` for a refused or failed request)."""
    state = scope.get("state")
    if state is None:
        state = scope["state"] = {}
    state[REASON] = reason
    state[RESULT] = result


class AccessLog:
    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        sink: TextIO | None,
        process: dict[str, str] | None = None,
        ledger: UsageLedger | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.sink = sink
        self.process = process or {}  # role and instance, as in the process's own logs
        self.ledger = ledger  # the usage ledger (costs/ledger.py): one dict update per answer
        self._bytes: dict[str, Any] = {}
        self._errors: dict[tuple[int, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 0, "bytes": 0, "result": "-"}

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-edge-result-type":
                        state["result"] = value.decode()
                    elif name == b"content-length":
                        state["declared"] = int(value)
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            elif message["type"] == "http.response.pathsend":
                state["bytes"] += state.get("declared", 0)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            self._record(scope, state, time.perf_counter() - started)

    def _record(self, scope: Scope, state: dict, seconds: float) -> None:  # type: ignore[type-arg]
        # A path token is a bearer credential: never written in clear (pathtoken.redact).
        path: str = pathtoken.redact(scope.get("path", ""))
        status = int(state["status"])
        if path.startswith("/v1/"):
            parts = path.split("/", 3)
            asset_id = parts[2] if len(parts) > 2 else "-"
            kind = object_kind(pathtoken.split(parts[3])[1] if len(parts) > 3 else "")
            if status < 400:
                counter = self._bytes.get(kind)
                if counter is None:  # resolve each label once: labels() is not free
                    counter = self._bytes[kind] = self.metrics.edge_bytes.labels(kind)
                counter.inc(state["bytes"])
                if self.ledger is not None and len(parts) > 3:
                    self.ledger.add(asset_id, parts[3], state["result"], state["bytes"])
        else:
            asset_id = "-"
        reason = None
        if status >= 400:  # the note is read for error responses only
            noted = scope.get("state")
            if noted:
                reason = noted.get(REASON)
                if state["result"] == "-":
                    state["result"] = noted.get(RESULT, "-")
            if reason is None:
                reason = _STATUS_REASONS.get(status, "http")
            errors = self._errors.get((status, reason))
            if errors is None:  # reasons are a bounded set: resolve each label pair once
                errors = self._errors[(status, reason)] = self.metrics.responses.labels(
                    str(status), reason
                )
            errors.inc()
        if self.sink is None:
            return
        client = scope.get("client") or ("-", 0)
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "x-edge-result-type": state["result"],
            "status": status,
            "method": scope.get("method"),
            "path": path,
            "asset": asset_id,
            "bytes": state["bytes"],
            "time-taken": round(seconds, 6),
            "c-ip": client[0],
            "reason": reason or "-",
            "request_id": request_id.get(),
            **self.process,
        }
        self.sink.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.sink.flush()


def open_sink(target: str | None) -> TextIO | None:
    if target is None:
        return None
    if target == "-":
        return sys.stderr
    logging.getLogger(__name__).info("access log: %s", target)
    # Owner-only: the log holds viewer addresses and paths (0600 whatever the umask).
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return open(fd, "a", buffering=1, encoding="utf-8")
