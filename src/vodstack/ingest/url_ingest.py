"""Ingest from a URL: the API (or ``vodstack ingest URL``) accepts it at once, a job
downloads it.

Accepting checks the URL (scheme, host, its addresses: a clear 400 and nothing created when
it points into the private network), then creates, in one transaction, the asset (status
``fetching``) and the record of where its master comes from, and queues a ``fetch`` job on
the ondemand queue. The job streams the download into the private master store
(``ingest/fetch.py`` does the network part, checking every connection and redirect again),
then the asset continues like any upload: ``source.created`` → transcode. A download that
cannot work (refused address, 404, too big, not a video) fails the asset at once with the
reason; timeouts, resets and 5xx are retried with the job's backoff first. Either way the
job ends in the dead-letter queue and ``vodstack jobs redrive`` fetches again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from vodstack.base import ASSET_CREATED, SOURCE_CREATED, EventBus
from vodstack.base.actor import Actor
from vodstack.catalogue import Asset, Catalogue, ClaimedJob, new_id
from vodstack.catalogue.ingests import Ingests, UrlIngest
from vodstack.catalogue.repository import FETCH_KIND
from vodstack.config import Settings
from vodstack.errors import InvalidInput, NotFound
from vodstack.ingest.choices import check_ladder, check_max_bytes, check_metadata
from vodstack.ingest.fetch import (
    AddressPolicy,
    Fetcher,
    FetchFailed,
    FetchRefused,
    Resolver,
    check_now,
    filename_of,
    system_resolver,
)
from vodstack.ingest.upload import VIDEO_EXTENSIONS, safe_filename, storage_extension
from vodstack.storage import ObjectStore, master_key

FETCHING = "fetching"  # asset status while its master downloads
_TYPE_EXTENSIONS = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
    "video/mp2t": ".ts",
    "video/mpeg": ".mpg",
    "video/x-msvideo": ".avi",
    "application/mxf": ".mxf",
}


@dataclass(frozen=True)
class UrlRequest:
    url: str
    title: str | None = None
    ladder: str | None = None
    max_bytes: int | None = None
    metadata: dict[str, str] | None = None


def shown_url(url: str) -> str:
    """The URL as events and the API show it: no query (signed URLs carry credentials)."""
    return url.split("?", 1)[0].split("#", 1)[0]


def extension_for(name: str, content_type: str | None) -> str:
    ext = storage_extension(name)
    if ext in VIDEO_EXTENSIONS:
        return ext
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    return _TYPE_EXTENSIONS.get(kind, ".bin")


class UrlIngestor:
    """Accepts URLs (API, CLI) and runs the ``fetch`` jobs (workers)."""

    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        store: ObjectStore,
        bus: EventBus,
        *,
        dispatch: Callable[[str, str], None] | None = None,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.ingests = Ingests(catalogue.db)
        self.store = store
        self.bus = bus
        self.dispatch = dispatch
        self.resolve = resolve
        self.policy = AddressPolicy.from_settings(settings.url_ingest_allowed_networks)

    # -- accepting ------------------------------------------------------------------------
    def accept(self, request: UrlRequest, *, actor: Actor | None = None) -> Asset:
        """Check the URL and the choices, create the asset and queue its download. Raises
        InvalidInput (nothing created) for a URL that cannot be fetched from here."""
        try:
            url = check_now(request.url, self.policy, self.resolve)
        except FetchRefused as exc:
            raise InvalidInput(exc.message) from None
        ladder = check_ladder(request.ladder, self.settings.ladder_profiles)
        cap = check_max_bytes(request.max_bytes, self.settings.max_upload_bytes)
        meta = check_metadata(request.metadata)
        name = safe_filename(filename_of(url, None))
        title = (request.title or "").strip()[:500] or os.path.splitext(name)[0]
        asset_id = new_id()
        asset = Asset(
            id=asset_id,
            title=title,
            status=FETCHING,
            source_key=master_key(asset_id, extension_for(name, None)),  # until the answer says
            source_name=name,
            source_size=0,
            ladder=ladder,
        )
        self.ingests.add_url(
            asset,
            UrlIngest(
                asset_id=asset.id,
                url=str(url),
                meta=meta,
                max_bytes=cap,
                created_by=actor.label if actor else "",
            ),
        )
        self.bus.publish(
            ASSET_CREATED,
            asset.id,
            title=title,
            source="url",
            url=shown_url(str(url)),
            metadata=meta or {},
            actor=actor.to_dict() if actor else None,
        )
        job = self.catalogue.enqueue_job(
            asset.id, kind=FETCH_KIND, queue="ondemand", max_attempts=self.settings.job_max_attempts
        )
        if self.dispatch is not None:
            self.dispatch(job.id, job.queue)
        return self.catalogue.get_asset(asset.id)

    # -- the job ----------------------------------------------------------------------------
    def run(
        self, job: ClaimedJob, progress: Callable[[float], None], cancel: threading.Event
    ) -> None:
        try:
            asset = self.catalogue.get_asset(job.asset_id)
        except NotFound:
            return  # deleted while queued: nothing to fetch for
        row = self.ingests.url_ingest(job.asset_id)
        if row is None:
            raise FetchRefused("the asset has no URL to fetch from")
        fetcher = Fetcher(
            self.policy,
            max_bytes=row.max_bytes,
            timeout_s=self.settings.url_ingest_timeout_s,
            max_s=self.settings.url_ingest_max_s,
            max_redirects=self.settings.url_ingest_max_redirects,
            resolve=self.resolve,
        )
        with fetcher.open(row.url) as download:
            name = safe_filename(download.filename)
            key = master_key(asset.id, extension_for(name, download.content_type))
            with self.store.writer(key) as fh:
                for chunk in download.chunks():
                    if cancel.is_set():  # the lease was lost: another worker fetches
                        raise FetchFailed("the download was interrupted (lease lost)")
                    fh.write(chunk)
                    if download.length:
                        progress(min(1.0, download.size / download.length))
            size, final_url, content_type = download.size, download.url, download.content_type
        if key != asset.source_key:
            self.store.delete_prefix(asset.source_key)  # an earlier attempt's other name
        self.ingests.url_fetched(
            asset.id, final_url=str(final_url), size=size, content_type=content_type
        )
        self.catalogue.update_asset(
            asset.id,
            source_key=key,
            source_name=name if asset.source_name in ("", "download") else asset.source_name,
            source_size=size,
        )
        self.catalogue.mark_uploaded(asset.id)
        self.bus.publish(SOURCE_CREATED, asset.id, source_key=key, size=size, source="url")
