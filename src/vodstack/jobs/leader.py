"""One job pool per server, however many HTTP worker processes it has.

``serve --workers N`` runs N copies of the app. Jobs are claimed through the catalogue, so N
pools would be *correct*, but each would run ``workers`` FFmpeg jobs at once: N times the
CPU the operator sized the node for. So the workers of one server elect a leader with an
exclusive ``flock`` on a file in the home directory; only the leader runs the pool. The lock
goes with its process (the kernel releases it when the process dies, ``kill -9`` included),
and the other workers keep trying, so a restarted or replacement worker takes over.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


class Leader:
    """Runs ``start`` once this process holds the lock on ``path``; ``stop`` when it ends."""

    def __init__(
        self,
        path: Path,
        start: Callable[[], None],
        stop: Callable[[], None],
        *,
        retry_s: float = 2.0,
    ) -> None:
        self.path = path
        self._start, self._stop = start, stop
        self._retry_s = retry_s
        self._fd = -1
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.leading = threading.Event()

    def begin(self) -> None:
        """Try now; if another process leads, keep trying in a daemon thread."""
        if self._try():
            return
        self._thread = threading.Thread(target=self._wait, name="vodstack-leader", daemon=True)
        self._thread.start()

    def end(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(self._retry_s + 1)
        if self.leading.is_set():
            self._stop()
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1

    def _wait(self) -> None:
        while not self._done.wait(self._retry_s):
            if self._try():
                return

    def _try(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        if self._done.is_set():  # ended while we tried
            os.close(fd)
            return False
        self._fd = fd
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        log.info("this worker process (pid %d) runs the background jobs", os.getpid())
        self._start()
        self.leading.set()
        return True
