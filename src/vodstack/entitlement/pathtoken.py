"""The cookie-less grant: the same signed CloudFront policy, carried in the URL path.

    /v1/{assetId}/t/{token}/index.m3u8        token = {keyPairId}.{policy}.{signature}[.SHA256]
    /v1/{assetId}/p/{token}/poster.jpg        a picture token: pictures only (see below)

Why a path segment and not a query parameter: every URI in our manifests is relative (RFC 8216
§4.1 and ISO/IEC 23009-1 §5.6 resolve them against the manifest's own URL, RFC 3986 §5.2), so a
path credential is carried into media playlists, init and media segments, subtitle segments,
key URIs and storyboard sheets with no player help, while a query string is dropped by
relative resolution. Browsers that block third-party cookies (iframes on other sites), casting
receivers, native apps and smart TVs all play with it.

The token is nothing new cryptographically: its three fields are exactly the values of the
``CloudFront-Key-Pair-Id``, ``CloudFront-Policy`` and ``CloudFront-Signature`` cookies (plus
``CloudFront-Hash-Algorithm`` when not SHA1), so one signer, one key group, one policy
(resource ``…/v1/{assetId}/*``, expiry, optional IP) and one verifier serve both credentials.
The verifier checks the policy against the URL *without* the token segment — the URL the
cache keys on and the origin sees. CloudFront base64 never contains ``.``, and key ids are
alphanumeric, so ``.`` separates the fields unambiguously.

Picture tokens (``p/``) let a catalogue page show posters, thumbnails and storyboards without
``POST /play``, for longer than a playback grant lives. Their scope must be part of what is
signed, or a picture token moved into ``t/`` would open the media: their policy names the
picture namespace ``…/v1/{assetId}/pictures/*``, and the gate checks a ``p/`` request against
``…/v1/{assetId}/pictures/{path}`` — only for picture paths (poster, thumbnail, storyboard
and its sheets). A picture policy never matches a ``t/`` URL (``…/v1/{assetId}/{path}``); a
playback grant (``…/v1/{assetId}/*``) covers the picture namespace too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from vodstack.entitlement.signing import (
    COOKIE_HASH_ALGORITHM,
    COOKIE_KEY_PAIR_ID,
    COOKIE_POLICY,
    COOKIE_SIGNATURE,
)

__all__ = [
    "PICTURES",
    "PICTURE_KINDS",
    "PICTURE_SEGMENT",
    "SEGMENT",
    "TokenFields",
    "decode",
    "encode",
    "redact",
    "split",
]

#: The path segment that announces a token: ``/v1/{assetId}/t/{token}/…``.
SEGMENT = "t"
#: … and a picture token: ``/v1/{assetId}/p/{token}/poster.jpg``.
PICTURE_SEGMENT = "p"
#: The namespace picture policies name and ``p/`` requests are checked against.
PICTURES = "pictures"
#: Delivery path kinds (``packaging.layout``) a picture token may fetch.
PICTURE_KINDS = frozenset({"poster", "thumbnail", "storyboard", "sheet"})
#: What a part after ``/v1/{assetId}/`` starts with when a token segment comes first.
PREFIXES = (SEGMENT + "/", PICTURE_SEGMENT + "/")
#: Upper bound on a token's length (an RSA-4096 signature and a full policy fit easily).
MAX_TOKEN_LENGTH = 4096
_FIELD = re.compile(r"[A-Za-z0-9_~-]+", re.ASCII)
_REDACT = re.compile(r"(/v1/[^/]*/[tp]/)[^/]*")

TokenFields = dict[str, str | None]


def encode(cookies: Mapping[str, str]) -> str:
    """The token carrying the grant that ``signing.signed_cookies`` made (custom policy)."""
    parts = [cookies[COOKIE_KEY_PAIR_ID], cookies[COOKIE_POLICY], cookies[COOKIE_SIGNATURE]]
    if COOKIE_HASH_ALGORITHM in cookies:
        parts.append(cookies[COOKIE_HASH_ALGORITHM])
    return ".".join(parts)


def decode(token: str) -> TokenFields | None:
    """The verifier's fields (``key_id``, ``policy``, ``signature``, ``hash``), or None when
    the token is not shaped like one (wrong field count, empty fields, foreign characters)."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) not in (3, 4) or any(_FIELD.fullmatch(p) is None for p in parts):
        return None
    return {
        "key_id": parts[0],
        "policy": parts[1],
        "signature": parts[2],
        "hash": parts[3] if len(parts) == 4 else None,
        "expires": None,
    }


def split(rest: str) -> tuple[str | None, str]:
    """``(token, path)`` of the part after ``/v1/{assetId}/``; ``(None, rest)`` without one.
    :func:`segment` says which kind of token it was.

    The layout has no top-level ``t`` or ``p`` directory (``packaging.layout``), so ``t/``
    and ``p/`` can only announce a token."""
    if not rest.startswith(PREFIXES):
        return None, rest
    token, _, path = rest[2:].partition("/")
    return token, path


def segment(rest: str) -> str | None:
    """``"t"``, ``"p"`` or None: the token segment ``rest`` starts with."""
    return rest[0] if rest.startswith(PREFIXES) else None


def redact(path: str) -> str:
    """``path`` with any token replaced by ``-``: for logs, which must never hold a
    credential a reader could replay."""
    if "/t/" not in path and "/p/" not in path:
        return path
    return _REDACT.sub(r"\1-", path)
