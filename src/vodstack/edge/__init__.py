from vodstack.edge.cache import EdgeCache, Loader
from vodstack.edge.collapse import Collapser
from vodstack.edge.entry import CacheEntry, CacheStats, Fetched, ResultType
from vodstack.edge.errors import OriginTimeout, OriginUnavailable

__all__ = [
    "CacheEntry",
    "CacheStats",
    "Collapser",
    "EdgeCache",
    "Fetched",
    "Loader",
    "OriginTimeout",
    "OriginUnavailable",
    "ResultType",
]
