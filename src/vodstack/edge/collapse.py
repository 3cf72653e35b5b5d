"""Request collapsing (what CloudFront calls the origin shield, nginx ``proxy_cache_lock``).

When a popular object expires or first appears, thousands of viewers ask for it within the
same second; without collapsing each of them goes to the origin (a thundering herd). Here the
first caller starts the load and every concurrent caller for the same key awaits that one
load. Three rules make it safe:

* the load runs in a task of its own, awaited through ``asyncio.shield``: a viewer who goes
  away cancels only their own wait, never the load the others share (which then still fills
  the cache for the next request);
* a failure reaches every waiter at once (they await the same task) and frees the key as the
  load ends, so the next request tries again exactly once: no hang, no retry storm;
* every wait is bounded: after ``timeout_s`` the waiter gets ``OriginTimeout``, while the load
  goes on for whoever still waits.

``detach`` cuts loads loose from their keys (a purge): later callers start a new load, and the
work sees ``flight.detached`` so it does not publish what it loaded before the purge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

from vodstack.edge.errors import OriginTimeout

T = TypeVar("T")


@dataclass(eq=False, slots=True)
class Flight(Generic[T]):
    """One shared load of ``key``."""

    key: str
    task: asyncio.Task[T] = field(init=False)
    detached: bool = False


Work = Callable[[Flight[T]], Coroutine[Any, Any, T]]


class Collapser(Generic[T]):
    """At most one ``work`` per key at a time; concurrent callers share its outcome."""

    def __init__(self) -> None:
        self._flights: dict[str, Flight[T]] = {}
        # Detached loads still running: referenced here so they are not garbage-collected
        # once nothing else holds them (asyncio keeps only weak references to tasks).
        self._detached: set[asyncio.Task[T]] = set()
        self.joined = 0  # callers that found a load already in flight

    def __len__(self) -> int:
        return len(self._flights)

    async def run(self, key: str, work: Work[T], *, timeout_s: float) -> T:
        """The outcome of the load of ``key``: started now, or joined if already running."""
        flight = self._flights.get(key)
        if flight is None:
            flight = Flight(key)
            flight.task = asyncio.get_running_loop().create_task(work(flight))
            flight.task.add_done_callback(partial(self._landed, flight))
            self._flights[key] = flight
        else:
            self.joined += 1
        deadline = asyncio.timeout(timeout_s)
        try:
            async with deadline:
                return await asyncio.shield(flight.task)
        except TimeoutError as exc:
            if not deadline.expired():
                raise  # the work's own TimeoutError
            raise OriginTimeout(f"gave up after waiting {timeout_s:g} s for {key!r}", key) from exc

    def detach(self, prefix: str, where: Callable[[str], bool] | None = None) -> int:
        """Cut loose the loads of every key starting with ``prefix`` for which ``where(key)``
        holds (every one without ``where``); returns how many. Loads of other keys go on
        untouched: their waiters must not load again for a purge that does not concern them."""
        keys = [k for k in self._flights if k.startswith(prefix) and (where is None or where(k))]
        for key in keys:
            flight = self._flights.pop(key)
            flight.detached = True
            self._detached.add(flight.task)
        return len(keys)

    def _landed(self, flight: Flight[T], task: asyncio.Task[T]) -> None:
        if self._flights.get(flight.key) is flight:
            del self._flights[flight.key]
        self._detached.discard(task)
        if not task.cancelled():
            task.exception()  # mark it retrieved: every waiter may have gone away
