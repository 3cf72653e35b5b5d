"""The edge: the signature gate (entitlement), the cache with request collapsing and a shared
tier, purges that follow the event log, and loaders that fetch from the origin."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.edge.cache import EdgeCache, Loader
    from vodstack.edge.collapse import Collapser
    from vodstack.edge.disk import DiskFiles
    from vodstack.edge.entry import CacheEntry, CacheStats, Fetched, ResultType
    from vodstack.edge.errors import OriginTimeout, OriginUnavailable
    from vodstack.edge.gate import SignatureGate
    from vodstack.edge.hot import HotCopies
    from vodstack.edge.keys import delivery_key
    from vodstack.edge.loaders import HttpOrigins, InProcessOrigin
    from vodstack.edge.policy import PLAYBACK_POLICIES, PlaybackPolicies
    from vodstack.edge.service import PURGING_EVENTS, Edge, PurgeFollower, TtlPolicy, object_kind
    from vodstack.edge.shared import SharedTier

__all__ = [
    "PLAYBACK_POLICIES",
    "PURGING_EVENTS",
    "CacheEntry",
    "CacheStats",
    "Collapser",
    "DiskFiles",
    "Edge",
    "EdgeCache",
    "Fetched",
    "HotCopies",
    "HttpOrigins",
    "InProcessOrigin",
    "Loader",
    "OriginTimeout",
    "OriginUnavailable",
    "PlaybackPolicies",
    "PurgeFollower",
    "ResultType",
    "SharedTier",
    "SignatureGate",
    "TtlPolicy",
    "delivery_key",
    "object_kind",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "cache": ["EdgeCache", "Loader"],
        "collapse": ["Collapser"],
        "disk": ["DiskFiles"],
        "entry": ["CacheEntry", "CacheStats", "Fetched", "ResultType"],
        "errors": ["OriginTimeout", "OriginUnavailable"],
        "gate": ["SignatureGate"],
        "hot": ["HotCopies"],
        "keys": ["delivery_key"],
        "loaders": ["HttpOrigins", "InProcessOrigin"],
        "policy": ["PLAYBACK_POLICIES", "PlaybackPolicies"],
        "service": ["Edge", "PURGING_EVENTS", "PurgeFollower", "TtlPolicy", "object_kind"],
        "shared": ["SharedTier"],
    },
)
