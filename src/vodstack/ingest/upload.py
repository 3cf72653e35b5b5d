"""Ingest: stream a master into private storage, register it, announce ``source.created``.

Bytes flow through in chunks (a multi-GB master never sits in memory) into a temp object that
becomes visible only when complete; the size limit is enforced while streaming, so an
oversized upload is cut off early and leaves nothing behind. The uploader's filename is never
used as a path: only a whitelisted extension survives, the rest is display text.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from contextlib import AbstractContextManager
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, BinaryIO

from vodstack.catalogue.repository import Catalogue, new_id
from vodstack.errors import UploadRejected
from vodstack.jobs.bus import SOURCE_CREATED, EventBus
from vodstack.jobs.lifecycle import ASSET_CREATED
from vodstack.storage import ObjectStore
from vodstack.storage.base import master_key

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
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._ingestor = ingestor
        self.ladder = ladder  # ladder template chosen for this upload (None: the default)
        # told in asset.created and source.created: how it arrived ("source": upload, tus,
        # direct, url), and for a direct upload its id and metadata
        self.extra = {"source": "upload", **(extra or {})}
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
        """Commit the master and announce it; returns the new asset id."""
        if self.size == 0:
            self.abort()
            raise UploadRejected("the uploaded file is empty")
        self._open = False
        self._writer.__exit__(None, None, None)
        self._ingestor.catalogue.create_asset(
            self.asset_id,
            title=self.title,
            source_key=self.key,
            source_name=self.source_name,
            source_size=self.size,
        )
        if self.ladder is not None:  # before source.created: the job must see the choice
            self._ingestor.catalogue.update_asset(self.asset_id, ladder=self.ladder)
        bus = self._ingestor.bus
        bus.publish(ASSET_CREATED, self.asset_id, title=self.title, **self.extra)
        bus.publish(
            SOURCE_CREATED, self.asset_id, source_key=self.key, size=self.size, **self.extra
        )
        return self.asset_id


class Ingestor:
    def __init__(
        self, catalogue: Catalogue, store: ObjectStore, bus: EventBus, max_bytes: int
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.bus = bus
        self.max_bytes = max_bytes

    def start(
        self,
        filename: str | None,
        title: str | None = None,
        *,
        ladder: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Upload:
        return Upload(self, filename, title, ladder, extra)

    def ingest_chunks(
        self,
        chunks: Iterable[bytes],
        filename: str | None,
        title: str | None = None,
        *,
        ladder: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        upload = self.start(filename, title, ladder=ladder, extra=extra)
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
        extra: dict[str, Any] | None = None,
    ) -> str:
        """``filename``: the name the uploader gave (default: the file's own)."""
        with open(path, "rb") as fh:
            chunks = iter(lambda: fh.read(CHUNK), b"")
            return self.ingest_chunks(
                chunks, filename or str(path), title, ladder=ladder, extra=extra
            )
