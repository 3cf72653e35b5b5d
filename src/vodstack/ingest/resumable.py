"""Resumable uploads: a master arrives in as many pieces as the connection allows.

The state of an upload lives on disk beside its bytes, so it survives a server restart or a
``kill -9``: ``{id}.part`` holds the bytes received so far (its size *is* the offset, so an
interrupted write simply leaves a shorter file to resume from) and ``{id}.json`` the declared
length, the metadata and, once the last byte is in, the id of the asset it became. A complete
upload goes through the ordinary ingest (``Ingestor.ingest_file``: size limit, safe filename,
private master key, ``source.created``), so it is transcoded like any other. Pieces of one
upload are appended under an exclusive ``flock``: two writers, in one process or several
sharing the home directory, can never interleave.

The HTTP side (tus 1.0.0) is ``web/api_uploads.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from vodstack.catalogue import new_id
from vodstack.errors import Conflict, NotFound, UploadRejected
from vodstack.ingest.upload import Ingestor

_ID = re.compile(r"^[a-z0-9]{20}$")


@dataclass
class UploadState:
    id: str
    length: int
    metadata: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    asset_id: str | None = None  # set once the upload is complete and ingested


class ResumableUploads:
    def __init__(self, directory: Path, ingestor: Ingestor, expiry_s: float) -> None:
        self.directory = directory
        self.ingestor = ingestor
        self.expiry_s = expiry_s

    # -- files ----------------------------------------------------------------------------------
    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        if not _ID.match(upload_id):  # ids are ours: anything else is not an upload
            raise NotFound("no such upload")
        return self.directory / f"{upload_id}.part", self.directory / f"{upload_id}.json"

    def _save(self, state: UploadState) -> None:
        _, meta = self._paths(state.id)
        tmp = meta.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(state)))
        os.replace(tmp, meta)

    def state(self, upload_id: str) -> UploadState:
        _, meta = self._paths(upload_id)
        try:
            data = json.loads(meta.read_text())
        except FileNotFoundError:
            raise NotFound("no such upload") from None
        state = UploadState(**data)
        if state.asset_id is None and self.expired(state):
            self.terminate(upload_id)
            raise NotFound("the upload expired")
        return state

    def offset(self, upload_id: str) -> int:
        part, _ = self._paths(upload_id)
        state = self.state(upload_id)
        if state.asset_id is not None:
            return state.length
        try:
            return part.stat().st_size
        except FileNotFoundError:
            return 0

    def expires_at(self, state: UploadState) -> float:
        return state.created + self.expiry_s

    def expired(self, state: UploadState) -> bool:
        return time.time() >= self.expires_at(state)

    # -- the protocol's operations -----------------------------------------------------------
    def create(self, length: int, metadata: dict[str, str]) -> UploadState:
        if length <= 0:
            raise UploadRejected("the upload is empty (Upload-Length must be at least 1)")
        if length > self.ingestor.max_bytes:
            raise UploadRejected(
                f"the upload exceeds the size limit of {self.ingestor.max_bytes} bytes",
                status=413,
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.expire_stale()
        state = UploadState(new_id(), length, metadata)
        part, _ = self._paths(state.id)
        part.touch()
        self._save(state)
        return state

    @contextlib.contextmanager
    def _locked(self, upload_id: str) -> Iterator[BinaryIO]:
        part, _ = self._paths(upload_id)
        try:
            fh = open(part, "ab")  # noqa: SIM115 - closed below, after the lock is released
        except FileNotFoundError:
            raise NotFound("no such upload") from None
        try:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Conflict("another request is writing to this upload") from None
            yield fh
        finally:
            fh.close()

    def append(self, upload_id: str, offset: int, chunks: Iterator[bytes]) -> UploadState:
        """Append ``chunks`` at ``offset`` (which must be the current one); ingest the master
        when its last byte arrives. Bytes received before an error stay (resume from there)."""
        state = self.state(upload_id)
        if state.asset_id is not None:
            raise Conflict("the upload is already complete")
        with self._locked(upload_id) as fh:
            current = fh.seek(0, os.SEEK_END)
            if offset != current:
                raise Conflict(f"Upload-Offset {offset} does not match the upload's {current}")
            for chunk in chunks:
                if current + len(chunk) > state.length:
                    raise UploadRejected("more bytes than the declared Upload-Length")
                fh.write(chunk)
                current += len(chunk)
            fh.flush()
            if current == state.length:
                return self._complete(state)
        return state

    def _complete(self, state: UploadState) -> UploadState:
        part, _ = self._paths(state.id)
        state.asset_id = self.ingestor.ingest_file(
            part,
            state.metadata.get("title"),
            ladder=state.metadata.get("ladder"),
            filename=state.metadata.get("filename"),
        )
        self._save(state)
        part.unlink(missing_ok=True)  # the master is in the store now
        return state

    def terminate(self, upload_id: str) -> None:
        part, meta = self._paths(upload_id)
        if not meta.exists():
            raise NotFound("no such upload")
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)

    def expire_stale(self) -> int:
        """Remove uploads past their expiry (complete ones keep only their small record)."""
        removed = 0
        for meta in self.directory.glob("*.json"):
            with contextlib.suppress(FileNotFoundError, ValueError, TypeError, NotFound):
                state = UploadState(**json.loads(meta.read_text()))
                if self.expired(state):
                    self.terminate(state.id)
                    removed += 1
        return removed
