"""One job pool per server (jobs/leader.py): the worker process holding the lock runs it, and
another takes over when the holder goes. flock locks belong to open files, so two leaders in
one process contend exactly as two worker processes do."""

from __future__ import annotations

import time
from pathlib import Path

from vodstack.jobs.leader import Leader


def _leader(path: Path, log: list[str], name: str) -> Leader:
    return Leader(
        path,
        lambda: log.append(f"{name} start"),
        lambda: log.append(f"{name} stop"),
        retry_s=0.05,
    )


def test_only_the_lock_holder_runs_the_pool_and_another_takes_over(tmp_path: Path) -> None:
    log: list[str] = []
    first, second = (
        _leader(tmp_path / "jobs.lock", log, "a"),
        _leader(tmp_path / "jobs.lock", log, "b"),
    )
    first.begin()
    second.begin()
    time.sleep(0.2)
    assert log == ["a start"] and first.leading.is_set() and not second.leading.is_set()
    first.end()  # the worker process running the jobs stops (or dies: the kernel drops the lock)
    assert second.leading.wait(2)
    assert log == ["a start", "a stop", "b start"]
    second.end()
    assert log[-1] == "b stop"


def test_a_leader_that_never_led_stops_nothing(tmp_path: Path) -> None:
    log: list[str] = []
    first, second = (
        _leader(tmp_path / "jobs.lock", log, "a"),
        _leader(tmp_path / "jobs.lock", log, "b"),
    )
    first.begin()
    second.begin()
    second.end()
    first.end()
    assert log == ["a start", "a stop"]
