"""The signature gate: every ``/v1/{assetId}/…`` request proves a CloudFront-style grant
(cookies, signed-URL query, or a path token ``/v1/{assetId}/t/{token}/…``) before anything
reaches the origin.

The URL checked is the public one (``VODSTACK_PUBLIC_URL`` + the raw path and query as sent),
the same string a CloudFront policy ``Resource`` is matched against.
"""

from __future__ import annotations

from starlette.requests import Request

from vodstack.config import Settings
from vodstack.edge.policy import PlaybackPolicies
from vodstack.edge.ratelimit import RateLimiter, retry_after
from vodstack.entitlement import pathtoken
from vodstack.entitlement.geo import ViewerLocator
from vodstack.entitlement.verify import SignatureVerifier, Verdict
from vodstack.errors import RateLimited
from vodstack.telemetry.metrics import Metrics


class SignatureGate:
    def __init__(
        self,
        settings: Settings,
        verifier: SignatureVerifier,
        locator: ViewerLocator,
        metrics: Metrics,
        policies: PlaybackPolicies | None = None,
    ) -> None:
        self.base = settings.base_url()
        self.policies = policies
        self.verifier = verifier
        self.locator = locator
        self.metrics = metrics
        self.limiter = RateLimiter(settings.playback_rate_per_s, settings.playback_burst)

    def public_url(self, request: Request) -> str:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        url = self.base + raw_path.decode("latin-1")
        return f"{url}?{query.decode('latin-1')}" if query else url

    def token_url(self, request: Request, asset_id: str, token: str) -> str | None:
        """The public URL without its ``t/{token}/`` segment (what the policy, the cache key
        and the origin see), or None when the raw path does not spell the token segment
        literally (an encoded ``t``, ``/`` or token: a trick, never a player)."""
        raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
        prefix = f"/v1/{asset_id}/"
        segment = f"{prefix}{pathtoken.SEGMENT}/{token}/"
        if not raw_path.startswith(segment):
            return None
        rest = raw_path[len(segment) :]
        if pathtoken.split(rest)[0] is not None:  # a second token segment
            return None
        query = request.scope.get("query_string", b"")
        url = self.base + prefix + rest
        return f"{url}?{query.decode('latin-1')}" if query else url

    def check(self, request: Request, asset_id: str, token: str | None = None) -> None:
        """Allow the request or raise (429 over the rate limit, 403 with the verifier's reason).

        ``token``: the path token split off ``/v1/{assetId}/t/{token}/`` by the caller; it is
        then the only credential looked at (cookies are ignored, as CloudFront ignores cookies
        when a URL is signed)."""
        # Runs on every segment: raw ASGI headers, no Headers object unless a trusted proxy's
        # X-Forwarded-For has to be read.
        raw = request.scope.get("headers", ())
        client = request.scope.get("client")
        peer = client[0] if client else None
        client_ip = self.locator.client_ip(peer, request.headers if self.locator.trusted else {})
        wait = self.limiter.acquire(client_ip)
        if wait > 0:
            self.metrics.rate_limited.labels("playback").inc()
            raise RateLimited("too many requests", int(retry_after(wait)))
        if token is not None:
            url = self.token_url(request, asset_id, token)
            verdict = (
                self.verifier.verify_token(url, token, client_ip)
                if url is not None
                else Verdict(ok=False, reason="malformed", source="token")
            )
        else:
            cookie_header = b"; ".join(v for k, v in raw if k == b"cookie").decode("latin-1")
            verdict = self.verifier.verify_cookie_header(
                self.public_url(request), cookie_header, client_ip
            )
        if (
            not verdict.ok
            and verdict.reason == "missing"  # no credential at all: maybe none is needed
            and self.policies is not None
            and self.policies.is_public(asset_id)
        ):
            self.metrics.gate_allowed.inc()
            return
        if not verdict.ok:
            self.metrics.gate_denied.labels(verdict.reason or "unknown").inc()
            raise verdict.to_error()
        self.metrics.gate_allowed.inc()
