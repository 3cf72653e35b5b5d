"""``POST /play/{assetId}``: verify the viewer, decide entitlement, sign a scoped grant.

The grant is a CloudFront custom policy for ``{public_url}/v1/{assetId}/*`` that expires in
minutes (optionally bound to the viewer's IP, optionally with a ``DateGreaterThan`` a little
in the past for clock skew), delivered as the three ``CloudFront-*`` cookies and, the same
signed values again, as a path token for cookie-less players (``pathtoken``). The cookie bytes
would be accepted by CloudFront with the same key pair.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from vodstack.base import RateLimiter, retry_after
from vodstack.base.lru import Lru
from vodstack.catalogue import Asset, Catalogue, Grants, is_valid_id
from vodstack.config import Settings
from vodstack.entitlement import pathtoken
from vodstack.entitlement.geo import ViewerLocator
from vodstack.entitlement.keyring import KeyRing
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.rules import AccessRules, LicenceFact, SubscriptionFact, decide
from vodstack.entitlement.signing import signed_cookies, signed_url
from vodstack.entitlement.tokens import JwtVerifier, ViewerClaims
from vodstack.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from vodstack.packaging.layout import asset_prefix, asset_url, playback_urls


@dataclass(frozen=True, slots=True)
class PlayGrant:
    asset_id: str
    subject: str
    hls: str
    dash: str
    expires: int
    cookies: Mapping[str, str]
    cookie_path: str
    #: The same grant as a path token (``pathtoken``): ``{base}/v1/{id}/t/{token}/…``.
    token: str = ""

    @property
    def token_base(self) -> str:
        """Where token URLs start: append any layout path (``index.m3u8``, ``license``…)."""
        return f"{self.hls.rsplit('/', 1)[0]}/{pathtoken.SEGMENT}/{self.token}"


def _tuple(values: list | None) -> tuple[str, ...] | None:  # type: ignore[type-arg]
    return None if values is None else tuple(str(v) for v in values)


class EntitlementService:
    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        grants: Grants,
        keyring: KeyRing,
        verifier: JwtVerifier,
        locator: ViewerLocator,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.grants = grants
        self.keyring = keyring
        self.verifier = verifier
        self.locator = locator
        self.clock = clock
        per_min = settings.mint_rate_per_min
        self.subject_limiter = RateLimiter(per_min / 60, max(1, per_min // 4))
        self.address_limiter = RateLimiter(per_min / 60, max(1, per_min // 4))
        self._pictures: Lru[tuple[str, int, str], str] = Lru(4096)  # old steps go first

    def resource(self, asset_id: str) -> str:
        return f"{asset_url(self.settings.base_url(), asset_id)}/*"

    def _limit(self, limiter: RateLimiter, key: str, what: str) -> None:
        wait = limiter.acquire(key)
        if wait > 0:
            raise RateLimited(
                f"too many playback requests from this {what}", int(retry_after(wait))
            )

    def authorize(
        self, token: str, asset_id: str, peer: str | None, headers: Mapping[str, str]
    ) -> tuple[ViewerClaims, Asset, str]:
        """Verify the JWT and every entitlement rule; returns (viewer, asset, client ip)."""
        client_ip = self.locator.client_ip(peer, headers)
        self._limit(self.address_limiter, client_ip, "address")
        viewer = self.verifier.verify(token)  # AuthError → 401
        self._limit(self.subject_limiter, viewer.subject, "viewer")
        if not is_valid_id(asset_id):
            raise NotFound("no such asset")
        asset = self.catalogue.get_asset(asset_id)
        if not asset.published:
            raise NotFound("no such asset")  # unpublished looks unknown to viewers
        if asset.status != "ready":
            raise Conflict(f"the asset is not ready yet (status: {asset.status})")
        institution = viewer.claims.get(self.settings.institution_claim)
        institution = institution if isinstance(institution, str) and institution else None
        subs = [
            SubscriptionFact(s.plan, s.trial, s.cancelled, s.starts_at, s.expires_at)
            for s in self.grants.subscriptions(viewer.subject)
        ]
        lics = (
            [
                LicenceFact(x.valid_from, x.valid_until)
                for x in self.grants.licences(institution, asset_id)
            ]
            if institution
            else []
        )
        decision = decide(
            AccessRules(_tuple(asset.plans), _tuple(asset.geo_allow), _tuple(asset.geo_deny)),
            country=self.locator.country(peer, headers),
            subscriptions=subs,
            licences=lics,
            institution=institution,
            now=datetime.fromtimestamp(self.clock(), UTC),
        )
        if not decision.allowed:
            raise Forbidden(decision.message, rule=decision.rule or "denied")
        return viewer, asset, client_ip

    def mint(self, viewer: ViewerClaims, asset: Asset, client_ip: str) -> PlayGrant:
        now = int(self.clock())
        expires = now + self.settings.cookie_ttl_s
        # Optional not-before (DateGreaterThan), set in the past by the configured skew so an
        # edge whose clock runs a little behind the signer's still accepts a fresh cookie.
        skew = self.settings.cookie_not_before_s
        policy = Policy(
            resource=self.resource(asset.id),
            date_less_than=expires,
            date_greater_than=max(0, now - skew) if skew > 0 else None,
            ip_address=client_ip if self.settings.cookie_bind_ip else None,
        )
        key_id, private = self.keyring.signer()
        urls = playback_urls(asset_url(self.settings.base_url(), asset.id))
        cookies = signed_cookies(policy, key_id, private, self.settings.signing_hash)
        return PlayGrant(
            asset_id=asset.id,
            subject=viewer.subject,
            hls=urls.hls,
            dash=urls.dash,
            expires=expires,
            cookies=cookies,
            cookie_path=asset_prefix(asset.id),
            token=pathtoken.encode(cookies),
        )

    def picture_base(self, asset_id: str) -> tuple[str, int]:
        """``({public_url}/v1/{id}/p/{token}, expires)``: append ``poster.jpg``,
        ``thumbnail.jpg?time=&width=`` or ``storyboard.vtt`` (its sheets follow relatively).

        The policy names the picture namespace only (``pathtoken``), so the token opens no
        media. Expiry is rounded up to a step of 1/24 of the lifetime, so an asset list asked
        for again within that step hands out the same URLs (browsers and CDNs cache them) and
        one signature per asset and step is made, not one per call."""
        ttl = self.settings.picture_url_ttl_s
        step = max(60, ttl // 24)
        expires = (int(self.clock()) // step + 1) * step + ttl
        key_id, private = self.keyring.signer()
        cache_key = (asset_id, expires, key_id)
        token = self._pictures.peek(cache_key)
        if token is None:
            base = asset_url(self.settings.base_url(), asset_id)
            policy = Policy(f"{base}/{pathtoken.PICTURES}/*", expires)
            token = pathtoken.encode(
                signed_cookies(policy, key_id, private, self.settings.signing_hash)
            )
            self._pictures.put(cache_key, token)
        base_url = (
            f"{asset_url(self.settings.base_url(), asset_id)}/{pathtoken.PICTURE_SEGMENT}/{token}"
        )
        return base_url, expires

    def signed_file_url(
        self, asset_id: str, path: str, ttl_s: int | None = None, client_ip: str | None = None
    ) -> tuple[str, int]:
        """A signed URL for ONE file (a download, a thumbnail). Manifests of adaptive streams
        are refused: their segments would need signing one by one.

        Canned policy (``Expires``: the shortest URL) unless cookies are IP-bound
        (``cookie_bind_ip``): then a custom policy naming exactly this URL and the viewer's
        address, so a download link passed on does not work elsewhere either."""
        if path.endswith((".m3u8", ".mpd")):
            raise InvalidInput("signed URLs are for single files, not adaptive manifests")
        key_id, private = self.keyring.signer()
        expires = int(self.clock()) + (ttl_s or self.settings.cookie_ttl_s)
        url = f"{asset_url(self.settings.base_url(), asset_id)}/{path.lstrip('/')}"
        hash_alg = self.settings.signing_hash
        if self.settings.cookie_bind_ip and client_ip:
            policy = Policy(resource=url, date_less_than=expires, ip_address=client_ip)
            return signed_url(url, key_id, private, policy=policy, hash_alg=hash_alg), expires
        return signed_url(url, key_id, private, expires=expires, hash_alg=hash_alg), expires
