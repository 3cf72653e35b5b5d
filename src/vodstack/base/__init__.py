"""The base layer: small, dependency-free pieces every other package may use.

    events     the event bus (``DomainEvent``, ``LocalEventBus``) and the event type names
    lru        the one bounded LRU map (``Lru``), by count or by weight
    ratelimit  the token-bucket ``RateLimiter`` (edge WAF rule, licence and thumbnail guards)
    face       ``lazy_face``: the package faces (``__all__``) that load a name on first use

Nothing here imports another ``vodstack`` package (the import-linter contracts in
``pyproject.toml`` say so).
"""

from vodstack.base.events import (
    ASSET_CREATED,
    ASSET_EXTRAS_FAILED,
    ASSET_EXTRAS_READY,
    ASSET_FAILED,
    ASSET_READY,
    ASSET_RESTORED,
    ASSET_RETRANSCODE,
    ASSET_UPDATED,
    DIRECT_UPLOAD_CANCELLED,
    DIRECT_UPLOAD_CREATED,
    JOB_DEAD_LETTERED,
    MASTER_PURGED,
    SOURCE_CREATED,
    TRANSCODE_COMPLETED,
    TRANSCODE_FAILED,
    TRANSCODE_PROGRESS,
    TRANSCODE_STARTED,
    UPLOAD_FAILED,
    DomainEvent,
    EventBus,
    EventLog,
    Handler,
    LocalEventBus,
)
from vodstack.base.face import lazy_face
from vodstack.base.ratelimit import RateLimiter, retry_after

__all__ = [
    "ASSET_CREATED",
    "ASSET_EXTRAS_FAILED",
    "ASSET_EXTRAS_READY",
    "ASSET_FAILED",
    "ASSET_READY",
    "ASSET_RESTORED",
    "ASSET_RETRANSCODE",
    "ASSET_UPDATED",
    "DIRECT_UPLOAD_CANCELLED",
    "DIRECT_UPLOAD_CREATED",
    "JOB_DEAD_LETTERED",
    "MASTER_PURGED",
    "SOURCE_CREATED",
    "TRANSCODE_COMPLETED",
    "TRANSCODE_FAILED",
    "TRANSCODE_PROGRESS",
    "TRANSCODE_STARTED",
    "UPLOAD_FAILED",
    "DomainEvent",
    "EventBus",
    "EventLog",
    "Handler",
    "LocalEventBus",
    "RateLimiter",
    "lazy_face",
    "retry_after",
]
