from __future__ import annotations

from vodstack.base.ratelimit import RateLimiter, retry_after
from vodstack.entitlement.geo import ViewerLocator


def test_forwarded_headers_are_ignored_from_untrusted_peers() -> None:
    loc = ViewerLocator()
    headers = {"x-forwarded-for": "1.2.3.4", "cloudfront-viewer-country": "FR"}
    assert loc.client_ip("10.0.0.9", headers) == "10.0.0.9"
    assert loc.country("10.0.0.9", headers) is None


def test_trusted_proxy_chain() -> None:
    loc = ViewerLocator(["10.0.0.0/8"])
    headers = {"x-forwarded-for": "203.0.113.9, 10.1.1.1", "cloudfront-viewer-country": "fr"}
    assert loc.client_ip("10.0.0.9", headers) == "203.0.113.9"
    assert loc.country("10.0.0.9", headers) == "FR"
    # a spoofed left-most entry cannot hide the real client behind the proxies
    spoof = {"x-forwarded-for": "8.8.8.8, 198.51.100.7"}
    assert loc.client_ip("10.0.0.9", spoof) == "198.51.100.7"
    assert loc.client_ip("10.0.0.9", {"x-forwarded-for": "garbage"}) == "10.0.0.9"
    assert loc.country("10.0.0.9", {"cloudfront-viewer-country": "France"}) is None


def test_token_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter(1.0, 3, clock=lambda: now[0])
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("a")
    assert wait > 0
    assert retry_after(wait) == "1"
    assert limiter.acquire("b") == 0.0  # per key
    now[0] += 1.0
    assert limiter.acquire("a") == 0.0


def test_disabled_and_bounded() -> None:
    assert RateLimiter(0, 1).acquire("x") == 0.0
    limiter = RateLimiter(1, 1, max_keys=10)
    for i in range(100):
        limiter.acquire(str(i))
    assert len(limiter._buckets) == 10
