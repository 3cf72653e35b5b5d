"""Progress webhooks: ``transcode.progress`` a few times a job, not many times a second.

The lifecycle event names of issue #18 live with the others in ``base/events.py``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class ProgressSteps:
    """Calls ``announce(fraction)`` once per ``step`` crossed (0.25 → 25, 50, 75 %): a
    job's progress arrives many times a second, its webhooks a few times a job. 100 % is
    not announced: ``asset.ready`` says it."""

    def __init__(self, step: float, announce: Callable[[float], None]) -> None:
        self.step = step
        self.announce = announce
        self._next = step
        self._lock = threading.Lock()

    def __call__(self, value: float) -> None:
        crossed = None
        with self._lock:
            while value >= self._next and self._next < 1 - 1e-9:
                crossed = self._next
                self._next += self.step
        if crossed is not None:
            try:
                self.announce(round(crossed, 4))
            except Exception:  # a lost progress event must never fail the job reporting it
                log.warning("could not announce progress %.2f", crossed, exc_info=True)
