"""The signature gate: every ``/v1/{assetId}/…`` request proves a CloudFront-style grant
(cookies, signed-URL query, or a path token ``/v1/{assetId}/t/{token}/…``) before anything
reaches the origin.

The URL checked is the public one (``VODSTACK_PUBLIC_URL`` + the raw path and query as sent),
the same string a CloudFront policy ``Resource`` is matched against.
"""

from __future__ import annotations

import threading

from starlette.requests import Request

from vodstack.base import RateLimiter, retry_after
from vodstack.config import Settings
from vodstack.edge.policy import PlaybackPolicies
from vodstack.entitlement import SignatureVerifier, Verdict, ViewerLocator, pathtoken
from vodstack.errors import InvalidInput, RateLimited
from vodstack.packaging import DeliveryPath, parse_delivery_path
from vodstack.telemetry import Metrics

#: Allowed requests reach the Prometheus counter in batches of this many (and at every scrape
#: of this process): one counter update, with its lock, cost more than the rest of a known
#: grant's check on a busy server (issue #15; BENCHMARKS.md, entitlement).
_FLUSH_EVERY = 64
#: What a raw path after ``/v1/{assetId}/`` starts with when it carries a path token.
_TOKEN_HEAD, _PICTURE_HEAD = f"{pathtoken.SEGMENT}/", f"{pathtoken.PICTURE_SEGMENT}/"


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
        self.picture_limiter = RateLimiter(settings.picture_rate_per_s, settings.picture_burst)
        # Allowed requests: counted by the event loop's thread alone (no increment is lost),
        # added to the Prometheus counter by flush_counts, from any thread (under the lock).
        self.allowed = 0
        self._flushed = 0
        self._flush_lock = threading.Lock()

    def flush_counts(self) -> None:
        """Add the allowed requests counted since the last flush to ``vodstack_gate_allowed``.
        Called by ``/metrics`` before it reads the counters (the admin listener's thread or
        the loop's); another worker's last < 64 show at its next batch or scrape."""
        with self._flush_lock:
            allowed = self.allowed
            if allowed > self._flushed:
                self.metrics.gate_allowed.inc(allowed - self._flushed)
                self._flushed = allowed

    def token_url(
        self,
        request: Request,
        asset_id: str,
        token: str,
        picture: bool = False,
        raw_rest: str | None = None,
    ) -> str | None:
        """The URL a path token is checked against: the public URL without its token segment
        (what the cache key and the origin see) — for a picture token (``p/``) the same path
        in the picture namespace (``…/v1/{id}/pictures/{path}``, see ``pathtoken``). None when
        the raw path does not spell the token segment literally (an encoded ``t``, ``/`` or
        token: a trick, never a player), holds a second token segment, or a picture token
        asks for something other than a picture.

        ``raw_rest``: the raw path after ``/v1/{assetId}/`` when the caller has it already
        (delivery needs it for the cache key); read from the request otherwise."""
        # Runs on every tokened segment (issue #15): the ~600-byte token is compared in place
        # rather than copied into a segment string, and the URL is built in one go.
        scope = request.scope
        if raw_rest is None:
            prefix = f"/v1/{asset_id}/"  # packaging.layout.asset_prefix, without a call
            raw_path = (scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
            if not raw_path.startswith(prefix):
                return None
            raw_rest = raw_path[len(prefix) :]
        head = _PICTURE_HEAD if picture else _TOKEN_HEAD
        end = len(head) + len(token)
        if not (
            raw_rest.startswith(head)
            and raw_rest.startswith(token, len(head))
            and raw_rest.startswith("/", end)
        ):
            return None
        rest = raw_rest[end + 1 :]
        if rest.startswith(pathtoken.PREFIXES):  # a second token segment
            return None
        raw_query = scope.get("query_string")
        query = raw_query.decode("latin-1") if raw_query else ""
        namespace = ""
        if picture:
            parsed = _parse(rest + (f"?{query}" if query else ""))
            if parsed is None or parsed.kind not in pathtoken.PICTURE_KINDS:
                return None
            namespace = f"{pathtoken.PICTURES}/"
        url = f"{self.base}/v1/{asset_id}/{namespace}{rest}"
        return f"{url}?{query}" if query else url

    def check(
        self,
        request: Request,
        asset_id: str,
        token: str | None = None,
        picture: bool = False,
        raw_rest: str | None = None,
    ) -> None:
        """Allow the request or raise (429 over the rate limit, 403 with the verifier's reason).

        ``token``: the path token split off ``/v1/{assetId}/t/{token}/`` by the caller; it is
        then the only credential looked at (cookies are ignored, as CloudFront ignores cookies
        when a URL is signed). ``picture``: it came as ``p/{token}/`` (pictures only, with a
        rate limit of their own: a catalogue page shows many at once). ``raw_rest``: see
        :meth:`token_url`."""
        # Runs on every segment (issue #15: the gate's overhead < 5 %). On a busy server each
        # call of a deeper path costs a microsecond of cache misses, so the common case calls
        # little: raw ASGI headers (no Headers object unless a trusted proxy's
        # X-Forwarded-For has to be read), the URL built here, no limiter call when it is off.
        scope = request.scope
        client = scope.get("client")
        peer = client[0] if client else "0.0.0.0"  # noqa: S104 - an address, not a bind
        locator = self.locator
        client_ip = locator.client_ip(peer, request.headers) if locator.trusted else peer
        limiter = self.picture_limiter if picture else self.limiter
        if limiter.rate > 0 and (wait := limiter.acquire(client_ip)) > 0:
            self.metrics.rate_limited.labels("pictures" if picture else "playback").inc()
            raise RateLimited("too many requests", int(retry_after(wait)))
        if token is not None:
            url = self.token_url(request, asset_id, token, picture, raw_rest)
            verdict = (
                self.verifier.verify_credential("token", url, token, client_ip)
                if url is not None
                else Verdict(ok=False, reason="scope" if picture else "malformed", source="token")
            )
        else:
            cookie = b""
            for name, value in scope["headers"]:
                if name == b"cookie":  # several Cookie headers are one list (RFC 6265 §5.4)
                    cookie = cookie + b"; " + value if cookie else value
            query = scope.get("query_string")
            url = self.base + (scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
            if query:
                url += "?" + query.decode("latin-1")
            verdict = self.verifier.verify_credential("cookie", url, cookie, client_ip)
        if verdict.ok:
            self.allowed += 1
            if self.allowed - self._flushed >= _FLUSH_EVERY:
                self.flush_counts()
            return
        if (
            verdict.reason == "missing"  # no credential at all: maybe none is needed
            and self.policies is not None
            and self.policies.is_public(asset_id)
        ):
            self.metrics.gate_allowed.inc()
            return
        self.metrics.gate_denied.labels(verdict.reason or "unknown").inc()
        raise verdict.to_error()


def _parse(path: str) -> DeliveryPath | None:
    try:
        return parse_delivery_path(path)
    except InvalidInput:  # a thumbnail query out of range: not a picture this token opens
        return None
