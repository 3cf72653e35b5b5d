"""Where a job's time goes: wall and CPU seconds per stage, recorded in the job row.

Why CPU too: wall time on a shared machine says little about cost; CPU-seconds per minute of
media is what sizes a transcode fleet. FFmpeg runs as child processes, so their CPU is read
with ``getrusage(RUSAGE_CHILDREN)`` around each stage (user + system time of children that
ended and were waited for). That count is per process: when several jobs run at once in one
process, a stage's CPU includes FFmpeg runs of the other jobs that ended during it (one job
per worker process, as ``vodstack worker`` lanes and ``ingest --wait`` run them, is exact).
"""

from __future__ import annotations

import contextlib
import logging
import resource
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

StageHook = Callable[[str, float, float], None]  # stage, wall seconds, CPU seconds
SaveHook = Callable[[dict[str, Any]], None]


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class StageTimer:
    """Collects ``{stage: {"seconds", "cpu_s"}}`` for one job attempt; ``save`` persists the
    summary after every stage (the API shows a running job's progress), ``on_stage`` feeds
    the metrics histogram."""

    def __init__(self, save: SaveHook | None = None, on_stage: StageHook | None = None) -> None:
        self._save = save
        self._on_stage = on_stage
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._cpu0 = children_cpu_s()
        self.stages: dict[str, dict[str, float]] = {}
        self.media_s: float | None = None
        self.ready_s: float | None = None
        self.extras: dict[str, dict[str, Any]] = {}
        self.revision: int | None = None

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall0, cpu0 = time.monotonic(), children_cpu_s()
        try:
            yield
        finally:
            self.add(name, time.monotonic() - wall0, children_cpu_s() - cpu0)

    def add(self, name: str, seconds: float, cpu_s: float) -> None:
        with self._lock:
            entry = self.stages.setdefault(name, {"seconds": 0.0, "cpu_s": 0.0})
            entry["seconds"] = round(entry["seconds"] + seconds, 3)
            entry["cpu_s"] = round(entry["cpu_s"] + max(0.0, cpu_s), 3)
        if self._on_stage is not None:
            try:
                self._on_stage(name, seconds, max(0.0, cpu_s))
            except Exception:  # metrics never change a job's outcome
                log.exception("stage hook failed")
        self.save()

    def mark_ready(self) -> None:
        """The asset became playable (seconds since the job attempt started)."""
        self.ready_s = round(time.monotonic() - self._started, 3)
        self.save()

    def set_extra(self, name: str, state: str, error: str | None = None) -> None:
        with self._lock:
            self.extras[name] = {"state": state} | ({"error": error} if error else {})
        self.save()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            cpu = max(0.0, children_cpu_s() - self._cpu0)
            out: dict[str, Any] = {
                "stages": {k: dict(v) for k, v in self.stages.items()},
                "seconds": round(time.monotonic() - self._started, 3),
                "cpu_s": round(cpu, 3),
            }
            if self.media_s:
                out["media_s"] = round(self.media_s, 3)
                out["cpu_s_per_media_min"] = round(cpu / (self.media_s / 60), 2)
            if self.ready_s is not None:
                out["ready_s"] = self.ready_s
            if self.revision is not None:
                out["revision"] = self.revision
            if self.extras:
                out["extras"] = {k: dict(v) for k, v in self.extras.items()}
            return out

    def save(self) -> None:
        if self._save is None:
            return
        try:
            self._save(self.to_json())
        except Exception:  # a catalogue hiccup must not fail the job over bookkeeping
            log.warning("could not record stage timings", exc_info=True)
