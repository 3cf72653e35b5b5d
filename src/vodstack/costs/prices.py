"""Money from usage and operator-set unit prices (pure).

Prices come from settings (``cost_*``); the defaults there are examples, and every figure
this module returns is an estimate from those prices, labelled with their currency. GB here
is 10^9 bytes, as cloud price lists count it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

GB = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Prices:
    egress_tiers: tuple[tuple[float, float], ...]  # (GB in tier, price/GB); last = the rest
    storage_gb_month: Mapping[str, float]
    cpu_hour: float
    currency: str = "USD"

    @classmethod
    def from_settings(cls, settings: object) -> Prices:
        return cls(
            egress_tiers=tuple(settings.cost_egress_tiers),  # type: ignore[attr-defined]
            storage_gb_month=dict(settings.cost_storage_gb_month),  # type: ignore[attr-defined]
            cpu_hour=settings.cost_cpu_hour,  # type: ignore[attr-defined]
            currency=settings.cost_currency,  # type: ignore[attr-defined]
        )


def egress_cost(total_bytes: int, tiers: Sequence[tuple[float, float]]) -> float:
    """Tiered price of ``total_bytes`` delivered in one billing period (each tier's GB at its
    price, the last tier for everything beyond)."""
    remaining = total_bytes / GB
    cost = 0.0
    for i, (size_gb, price) in enumerate(tiers):
        last = i == len(tiers) - 1
        used = remaining if last else min(remaining, size_gb)
        cost += used * price
        remaining -= used
        if remaining <= 0:
            break
    return cost


def share_of(part: int, whole: int, whole_cost: float) -> float:
    """A title's part of a tiered bill: its bytes at the period's blended rate."""
    return whole_cost * part / whole if whole else 0.0


def storage_cost_month(bytes_by_class: Mapping[str, int], prices: Prices) -> float:
    """Monthly price of what is stored, per storage class (unknown classes cost 0 and are
    reported as such by the caller)."""
    return sum(n / GB * prices.storage_gb_month.get(cls, 0.0) for cls, n in bytes_by_class.items())


def cpu_cost(cpu_s: float, prices: Prices) -> float:
    return cpu_s / 3600 * prices.cpu_hour
