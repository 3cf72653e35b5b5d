"""Request collapsing on its own: one load per key, shared outcome, bounded waits."""

from __future__ import annotations

import asyncio

import pytest

from vodstack.edge.collapse import Collapser, Flight
from vodstack.edge.errors import OriginTimeout

pytestmark = pytest.mark.anyio


class Work:
    def __init__(self, result: object = None, *, delay: float = 0.01) -> None:
        self.calls = 0
        self.finished = 0
        self.result = result
        self.delay = delay
        self.flights: list[Flight[object]] = []

    async def __call__(self, flight: Flight[object]) -> object:
        self.calls += 1
        self.flights.append(flight)
        await asyncio.sleep(self.delay)
        if isinstance(self.result, BaseException):
            raise self.result
        self.finished += 1
        return self.result if self.result is not None else object()


async def test_concurrent_callers_share_one_load() -> None:
    collapser: Collapser[object] = Collapser()
    work = Work()
    results = await asyncio.gather(*(collapser.run("k", work, timeout_s=5) for _ in range(100)))
    assert work.calls == 1
    assert all(r is results[0] for r in results)
    assert collapser.joined == 99
    assert len(collapser) == 0  # the key is free once the load landed


async def test_failure_reaches_every_waiter_and_frees_the_key() -> None:
    collapser: Collapser[object] = Collapser()
    work = Work(ConnectionResetError("origin went away"), delay=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcomes = await asyncio.gather(
        *(collapser.run("k", work, timeout_s=5) for _ in range(100)), return_exceptions=True
    )
    assert loop.time() - started < 1.0
    assert work.calls == 1
    assert all(isinstance(o, ConnectionResetError) for o in outcomes)
    work.result = None
    await collapser.run("k", work, timeout_s=5)
    assert work.calls == 2  # retried once, by the next request


async def test_cancelled_waiters_do_not_cancel_the_shared_load() -> None:
    collapser: Collapser[object] = Collapser()
    work = Work("bytes", delay=0.05)
    leader = asyncio.create_task(collapser.run("k", work, timeout_s=5))
    followers = [asyncio.create_task(collapser.run("k", work, timeout_s=5)) for _ in range(5)]
    await asyncio.sleep(0.01)
    leader.cancel()  # the viewer who started the load goes away
    followers[0].cancel()
    results = await asyncio.gather(*followers[1:])
    assert results == ["bytes"] * 4
    assert leader.cancelled() and followers[0].cancelled()
    assert work.calls == 1 and work.finished == 1


async def test_load_finishes_even_when_every_waiter_left() -> None:
    collapser: Collapser[object] = Collapser()
    work = Work("bytes", delay=0.02)
    waiter = asyncio.create_task(collapser.run("k", work, timeout_s=5))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.sleep(0.05)
    assert work.finished == 1  # so it could still fill a cache for the next viewer


async def test_wait_is_bounded_but_the_load_goes_on() -> None:
    collapser: Collapser[object] = Collapser()
    work = Work("bytes", delay=0.2)
    patient = asyncio.create_task(collapser.run("k", work, timeout_s=5))
    with pytest.raises(OriginTimeout) as caught:
        await collapser.run("k", work, timeout_s=0.05)
    assert caught.value.key == "k"
    assert await patient == "bytes"
    assert work.calls == 1


async def test_work_raising_timeouterror_is_not_mistaken_for_the_wait_bound() -> None:
    collapser: Collapser[object] = Collapser()
    with pytest.raises(TimeoutError) as caught:
        await collapser.run("k", Work(TimeoutError("inner")), timeout_s=5)
    assert not isinstance(caught.value, OriginTimeout)


async def test_detach_makes_later_callers_start_a_new_load() -> None:
    collapser: Collapser[object] = Collapser()
    work = Work(delay=0.05)
    first = asyncio.create_task(collapser.run("/v1/a/x", work, timeout_s=5))
    other = asyncio.create_task(collapser.run("/v1/b/x", work, timeout_s=5))
    await asyncio.sleep(0)
    assert collapser.detach("/v1/a/") == 1
    second = await collapser.run("/v1/a/x", work, timeout_s=5)
    assert work.calls == 3
    assert await first is not second
    await other
    by_key = {f.key: f.detached for f in work.flights if f.key == "/v1/b/x"}
    assert by_key == {"/v1/b/x": False}
    assert [f.detached for f in work.flights if f.key == "/v1/a/x"] == [True, False]
