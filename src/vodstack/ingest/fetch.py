"""Download a master from a URL without becoming a proxy into the private network (SSRF).

What a URL may reach is decided where the connection is made, not before:

* every TCP connection resolves its host once (``getaddrinfo``), refuses the addresses that
  are not public — loopback, private (RFC 1918, ULA), link-local (cloud metadata at
  169.254.169.254), multicast, shared (RFC 6598), reserved, unspecified, and IPv4 hidden in
  IPv6 (mapped, NAT64, 6to4) — unless an operator listed their network
  (``url_ingest_allowed_networks``), and connects to the very address it checked. A name
  that resolves differently a second time (DNS rebinding) gains nothing: there is no second
  time. TLS still verifies the certificate against the host name.
* redirects are followed by hand (``url_ingest_max_redirects``), each hop checked again:
  scheme, host, and its own connection's addresses;
* the body is streamed, capped (a ``Content-Length`` over the cap is refused before a byte is
  read; bytes are counted as they arrive), with a connect/read timeout and a deadline for
  the whole download; a body that is plainly not media (HTML, JSON, text, images) is
  refused by its ``Content-Type``.

Failures a retry cannot fix (an address refused, 4xx, too big, wrong type) are
:class:`FetchRefused`, a :class:`~vodstack.errors.SourceInvalid`: the job fails at once.
Timeouts, connection errors and 5xx are :class:`FetchFailed`: retried with backoff.
Network code lives here only; the job that stores the bytes is ``ingest/url_ingest.py``.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import unquote

import httpcore
import httpx

from vodstack import __version__
from vodstack.errors import SourceInvalid, VodstackError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2048
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 1024 * 1024
#: Content types that are certainly not a master: a login page, an error document, a picture.
_NOT_MEDIA = ("text/", "image/", "application/json", "application/xml", "application/xhtml")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_6TO4 = ipaddress.ip_network("2002::/16")  # RFC 3056
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT


class FetchRefused(SourceInvalid):
    """The URL cannot give a master and trying again will not help."""


class FetchFailed(VodstackError):
    """The download failed in a way a later attempt may not (timeout, 5xx, reset)."""


# -- which addresses (pure) ----------------------------------------------------------------
def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped ``::ffff:a.b.c.d``, NAT64, 6to4)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def not_public(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address (None when it is)."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        reason = not_public(inner)
        return f"{reason} (inside {ip})" if reason else None
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "shared (carrier-grade NAT)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "not globally reachable"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus the networks an operator allowed explicitly."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, networks: Iterable[str]) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def refusal(self, address: str) -> str | None:
        """Why a connection to ``address`` is refused, or None."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
        if any(ip in network for network in self.allowed if ip.version == network.version):
            return None
        inner = embedded_ipv4(ip)
        if inner is not None and any(inner in n for n in self.allowed if n.version == 4):
            return None
        return not_public(ip)


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(f"the host {host!r} does not resolve ({exc.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(host: str, port: int, policy: AddressPolicy, resolve: Resolver) -> list[str]:
    """The addresses of ``host`` a connection may use, in resolver order; raises when there
    is none. Any refused address refuses the host: a name that points at both the internet
    and the private network is not one to trust with either."""
    addresses = resolve(host, port)
    if not addresses:
        raise FetchRefused(f"the host {host!r} does not resolve")
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            what = (
                f"the URL's address {address} is a {reason} address"
                if host.strip("[]") == address
                else f"the URL's host {host!r} resolves to {address}, a {reason} address"
            )
            raise FetchRefused(
                f"{what}: refused (allow its network with VODSTACK_URL_INGEST_ALLOWED_NETWORKS "
                "if intended)"
            )
    return addresses


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses it has just checked."""

    def __init__(self, policy: AddressPolicy, resolve: Resolver) -> None:
        self.policy = policy
        self.resolve = resolve

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in checked_addresses(host, port, self.policy, self.resolve):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


# -- URLs (pure) -------------------------------------------------------------------------------
def parse_url(raw: str) -> httpx.URL:
    """An absolute http(s) URL with a host and no credentials, or FetchRefused."""
    if len(raw) > MAX_URL_LENGTH:
        raise FetchRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        url = httpx.URL(raw.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchRefused(f"not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs can be ingested, not {url.scheme or '?'!r}")
    if not url.host:
        raise FetchRefused("the URL has no host")
    if url.userinfo:
        raise FetchRefused("credentials in the URL are not accepted")
    return url


def check_now(raw: str, policy: AddressPolicy, resolve: Resolver = system_resolver) -> httpx.URL:
    """What the API checks before accepting a URL (a clear 400 instead of a failed asset).
    Not a guarantee: the connection checks again, and redirects are checked when met."""
    url = parse_url(raw)
    checked_addresses(url.host, url.port or (443 if url.scheme == "https" else 80), policy, resolve)
    return url


def filename_of(url: httpx.URL, disposition: str | None) -> str:
    """The name the server gives the file, else the last segment of the URL's path."""
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()
        if name:
            return name
    return unquote(url.path.rstrip("/").rsplit("/", 1)[-1]) or "download"


# -- the download ------------------------------------------------------------------------------
@dataclass
class Download:
    """An answer ready to stream: where it came from and what it says it is."""

    url: httpx.URL
    content_type: str | None
    length: int | None
    filename: str
    _response: httpcore.Response
    _max_bytes: int
    _deadline: float
    size: int = 0

    def chunks(self) -> Iterator[bytes]:
        """The body in pieces; stops with FetchRefused past the cap, FetchFailed past the
        deadline or on a broken connection."""
        pending = bytearray()
        try:
            for piece in self._response.iter_stream():
                self.size += len(piece)
                if self.size > self._max_bytes:
                    raise FetchRefused(
                        f"the file is larger than the limit of {self._max_bytes} bytes"
                    )
                if time.monotonic() > self._deadline:
                    raise FetchFailed("the download took longer than its time limit")
                pending += piece
                if len(pending) >= _CHUNK:
                    yield bytes(pending)
                    pending.clear()
        except httpcore.TimeoutException:
            raise FetchFailed("the server stopped sending (read timeout)") from None
        except httpcore.NetworkError as exc:
            raise FetchFailed(f"the connection broke: {exc or type(exc).__name__}") from None
        except httpcore.RemoteProtocolError as exc:
            raise FetchFailed(f"the server broke the HTTP protocol: {exc}") from None
        if pending:
            yield bytes(pending)
        if self.length is not None and self.size != self.length:
            raise FetchFailed(f"the body ended after {self.size} of {self.length} bytes")


@dataclass(frozen=True)
class Fetcher:
    policy: AddressPolicy
    max_bytes: int
    timeout_s: float = 30
    max_s: float = 6 * 3600
    max_redirects: int = 5
    resolve: Resolver = system_resolver
    verify: ssl.SSLContext | None = None  # tests: a context trusting their own CA

    @contextmanager
    def open(self, raw_url: str) -> Iterator[Download]:
        """Follow redirects (each hop checked) to the answer, check its status, type and
        size, and hand it over for streaming."""
        deadline = time.monotonic() + self.max_s
        url = parse_url(raw_url)
        timeout = {"connect": self.timeout_s, "read": self.timeout_s, "write": self.timeout_s}
        headers = [
            (b"User-Agent", f"vodstack-ingest/{__version__}".encode()),
            (b"Accept", b"video/*, application/octet-stream;q=0.9, */*;q=0.5"),
            (b"Accept-Encoding", b"identity"),  # the size cap counts what is stored
        ]
        with ExitStack() as stack:
            pool = stack.enter_context(
                httpcore.ConnectionPool(
                    ssl_context=self.verify or httpx.create_ssl_context(),
                    network_backend=PinnedBackend(self.policy, self.resolve),
                    max_connections=2,
                )
            )
            for hop in range(self.max_redirects + 1):
                hop_stack = ExitStack()
                response = hop_stack.enter_context(
                    _translated(
                        pool.stream(
                            "GET",
                            httpcore.URL(
                                scheme=url.raw_scheme,
                                host=url.raw_host,
                                port=url.port,
                                target=url.raw_path,
                            ),
                            headers=headers,
                            extensions={"timeout": timeout},
                        )
                    )
                )
                if response.status in _REDIRECTS:
                    location = _header(response, b"location")
                    hop_stack.close()
                    if not location:
                        raise FetchRefused(f"{_shown(url)} redirects without a Location")
                    if hop == self.max_redirects:
                        raise FetchRefused(f"more than {self.max_redirects} redirects")
                    url = parse_url(str(url.join(location)))
                    continue
                stack.enter_context(hop_stack)
                yield self._checked(url, response, deadline)
                return

    def _checked(self, url: httpx.URL, response: httpcore.Response, deadline: float) -> Download:
        status = response.status
        if status >= 400:
            reason = response.extensions.get("reason_phrase", b"").decode("latin-1", "replace")
            message = f"{_shown(url)} answered {status} {reason}".rstrip()
            if status >= 500 or status in (408, 429):
                raise FetchFailed(message)
            raise FetchRefused(message)
        if status != 200:
            raise FetchRefused(f"{_shown(url)} answered {status}, not 200 with the file")
        content_type = _header(response, b"content-type")
        kind = (content_type or "").split(";", 1)[0].strip().lower()
        if kind.startswith(_NOT_MEDIA):
            raise FetchRefused(f"{_shown(url)} is {kind}, not a video file")
        declared = _header(response, b"content-length")
        length = int(declared) if declared and declared.isdigit() else None
        if length is not None and length > self.max_bytes:
            raise FetchRefused(
                f"the file is {length} bytes, larger than the limit of {self.max_bytes} bytes"
            )
        if length == 0:
            raise FetchRefused(f"{_shown(url)} is empty")
        return Download(
            url=url,
            content_type=content_type,
            length=length,
            filename=filename_of(url, _header(response, b"content-disposition")),
            _response=response,
            _max_bytes=self.max_bytes,
            _deadline=deadline,
        )


@contextmanager
def _translated(stream: Any) -> Iterator[httpcore.Response]:
    """httpcore's connection errors as FetchFailed (a later attempt may work)."""
    try:
        response = stream.__enter__()
    except httpcore.TimeoutException:
        raise FetchFailed("the server did not answer in time (timeout)") from None
    except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
        raise FetchFailed(f"could not reach the server: {exc or type(exc).__name__}") from None
    try:
        yield response
    finally:
        stream.__exit__(None, None, None)


def _header(response: httpcore.Response, name: bytes) -> str | None:
    for key, value in response.headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _shown(url: httpx.URL) -> str:
    """A URL for messages: no query string (it may carry a signature or token)."""
    return str(url.copy_with(query=None, fragment=None))
