"""URL ingest's downloader against a real local HTTP server: addresses refused where the
connection is made, redirects re-checked, caps, timeouts, statuses, content types."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.fixtures.http_source import HttpSource, Route

from vodstack.ingest.fetch import (
    AddressPolicy,
    Fetcher,
    FetchFailed,
    FetchRefused,
    check_now,
    not_public,
    parse_url,
)

LOOPBACK = AddressPolicy.from_settings(["127.0.0.1/32"])
BODY = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40


@pytest.fixture
def source() -> Iterator[HttpSource]:
    s = HttpSource()
    yield s
    s.close()


def fetch(fetcher: Fetcher, url: str) -> bytes:
    with fetcher.open(url) as download:
        return b"".join(download.chunks())


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),  # cloud instance metadata
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "private"),  # documentation (TEST-NET-1)
        ("::ffff:127.0.0.1", "loopback (inside ::ffff:7f00:1)"),
        ("64:ff9b::a00:1", "private (inside 64:ff9b::a00:1)"),  # NAT64 of 10.0.0.1
        ("2002:a9fe:a9fe::1", "link-local (inside 2002:a9fe:a9fe::1)"),  # 6to4 of metadata
    ],
)
def test_addresses_that_are_not_public(address: str, reason: str) -> None:
    assert AddressPolicy().refusal(address) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_allowed_networks_open_only_themselves() -> None:
    policy = AddressPolicy.from_settings(["10.20.0.0/16", "::1/128"])
    assert policy.refusal("10.20.3.4") is None
    assert policy.refusal("::1") is None
    assert policy.refusal("::ffff:10.20.3.4") is None  # the same host, mapped
    assert policy.refusal("10.21.0.1") == "private"
    assert policy.refusal("127.0.0.1") == "loopback"
    assert not_public(__import__("ipaddress").ip_address("10.20.3.4")) == "private"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.mp4",
        "gopher://example.com/",
        "http://user:pw@example.com/a.mp4",
        "http:///a.mp4",
        "not a url",
        "http://example.com/" + "a" * 3000,
    ],
)
def test_urls_refused_before_any_lookup(url: str) -> None:
    with pytest.raises(FetchRefused):
        check_now(url, AddressPolicy(), resolve=_no_lookup)


def _no_lookup(host: str, port: int) -> list[str]:
    raise AssertionError("no lookup expected")


def test_loopback_is_refused_by_default_without_connecting(source: HttpSource) -> None:
    url = source.add("/clip.mp4", Route(body=BODY))
    with pytest.raises(FetchRefused, match=r"127\.0\.0\.1 is a loopback address"):
        check_now(url, AddressPolicy())
    with pytest.raises(FetchRefused, match="loopback"):
        fetch(Fetcher(AddressPolicy(), max_bytes=10**6), url)
    localhost = url.replace("127.0.0.1", "localhost")
    with pytest.raises(FetchRefused, match="loopback"):
        fetch(Fetcher(AddressPolicy(), max_bytes=10**6), localhost)
    assert source.requests == []


def test_an_allowed_network_streams_the_file(source: HttpSource) -> None:
    url = source.add("/dir/clip%20one.mp4", Route(body=BODY, headers={"Content-Type": "video/mp4"}))
    with Fetcher(LOOPBACK, max_bytes=10**6).open(url) as download:
        data = b"".join(download.chunks())
        assert download.filename == "clip one.mp4"
        assert download.content_type == "video/mp4"
        assert download.size == len(BODY)
    assert data == BODY


def test_the_connection_goes_to_the_address_that_was_checked(source: HttpSource) -> None:
    """The host is resolved once per connection by our resolver and the socket connects to
    that very address (``media.example`` exists in no DNS): no second lookup to rebind."""
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    source.add("/clip.mp4", Route(body=BODY))
    url = f"http://media.example:{source.port}/clip.mp4"
    assert fetch(Fetcher(LOOPBACK, max_bytes=10**6, resolve=resolver), url) == BODY
    assert calls == ["media.example"]
    assert source.requests == [("/clip.mp4", f"media.example:{source.port}")]


def test_dns_rebinding_after_the_api_check_is_caught_at_connect(source: HttpSource) -> None:
    answers = iter([["127.0.0.1"], ["10.0.0.7"]])

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    source.add("/clip.mp4", Route(body=BODY))
    url = f"http://rebind.example:{source.port}/clip.mp4"
    check_now(url, LOOPBACK, rebinding)  # first answer: allowed
    with pytest.raises(FetchRefused, match=r"10\.0\.0\.7, a private address"):
        fetch(Fetcher(LOOPBACK, max_bytes=10**6, resolve=rebinding), url)
    assert source.requests == []


def test_a_name_with_any_private_address_is_refused() -> None:
    with pytest.raises(FetchRefused, match=r"10\.0\.0\.1"):
        check_now(
            "http://mixed.example/a.mp4", AddressPolicy(), lambda h, p: ["8.8.8.8", "10.0.0.1"]
        )


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.mp4",
        "http://[::1]:{port}/clip.mp4",
        "http://[::ffff:169.254.169.254]/",
        "file:///etc/passwd",
    ],
)
def test_redirects_are_checked_at_every_hop(source: HttpSource, target: str) -> None:
    source.add("/clip.mp4", Route(body=BODY))
    first = source.redirect("/go", "/hop")
    source.redirect("/hop", target.format(port=source.port), status=307)
    with pytest.raises(FetchRefused):
        fetch(Fetcher(LOOPBACK, max_bytes=10**6, timeout_s=2), first)
    assert [p for p, _ in source.requests] == ["/go", "/hop"]


def test_redirects_within_allowed_addresses_are_followed_up_to_the_limit(
    source: HttpSource,
) -> None:
    source.add("/clip.mp4", Route(body=BODY))
    start = source.redirect("/a", "/b", 301)
    source.redirect("/b", f"{source.base}/clip.mp4", 308)
    assert fetch(Fetcher(LOOPBACK, max_bytes=10**6), start) == BODY
    with pytest.raises(FetchRefused, match="more than 1 redirects"):
        fetch(Fetcher(LOOPBACK, max_bytes=10**6, max_redirects=1), start)
    loop = source.redirect("/loop", "/loop")
    with pytest.raises(FetchRefused, match="redirects"):
        fetch(Fetcher(LOOPBACK, max_bytes=10**6), loop)


def test_statuses(source: HttpSource) -> None:
    fetcher = Fetcher(LOOPBACK, max_bytes=10**6)
    with pytest.raises(FetchRefused, match="answered 404 Not Found") as refused:
        fetch(fetcher, f"{source.base}/missing.mp4?sig=secret")
    assert "secret" not in refused.value.message  # a signed URL's query never reaches the log
    with pytest.raises(FetchRefused, match="403"):
        fetch(fetcher, source.add("/private.mp4", Route(status=403)))
    with pytest.raises(FetchFailed, match="503"):
        fetch(fetcher, source.add("/busy.mp4", Route(status=503)))
    with pytest.raises(FetchRefused, match="206"):
        fetch(fetcher, source.add("/partial.mp4", Route(status=206, body=b"x")))
    with pytest.raises(FetchRefused, match="without a Location"):
        fetch(fetcher, source.add("/nowhere", Route(status=302)))


@pytest.mark.parametrize("kind", ["text/html; charset=utf-8", "application/json", "image/png"])
def test_wrong_content_types_are_refused(source: HttpSource, kind: str) -> None:
    url = source.add("/page", Route(body=b"<html>login</html>", headers={"Content-Type": kind}))
    with pytest.raises(FetchRefused, match="not a video file"):
        fetch(Fetcher(LOOPBACK, max_bytes=10**6), url)


def test_size_cap_declared_and_undeclared(source: HttpSource) -> None:
    fetcher = Fetcher(LOOPBACK, max_bytes=1000)
    with pytest.raises(FetchRefused, match=f"{len(BODY)} bytes, larger than the limit of 1000"):
        fetch(fetcher, source.add("/big.mp4", Route(body=BODY)))
    undeclared = source.add("/stream.mp4", Route(body=BODY, declared_length=-1))
    with pytest.raises(FetchRefused, match="larger than the limit of 1000"):
        fetch(fetcher, undeclared)
    assert fetch(Fetcher(LOOPBACK, max_bytes=10**6), undeclared) == BODY


def test_timeouts(source: HttpSource) -> None:
    silent = source.add("/silent.mp4", Route(body=BODY, stall_s=3))
    with pytest.raises(FetchFailed, match="timeout"):
        fetch(Fetcher(LOOPBACK, max_bytes=10**6, timeout_s=0.5), silent)
    trickle = source.add("/trickle.mp4", Route(body=b"x" * 10, trickle=True, declared_length=100))
    with pytest.raises(FetchFailed, match="read timeout"):
        fetch(Fetcher(LOOPBACK, max_bytes=10**6, timeout_s=1), trickle)
    slow = source.add("/slow.mp4", Route(body=b"y" * 40, trickle=True))
    with pytest.raises(FetchFailed, match="time limit"):
        fetch(Fetcher(LOOPBACK, max_bytes=10**6, timeout_s=5, max_s=0.5), slow)


def test_parse_url_keeps_the_query_for_the_request() -> None:
    url = parse_url("https://cdn.example/v/a.mp4?X-Amz-Signature=abc")
    assert url.raw_path == b"/v/a.mp4?X-Amz-Signature=abc"
