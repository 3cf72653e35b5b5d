"""Ingest: stream a master into private storage, probe it, register it, announce ``source.created``.

Bytes flow through in chunks (a multi-GB master never sits in memory) into a temp object that
becomes visible only when complete; the size limit is enforced while streaming, so an
oversized upload is cut off early and leaves nothing behind. The uploader's filename is never
used as a path: only a whitelisted extension survives, the rest is display text.

The stored master is probed here, where it lies (``probe.py``): what it holds is kept with the
asset (``source_info``), so the transcode job plans from it without probing again, and a master
that cannot become a video fails at once with the reason (``failed`` in the upload's answer).
Its transcode job is queued all the same and lands in the dead-letter queue with that reason:
after the master is replaced, ``jobs redrive`` probes it again.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import PurePosixPath, PureWindowsPath
from typing import BinaryIO

from vodstack.base import SOURCE_CREATED, EventBus
from vodstack.catalogue import Catalogue, new_id
from vodstack.config import Settings
from vodstack.errors import SourceInvalid, UploadRejected
from vodstack.ingest.probe import SourceInfo, probe
from vodstack.storage import ObjectStore, master_key

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".mxf", ".ts", ".avi", ".mpg"}
CHUNK = 1024 * 1024


def safe_filename(name: str | None) -> str:
    """Display-only filename: last path component, printable characters, ≤ 200 chars."""
    if not name:
        return "upload"
    base = PureWindowsPath(PurePosixPath(name).name).name
    cleaned = "".join(
        c for c in unicodedata.normalize("NFC", base) if c.isprintable() and c not in "<>\"'`"
    ).strip(" .")
    return cleaned[:200] or "upload"


def storage_extension(name: str) -> str:
    ext = os.path.splitext(name)[1].lower()
    return ext if ext in VIDEO_EXTENSIONS else ".bin"


class Upload:
    """One master being received. Call ``write`` per chunk, then ``finish`` (or ``abort``)."""

    def __init__(
        self,
        ingestor: Ingestor,
        filename: str | None,
        title: str | None,
        ladder: str | None = None,
    ) -> None:
        self._ingestor = ingestor
        self.ladder = ladder  # ladder template chosen for this upload (None: the default)
        self.source_name = safe_filename(filename)
        self.title = (title or os.path.splitext(self.source_name)[0])[:500]
        self.asset_id = new_id()
        self.key = master_key(self.asset_id, storage_extension(self.source_name))
        self._writer: AbstractContextManager[BinaryIO] = ingestor.store.writer(self.key)
        self._fh = self._writer.__enter__()
        self.size = 0
        self._open = True

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._ingestor.max_bytes:
            self.abort()
            raise UploadRejected(
                f"the upload exceeds the size limit of {self._ingestor.max_bytes} bytes",
                status=413,
            )
        self._fh.write(chunk)

    def abort(self) -> None:
        if self._open:
            self._open = False
            self._writer.__exit__(UploadRejected, UploadRejected("aborted"), None)

    def finish(self) -> str:
        """Commit the master, probe it, register and announce it; returns the new asset id."""
        if self.size == 0:
            self.abort()
            raise UploadRejected("the uploaded file is empty")
        self._open = False
        self._writer.__exit__(None, None, None)
        catalogue = self._ingestor.catalogue
        info, reason = self._ingestor.probe_master(self.key)
        catalogue.create_asset(  # with the ladder chosen: the job must see it
            self.asset_id,
            title=self.title,
            source_key=self.key,
            source_name=self.source_name,
            source_size=self.size,
            source_info=info.to_json() if info else None,
            duration=info.duration if info else None,
            ladder=self.ladder,
        )
        self._ingestor.bus.publish(
            SOURCE_CREATED, self.asset_id, source_key=self.key, size=self.size
        )
        if reason is not None:  # after queueing the job, which would clear the reason
            catalogue.mark_failed(self.asset_id, reason)
        return self.asset_id


class Ingestor:
    def __init__(
        self,
        catalogue: Catalogue,
        store: ObjectStore,
        bus: EventBus,
        max_bytes: int,
        max_duration_s: float,
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.bus = bus
        self.max_bytes = max_bytes
        self.max_duration_s = max_duration_s  # the longest master accepted

    @classmethod
    def from_settings(
        cls, settings: Settings, catalogue: Catalogue, store: ObjectStore, bus: EventBus
    ) -> Ingestor:
        return cls(catalogue, store, bus, settings.max_upload_bytes, settings.max_source_duration_s)

    def probe_master(self, key: str) -> tuple[SourceInfo | None, str | None]:
        """What the stored master holds, or why it cannot become a video (``(None, reason)``).

        Probed where it lies: the store's own file, else ranged reads of the object (no copy
        of a multi-GB master). ``(None, None)`` when the probe itself could not run (the store
        hiccupped): the transcode job probes again and owns the outcome, as for an asset
        ingested before masters were probed here.
        """
        try:
            path = self.store.local_path(key)
            if path is not None and path.is_file():
                return probe(path, max_duration_s=self.max_duration_s), None
            with self.store.open(key) as fh:
                return probe(fh, max_duration_s=self.max_duration_s), None
        except SourceInvalid as exc:
            return None, exc.message
        except Exception:  # never fail an upload over the probe: the job probes again
            log.warning("could not probe %s at ingest; the transcode job will", key, exc_info=True)
            return None, None

    def start(
        self, filename: str | None, title: str | None = None, *, ladder: str | None = None
    ) -> Upload:
        return Upload(self, filename, title, ladder)

    def ingest_chunks(
        self,
        chunks: Iterable[bytes],
        filename: str | None,
        title: str | None = None,
        *,
        ladder: str | None = None,
    ) -> str:
        upload = self.start(filename, title, ladder=ladder)
        try:
            for chunk in chunks:
                upload.write(chunk)
        except BaseException:
            upload.abort()
            raise
        return upload.finish()

    def ingest_file(
        self,
        path: os.PathLike[str] | str,
        title: str | None = None,
        *,
        ladder: str | None = None,
        filename: str | None = None,
    ) -> str:
        """``filename``: the name the uploader gave (default: the file's own)."""
        with open(path, "rb") as fh:
            chunks = iter(lambda: fh.read(CHUNK), b"")
            return self.ingest_chunks(chunks, filename or str(path), title, ladder=ladder)
