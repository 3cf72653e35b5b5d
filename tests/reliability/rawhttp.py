"""HTTP/1.1 over a bare socket: exact bytes on the wire, no client-side normalisation.

httpx (rightly) normalises dot segments, refuses CR/LF in headers and encodes header values;
attacks need the raw request, so the security tests send it themselves.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def request(
    port: int,
    method: str,
    target: bytes | str,
    headers: list[tuple[bytes | str, bytes | str]] | None = None,
    body: bytes | memoryview = b"",
    timeout: float = 15,
) -> RawResponse:
    """Send one request (``Connection: close``) and read the whole response.

    A server that drops the connection without answering yields status 0.
    """
    length = len(body) if body or method in ("POST", "PUT", "PATCH") else None
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # a server may close early on an oversized request
            sock.sendall(_head(method, target, headers, length))
            if body:
                sock.sendall(body)
        return _read(sock)


def _head(
    method: str,
    target: bytes | str,
    headers: list[tuple[bytes | str, bytes | str]] | None,
    length: int | None,
    host: str = "127.0.0.1",
) -> bytes:
    raw_target = target.encode("latin-1") if isinstance(target, str) else target
    lines = [method.encode() + b" " + raw_target + b" HTTP/1.1", b"Host: " + host.encode()]
    for name, value in headers or []:
        n = name.encode("latin-1") if isinstance(name, str) else name
        v = value.encode("latin-1") if isinstance(value, str) else value
        lines.append(n + b": " + v)
    lines.append(b"Connection: close")
    if length is not None:
        lines.append(f"Content-Length: {length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def partial_body(
    port: int,
    method: str,
    target: str,
    headers: list[tuple[bytes | str, bytes | str]] | None,
    declared: int,
    sent: bytes,
    timeout: float = 15,
) -> RawResponse:
    """Declare ``declared`` bytes, send only ``sent``, then wait for an answer (the slow or
    lying client: a server must answer without the rest, not wait for it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(_head(method, target, headers, declared) + sent)
        return _read(sock)


def chunked_body(
    port: int,
    method: str,
    target: str,
    headers: list[tuple[bytes | str, bytes | str]] | None,
    chunk: bytes,
    count: int,
    timeout: float = 15,
) -> RawResponse:
    """``Transfer-Encoding: chunked``, ``count`` times ``chunk``: no length announced, so a
    server can only count what arrives."""
    head = _head(method, target, [*(headers or []), ("Transfer-Encoding", "chunked")], None)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(head)
            for _ in range(count):
                sock.sendall(framed)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # cut off by the server: read what it answered
        return _read(sock)


def _read(sock: socket.socket) -> RawResponse:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except OSError:
        pass
    raw = b"".join(chunks)
    if not raw.startswith(b"HTTP/"):
        return RawResponse(0, [], raw)
    head, _, rest = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    parsed = []
    for line in header_lines:
        k, _, v = line.decode("latin-1").partition(":")
        parsed.append((k.strip(), v.strip()))
    return RawResponse(int(status_line.split()[1]), parsed, rest)
