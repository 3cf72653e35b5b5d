"""``X-Request-Id``: one id per viewer request, from the edge through the shield to the origin.

The edge accepts a well-formed id from the client (or a CDN in front of it) and otherwise
makes one; it is echoed on the response, written in the access log and in every log record
of the request (``vodstack.telemetry.logs.request_id``), and sent on the edge's request to
its origin (``vodstack.edge.loaders.HttpOrigins``), where the same layer picks it up again.
A collapsed origin fetch carries the id of the request that started it.
"""

from __future__ import annotations

import re
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vodstack.telemetry import request_id

HEADER = b"x-request-id"
# Printable, no spaces or quotes: an id is copied into logs and headers as it is.
_VALID = re.compile(rb"[A-Za-z0-9._:@/+=-]{1,128}")


def incoming_id(scope: Scope) -> str:
    """The client's id when it is well formed, else a new random one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            if _VALID.fullmatch(value):
                return value.decode()
            break
    return secrets.token_hex(16)


class RequestId:
    """Raw ASGI layer: sets the request id for everything inside it and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope)
        token = request_id.set(rid)
        header = (HEADER, rid.encode())

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            request_id.reset(token)
