"""Direct uploads: a one-time, expiring tus URL a browser may use with no key (like Mux's
direct-upload URLs and Cloudflare Stream's direct creator uploads).

The admin side (``POST /api/uploads/direct``) chooses everything about the asset — title,
metadata, ladder — and bounds the upload: its size (``max_bytes``), when it must start
(``expires_at``), and which web page may send it (``cors_origin``). It gets back a URL whose
last segment is a 256-bit token, shown once and stored only as a SHA-256 digest. The
uploader's side is plain tus 1.0.0 against that URL: ``POST`` creates the upload (once: the
URL is claimed with a conditional update, so a second ``POST`` — even a concurrent one —
gets 409, and exactly one asset comes of it), ``PATCH``/``HEAD`` send and resume bytes at the
same URL, ``DELETE`` abandons. The client's ``Upload-Metadata`` may name the file (display
only); title, ladder and metadata stay the server side's.

Bytes and resume state are the ordinary resumable uploads' (``ingest/resumable.py``); once
the last byte is in, the master goes through the ordinary ingest, announced with
``source: direct``, the direct upload's id and its metadata.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from vodstack.base import DIRECT_UPLOAD_CANCELLED, DIRECT_UPLOAD_CREATED, EventBus
from vodstack.base.actor import Actor
from vodstack.catalogue import new_id, utcnow
from vodstack.catalogue.ingests import DirectUpload, Ingests, token_digest
from vodstack.config import Settings
from vodstack.errors import Conflict, Forbidden, InvalidInput, NotFound, UploadRejected
from vodstack.ingest.choices import check_ladder, check_max_bytes, check_metadata
from vodstack.ingest.resumable import ResumableUploads, UploadState
from vodstack.ingest.upload import Ingestor

#: Where the uploader's side lives: ``{public base}/direct-uploads/{token}``.
PUBLIC_PREFIX = "/direct-uploads/"
#: The key under which a resumable upload remembers the direct upload it belongs to.
_DIRECT_KEY = "direct_upload"


@dataclass(frozen=True)
class DirectRequest:
    title: str | None = None
    metadata: dict[str, str] | None = None
    max_bytes: int | None = None
    cors_origin: str | None = None
    ladder: str | None = None
    expires_in_s: float | None = None


def redact(path: str) -> str:
    """A request path for logs: the token is a credential."""
    if not path.startswith(PUBLIC_PREFIX):
        return path
    rest = path[len(PUBLIC_PREFIX) :]
    _, slash, tail = rest.partition("/")
    return f"{PUBLIC_PREFIX}-{slash}{tail}"


class DirectResumable(ResumableUploads):
    """Resumable uploads that announce and record the direct upload they came through."""

    def __init__(self, directory: Path, ingestor: Ingestor, expiry_s: float, ingests: Ingests):
        super().__init__(directory, ingestor, expiry_s)
        self.ingests = ingests

    def announced(self, state: UploadState) -> dict[str, object] | None:
        direct_id = state.metadata.get(_DIRECT_KEY)
        if direct_id is None:
            return super().announced(state)
        row = self.ingests.direct(direct_id)
        return {"source": "direct", "direct_upload_id": direct_id, "metadata": row.meta or {}}

    def completed(self, state: UploadState) -> None:
        direct_id = state.metadata.get(_DIRECT_KEY)
        if direct_id is not None and state.asset_id is not None:
            self.ingests.finish_direct(direct_id, state.asset_id)


class DirectUploads:
    def __init__(self, settings: Settings, ingests: Ingests, ingestor: Ingestor, bus: EventBus):
        self.settings = settings
        self.ingests = ingests
        self.bus = bus
        self.resumable = DirectResumable(
            settings.home / "uploads", ingestor, settings.upload_expiry_s, ingests
        )

    # -- the admin side ---------------------------------------------------------------------
    def create(
        self, request: DirectRequest, *, actor: Actor | None = None
    ) -> tuple[DirectUpload, str]:
        """A new direct upload and its token (the only time the token exists in clear)."""
        settings = self.settings
        if request.cors_origin is not None and (
            request.cors_origin not in settings.direct_upload_cors_origins
        ):
            listed = ", ".join(settings.direct_upload_cors_origins) or "none is set"
            raise InvalidInput(
                f"cors_origin {request.cors_origin!r} is not one of "
                f"VODSTACK_DIRECT_UPLOAD_CORS_ORIGINS ({listed})"
            )
        ttl = settings.direct_upload_ttl_s
        if request.expires_in_s is not None:
            if not 0 < request.expires_in_s <= ttl:
                raise InvalidInput(f"expires_in_s must be between 1 and {ttl:g} seconds")
            ttl = request.expires_in_s
        token = secrets.token_urlsafe(32)
        now = utcnow()
        row = DirectUpload(
            id=new_id(),
            token_hash=token_digest(token),
            title=(request.title or "").strip()[:500] or None,
            meta=check_metadata(request.metadata),
            ladder=check_ladder(request.ladder, settings.ladder_profiles),
            max_bytes=check_max_bytes(request.max_bytes, settings.max_upload_bytes),
            cors_origin=request.cors_origin,
            status="waiting",
            created_by=actor.label if actor else "",
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
        self.ingests.add_direct(row)
        self.bus.publish(
            DIRECT_UPLOAD_CREATED,
            None,
            direct_upload_id=row.id,
            title=row.title,
            metadata=row.meta or {},
            max_bytes=row.max_bytes,
            cors_origin=row.cors_origin,
            expires_at=row.expires_at.isoformat(),
            actor=actor.to_dict() if actor else None,
        )
        return row, token

    def url(self, token: str) -> str:
        return f"{self.settings.base_url()}{PUBLIC_PREFIX}{token}"

    def cancel(self, direct_id: str, *, actor: Actor | None = None) -> DirectUpload:
        """Withdraw a URL (and drop the bytes of an upload under way); 409 once its asset
        exists (delete the asset instead)."""
        row = self.ingests.direct(direct_id)
        if not self.ingests.cancel_direct(direct_id):
            row = self.ingests.direct(direct_id)
            if row.status == "cancelled":
                return row
            raise Conflict(f"direct upload {direct_id} already made asset {row.asset_id}")
        self._drop_bytes(row)
        self.bus.publish(
            DIRECT_UPLOAD_CANCELLED,
            None,
            direct_upload_id=direct_id,
            actor=(actor or Actor("tus", "uploader", "-")).to_dict(),
        )
        return self.ingests.direct(direct_id)

    def progress(self, row: DirectUpload) -> tuple[int, int] | None:
        """(offset, length) of the upload under way or done, else None."""
        if row.upload_id is None:
            return None
        try:
            state = self.resumable.state(row.upload_id)
            return self.resumable.offset(row.upload_id), state.length
        except NotFound:
            return None

    # -- the uploader's side ----------------------------------------------------------------
    def find(self, token: str) -> DirectUpload:
        row = self.ingests.direct_by_token(token) if len(token) <= 128 else None
        if row is None:
            raise NotFound("no such direct-upload URL")
        if row.status == "cancelled":
            raise UploadRejected("this direct-upload URL was cancelled", status=410)
        return row

    def check_origin(self, row: DirectUpload, origin: str | None) -> None:
        """A URL made for one web page (``cors_origin``) refuses a browser on another."""
        if row.cors_origin is not None and origin is not None and origin != row.cors_origin:
            raise Forbidden(
                f"this direct-upload URL accepts uploads from {row.cors_origin} only",
                "cors_origin",
            )

    def start(
        self, token: str, length: int, filename: str | None
    ) -> tuple[DirectUpload, UploadState]:
        """tus creation: claim the URL (once) and create its upload."""
        row = self.find(token)
        state = row.state()
        if state == "expired":
            raise UploadRejected(
                f"this direct-upload URL expired at {row.expires_at.isoformat(timespec='seconds')}"
                "; ask for a new one",
                status=410,
            )
        if state != "waiting":
            raise UploadRejected(
                "this direct-upload URL was already used (one upload per URL); "
                "resume it with HEAD and PATCH, or ask for a new one",
                status=409,
            )
        if length > row.max_bytes:
            raise UploadRejected(
                f"this direct-upload URL accepts at most {row.max_bytes} bytes", status=413
            )
        metadata = {_DIRECT_KEY: row.id}
        if row.title:
            metadata["title"] = row.title
        if row.ladder:
            metadata["ladder"] = row.ladder
        if filename:
            metadata["filename"] = filename
        upload = self.resumable.create(length, metadata)
        if not self.ingests.claim_direct(row.id, upload.id, utcnow()):
            self.resumable.terminate(upload.id)  # another request won the URL
            raise UploadRejected(
                "this direct-upload URL was already used (one upload per URL)", status=409
            )
        return self.ingests.direct(row.id), upload

    def upload_of(self, token: str) -> tuple[DirectUpload, str]:
        """The direct upload and its tus upload id, for HEAD, PATCH and DELETE."""
        row = self.find(token)
        if row.upload_id is None:
            if row.state() == "expired":
                raise UploadRejected("this direct-upload URL expired unused", status=410)
            raise NotFound("no upload was started at this URL yet: create it with POST first")
        return row, row.upload_id

    def terminate(self, token: str) -> None:
        """tus termination by the uploader: the URL is spent, its bytes dropped."""
        row, _ = self.upload_of(token)
        if row.status == "complete":
            raise Conflict("the upload is complete: it became an asset")
        self.cancel(row.id)

    def _drop_bytes(self, row: DirectUpload) -> None:
        if row.upload_id is None:
            return
        with contextlib.suppress(NotFound):
            self.resumable.terminate(row.upload_id)
