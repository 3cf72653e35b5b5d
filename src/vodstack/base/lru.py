"""The one least-recently-used map: every bounded cache in vodstack is one of these.

Bounded by a number of entries, or with ``weigh`` by the total weight of its values (bytes:
one 4 MB segment and one 2 KB manifest must not cost the same, or a count bound is either
far too loose for segments or far too tight for manifests). Every operation but
``pop_where`` is O(1) (an ``OrderedDict`` keeps the recency order).

Not thread-safe on purpose: callers that share a map between threads already hold a lock
around a get-compute-put sequence, and a second lock inside would only cost time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

__all__ = ["Lru"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _one(_: object) -> int:
    return 1


class Lru(Generic[K, V]):
    """At most ``capacity`` entries, or entries weighing at most ``capacity`` by ``weigh``.

    Values must not be ``None`` (``get`` answers ``None`` for a missing key).
    """

    def __init__(self, capacity: int, weigh: Callable[[V], int] | None = None) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self.used = 0  # total weight (the entry count without ``weigh``)
        self._weigh: Callable[[V], int] = weigh or _one
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[K]:
        """Keys, least recently used first."""
        return iter(self._items)

    def get(self, key: K) -> V | None:
        """The value, marked as most recently used."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def peek(self, key: K) -> V | None:
        """The value, recency unchanged."""
        return self._items.get(key)

    def fits(self, value: V) -> bool:
        return self._weigh(value) <= self.capacity

    def put(self, key: K, value: V) -> list[tuple[K, V]]:
        """Store ``value`` as most recently used; returns the entries evicted to make room
        (never the one replaced under the same key: the caller popped or knows it).
        A value heavier than the whole capacity is refused (check ``fits`` first)."""
        weight = self._weigh(value)
        if weight > self.capacity:
            raise ValueError(f"{key!r} weighs {weight}, more than the capacity {self.capacity}")
        self.pop(key)
        evicted: list[tuple[K, V]] = []
        while self.used + weight > self.capacity:
            oldest = self._items.popitem(last=False)
            self.used -= self._weigh(oldest[1])
            evicted.append(oldest)
        self._items[key] = value
        self.used += weight
        return evicted

    def pop(self, key: K) -> V | None:
        value = self._items.pop(key, None)
        if value is not None:
            self.used -= self._weigh(value)
        return value

    def pop_where(self, match: Callable[[K, V], bool]) -> list[V]:
        """Remove every entry for which ``match(key, value)`` holds; a scan (for purges,
        which are rare: hits are not)."""
        keys = [k for k, v in self._items.items() if match(k, v)]
        return [v for v in map(self.pop, keys) if v is not None]

    def clear(self) -> None:
        self._items.clear()
        self.used = 0
