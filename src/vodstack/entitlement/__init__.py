"""Entitlement gate: who may watch, and the signed grants that let them.

Pure core, no web framework or database (the HTTP routes and the catalogue wire these in):

    cfbase64      CloudFront's base64 alphabet, strict decoding
    policy        Policy statement: serialise (botocore-identical), parse, match, evaluate
    signing       RSA/ECDSA signatures, signed cookies and signed URLs
    keys          key generation, PEM, key ids; keygroup: the trusted key group
    keystore      private keys on disk (0600, optional passphrase)
    requestparts  cookies and query parameters as they arrive, duplicates kept
    verify        SignatureVerifier: one request -> Verdict (ok or a reason for metrics)
    jwtkeys, devidp, jwks, tokens   viewer JWTs: dev IdP, external JWKS, JwtVerifier
"""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.entitlement.devidp import DevIdentityProvider
    from vodstack.entitlement.geo import ViewerLocator
    from vodstack.entitlement.jwks import JwksCache
    from vodstack.entitlement.keyring import KeyRing
    from vodstack.entitlement.keystore import PrivateKeyStore, SecretKeyStore
    from vodstack.entitlement.service import EntitlementService
    from vodstack.entitlement.tokens import JwtVerifier, www_authenticate
    from vodstack.entitlement.verify import SignatureVerifier, Verdict

__all__ = [
    "DevIdentityProvider",
    "EntitlementService",
    "JwksCache",
    "JwtVerifier",
    "KeyRing",
    "PrivateKeyStore",
    "SecretKeyStore",
    "SignatureVerifier",
    "Verdict",
    "ViewerLocator",
    "www_authenticate",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "devidp": ["DevIdentityProvider"],
        "geo": ["ViewerLocator"],
        "jwks": ["JwksCache"],
        "keyring": ["KeyRing"],
        "keystore": ["PrivateKeyStore", "SecretKeyStore"],
        "service": ["EntitlementService"],
        "tokens": ["JwtVerifier", "www_authenticate"],
        "verify": ["SignatureVerifier", "Verdict"],
    },
)
