"""Costs (issue #21; docs/costs.md): the usage ledger, prices, cold storage (costs/).

Prices are EXAMPLES to replace with your own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from vodstack.config.fields import positive


class CostSettings(BaseModel):
    costs_ledger: bool = Field(
        default=True,
        description="Edges record bytes delivered per hour, asset, track, object kind and "
        "cache result in the catalogue (the usage ledger behind `vodstack costs`).",
    )
    costs_flush_s: float = positive(60, "Seconds between ledger flushes to the catalogue.")
    costs_retention_days: int = Field(
        default=90, ge=1, description="Ledger hours older than this are pruned at each flush."
    )
    cost_egress_tiers: tuple[tuple[float, float], ...] = Field(
        default=((10_240, 0.085), (40_960, 0.08), (102_400, 0.06), (0, 0.05)),
        description="Egress price per GB by monthly tier: [[GB in this tier, price per GB], "
        "...]; the last tier's size is ignored (everything beyond). The default is an EXAMPLE "
        "shaped like a public CDN's list prices, not a quote: set your own.",
    )
    cost_storage_gb_month: dict[str, float] = Field(
        default_factory=lambda: {
            "local": 0.0,
            "STANDARD": 0.023,
            "STANDARD_IA": 0.0125,
            "GLACIER_IR": 0.004,
        },
        description="Storage price per GB-month by storage class (`local` = the local store). "
        "EXAMPLES: set your own.",
    )
    cost_cpu_hour: float = Field(
        default=0.04, ge=0, description="Transcode price per CPU-hour (EXAMPLE: set your own)."
    )
    cost_currency: str = Field(default="USD", max_length=8, description="Label of prices.")
    costs_min_share: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Ladder recommendations: a rung under this share of watch time is a "
        "candidate to drop.",
    )
    cold_after_days: int | None = Field(
        default=None,
        ge=1,
        description="`vodstack costs lifecycle`: masters not re-transcoded for this many days "
        "move to `cold_storage_class` (S3 only; None = never).",
    )
    cold_storage_class: Literal["STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"] = Field(
        default="GLACIER_IR", description="S3 storage class of cold masters."
    )
