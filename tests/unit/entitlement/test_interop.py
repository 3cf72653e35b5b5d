"""Interop is the test of truth: grants made by botocore's CloudFrontSigner must verify, and
ours must be identical to botocore's where the signature is deterministic (RSA PKCS#1 v1.5).
OpenSSL independently checks our RSA and ECDSA signatures.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vodstack.entitlement import cfbase64
from vodstack.entitlement.keys import PrivateKey, public_key_pem
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import (
    canned_cookies,
    sign,
    signature_valid,
    signed_cookies,
    signed_url,
)
from vodstack.entitlement.verify import SignatureVerifier

from .support import NOW, RESOURCE, SEGMENT_URL, Keys, botocore_signer, rsa_sha1_signer, utc

KEY_ID = "KOLDRSA0000001"
CLIENT = "198.51.100.7"


def botocore_cookies(keys: Keys, **policy_args: object) -> dict[str, str]:
    """Cookie values as botocore would compute them (it has no cookie helper)."""
    signer = botocore_signer(keys.rsa_old, KEY_ID)
    policy = signer.build_policy(RESOURCE, **policy_args).encode()
    return {
        "CloudFront-Policy": signer._url_b64encode(policy).decode(),
        "CloudFront-Signature": signer._url_b64encode(
            rsa_sha1_signer(keys.rsa_old)(policy)
        ).decode(),
        "CloudFront-Key-Pair-Id": KEY_ID,
    }


def test_botocore_custom_policy_cookies_accepted(keys: Keys, verifier: SignatureVerifier) -> None:
    cookies = botocore_cookies(keys, date_less_than=utc(NOW + 3600))
    verdict = verifier.verify(SEGMENT_URL, cookies, None, CLIENT)
    assert verdict.ok, verdict
    assert verdict.source == "cookie"
    assert verdict.key_id == KEY_ID
    assert verdict.policy == Policy(RESOURCE, NOW + 3600)


def test_botocore_cookies_with_all_conditions_accepted(
    keys: Keys, verifier: SignatureVerifier
) -> None:
    cookies = botocore_cookies(
        keys,
        date_less_than=utc(NOW + 3600),
        date_greater_than=utc(NOW - 10),
        ip_address="198.51.100.0/24",
    )
    assert verifier.verify(SEGMENT_URL, cookies, None, CLIENT).ok
    assert verifier.verify(SEGMENT_URL, cookies, None, "203.0.113.1").reason == "ip"


def test_botocore_custom_policy_url_accepted(keys: Keys, verifier: SignatureVerifier) -> None:
    signer = botocore_signer(keys.rsa_old, KEY_ID)
    policy = signer.build_policy(RESOURCE, utc(NOW + 3600))
    url = signer.generate_presigned_url(SEGMENT_URL + "?quality=hd", policy=policy)
    verdict = verifier.verify(url, {}, None, CLIENT)
    assert verdict.ok, verdict
    assert verdict.source == "query"


def test_botocore_canned_url_accepted(keys: Keys, verifier: SignatureVerifier) -> None:
    signer = botocore_signer(keys.rsa_old, KEY_ID)
    for base in (SEGMENT_URL, SEGMENT_URL + "?a=1&b=two"):
        url = signer.generate_presigned_url(base, date_less_than=utc(NOW + 600))
        assert "Expires=" in url
        verdict = verifier.verify(url, {}, None, CLIENT)
        assert verdict.ok, verdict
        assert verdict.policy == Policy(base, NOW + 600)


@pytest.mark.parametrize("base", [SEGMENT_URL, SEGMENT_URL + "?a=1"])
def test_our_signed_urls_equal_botocore(keys: Keys, base: str) -> None:
    signer = botocore_signer(keys.rsa_old, KEY_ID)
    assert signed_url(base, KEY_ID, keys.rsa_old, expires=NOW + 600) == (
        signer.generate_presigned_url(base, date_less_than=utc(NOW + 600))
    )
    policy = Policy(RESOURCE, NOW + 600, NOW - 5, "198.51.100.7")
    assert signed_url(base, KEY_ID, keys.rsa_old, policy=policy) == (
        signer.generate_presigned_url(
            base,
            policy=signer.build_policy(RESOURCE, utc(NOW + 600), utc(NOW - 5), "198.51.100.7"),
        )
    )


def test_our_cookies_equal_botocore_values(keys: Keys) -> None:
    ours = signed_cookies(Policy(RESOURCE, NOW + 3600), KEY_ID, keys.rsa_old)
    assert ours == botocore_cookies(keys, date_less_than=utc(NOW + 3600))


@pytest.mark.parametrize("hash_alg", ["SHA1", "SHA256"])
@pytest.mark.parametrize("which", ["rsa_old", "ecdsa"])
def test_our_grants_verify(
    keys: Keys, verifier: SignatureVerifier, hash_alg: str, which: str
) -> None:
    key: PrivateKey = getattr(keys, which)
    key_id = KEY_ID if which == "rsa_old" else "KECDSA00000001"
    policy = Policy(RESOURCE, NOW + 60)
    cookies = signed_cookies(policy, key_id, key, hash_alg)  # type: ignore[arg-type]
    assert ("CloudFront-Hash-Algorithm" in cookies) is (hash_alg == "SHA256")
    assert verifier.verify(SEGMENT_URL, cookies, None, CLIENT).ok
    canned = canned_cookies(SEGMENT_URL, NOW + 60, key_id, key, hash_alg)  # type: ignore[arg-type]
    assert verifier.verify(SEGMENT_URL, canned, None, CLIENT).ok
    for url in (
        signed_url(SEGMENT_URL, key_id, key, policy=policy, hash_alg=hash_alg),  # type: ignore[arg-type]
        signed_url(SEGMENT_URL, key_id, key, expires=NOW + 60, hash_alg=hash_alg),  # type: ignore[arg-type]
    ):
        assert ("Hash-Algorithm=SHA256" in url) is (hash_alg == "SHA256")
        assert verifier.verify(url, {}, None, CLIENT).ok, url


def test_signature_primitives_reject_other_hash_and_key(keys: Keys) -> None:
    message = Policy(RESOURCE, NOW).to_json()
    for key in (keys.rsa_old, keys.ecdsa):
        sig = sign(message, key, "SHA256")
        assert signature_valid(message, sig, key.public_key(), "SHA256")
        assert not signature_valid(message, sig, key.public_key(), "SHA1")
        assert not signature_valid(message + b" ", sig, key.public_key(), "SHA256")
        assert not signature_valid(message, sig, keys.stranger.public_key(), "SHA256")
        assert not signature_valid(message, b"\x30\x00garbage", key.public_key(), "SHA256")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
@pytest.mark.parametrize(
    ("which", "hash_alg"), [("rsa_old", "SHA1"), ("ecdsa", "SHA1"), ("ecdsa", "SHA256")]
)
def test_openssl_verifies_our_signatures(
    keys: Keys, tmp_path: Path, which: str, hash_alg: str
) -> None:
    key: PrivateKey = getattr(keys, which)
    cookies = signed_cookies(Policy(RESOURCE, NOW), "K1", key, hash_alg)  # type: ignore[arg-type]
    (tmp_path / "policy.json").write_bytes(cfbase64.decode(cookies["CloudFront-Policy"]))
    (tmp_path / "sig.der").write_bytes(cfbase64.decode(cookies["CloudFront-Signature"]))
    (tmp_path / "pub.pem").write_text(public_key_pem(key))
    result = subprocess.run(
        [
            "openssl",
            "dgst",
            f"-{hash_alg.lower()}",
            "-verify",
            str(tmp_path / "pub.pem"),
            "-signature",
            str(tmp_path / "sig.der"),
            str(tmp_path / "policy.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verified OK" in result.stdout
