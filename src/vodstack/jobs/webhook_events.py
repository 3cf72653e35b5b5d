"""Which bus events become webhooks, under which public type, with which ``data`` (pure).

One bus event gives at most one webhook (so a delivery id — event id × endpoint — names one
delivery). Most keep their bus name; ``asset.updated`` is split by its ``action`` into
``asset.published``, ``asset.unpublished``, ``asset.deleted`` and ``captions.ready``.
Payloads are documented in docs/webhooks.md; ``PAYLOAD_VERSION`` changes when a field is
removed or changes meaning (new fields may appear within a version).
"""

from __future__ import annotations

from typing import Any

from vodstack.base import (
    ASSET_CREATED,
    ASSET_EXTRAS_FAILED,
    ASSET_EXTRAS_READY,
    ASSET_FAILED,
    ASSET_READY,
    ASSET_RESTORED,
    ASSET_UPDATED,
    DIRECT_UPLOAD_CANCELLED,
    DIRECT_UPLOAD_CREATED,
    JOB_DEAD_LETTERED,
    MASTER_PURGED,
    SOURCE_CREATED,
    TRANSCODE_FAILED,
    TRANSCODE_PROGRESS,
    TRANSCODE_STARTED,
    UPLOAD_FAILED,
    DomainEvent,
)
from vodstack.packaging.layout import asset_url, playback_urls

PAYLOAD_VERSION = 1

#: Public type → when it is sent (the order of an asset's life).
PUBLIC_TYPES: dict[str, str] = {
    "direct_upload.created": "a one-time upload URL was issued",
    "direct_upload.cancelled": "a one-time upload URL was withdrawn before its asset was made",
    "asset.created": "an asset exists (upload finished, URL accepted, or restored)",
    "source.created": "upload completed: the master is in the private store",
    "upload.failed": "a URL ingest could not download the master (the asset failed)",
    "transcode.started": "a transcode attempt began",
    "transcode.progress": "a transcode crossed a step of VODSTACK_WEBHOOK_PROGRESS_STEP",
    "asset.ready": "playable (a progressive asset: once early, again when complete)",
    "transcode.failed": "a transcode gave up (the job is dead-lettered)",
    "asset.failed": "the asset cannot be played (see data.error)",
    "captions.ready": "a caption track was added",
    "asset.extras_ready": "poster, storyboard, MP4 download and VMAF of a revision made",
    "asset.extras_failed": "the extras job gave up (the asset still plays)",
    "asset.published": "playback allowed",
    "asset.unpublished": "playback stopped (takedown)",
    "asset.deleted": "packaged media and rows removed; the master kept unless said",
    "asset.restored": "a deleted asset is being rebuilt from its retained master",
    "master.purged": "a retained master was deleted for good",
    "job.dead_lettered": "any job (fetch, transcode, extras) used its attempts",
}

_SAME_NAME = frozenset(
    {
        ASSET_CREATED,
        SOURCE_CREATED,
        UPLOAD_FAILED,
        TRANSCODE_STARTED,
        TRANSCODE_PROGRESS,
        ASSET_READY,
        TRANSCODE_FAILED,
        ASSET_FAILED,
        ASSET_EXTRAS_READY,
        ASSET_EXTRAS_FAILED,
        ASSET_RESTORED,
        MASTER_PURGED,
        JOB_DEAD_LETTERED,
        DIRECT_UPLOAD_CREATED,
        DIRECT_UPLOAD_CANCELLED,
    }
)
_ACTIONS = {
    "publish": "asset.published",
    "unpublish": "asset.unpublished",
    "delete": "asset.deleted",
}

#: Bus events the webhook sender listens to.
BUS_EVENTS: tuple[str, ...] = (*sorted(_SAME_NAME), ASSET_UPDATED)


def public_type(event: DomainEvent) -> str | None:
    """The webhook type of a bus event, or None when it is not one."""
    if event.type in _SAME_NAME:
        return event.type
    if event.type != ASSET_UPDATED:
        return None
    action = event.payload.get("action")
    if action == "captions":
        return "captions.ready" if event.payload.get("change") == "added" else None
    return _ACTIONS.get(str(action))


def public_data(event: DomainEvent, type_: str, base_url: str) -> dict[str, Any]:
    """``data`` of a webhook: the event's payload without what only edges need."""
    data: dict[str, Any] = dict(event.payload)
    data.pop("purge", None)  # what edges forget (catalogue.purge): not for subscribers
    if event.type == ASSET_UPDATED:
        data.pop("action", None)  # said by the type
        data.pop("change", None)
    if type_ == ASSET_READY and event.asset_id:
        data["playback"] = playback_urls(asset_url(base_url, event.asset_id)).to_dict()
    return data
