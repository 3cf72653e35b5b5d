"""Local-directory object store: the zero-setup default.

Atomicity comes from the file system: writes go to a temp name in the same directory and are
renamed into place; a packaged revision is staged as a directory and renamed in one step.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from vodstack.errors import NotFound, StorageError
from vodstack.storage.base import validate_key


class LocalStore:
    """Objects as files under ``root``; never served directly, only through the origin."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        created = not path.parent.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
        committed = False
        try:
            with open(tmp, "wb") as fh:
                # Held while the object is written: clean_partial() tells a live writer (in any
                # process) from one that died (kill -9 mid-upload) by trying to take it.
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
                os.replace(tmp, path)  # still locked: never taken for a dead writer's file
                committed = True
        finally:
            tmp.unlink(missing_ok=True)
            if created and not committed:
                # A refused upload leaves no empty masters/{id}/ behind (one per refusal).
                with contextlib.suppress(OSError):
                    path.parent.rmdir()

    def clean_partial(self, min_age_s: float = 2.0) -> int:
        """Delete temp objects whose writer died (a server killed mid-upload), and the empty
        directories they leave; returns how many. Writes in progress hold a lock and stay;
        ``min_age_s`` covers the instant between a writer creating its file and locking it."""
        removed = 0
        now = time.time()
        found = [  # listed first: removing directories while walking them would trip the walk
            Path(parent, name)
            for parent, _, names in os.walk(self.root)  # unreadable/vanished dirs are skipped
            for name in names
            if name.startswith(".") and name.endswith(".part")
        ]
        for tmp in found:
            try:
                if now - tmp.stat().st_mtime < min_age_s:
                    continue
                with open(tmp, "rb") as fh:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    tmp.unlink()
            except OSError:  # locked by a live writer, or already gone
                continue
            removed += 1
            with contextlib.suppress(OSError):
                tmp.parent.rmdir()
        return removed

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise NotFound(f"object {key!r} not found") from exc

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as exc:
            raise NotFound(f"object {key!r} not found") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                yield path.relative_to(self.root).as_posix()

    def publish_directory(self, local_dir: Path, prefix: str) -> None:
        """Move ``local_dir`` to ``prefix`` atomically; ``local_dir`` is consumed."""
        target = self._path(prefix)
        if target.exists():
            raise StorageError(f"{prefix!r} already exists; revisions are never overwritten")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Same file system (the default layout): one atomic rename, no copy.
            os.rename(local_dir, target)
            return
        except OSError:
            pass
        staging = target.with_name(f".{target.name}.{secrets.token_hex(6)}.staging")
        # Across file systems: copy beside the target, then one atomic rename.
        shutil.copytree(local_dir, staging)
        try:
            os.rename(staging, target)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise StorageError(f"could not publish {prefix!r}: {exc.strerror}") from exc

    def delete_prefix(self, prefix: str) -> int:
        base = self._path(prefix)
        if not base.exists():
            return 0
        count = sum(1 for p in base.rglob("*") if p.is_file()) if base.is_dir() else 1
        if base.is_dir():
            shutil.rmtree(base)
        else:
            base.unlink()
        self._prune_empty_parents(base.parent)
        return count

    def _prune_empty_parents(self, directory: Path) -> None:
        """Empty directories left above a deleted prefix (an asset's folder once its last
        revision went) are removed too: S3 has no directories, and the local store should
        not show an asset that holds nothing. Stops at the first non-empty one, or the
        namespace folder under the store's root (``packaged``, ``masters``, …)."""
        root = self.root.resolve()
        current = directory.resolve()
        while current.parent != root and root in current.parents:
            try:
                current.rmdir()  # only when empty
            except OSError:
                return
            current = current.parent
