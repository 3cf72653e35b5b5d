"""The path token: the cookie grant's signed values in the URL path, checked by the same
verifier with the same reasons (issue 15)."""

from __future__ import annotations

import pytest

from vodstack.entitlement import cfbase64, pathtoken
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import signed_cookies
from vodstack.entitlement.verify import SignatureVerifier

from .support import ASSET, HOST, NOW, RESOURCE, SEGMENT_URL, Clock, Holder, Keys

KEY_ID = "KOLDRSA0000001"
ECDSA_ID = "KECDSA00000001"
CLIENT = "198.51.100.7"


def token_for(keys: Keys, policy: Policy, key_id: str = KEY_ID, hash_alg: str = "SHA1") -> str:
    return pathtoken.encode(signed_cookies(policy, key_id, keys.rsa_old, hash_alg))  # type: ignore[arg-type]


def test_round_trip_split_and_redact(keys: Keys) -> None:
    token = token_for(keys, Policy(RESOURCE, NOW + 60))
    fields = pathtoken.decode(token)
    assert fields is not None and fields["key_id"] == KEY_ID and fields["hash"] is None
    assert pathtoken.split(f"t/{token}/r1-4s/v180/1.m4s") == (token, "r1-4s/v180/1.m4s")
    assert pathtoken.split("r1-4s/v180/1.m4s") == (None, "r1-4s/v180/1.m4s")
    assert pathtoken.redact(f"/v1/{ASSET}/t/{token}/index.m3u8") == f"/v1/{ASSET}/t/-/index.m3u8"
    sha256 = token_for(keys, Policy(RESOURCE, NOW + 60), hash_alg="SHA256")
    assert pathtoken.decode(sha256)["hash"] == "SHA256"  # type: ignore[index]


@pytest.mark.parametrize(
    "token", ["", "a.b", "a.b.c.d.e", "a..c", "a.b.c=", "a/b.c.d", "x" * 5000, "a.b.%41"]
)
def test_misshapen_tokens_do_not_decode(token: str) -> None:
    assert pathtoken.decode(token) is None


def test_same_verdicts_as_the_cookie(
    verifier: SignatureVerifier, keys: Keys, clock: Clock, holder: Holder
) -> None:
    token = token_for(keys, Policy(RESOURCE, NOW + 60, ip_address=CLIENT))
    assert verifier.verify_token(SEGMENT_URL, token, CLIENT).ok
    assert verifier.verify_token(SEGMENT_URL, token, CLIENT).ok  # from the token cache
    assert verifier.verify_token(f"{HOST}/v1/other/index.m3u8", token, CLIENT).reason == "scope"
    assert verifier.verify_token(SEGMENT_URL, token, "203.0.113.1").reason == "ip"
    key_id, policy, signature = token.split(".")
    flipped = bytearray(cfbase64.decode(signature))
    flipped[5] ^= 1
    tampered = f"{key_id}.{policy}.{cfbase64.encode(bytes(flipped))}"
    assert verifier.verify_token(SEGMENT_URL, tampered, CLIENT).reason == "bad_signature"
    assert verifier.verify_token(SEGMENT_URL, token[:-7], CLIENT).reason == "malformed"
    assert verifier.verify_token(SEGMENT_URL, token[:-8], CLIENT).reason == "bad_signature"
    assert verifier.verify_token(SEGMENT_URL, f"KNOPE.{policy}.{signature}", CLIENT).reason == (
        "unknown_key"
    )
    signed_query = f"{SEGMENT_URL}?Expires=1&Signature=x&Key-Pair-Id={KEY_ID}"
    assert verifier.verify_token(signed_query, token, CLIENT).reason == "ambiguous"
    clock.now = NOW + 61
    assert verifier.verify_token(SEGMENT_URL, token, CLIENT).reason == "expired"
    clock.now = NOW
    ecdsa = pathtoken.encode(signed_cookies(Policy(RESOURCE, NOW + 60), ECDSA_ID, keys.ecdsa))
    assert verifier.verify_token(SEGMENT_URL, ecdsa, CLIENT).ok
    holder.group = holder.group.retire(ECDSA_ID)  # takes effect at once, cached or not
    assert verifier.verify_token(SEGMENT_URL, ecdsa, CLIENT).reason == "unknown_key"


def test_picture_tokens_split_and_redact() -> None:
    assert pathtoken.segment("p/abc/poster.jpg") == "p"
    assert pathtoken.segment("t/abc/index.m3u8") == "t"
    assert pathtoken.segment("r1-4s/v180/1.m4s") is None
    assert pathtoken.split("p/abc/r1-4s/sb/1.jpg") == ("abc", "r1-4s/sb/1.jpg")
    assert pathtoken.redact("/v1/a/p/abc.def.ghi/poster.jpg") == "/v1/a/p/-/poster.jpg"


def test_a_picture_policy_never_opens_media(verifier: SignatureVerifier, keys: Keys) -> None:
    token = token_for(keys, Policy(f"{HOST}/v1/{ASSET}/{pathtoken.PICTURES}/*", NOW + 60))
    picture_url = f"{HOST}/v1/{ASSET}/{pathtoken.PICTURES}/poster.jpg"
    assert verifier.verify_token(picture_url, token, CLIENT).ok
    assert verifier.verify_token(SEGMENT_URL, token, CLIENT).reason == "scope"
    assert verifier.verify_token(f"{HOST}/v1/{ASSET}/poster.jpg", token, CLIENT).reason == "scope"
