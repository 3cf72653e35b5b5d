"""The HTTP server: where ``serve`` listens, as what, and what requests it accepts (web/)."""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from vodstack.config.fields import listed, optional, positive

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_HOST_SOURCE = re.compile(r"https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _origins(
    field: str,
    value: tuple[str, ...],
    pattern: re.Pattern[str],
    like: str,
    form: str,
    *,
    any_origin: bool = False,
) -> tuple[str, ...]:
    """``value`` if every entry is an origin ``pattern`` accepts (or ``*``, if ``any_origin``)."""
    for origin in value:
        if not (any_origin and origin == "*") and not pattern.fullmatch(origin):
            raise ValueError(f"{field}: {origin!r} is not an origin like {like} ({form})")
    return value


class ServerSettings(BaseModel):
    public_url: str | None = optional(
        "Scheme+host viewers use (base of playback URLs and policy Resources). "
        "Default: http://{host}:{port} of `serve`."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` binds to.")
    server_workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="HTTP worker processes of `serve` (`--workers`). Default: one per core for "
        "the edge role, 1 for the others (see docs/deploy.md: what several workers share).",
    )
    role: Literal["all", "edge", "shield", "origin"] = Field(
        default="all",
        description="What `serve` runs: edge+origin in one process (all); an edge (gate + "
        "cache) in front of origin_urls; a shield (cache, origin-secret protected) between "
        "edges and the origin, so each object is fetched from the origin once; or the origin.",
    )
    worker_shared_dir: Path | None = optional(
        "Set by `serve --workers N` for its workers (not by hand): the directory "
        "through which they share the edge disk tier, collapse origin loads and elect the "
        "one that runs background jobs."
    )
    tls_cert: Path | None = optional("PEM certificate: serve HTTPS.")
    tls_key: Path | None = optional("PEM private key for tls_cert.")
    hsts: bool = Field(default=False, description="Send Strict-Transport-Security over TLS.")
    cors_origins: tuple[str, ...] = listed(
        "Web origins (scheme://host[:port]) whose pages may call /play, fetch /v1 "
        "media with the signed cookies and post beacons (credentialed CORS), e.g. a player "
        "embedded in your own site. Empty: same-origin only. Never '*'; never the admin API."
    )
    embed_origins: tuple[str, ...] = listed(
        "Origins (scheme://host[:port], '*.' allowed before the host) whose pages "
        "may show /embed/{assetId} in an iframe: the page's CSP frame-ancestors. Empty: this "
        "server's own pages only ('self'); '*' would let any site frame it."
    )
    access_log: str | None = optional(
        "JSON access log, one line per request: a file path, or '-' for stderr."
    )
    max_admin_body_bytes: int = positive(
        1024**2,
        "Largest request body of an admin API route other than uploads (bytes); "
        "larger ones get 413 before they are read.",
    )
    max_public_body_bytes: int = positive(
        256 * 1024,
        "Largest request body of a public route (beacons, licences, sign-in) "
        "(bytes); larger ones get 413 before they are read.",
    )
    body_timeout_s: float = positive(
        30,
        "Time allowed to receive a whole request body (408 after it); for uploads, "
        "the longest pause between two chunks.",
    )

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Credentialed CORS must name each origin exactly (Fetch standard): no wildcard, no
        # path, so a typo cannot open the cookies to every site.
        return _origins(
            "cors_origins",
            value,
            _ORIGIN,
            "https://www.example.com",
            "scheme, host, optional port; no path, no wildcard",
        )

    @field_validator("embed_origins")
    @classmethod
    def _frame_ancestors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # CSP3 §6.4.2 host-source: one exact origin (or *.host) each, so nothing but origins
        # can reach the header (no quotes, spaces or ';' that would add directives).
        return _origins(
            "embed_origins",
            value,
            _HOST_SOURCE,
            "https://learn.example.edu",
            "scheme, host or *.host, optional port; no path",
            any_origin=True,
        )

    @cached_property
    def effective_server_workers(self) -> int:
        """Edges share nothing but files: one per core. The origin's progressive-window
        scheduler and the in-process job pool are per process, so other roles default to 1."""
        if self.server_workers is not None:
            return self.server_workers
        return (os.cpu_count() or 1) if self.role == "edge" else 1

    def base_url(self) -> str:
        """Public scheme+host, without a trailing slash."""
        scheme = "https" if self.tls_cert else "http"
        return (self.public_url or f"{scheme}://{self.host}:{self.port}").rstrip("/")
