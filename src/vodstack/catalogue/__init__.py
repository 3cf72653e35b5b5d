"""The catalogue: what exists and in which state — SQLAlchemy models, the repository
(:class:`Catalogue`), playback sessions, grants and content keys, and the vocabulary other
stages store in it (purge scopes, QoE session values). Alembic migrations live in
``migrations/``."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.catalogue.content_keys import ContentKeys
    from vodstack.catalogue.db import Database, make_engine
    from vodstack.catalogue.grants import Grants
    from vodstack.catalogue.media import MediaCatalogue
    from vodstack.catalogue.models import (
        Asset,
        AssetFile,
        AudioUpload,
        Caption,
        ContentKey,
        Event,
        Job,
        Licence,
        PlaybackEvent,
        PlaybackSession,
        Rendition,
        SigningKey,
        Subscription,
        UsageHour,
        WindowPart,
        utcnow,
    )
    from vodstack.catalogue.playback import PlaybackSessions, SessionRecord
    from vodstack.catalogue.purge import ASSET, PurgeScope, Scope
    from vodstack.catalogue.repository import (
        ACTIVE_JOB_STATES,
        EXTRAS_KIND,
        FINAL_JOB_STATES,
        QUEUE_PRIORITY,
        TRANSCODE_KIND,
        Catalogue,
        ClaimedJob,
        is_valid_id,
        new_id,
    )
    from vodstack.catalogue.session_stats import (
        Beacon,
        Cursor,
        Interval,
        Observations,
        SessionStats,
        measure,
        merge,
        percent,
    )

__all__ = [
    "ACTIVE_JOB_STATES",
    "ASSET",
    "EXTRAS_KIND",
    "FINAL_JOB_STATES",
    "QUEUE_PRIORITY",
    "TRANSCODE_KIND",
    "Asset",
    "AssetFile",
    "AudioUpload",
    "Beacon",
    "Caption",
    "Catalogue",
    "ClaimedJob",
    "ContentKey",
    "ContentKeys",
    "Cursor",
    "Database",
    "Event",
    "Grants",
    "Interval",
    "Job",
    "Licence",
    "MediaCatalogue",
    "Observations",
    "PlaybackEvent",
    "PlaybackSession",
    "PlaybackSessions",
    "PurgeScope",
    "Rendition",
    "Scope",
    "SessionRecord",
    "SessionStats",
    "SigningKey",
    "Subscription",
    "UsageHour",
    "WindowPart",
    "is_valid_id",
    "make_engine",
    "measure",
    "merge",
    "new_id",
    "percent",
    "utcnow",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "content_keys": ["ContentKeys"],
        "db": ["Database", "make_engine"],
        "grants": ["Grants"],
        "media": ["MediaCatalogue"],
        "models": [
            "Asset",
            "AssetFile",
            "AudioUpload",
            "Caption",
            "ContentKey",
            "Event",
            "Job",
            "Licence",
            "PlaybackEvent",
            "PlaybackSession",
            "Rendition",
            "SigningKey",
            "Subscription",
            "UsageHour",
            "WindowPart",
            "utcnow",
        ],
        "playback": ["PlaybackSessions", "SessionRecord"],
        "purge": ["ASSET", "PurgeScope", "Scope"],
        "repository": [
            "ACTIVE_JOB_STATES",
            "Catalogue",
            "ClaimedJob",
            "EXTRAS_KIND",
            "FINAL_JOB_STATES",
            "QUEUE_PRIORITY",
            "TRANSCODE_KIND",
            "is_valid_id",
            "new_id",
        ],
        "session_stats": [
            "Beacon",
            "Cursor",
            "Interval",
            "Observations",
            "SessionStats",
            "measure",
            "merge",
            "percent",
        ],
    },
)
