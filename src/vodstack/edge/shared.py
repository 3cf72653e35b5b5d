"""Sharing the edge's disk tier between the worker processes of one ``serve --workers N``.

Each worker has its own :class:`~vodstack.edge.cache.EdgeCache` (its index lives in its
memory, and its event loop is its own), so without help every worker would fetch every
segment from the origin once: N origin fetches per object, and N copies on disk. This module
makes the workers of one server behave like one cache for the objects that matter (segments,
the disk tier), through the filesystem only:

* a worker that loaded a segment **publishes** it: a hard link of the file (no copy, same
  inode as the worker's own cached file) plus a small JSON sidecar with status, headers and a
  wall-clock expiry, written under a temporary name and renamed (a reader sees both or none);
* a worker about to load from the origin first **adopts** a published copy (hard-linked into
  its staging area, so the cache's usual hand-over applies) and asks the origin nothing;
* **collapsing across workers**: the loader takes an ``O_CREAT | O_EXCL`` marker
  ``<key>.loading`` before asking the origin; another worker finding the marker waits for the
  publication (bounded by the origin timeout) instead of asking the origin too — what
  nginx's ``proxy_cache_lock`` does for its worker processes. A marker older than the timeout
  belongs to a worker that died mid-load and is ignored.

Manifests are small, short-lived and kept in each worker's memory tier: they are not shared
(one origin request per worker and manifest lifetime, 2 s by default).

**Purges** remove the asset's directory here as well (a scoped purge: the copies it covers,
by the key each sidecar names); every worker follows the catalogue's
event log (``PurgeFollower``), and removal is idempotent. A purge leaves a time stamp, and a
load that started before it is not published (its bytes may predate the purge). Hard links
keep files that a worker still serves alive after the shared name is gone.

**Lifetime**: the parent ``serve`` process creates the directory as a locked ``edge-*.d``
(:class:`~vodstack.edge.disk.DiskFiles`), so it is removed on exit and reaped after a crash
like a worker's own directory. Published copies that no worker caches any more (link count 1)
are swept at most once a minute, as new ones are published, so the directory stays about
the size of the union of the workers' disk tiers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from vodstack.edge.entry import Fetched, is_storable

Load = Callable[[str | None], Awaitable[Fetched]]

_POLL_S = 0.02
_SWEEP_EVERY_S = 60.0
_ORPHAN_AGE_S = 30.0


class SharedTier:
    """Published segments of the workers of one server, under ``root``."""

    def __init__(self, root: Path, staging: Path, *, wait_s: float) -> None:
        self.root = root
        self.staging = staging
        self.wait_s = wait_s
        self.adopted = self.published = self.waited = 0  # counters, for tests and metrics
        self._last_sweep = time.monotonic()

    # -- paths ----------------------------------------------------------------------------------
    def _asset_dir(self, asset_id: str) -> Path:
        # Hashes, never request text, become file names (keys come from request paths).
        return (
            self.root / hashlib.sha256(asset_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        )

    def _paths(self, key: str) -> tuple[Path, Path, Path]:
        asset_id = key.split("/", 1)[0]
        base = self._asset_dir(asset_id)
        name = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        return base / f"{name}.body", base / f"{name}.json", base / f"{name}.loading"

    # -- the loader wrapper ---------------------------------------------------------------------
    async def load(self, key: str, load: Load, etag: str | None, ttl_s: float) -> Fetched:
        """``load(etag)``, unless another worker has loaded or is loading ``key``."""
        if etag is not None:  # a revalidation of this worker's own copy: nothing to share
            return await load(etag)
        body, meta, marker = self._paths(key)
        found = await asyncio.to_thread(self._adopt, body, meta)
        if found is not None:
            return found
        claimed = await asyncio.to_thread(self._claim, marker)
        if not claimed:
            deadline = time.monotonic() + self.wait_s
            self.waited += 1
            while time.monotonic() < deadline and marker.exists():
                await asyncio.sleep(_POLL_S)
        found = await asyncio.to_thread(self._adopt, body, meta)  # published meanwhile?
        if found is not None:
            if claimed:
                marker.unlink(missing_ok=True)
            return found
        # Ours to load: claimed, or the other worker failed (or its copy is not shareable).
        started = time.time()
        try:
            fetched = await load(None)
            if fetched.status == 200 and is_storable(fetched.headers):
                await asyncio.to_thread(self._publish, key, fetched, body, meta, ttl_s, started)
            return fetched
        finally:
            if claimed:
                marker.unlink(missing_ok=True)

    def _claim(self, marker: Path) -> bool:
        """Take the load of a key (True), or find another worker on it (False)."""
        marker.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            return True
        except FileExistsError:
            pass
        try:
            age = time.time() - marker.stat().st_mtime
        except FileNotFoundError:
            return self._claim(marker)  # finished meanwhile: try again (adopt comes after)
        if age > self.wait_s:  # left by a worker that died mid-load
            marker.unlink(missing_ok=True)
            return self._claim(marker)
        return False

    def _adopt(self, body: Path, meta: Path) -> Fetched | None:
        try:
            info = json.loads(meta.read_text())
        except (FileNotFoundError, ValueError):
            return None
        if time.time() >= info["expires"]:
            return None
        self.staging.mkdir(parents=True, exist_ok=True)
        mine = self.staging / f"shared-{secrets.token_hex(8)}"
        try:
            os.link(body, mine)
        except FileNotFoundError:
            return None  # purged between the two reads
        except OSError:  # another filesystem (EXDEV) or no links allowed: load ourselves
            return None
        self.adopted += 1
        headers = tuple((str(k), str(v)) for k, v in info["headers"])
        return Fetched(status=200, headers=headers, file=mine)

    def _publish(
        self, key: str, fetched: Fetched, body: Path, meta: Path, ttl_s: float, started: float
    ) -> None:
        if self._purged_since(body.parent, started):
            return  # bytes that may predate a purge are served once, never shared
        tmp = body.with_name(f".{body.name}.{secrets.token_hex(4)}")
        try:
            body.parent.mkdir(parents=True, exist_ok=True)
            if fetched.file is not None:
                os.link(fetched.file, tmp)  # same inode as the file the cache adopts: no copy
            else:  # a small object (an init segment) the loader kept in memory
                tmp.write_bytes(fetched.body or b"")
            os.replace(tmp, body)
            info = {"key": key, "expires": time.time() + ttl_s, "headers": list(fetched.headers)}
            tmp.write_text(json.dumps(info))
            os.replace(tmp, meta)
            self.published += 1
        except OSError:
            tmp.unlink(missing_ok=True)  # sharing is an optimisation: the load still counts
        self._maybe_sweep()

    # -- purge and sweep ------------------------------------------------------------------------
    def purge(self, asset_id: str, covers: Callable[[str], bool] | None = None) -> None:
        """Drop an asset's published copies (each worker's purge calls this; idempotent):
        all of them, or those whose path after ``{asset_id}/`` ``covers`` (a scoped purge,
        catalogue/purge.py). The time stamp is left either way, so no load that started before
        the purge publishes (conservative for objects the scope does not cover)."""
        target = self._asset_dir(asset_id)
        # The purge time as text: file mtimes are coarser than time.time() (kernel ticks).
        tmp = self.root / f".purged-{secrets.token_hex(6)}.tmp"
        tmp.write_text(repr(time.time()))
        os.replace(tmp, target.with_suffix(".purged"))
        if covers is not None:
            self._purge_covered(target, asset_id, covers)
            return
        trash = self.root / f".purged-{secrets.token_hex(6)}"
        try:
            os.replace(target, trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    @staticmethod
    def _purge_covered(target: Path, asset_id: str, covers: Callable[[str], bool]) -> None:
        start = len(asset_id) + 1
        for meta in target.glob("*.json"):
            try:
                key = json.loads(meta.read_text()).get("key")
            except (FileNotFoundError, ValueError):
                continue
            if not isinstance(key, str) or covers(key[start:]):  # unnamed: drop to be safe
                meta.unlink(missing_ok=True)
                meta.with_suffix(".body").unlink(missing_ok=True)

    @staticmethod
    def _purged_since(asset_dir: Path, started: float) -> bool:
        try:
            return float(asset_dir.with_suffix(".purged").read_text()) >= started
        except (FileNotFoundError, ValueError):
            return False

    def _maybe_sweep(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep < _SWEEP_EVERY_S:
            return
        self._last_sweep = now
        self.sweep()

    def sweep(self) -> int:
        """Remove published copies no worker holds any more (link count 1); how many went."""
        removed = 0
        cutoff = time.time() - _ORPHAN_AGE_S
        for body in self.root.glob("*/*.body"):
            with contextlib.suppress(OSError):
                st = body.stat()
                if st.st_nlink == 1 and st.st_mtime < cutoff:
                    body.with_suffix(".json").unlink(missing_ok=True)
                    body.unlink()
                    removed += 1
        return removed
