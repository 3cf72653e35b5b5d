"""Test doubles for the edge cache: a settable clock and a scripted origin loader."""

from __future__ import annotations

import asyncio

from vodstack.edge.entry import Fetched


class FakeClock:
    """Freshness is judged on this clock, so TTL tests advance it instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Origin:
    """A scripted loader: answers from ``responses`` in turn (the last one repeats), records
    every call and the validator it got, and can be held at a gate to keep loads in flight."""

    def __init__(self, *responses: Fetched | BaseException) -> None:
        self.responses = list(responses)
        self.calls = 0
        self.validators: list[str | None] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def __call__(self, validator: str | None) -> Fetched:
        self.calls += 1
        self.validators.append(validator)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        else:
            await asyncio.sleep(0)
        answer = self.responses[min(self.calls, len(self.responses)) - 1]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def ok(body: bytes, etag: str | None = None, **extra: str) -> Fetched:
    headers = [("Content-Type", "video/mp4")]
    if etag:
        headers.append(("ETag", etag))
    headers += [(k.replace("_", "-"), v) for k, v in extra.items()]
    return Fetched(200, tuple(headers), body=body)
