"""The edge and its way to the origin: cache tiers, origin group, per-address rate (edge/)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from vodstack.config.fields import burst, listed, optional, positive, rate


class EdgeSettings(BaseModel):
    origin_urls: tuple[str, ...] = listed(
        "Edge role: origin group, primary first; the next is tried on a "
        "connection failure or a 5xx."
    )
    origin_secret_header: str = Field(
        default="X-Vodstack-Origin-Secret", description="Header carrying the origin secret."
    )
    origin_secrets: tuple[str, ...] = listed(
        "Secrets the origin accepts (two during a rotation); edges send the "
        "first. Default: one generated on first run in the secrets store."
    )
    origin_timeout_s: float = positive(10, "Edge → origin timeout.")
    origin_tls_verify: bool | str = Field(
        default=True, description="Verify the origin's certificate (or a CA bundle path)."
    )
    edge_memory_bytes: int = Field(default=256 * 1024**2, ge=0, description="Edge memory tier.")
    edge_disk_dir: Path | None = optional("Edge disk tier directory (default: cache/edge in home).")
    edge_disk_bytes: int = Field(default=4 * 1024**3, ge=0, description="Edge disk tier size.")
    edge_disk_threshold: int = Field(
        default=32 * 1024,
        ge=1,
        description="Objects at least this big go to the disk tier (served zero-copy).",
    )
    edge_stale_if_error_s: float = Field(
        default=24 * 3600, ge=0, description="How long cached segments outlive origin errors."
    )
    playback_rate_per_s: float = rate(200, "Delivery requests per second per address (0 = off).")
    playback_burst: int = burst(2000)
