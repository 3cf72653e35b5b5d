"""Where a grant travels in a request: the ``Cookie`` header and the URL's query string.

Parsed by hand rather than with a framework's mappings because those keep one value per name,
and the verifier must see repeated names to refuse them (RFC 6265 §5.4 lets a browser send
several cookies of one name; nothing stops a client repeating a query parameter).
"""

from __future__ import annotations

from urllib.parse import unquote

from vodstack.entitlement.signing import QUERY_PARAMS

__all__ = ["has_unsafe_path", "parse_cookie_header", "parse_query", "strip_signing_params"]


def parse_cookie_header(header: str) -> dict[str, list[str]]:
    """Every value of every cookie in a raw ``Cookie`` header (RFC 6265 §5.4), duplicates kept.

    Frameworks collapse repeated names into one value; the verifier needs all of them to answer
    ``ambiguous`` rather than silently picking one.
    """
    cookies: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies.setdefault(name, []).append(value)
    return cookies


def parse_query(url: str) -> dict[str, list[str]]:
    """Every value of every query parameter of ``url``, percent-decoded, duplicates kept.

    ``+`` is left alone (it never occurs in CloudFront base64, so a ``+`` can only make a value
    fail to decode, which is the right outcome).
    """
    _, sep, query = url.partition("?")
    params: dict[str, list[str]] = {}
    if not sep:
        return params
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        params.setdefault(unquote(name), []).append(unquote(value))
    return params


def strip_signing_params(url: str) -> str:
    """``url`` without CloudFront's signing parameters: the URL that was signed.

    Other parameters keep their order and raw spelling, since a canned policy's resource is
    compared byte for byte.
    """
    base, sep, query = url.partition("?")
    if not sep:
        return url
    kept = [p for p in query.split("&") if unquote(p.partition("=")[0]) not in QUERY_PARAMS]
    return f"{base}?{'&'.join(kept)}" if kept else base


def has_unsafe_path(url: str) -> bool:
    """Dot segments or encoded separators in the path (RFC 3986 §5.2.4), which CloudFront-style
    wildcard matching would take literally but a server might resolve into another asset
    (``/v1/A/../B/x`` matches ``/v1/A/*``). No player sends them, so they are refused.
    """
    if "%" not in url and "\\" not in url and "/." not in url:
        return False  # what every player sends (checked on the whole URL: one scan, no split)
    _, _, rest = url.partition("://")
    path = "/" + rest.partition("/")[2].partition("?")[0]
    if "%" not in path and "\\" not in path and "/." not in path:
        return False  # what every player sends: nothing to decode, no dot segment
    lowered = path.lower()
    if "%2f" in lowered or "%5c" in lowered or "\\" in path:
        return True
    segments = lowered.replace("%2e", ".").split("/")
    return any(segment in {".", ".."} for segment in segments)
