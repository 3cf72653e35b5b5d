"""Who is the viewer, network-wise: client address and country, trusting proxies only by config.

A forwarded-for or country header is believed only when the TCP peer is a configured trusted
proxy (the CDN or load balancer); otherwise anyone could claim any address or country.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ViewerLocator:
    def __init__(
        self,
        trusted_proxies: Sequence[str] = (),
        *,
        country_header: str = "cloudfront-viewer-country",
        geoip_db: Path | None = None,
    ) -> None:
        self.trusted: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(p, strict=False) for p in trusted_proxies
        )
        self.country_header = country_header.lower()
        self.geoip_db = geoip_db

    def _is_trusted(self, address: str) -> bool:
        if not self.trusted:  # the default: no proxy is trusted, nothing to parse per request
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def client_ip(self, peer: str | None, headers: Mapping[str, str]) -> str:
        """The viewer's address: the right-most untrusted hop of X-Forwarded-For when the peer
        is a trusted proxy, else the peer itself."""
        peer = peer or "0.0.0.0"  # noqa: S104 - an address, not a bind
        if not self._is_trusted(peer):
            return peer
        forwarded = headers.get("x-forwarded-for", "")
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer
            if not self._is_trusted(hop):
                return hop
        return peer

    def country(self, peer: str | None, headers: Mapping[str, str]) -> str | None:
        """ISO 3166 alpha-2 country, or None when unknown."""
        if peer and self._is_trusted(peer):
            value = headers.get(self.country_header, "").strip().upper()
            if len(value) == 2 and value.isalpha():
                return value
        return self._lookup(self.client_ip(peer, headers))

    @cached_property
    def _reader(self) -> Any:
        if self.geoip_db is None:
            return None
        import maxminddb  # optional dependency: only needed with a GeoIP database

        return maxminddb.open_database(str(self.geoip_db))

    def _lookup(self, address: str) -> str | None:
        if self._reader is None:
            return None
        try:
            record = self._reader.get(address)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        code = (record.get("country") or {}).get("iso_code")
        return code.upper() if isinstance(code, str) else None
