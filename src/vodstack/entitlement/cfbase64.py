"""CloudFront's own base64 alphabet for ``Policy`` and ``Signature`` values.

CloudFront does not use RFC 4648 base64url: it takes standard base64 and swaps the three
characters that are unsafe in URLs and cookies, ``+``→``-``, ``=``→``_``, ``/``→``~``
(AWS CloudFront Developer Guide, "private-content-linux-openssl" and
"private-content-creating-signed-url-custom-policy"; botocore ``CloudFrontSigner._url_b64encode``).

Decoding is strict because its input comes from untrusted cookies and query strings: only
the CloudFront alphabet, correct padding, canonical trailing bits and a size cap. Anything
else is a :class:`CfBase64Error`, never a ``binascii.Error`` leaking out of the verifier.
"""

from __future__ import annotations

import base64
import binascii
import re

from vodstack.errors import InvalidInput

__all__ = ["MAX_ENCODED_LENGTH", "CfBase64Error", "decode", "encode"]

#: Largest encoded value we accept. A policy with one statement is ~200 bytes and an
#: RSA-4096 signature 684 characters; 8 KiB is far above both and bounds the work per request.
MAX_ENCODED_LENGTH = 8 * 1024

_ENCODE = bytes.maketrans(b"+=/", b"-_~")
_DECODE = bytes.maketrans(b"-_~", b"+=/")
# Full quads, then an optional final quad with one or two pad characters (``_``).
_SHAPE = re.compile(
    r"(?:[A-Za-z0-9~-]{4})*(?:[A-Za-z0-9~-]{2}__|[A-Za-z0-9~-]{3}_)?",
    re.ASCII,
)


class CfBase64Error(InvalidInput):
    """A value that is not canonical CloudFront base64 (or is too large to be one)."""


def encode(data: bytes) -> str:
    """Encode bytes in CloudFront's base64 alphabet."""
    return base64.b64encode(data).translate(_ENCODE).decode("ascii")


def decode(text: str, *, max_length: int = MAX_ENCODED_LENGTH) -> bytes:
    """Decode a CloudFront base64 value, rejecting anything a CloudFront signer would not emit.

    Non-canonical encodings (non-zero trailing bits) are refused so that every decoded value
    has exactly one spelling; caches keyed on decoded bytes then cannot be fooled by aliases.
    """
    if not isinstance(text, str):
        raise CfBase64Error("base64 value must be text")
    if not text:
        raise CfBase64Error("base64 value is empty")
    if len(text) > max_length:
        raise CfBase64Error(f"base64 value longer than {max_length} characters")
    if _SHAPE.fullmatch(text) is None:
        raise CfBase64Error("base64 value has characters or padding outside CloudFront's alphabet")
    standard = text.encode("ascii").translate(_DECODE)
    try:
        data = binascii.a2b_base64(standard, strict_mode=True)
    except binascii.Error:
        raise CfBase64Error("base64 value is not decodable") from None
    if base64.b64encode(data) != standard:
        raise CfBase64Error("base64 value is not canonically encoded")
    return data
