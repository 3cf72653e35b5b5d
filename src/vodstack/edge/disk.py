"""The disk tier's files: one file per cached object, in a directory this cache owns.

Why one file per object: the HTTP layer can answer a hit (and a ``Range`` equal to the whole
object) with zero-copy ``http.response.pathsend``; TOOLCHAIN.md measured whole-file sends
matching nginx, while slicing a big file in Python cost about 5×.

Why wipe instead of re-index on start: the index lives only in memory. Freshness is measured
on a monotonic clock that a restart resets, and purges that arrived while the process was
down are lost, so files left behind are worthless at best and wrong (purged) at worst.
Each cache works in its own subdirectory ``<disk_dir>/edge-<random>.d``, holding an
``flock`` on it for its lifetime; a subdirectory nobody holds a lock on belongs to a dead
process and is removed. So several edge processes may share one ``disk_dir`` safely, and
nothing but our own ``edge-*.d`` directories is ever deleted.

Crash safety: bytes are written under a temporary name and renamed into place (atomic on
POSIX), so a reader never sees half an object. No fsync: after a crash the files are wiped
anyway. File names are a hash of the key plus a sequence number, never the key: keys come
from request paths (untrusted: ``..``, NUL, overlong), and a fresh name per stored version
means replacing an object never changes the bytes behind a path a response already uses.

Everything here blocks; the cache calls the write/read methods through ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path

SUFFIX = ".edge"
_DIR_GLOB = "edge-*.d"


class DiskFiles:
    """Owns one fresh subdirectory of ``parent`` until ``close``."""

    def __init__(self, parent: Path) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        reap_dead(parent)
        # Lock first, then rename into the reapable name: a directory matching the glob is
        # always locked while its owner lives, even for a reaper racing our start.
        staging = Path(tempfile.mkdtemp(prefix=".edge-new-", dir=parent))
        self._lock_fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.root = parent / f"edge-{staging.name.removeprefix('.edge-new-')}.d"
        staging.rename(self.root)
        self._seq = itertools.count()
        self._trash_times: dict[str, float] = {}
        self._last_sweep = time.monotonic()

    def new_path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.root / f"{digest}-{next(self._seq):x}{SUFFIX}"

    @staticmethod
    def write(path: Path, body: bytes) -> None:
        """Write ``body`` to ``path`` atomically (temp file + rename)."""
        tmp = path.with_name(path.name + ".tmp")
        try:
            with open(tmp, "xb") as fh:
                fh.write(body)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    @staticmethod
    def adopt(src: Path, path: Path) -> None:
        """Move a finished file to ``path``: a rename on the same filesystem, else a copy
        under a temporary name and a rename (still atomic for readers of ``path``)."""
        try:
            os.replace(src, path)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            tmp = path.with_name(path.name + ".tmp")
            try:
                shutil.copyfile(src, tmp)
                os.replace(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            src.unlink(missing_ok=True)

    @staticmethod
    def read_and_remove(src: Path) -> bytes:
        """The bytes of a file the cache owns but will not keep on disk."""
        try:
            return src.read_bytes()
        finally:
            src.unlink(missing_ok=True)

    def remove(self, path: Path) -> None:
        """Retire an evicted or purged file: renamed aside now, deleted ``GRACE_S`` later.

        Why not unlink at once: a response may be about to send this very file by path
        (zero-copy ``pathsend`` opens it after the cache lookup returned); the grace period
        lets such in-flight responses finish. The name is already out of the index, so no new
        request can pick it up.
        """
        trash = self.root / "trash"
        trash.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, trash / path.name)
        now = time.monotonic()
        if now - self._last_sweep >= 1.0:
            self._last_sweep = now
            self._trash_times = {
                name: seen
                for name, seen in self._trash_times.items()
                if not _expired(trash / name, seen, now)
            }
        self._trash_times.setdefault(path.name, now)

    def close(self) -> None:
        """Delete the directory and release it (idempotent)."""
        if self._lock_fd < 0:
            return
        shutil.rmtree(self.root, ignore_errors=True)
        os.close(self._lock_fd)
        self._lock_fd = -1


GRACE_S = 30.0


def _expired(path: Path, retired_at: float, now: float) -> bool:
    """Delete a retired file once its grace period is over; True when it is gone."""
    if now - retired_at < GRACE_S:
        return False
    path.unlink(missing_ok=True)
    return True


def reap_dead(parent: Path) -> int:
    """Remove the subdirectories of ``parent`` whose owner is gone; returns how many."""
    reaped = 0
    for candidate in parent.glob(_DIR_GLOB):
        try:
            fd = os.open(candidate, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue  # not a directory we made (a file, a symlink): leave it alone
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live cache holds it
            with contextlib.suppress(OSError):
                shutil.rmtree(candidate)
                reaped += 1
        finally:
            os.close(fd)
    return reaped
