"""A least-recently-used map bounded by the total weight (bytes) of its values.

Why bytes and not a count: one 4 MB segment and one 2 KB manifest must not cost the same, or
a count bound is either far too loose for segments or far too tight for manifests. Every
operation but ``pop_prefix`` is O(1) (an ``OrderedDict`` keeps the recency order).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteLru(Generic[V]):
    """Values keyed by string, weighed by ``weigh``; ``used`` never exceeds ``capacity``."""

    def __init__(self, capacity: int, weigh: Callable[[V], int]) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self.used = 0
        self._weigh = weigh
        self._items: OrderedDict[str, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def get(self, key: str) -> V | None:
        """The value, marked as most recently used."""
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def peek(self, key: str) -> V | None:
        """The value, recency unchanged."""
        return self._items.get(key)

    def fits(self, value: V) -> bool:
        return self._weigh(value) <= self.capacity

    def put(self, key: str, value: V) -> list[V]:
        """Store ``value`` as most recently used; returns the values evicted to make room
        (never the one replaced under the same key: the caller popped or knows it)."""
        weight = self._weigh(value)
        if weight > self.capacity:
            raise ValueError(f"{key!r} weighs {weight}, more than the capacity {self.capacity}")
        self.pop(key)
        evicted: list[V] = []
        while self.used + weight > self.capacity:
            _, oldest = self._items.popitem(last=False)
            self.used -= self._weigh(oldest)
            evicted.append(oldest)
        self._items[key] = value
        self.used += weight
        return evicted

    def pop(self, key: str) -> V | None:
        value = self._items.pop(key, None)
        if value is not None:
            self.used -= self._weigh(value)
        return value

    def pop_prefix(self, prefix: str, where: Callable[[str, V], bool] | None = None) -> list[V]:
        """Remove every key starting with ``prefix`` for which ``where(key, value)`` holds
        (every one without ``where``); a scan: purges are rare, hits are not."""
        keys = [
            k
            for k, v in self._items.items()
            if k.startswith(prefix) and (where is None or where(k, v))
        ]
        return [v for v in map(self.pop, keys) if v is not None]
