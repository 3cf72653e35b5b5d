"""Ingest: what an upload may be (ingest/, captions/, the upload routes)."""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, Field, field_validator

from vodstack.config.fields import positive


class IngestSettings(BaseModel):
    max_upload_bytes: int = positive(50 * 1024**3, "Largest master accepted (bytes).")
    max_source_duration_s: float = positive(6 * 3600, "Longest master accepted (seconds).")
    caption_max_bytes: int = positive(2 * 1024**2, "Largest caption file accepted (bytes).")
    audio_upload_max_bytes: int = positive(
        2 * 1024**3, "Largest separate audio track accepted (bytes)."
    )
    upload_expiry_s: float = positive(
        24 * 3600,
        "Resumable uploads (/api/uploads) not completed within this are removed.",
    )

    # -- direct uploads and URL ingest (issue #18; docs/uploads.md) -------------------------
    direct_upload_ttl_s: float = Field(
        default=3600,
        gt=0,
        le=7 * 86400,
        description="How long a direct-upload URL can start its upload (a request may ask "
        "for less); the bytes may then arrive until the upload itself expires.",
    )
    direct_upload_cors_origins: tuple[str, ...] = Field(
        default=(),
        description="Web origins (scheme://host[:port]) whose pages may send a master to a "
        "direct-upload URL (CORS, no credentials). Empty: same-origin pages only.",
    )
    url_ingest_allowed_networks: tuple[str, ...] = Field(
        default=(),
        description="Networks (CIDR) URL ingest may reach although they are private, "
        "loopback, link-local or reserved, e.g. 10.20.0.0/16 for an internal file server. "
        "Empty (default): public addresses only.",
    )
    url_ingest_timeout_s: float = positive(
        30, "URL ingest: connect timeout and longest pause between bytes."
    )
    url_ingest_max_s: float = positive(6 * 3600, "URL ingest: longest whole download.")
    url_ingest_max_redirects: int = Field(
        default=5, ge=0, le=20, description="URL ingest: redirects followed (each re-checked)."
    )

    @field_validator("direct_upload_cors_origins")
    @classmethod
    def _direct_upload_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
                raise ValueError(
                    f"direct_upload_cors_origins: {origin!r} is not an origin like "
                    "https://www.example.com (scheme, host, optional port; no path, no wildcard)"
                )
        return value

    @field_validator("url_ingest_allowed_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"url_ingest_allowed_networks: {network!r} is not a network like "
                    "10.20.0.0/16 or 127.0.0.1/32"
                ) from None
        return value
