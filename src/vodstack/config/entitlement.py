"""Entitlement and signed delivery: viewer JWTs, playback cookies, who the viewer is
(entitlement/)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from vodstack.config.fields import listed, optional, rate


class EntitlementSettings(BaseModel):
    cookie_ttl_s: int = Field(
        default=300, ge=10, le=86400, description="Lifetime of playback cookies (seconds)."
    )
    cookie_bind_ip: bool = Field(
        default=False,
        description="Bind cookies to the viewer's IP (/32 or /128). IPv6 privacy addresses and "
        "mobile networks change addresses mid-session: enable only where that is acceptable.",
    )
    cookie_not_before_s: int = Field(
        default=0,
        ge=0,
        le=3600,
        description="When > 0, playback cookies carry DateGreaterThan = mint time minus this "
        "many seconds (tolerates clock skew between the signer and the verifying edges); "
        "0 = no not-before condition.",
    )
    cookie_samesite: Literal["lax", "strict", "none"] = Field(
        default="lax", description="SameSite of playback cookies ('none' for cross-site players)."
    )
    signing_hash: Literal["SHA1", "SHA256"] = Field(
        default="SHA1", description="CloudFront-Hash-Algorithm for new signatures."
    )
    jwt_issuer: str | None = optional(
        "External identity provider's issuer; when set, development tokens are "
        "refused and keys come from `jwks_url`."
    )
    dev_idp: bool = Field(
        default=False,
        description="Serve the development sign-in `POST /dev/token` (a viewer JWT for any "
        "subject, to loopback clients). Only for a machine of your own: `demo` turns it on, "
        "`serve` refuses it on a non-loopback address. `vodstack token` works without it.",
    )
    jwt_audience: str = Field(default="vodstack", description="Required `aud` of viewer JWTs.")
    jwks_url: str | None = optional("JWKS URL of the external IdP.")
    jwks_min_refresh_s: float = Field(
        default=10, ge=0, description="Least time between JWKS refetches for unknown key ids."
    )
    jwt_leeway_s: int = Field(default=30, ge=0, le=300, description="Clock skew allowed.")
    institution_claim: str = Field(
        default="institution", description="JWT claim naming the viewer's institution."
    )
    trusted_proxies: tuple[str, ...] = listed(
        "CIDRs of proxies/CDNs whose X-Forwarded-For and country header are believed."
    )
    country_header: str = Field(
        default="CloudFront-Viewer-Country",
        description="Viewer-country header set by a trusted proxy.",
    )
    geoip_db: Path | None = optional("MaxMind-format GeoIP database for the viewer country.")
    mint_rate_per_min: int = rate(60, "POST /play per subject and per address (0 = off).")
