"""The one LRU map (vodstack.base.lru): bounded by count or by weight, oldest out first."""

from __future__ import annotations

import pytest

from vodstack.base.lru import Lru


def test_count_bound_evicts_least_recently_used() -> None:
    lru: Lru[str, int] = Lru(2)
    assert lru.put("a", 1) == [] and lru.put("b", 2) == []
    assert lru.get("a") == 1  # "b" is now the oldest
    assert lru.put("c", 3) == [("b", 2)]
    assert list(lru) == ["a", "c"] and len(lru) == 2 and lru.used == 2
    assert "b" not in lru and lru.get("b") is None


def test_peek_leaves_recency_alone() -> None:
    lru: Lru[str, int] = Lru(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.peek("a") == 1
    assert lru.put("c", 3) == [("a", 1)]


def test_replacing_a_key_is_not_an_eviction() -> None:
    lru: Lru[str, bytes] = Lru(10, len)
    lru.put("a", b"12345")
    assert lru.put("a", b"123") == []
    assert lru.used == 3 and list(lru) == ["a"]


def test_weight_bound_evicts_until_the_new_value_fits() -> None:
    lru: Lru[str, bytes] = Lru(10, len)
    lru.put("a", b"1234")
    lru.put("b", b"1234")
    assert lru.put("c", b"1234567") == [("a", b"1234"), ("b", b"1234")]
    assert lru.used == 7
    assert lru.fits(b"x" * 10) and not lru.fits(b"x" * 11)
    with pytest.raises(ValueError, match="more than the capacity"):
        lru.put("d", b"x" * 11)
    assert lru.used == 7  # a refused value evicts nothing


def test_pop_and_pop_where_keep_the_weight_right() -> None:
    lru: Lru[str, bytes] = Lru(100, len)
    for key in ("x/1", "x/2", "y/1"):
        lru.put(key, b"ab")
    assert lru.pop("x/1") == b"ab" and lru.pop("x/1") is None
    assert lru.pop_where(lambda key, _: key.startswith("x/")) == [b"ab"]
    assert list(lru) == ["y/1"] and lru.used == 2
    lru.clear()
    assert len(lru) == 0 and lru.used == 0


def test_negative_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity must be >= 0"):
        Lru(-1)
