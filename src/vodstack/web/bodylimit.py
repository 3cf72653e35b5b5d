"""Request bodies: admin authentication, size limits and a read timeout, before any parsing.

Why a raw ASGI layer: FastAPI reads and parses a JSON or form body — all of it, in memory —
before a route's dependencies run, so the admin token and the routes' own size checks came
too late. An attack run sent two parallel 150 MB JSON bodies without a token to an admin route
and to ``/api/beacons``: the worker grew by 725 MB before answering 401/413, and a request
declaring 100 MB that sent 1 MB held its connection open for good. This layer answers first:

* admin routes (:func:`~vodstack.web.auth.is_admin_path`) with a bad or missing credential
  (admin token or API key) → 401 before the body is read; the principal is left in the ASGI
  scope for the route's scope check (web/scopes.py);
* ``Content-Length`` over the route class's limit → 413 at once, without waiting for it;
* a body sent in chunks is counted as it streams and cut at the limit → 413;
* a body not received within ``body_timeout_s`` (for uploads: a pause longer than that
  between two chunks) → 408.

An answer given before the app read the whole body (a route refusing a malformed form) says
``Connection: close``: the server will not read the rest, and the client must not reuse the
connection.

Route classes (settings): uploads keep their own large limits (``max_upload_bytes`` for
masters and tus, ``audio_upload_max_bytes``, ``caption_max_bytes``); other admin routes take
``max_admin_body_bytes``; every other route ``max_public_body_bytes``. The routes still check
their exact limits themselves; this layer only guarantees nothing much larger is ever read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vodstack.catalogue.apikeys import Principal
from vodstack.config import Settings
from vodstack.entitlement import www_authenticate
from vodstack.errors import AuthError
from vodstack.web import accesslog
from vodstack.web.auth import is_admin_path
from vodstack.web.scopes import PRINCIPAL

#: Multipart framing around an uploaded file (boundaries, part headers, a title field).
FORM_OVERHEAD = 64 * 1024
#: Methods whose bodies no route reads: passed through untouched (the delivery fast path).
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class BodyClass:
    """A route class: its largest body and whether the timeout is per pause (streaming)."""

    name: str
    limit: int
    streaming: bool = False
    stated: int | None = None  # the limit to tell the client (uploads: without form framing)


def upload_classes(settings: Settings) -> tuple[tuple[str, re.Pattern[str], BodyClass], ...]:
    """The upload routes (method, path pattern, class): each keeps its own large limit."""

    def upload(limit: int) -> BodyClass:
        return BodyClass("upload", limit + FORM_OVERHEAD, streaming=True, stated=limit)

    master = upload(settings.max_upload_bytes)
    return (
        ("POST", re.compile(r"/api/assets/?"), master),
        ("PATCH", re.compile(r"/api/uploads/[^/]+"), master),
        ("PATCH", re.compile(r"/direct-uploads/[^/]+"), master),  # its own cap: ingest/direct.py
        ("POST", re.compile(r"/api/assets/[^/]+/audio"), upload(settings.audio_upload_max_bytes)),
        ("POST", re.compile(r"/api/assets/[^/]+/captions"), upload(settings.caption_max_bytes)),
    )


class BodyLimits:
    """Raw ASGI layer in front of FastAPI; see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        authenticate: Callable[[str], Principal],
    ) -> None:
        self.app = app
        self.uploads = upload_classes(settings)
        self.admin = BodyClass("admin", settings.max_admin_body_bytes)
        self.public = BodyClass("public", settings.max_public_body_bytes)
        self.timeout_s = settings.body_timeout_s
        self.authenticate = authenticate

    def _class_for(self, method: str, path: str, admin: bool) -> BodyClass:
        for m, pattern, klass in self.uploads:
            if m == method and pattern.fullmatch(path):
                return klass
        return self.admin if admin else self.public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = dict(scope["headers"])
        admin = is_admin_path(path)
        if admin:
            authorization = headers.get(b"authorization", b"").decode("latin-1")
            try:  # an API key is read from the catalogue: off the event loop
                scope[PRINCIPAL] = await anyio.to_thread.run_sync(self.authenticate, authorization)
            except AuthError as error:
                accesslog.note_error(scope, "auth")
                await _reply(
                    send, 401, error.message, [(b"www-authenticate", www_authenticate(error))]
                )
                return
        klass = self._class_for(method, path, admin)
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                accesslog.note_error(scope, "invalid_input")
                await _reply(send, 400, "Content-Length is not a number")
                return
            if int(declared) > klass.limit:
                accesslog.note_error(scope, "body_too_large")
                await _reply(send, 413, _too_large(klass))
                return
        # HTTP/1 only: an HTTP/2 stream ends on its own, and a Connection header is not allowed
        http1_body = scope.get("http_version", "1.1") in ("1.0", "1.1") and (
            declared not in (None, b"0") or b"transfer-encoding" in headers
        )
        await self._guarded(scope, receive, send, klass, http1_body)

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, klass: BodyClass, http1_body: bool
    ) -> None:
        """``http1_body``: an HTTP/1 request that declares a body (see ``guarded_send``)."""
        received = 0
        cut: list[int] = []  # the status this layer answers with, once the body was cut
        started = complete = False
        deadline = anyio.current_time() + self.timeout_s

        async def limited() -> Message:
            nonlocal received, complete
            if cut:
                return {"type": "http.disconnect"}
            if complete:  # the body is in: later calls only wait for a disconnect (streaming)
                return await receive()
            wait = self.timeout_s if klass.streaming else deadline - anyio.current_time()
            try:
                with anyio.fail_after(max(wait, 0)):
                    message = await receive()
            except TimeoutError:
                cut.append(408)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > klass.limit:
                    cut.append(413)
                    return {"type": "http.disconnect"}
                complete = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if cut and not started:
                return  # the app's answer to a body it never fully got: ours goes instead
            if message["type"] == "http.response.start":
                started = True
                if http1_body and not complete:
                    # Answered before its body was read (a refusal: a malformed form, no
                    # token): the server may drop the connection rather than read the rest
                    # (granian does for a large one), so say so, or a keep-alive client sends
                    # its next request into a closing socket.
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, limited, guarded_send)
        except Exception:
            if not cut or started:
                raise
        if cut and not started:
            accesslog.note_error(scope, "body_too_large" if cut[0] == 413 else "body_timeout")
            if cut[0] == 413:
                await _reply(send, 413, _too_large(klass))
            else:
                late = f"the request body did not arrive within {self.timeout_s:g} s"
                await _reply(send, 408, late)


def _too_large(klass: BodyClass) -> str:
    limit = klass.stated or klass.limit
    return f"the request body exceeds the size limit of {limit} bytes ({klass.name} routes)"


async def _reply(
    send: Send, status: int, error: str, extra: list[tuple[bytes, str]] | None = None
) -> None:
    """A JSON error like the app's own (web/errors.py), closing the connection: the rest of
    an unread body is not worth receiving."""
    body = json.dumps({"error": error}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *((name, value.encode("latin-1")) for name, value in extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
