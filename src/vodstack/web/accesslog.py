"""Structured access log and per-response metrics, as raw ASGI middleware (cheap per request).

One JSON line per request with CloudFront-like fields: time, x-edge-result-type, status,
bytes, time-taken, asset id, path, client IP. Written only when configured.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vodstack.edge.service import object_kind
from vodstack.telemetry.metrics import Metrics


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: Metrics, sink: TextIO | None) -> None:
        self.app = app
        self.metrics = metrics
        self.sink = sink
        self._bytes: dict[str, Any] = {}

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
        path: str = scope.get("path", "")
        status = int(state["status"])
        if path.startswith("/v1/"):
            parts = path.split("/", 3)
            asset_id = parts[2] if len(parts) > 2 else "-"
            kind = object_kind(parts[3] if len(parts) > 3 else "")
            if status < 400:
                counter = self._bytes.get(kind)
                if counter is None:  # resolve each label once: labels() is not free
                    counter = self._bytes[kind] = self.metrics.edge_bytes.labels(kind)
                counter.inc(state["bytes"])
        else:
            asset_id = "-"
        if status >= 400:
            self.metrics.responses.labels(str(status), "http").inc()
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
        }
        self.sink.write(json.dumps(line, separators=(",", ":")) + "\n")
        self.sink.flush()


def open_sink(target: str | None) -> TextIO | None:
    if target is None:
        return None
    if target == "-":
        return sys.stderr
    logging.getLogger(__name__).info("access log: %s", target)
    return open(target, "a", buffering=1, encoding="utf-8")
