"""Sign and check CloudFront policies; build signed cookies and signed URLs.

Signatures are RSA PKCS#1 v1.5 or ECDSA (DER-encoded, as cryptography and the AWS CLI produce)
over the exact policy bytes, with SHA-1 unless ``Hash-Algorithm=SHA256`` is sent along (AWS
CloudFront Developer Guide, "private-content-setting-signed-cookie-custom-policy",
"private-content-creating-signed-url-canned-policy"; AWS CLI ``cloudfront sign``). Cookie and
query parameter names are CloudFront's, so a CloudFront distribution would accept our grants.
"""

from __future__ import annotations

from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from vodstack.entitlement import cfbase64
from vodstack.entitlement.keys import PrivateKey, PublicKey
from vodstack.entitlement.policy import Policy, canned_policy
from vodstack.errors import InvalidInput

__all__ = [
    "COOKIE_EXPIRES",
    "COOKIE_HASH_ALGORITHM",
    "COOKIE_KEY_PAIR_ID",
    "COOKIE_POLICY",
    "COOKIE_SIGNATURE",
    "HASH_ALGORITHMS",
    "QUERY_PARAMS",
    "HashAlgorithm",
    "canned_cookies",
    "sign",
    "signature_valid",
    "signed_cookies",
    "signed_url",
]

HashAlgorithm = Literal["SHA1", "SHA256"]
HASH_ALGORITHMS: tuple[HashAlgorithm, ...] = ("SHA1", "SHA256")

COOKIE_POLICY = "CloudFront-Policy"
COOKIE_EXPIRES = "CloudFront-Expires"
COOKIE_SIGNATURE = "CloudFront-Signature"
COOKIE_KEY_PAIR_ID = "CloudFront-Key-Pair-Id"
COOKIE_HASH_ALGORITHM = "CloudFront-Hash-Algorithm"
#: Query parameters of a signed URL, all removed before a canned policy is rebuilt.
QUERY_PARAMS = ("Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm")


def _hash(name: HashAlgorithm) -> hashes.HashAlgorithm:
    if name == "SHA1":
        return hashes.SHA1()  # noqa: S303 - CloudFront's default; SHA256 is opt-in
    if name == "SHA256":
        return hashes.SHA256()
    raise InvalidInput("hash algorithm must be SHA1 or SHA256")


def sign(message: bytes, private_key: PrivateKey, hash_alg: HashAlgorithm = "SHA1") -> bytes:
    """Signature over ``message``: RSA PKCS#1 v1.5, or DER ECDSA for P-256 keys."""
    digest = _hash(hash_alg)
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(message, padding.PKCS1v15(), digest)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(message, ec.ECDSA(digest))
    raise InvalidInput("signing keys must be RSA or ECDSA")


def signature_valid(
    message: bytes, signature: bytes, public_key: PublicKey, hash_alg: HashAlgorithm = "SHA1"
) -> bool:
    """True when ``signature`` is a valid signature of ``message`` under ``public_key``."""
    digest = _hash(hash_alg)
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, padding.PKCS1v15(), digest)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, message, ec.ECDSA(digest))
        else:
            return False
    except (InvalidSignature, ValueError):  # ValueError: undecodable DER from a forger
        return False
    return True


def signed_cookies(
    policy: Policy, key_id: str, private_key: PrivateKey, hash_alg: HashAlgorithm = "SHA1"
) -> dict[str, str]:
    """Custom-policy cookies: ``CloudFront-Policy``, ``-Signature``, ``-Key-Pair-Id``.

    ``CloudFront-Hash-Algorithm`` is added only for SHA256, since SHA1 is what its absence means.
    """
    body = policy.to_json()
    cookies = {
        COOKIE_POLICY: cfbase64.encode(body),
        COOKIE_SIGNATURE: cfbase64.encode(sign(body, private_key, hash_alg)),
        COOKIE_KEY_PAIR_ID: key_id,
    }
    if hash_alg != "SHA1":
        cookies[COOKIE_HASH_ALGORITHM] = hash_alg
    return cookies


def canned_cookies(
    url: str, expires: int, key_id: str, private_key: PrivateKey, hash_alg: HashAlgorithm = "SHA1"
) -> dict[str, str]:
    """Canned-policy cookies (``CloudFront-Expires``): valid for exactly one URL."""
    body = canned_policy(url, expires).to_json()
    cookies = {
        COOKIE_EXPIRES: str(expires),
        COOKIE_SIGNATURE: cfbase64.encode(sign(body, private_key, hash_alg)),
        COOKIE_KEY_PAIR_ID: key_id,
    }
    if hash_alg != "SHA1":
        cookies[COOKIE_HASH_ALGORITHM] = hash_alg
    return cookies


def signed_url(
    url: str,
    key_id: str,
    private_key: PrivateKey,
    *,
    expires: int | None = None,
    policy: Policy | None = None,
    hash_alg: HashAlgorithm = "SHA1",
) -> str:
    """A signed URL: canned with ``expires``, custom with ``policy`` (exactly one of them).

    Parameters are appended in botocore's order (``Expires``/``Policy``, ``Signature``,
    ``Key-Pair-Id``), then ``Hash-Algorithm`` when not SHA1. Every value is already URL-safe
    (CloudFront base64, digits, alphanumeric key ids), so nothing needs percent-encoding.
    """
    if (expires is None) == (policy is None):
        raise InvalidInput("give either expires (canned) or policy (custom), not both")
    if expires is not None:
        body = canned_policy(url, expires).to_json()
        params = [f"Expires={expires}"]
    else:
        assert policy is not None
        body = policy.to_json()
        params = [f"Policy={cfbase64.encode(body)}"]
    params.append(f"Signature={cfbase64.encode(sign(body, private_key, hash_alg))}")
    params.append(f"Key-Pair-Id={key_id}")
    if hash_alg != "SHA1":
        params.append(f"Hash-Algorithm={hash_alg}")
    separator = "&" if "?" in url else "?"
    return url + separator + "&".join(params)
