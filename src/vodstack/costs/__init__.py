"""Costs (issue #21): the usage ledger, storage and transcode figures, money estimates from
operator-set unit prices, rung usage and ladder recommendations, storage lifecycle.

Pure logic (``ledger``, ``report``, ``rungs``, ``prices``) is apart from I/O (``store``,
``service``, ``lifecycle``). ``recommend`` is a module: import the function from it
(``from vodstack.costs.recommend import recommend``), as a face name would shadow it."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.costs.flusher import LedgerFlusher, hot_class
    from vodstack.costs.ledger import UsageLedger
    from vodstack.costs.lifecycle import Lifecycle
    from vodstack.costs.prices import GB, Prices
    from vodstack.costs.report import CostReport, parse_since
    from vodstack.costs.service import CostService

__all__ = [
    "GB",
    "CostReport",
    "CostService",
    "LedgerFlusher",
    "Lifecycle",
    "Prices",
    "UsageLedger",
    "hot_class",
    "parse_since",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "flusher": ["LedgerFlusher", "hot_class"],
        "ledger": ["UsageLedger"],
        "lifecycle": ["Lifecycle"],
        "prices": ["GB", "Prices"],
        "report": ["CostReport", "parse_since"],
        "service": ["CostService"],
    },
)
