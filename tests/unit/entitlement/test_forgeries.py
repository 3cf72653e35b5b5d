"""Every way we know to forge, stretch or confuse a grant is refused, with the right reason."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from vodstack.entitlement import cfbase64
from vodstack.entitlement.keygroup import KeyGroup, TrustedKey
from vodstack.entitlement.keys import public_key_pem
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import canned_cookies, sign, signed_cookies, signed_url
from vodstack.entitlement.verify import SignatureVerifier, parse_cookie_header

from .support import (
    ASSET,
    CREATED,
    HOST,
    NOW,
    RESOURCE,
    SEGMENT_URL,
    Clock,
    Holder,
    Keys,
    botocore_signer,
    utc,
)

KEY_ID = "KOLDRSA0000001"
CLIENT = "198.51.100.7"
OTHER_RESOURCE = f"{HOST}/v1/zz9999/*"


@pytest.fixture
def good(keys: Keys) -> dict[str, str]:
    return signed_cookies(Policy(RESOURCE, NOW + 3600), KEY_ID, keys.rsa_old)


def deny(verifier: SignatureVerifier, cookies: dict, url: str = SEGMENT_URL, ip: str = CLIENT):
    verdict = verifier.verify(url, cookies, None, ip)
    assert not verdict.ok
    return verdict.reason


def custom_policy_cookies(keys: Keys, document: dict | bytes, key_id: str = KEY_ID) -> dict:
    """Cookies for an arbitrary (validly signed!) policy document."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return {
        "CloudFront-Policy": cfbase64.encode(body),
        "CloudFront-Signature": cfbase64.encode(sign(body, keys.rsa_old)),
        "CloudFront-Key-Pair-Id": key_id,
    }


def test_baseline_is_accepted(verifier: SignatureVerifier, good: dict) -> None:
    assert verifier.verify(SEGMENT_URL, good, None, CLIENT).ok


# --- signature tampering --------------------------------------------------------------------


@pytest.mark.parametrize("bit", [0, 7, 100, 2047])
def test_one_bit_flipped_in_signature(verifier: SignatureVerifier, good: dict, bit: int) -> None:
    signature = bytearray(cfbase64.decode(good["CloudFront-Signature"]))
    signature[bit // 8] ^= 1 << (bit % 8)
    forged = {**good, "CloudFront-Signature": cfbase64.encode(bytes(signature))}
    assert deny(verifier, forged) == "bad_signature"


def test_one_bit_flipped_in_policy(verifier: SignatureVerifier, good: dict) -> None:
    body = cfbase64.decode(good["CloudFront-Policy"]).replace(b"a1b2c3", b"a1b2c2")
    forged = {**good, "CloudFront-Policy": cfbase64.encode(body)}
    assert deny(verifier, forged, SEGMENT_URL.replace("a1b2c3", "a1b2c2")) == "bad_signature"


def test_policy_swapped_from_another_asset(verifier: SignatureVerifier, keys: Keys, good) -> None:
    other = signed_cookies(Policy(OTHER_RESOURCE, NOW + 3600), KEY_ID, keys.rsa_old)
    # Another asset's policy with this asset's signature: the signature does not cover it.
    assert deny(verifier, {**good, "CloudFront-Policy": other["CloudFront-Policy"]}) == (
        "bad_signature"
    )
    # Another asset's complete, valid grant presented for this asset: out of scope.
    assert deny(verifier, other) == "scope"


def test_signature_by_untrusted_key_under_trusted_id(verifier: SignatureVerifier, keys) -> None:
    forged = signed_cookies(Policy(RESOURCE, NOW + 3600), KEY_ID, keys.stranger)
    assert deny(verifier, forged) == "bad_signature"


def test_signature_by_other_trusted_key_under_wrong_id(verifier: SignatureVerifier, keys) -> None:
    forged = signed_cookies(Policy(RESOURCE, NOW + 3600), KEY_ID, keys.ecdsa)
    assert deny(verifier, forged) == "bad_signature"


def test_unknown_key_id(verifier: SignatureVerifier, keys: Keys) -> None:
    forged = signed_cookies(Policy(RESOURCE, NOW + 3600), "KSTRANGER00001", keys.stranger)
    assert deny(verifier, forged) == "unknown_key"


def test_retired_key(verifier: SignatureVerifier, holder: Holder, keys: Keys) -> None:
    cookies = signed_cookies(Policy(RESOURCE, NOW + 3600), "KECDSA00000001", keys.ecdsa)
    assert verifier.verify(SEGMENT_URL, cookies, None, CLIENT).ok
    holder.group = holder.group.retire("KECDSA00000001")
    assert deny(verifier, cookies) == "unknown_key"


def test_hash_algorithm_mismatch(verifier: SignatureVerifier, keys: Keys) -> None:
    sha256 = signed_cookies(Policy(RESOURCE, NOW + 3600), KEY_ID, keys.rsa_old, "SHA256")
    stripped = {k: v for k, v in sha256.items() if k != "CloudFront-Hash-Algorithm"}
    assert deny(verifier, stripped) == "bad_signature"  # SHA256 signature checked as SHA1
    sha1 = signed_cookies(Policy(RESOURCE, NOW + 3600), KEY_ID, keys.rsa_old)
    assert deny(verifier, {**sha1, "CloudFront-Hash-Algorithm": "SHA256"}) == "bad_signature"
    assert deny(verifier, {**sha1, "CloudFront-Hash-Algorithm": "MD5"}) == "malformed"
    assert deny(verifier, {**sha1, "CloudFront-Hash-Algorithm": "sha1"}) == "malformed"


# --- time -----------------------------------------------------------------------------------


def test_expired(verifier: SignatureVerifier, clock: Clock, good: dict) -> None:
    clock.now = NOW + 3600  # DateLessThan is exclusive
    assert deny(verifier, good) == "expired"


def test_not_yet_valid(verifier: SignatureVerifier, keys: Keys) -> None:
    cookies = signed_cookies(Policy(RESOURCE, NOW + 3600, NOW + 60), KEY_ID, keys.rsa_old)
    assert deny(verifier, cookies) == "not_yet_valid"


def test_canned_expires_extended(verifier: SignatureVerifier, keys: Keys) -> None:
    url = signed_url(SEGMENT_URL, KEY_ID, keys.rsa_old, expires=NOW + 60)
    assert verifier.verify(url, {}, None, CLIENT).ok
    stretched = url.replace(f"Expires={NOW + 60}", f"Expires={NOW + 86400}")
    assert deny(verifier, {}, stretched) == "bad_signature"


# --- scope ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"{HOST}/v1/{ASSET}X/v720/seg-00042.m4s",  # prefix trick: /v1/IDX/ vs /v1/ID/*
        f"{HOST}/v1/{ASSET[:-1]}/v720/seg-00042.m4s",
        f"{HOST}/v1/zz9999/v720/seg-00042.m4s",  # another asset
        f"https://evil.example.com/v1/{ASSET}/v720/seg-00042.m4s",  # other host
        f"http://vod.example.com/v1/{ASSET}/v720/seg-00042.m4s",  # other scheme
        f"{HOST}/v1/{ASSET}/../zz9999/seg-00042.m4s",  # dot segments
        f"{HOST}/v1/{ASSET}/%2e%2E/zz9999/seg-00042.m4s",
        f"{HOST}/v1/{ASSET}%2F..%2Fzz9999/seg-00042.m4s",  # encoded slash
    ],
)
def test_out_of_scope(verifier: SignatureVerifier, good: dict, url: str) -> None:
    assert deny(verifier, good, url) == "scope"


def test_canned_url_moved_to_other_path(verifier: SignatureVerifier, keys: Keys) -> None:
    url = signed_url(SEGMENT_URL, KEY_ID, keys.rsa_old, expires=NOW + 60)
    moved = url.replace("seg-00042", "seg-00043")
    assert deny(verifier, {}, moved) == "bad_signature"  # the rebuilt canned policy differs
    extra = url + "&injected=1"
    assert deny(verifier, {}, extra) == "bad_signature"


# --- IP -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "allowed", "denied"),
    [
        ("198.51.100.7/32", "198.51.100.7", "198.51.100.8"),
        ("2001:db8::7/128", "2001:db8::7", "2001:db8::8"),
        ("2001:db8::7/128", "2001:db8::7", "198.51.100.7"),
    ],
)
def test_wrong_ip(verifier: SignatureVerifier, keys: Keys, cidr, allowed, denied) -> None:
    cookies = signed_cookies(Policy(RESOURCE, NOW + 3600, ip_address=cidr), KEY_ID, keys.rsa_old)
    assert verifier.verify(SEGMENT_URL, cookies, None, allowed).ok
    assert deny(verifier, cookies, ip=denied) == "ip"


# --- canned/custom confusion and ambiguity --------------------------------------------------


def test_expires_with_custom_policy_signature(verifier: SignatureVerifier, good: dict) -> None:
    forged = {k: v for k, v in good.items() if k != "CloudFront-Policy"}
    forged["CloudFront-Expires"] = str(NOW + 3600)
    assert deny(verifier, forged) == "bad_signature"


def test_policy_with_canned_signature(verifier: SignatureVerifier, keys: Keys) -> None:
    canned = canned_cookies(SEGMENT_URL, NOW + 3600, KEY_ID, keys.rsa_old)
    wide = cfbase64.encode(Policy(f"{HOST}/*", NOW + 3600).to_json())
    forged = {k: v for k, v in canned.items() if k != "CloudFront-Expires"}
    forged["CloudFront-Policy"] = wide
    assert deny(verifier, forged) == "bad_signature"


def test_canned_policy_sent_as_custom_is_still_exact(verifier: SignatureVerifier, keys) -> None:
    # A canned policy document is also a valid custom policy with the same meaning: it grants
    # exactly one URL, never its siblings.
    cookies = signed_cookies(Policy(SEGMENT_URL, NOW + 3600), KEY_ID, keys.rsa_old)
    assert verifier.verify(SEGMENT_URL, cookies, None, CLIENT).ok
    assert deny(verifier, cookies, SEGMENT_URL.replace("42", "43")) == "scope"


def test_both_expires_and_policy(verifier: SignatureVerifier, good: dict, keys: Keys) -> None:
    assert deny(verifier, {**good, "CloudFront-Expires": str(NOW + 60)}) == "ambiguous"
    url = signed_url(SEGMENT_URL, KEY_ID, keys.rsa_old, expires=NOW + 60)
    assert deny(verifier, {}, url + "&Policy=" + good["CloudFront-Policy"]) == "ambiguous"


def test_duplicated_cookies(verifier: SignatureVerifier, good: dict, keys: Keys) -> None:
    other = signed_cookies(Policy(OTHER_RESOURCE, NOW + 3600), KEY_ID, keys.rsa_old)
    header = "; ".join(f"{k}={v}" for k, v in good.items())
    header += f"; CloudFront-Policy={other['CloudFront-Policy']}"
    assert deny(verifier, parse_cookie_header(header)) == "ambiguous"
    # Even an exact repeat is refused: we never guess which copy the browser meant.
    header = "; ".join(f"{k}={v}" for k, v in [*good.items(), *good.items()])
    assert deny(verifier, parse_cookie_header(header)) == "ambiguous"
    # The honest header parses to an accepted grant.
    honest = "; ".join(f"{k}={v}" for k, v in good.items()) + "; theme=dark"
    assert verifier.verify(SEGMENT_URL, parse_cookie_header(honest), None, CLIENT).ok


def test_duplicated_query_parameters(verifier: SignatureVerifier, keys: Keys) -> None:
    url = signed_url(SEGMENT_URL, KEY_ID, keys.rsa_old, expires=NOW + 60)
    assert deny(verifier, {}, url + f"&Key-Pair-Id={KEY_ID}") == "ambiguous"
    assert deny(verifier, {}, url + f"&Key%2DPair-Id={KEY_ID}") == "ambiguous"


def test_signed_url_takes_precedence_over_cookies(verifier, good: dict, keys: Keys) -> None:
    bad_url = signed_url(SEGMENT_URL, KEY_ID, keys.stranger, expires=NOW + 60)
    verdict = verifier.verify(bad_url, good, None, CLIENT)  # valid cookies do not rescue it
    assert (verdict.ok, verdict.reason, verdict.source) == (False, "bad_signature", "query")
    good_url = signed_url(SEGMENT_URL, KEY_ID, keys.rsa_old, expires=NOW + 60)
    assert verifier.verify(good_url, {"CloudFront-Policy": "!!"}, None, CLIENT).ok


# --- malformed and missing parts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("CloudFront-Signature", "not*base64"),
        ("CloudFront-Signature", "A" * 9000),  # oversized
        ("CloudFront-Signature", "AAAA AAAA"),
        ("CloudFront-Policy", "%%%%"),
        ("CloudFront-Policy", cfbase64.encode(b"x" * 7000)),  # oversized
        ("CloudFront-Policy", "eyJTdGF0ZW1lbnQiOltdfQ=="),  # standard padding, not CloudFront's
        ("CloudFront-Key-Pair-Id", "../../etc/passwd"),
        ("CloudFront-Key-Pair-Id", ""),
    ],
)
def test_garbage_values(verifier: SignatureVerifier, good: dict, field: str, value: str) -> None:
    assert deny(verifier, {**good, field: value}) == "malformed"


@pytest.mark.parametrize("expires", ["-1", "1e9", " 1800000060", "18000000600000000", "0x10"])
def test_garbage_expires(verifier: SignatureVerifier, keys: Keys, expires: str) -> None:
    cookies = canned_cookies(SEGMENT_URL, NOW + 60, KEY_ID, keys.rsa_old)
    assert deny(verifier, {**cookies, "CloudFront-Expires": expires}) == "malformed"


@pytest.mark.parametrize(
    "drop",
    [
        ("CloudFront-Signature",),
        ("CloudFront-Key-Pair-Id",),
        ("CloudFront-Policy",),
        ("CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"),
    ],
)
def test_missing_parts(verifier: SignatureVerifier, good: dict, drop: tuple[str, ...]) -> None:
    assert deny(verifier, {k: v for k, v in good.items() if k not in drop}) == "missing"


def test_missing_query_parts(verifier: SignatureVerifier, keys: Keys) -> None:
    url = signed_url(SEGMENT_URL, KEY_ID, keys.rsa_old, expires=NOW + 60)
    without_sig = "&".join(p for p in url.split("&") if not p.startswith("Signature="))
    assert deny(verifier, {}, without_sig) == "missing"


@pytest.mark.parametrize(
    "document",
    [
        {
            "Statement": [
                {"Resource": RESOURCE, "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60}}},
                {"Resource": f"{HOST}/*", "Condition": {"DateLessThan": {"AWS:EpochTime": 2**33}}},
            ]
        },
        {
            "Statement": [
                {
                    "Resource": RESOURCE,
                    "Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60}},
                    "Effect": "Allow",
                }
            ]
        },
        {"Statement": [{"Condition": {"DateLessThan": {"AWS:EpochTime": NOW + 60}}}]},
        {
            "Statement": [
                {"Resource": RESOURCE, "Condition": {"DateLessThan": {"AWS:EpochTime": 1.8e9}}}
            ]
        },
        {"Statement": [{"Resource": RESOURCE, "Condition": {}}]},
    ],
)
def test_signed_but_unacceptable_policies(verifier: SignatureVerifier, keys, document) -> None:
    assert deny(verifier, custom_policy_cookies(keys, document)) == "malformed"


# --- key rotation ---------------------------------------------------------------------------


def test_rotation_keeps_old_grants_until_retired(keys: Keys, clock: Clock) -> None:
    old_pem = public_key_pem(keys.rsa_old)
    holder = Holder(KeyGroup([TrustedKey(KEY_ID, old_pem, "active", CREATED)]))
    verifier = SignatureVerifier(holder, clock)
    old_cookie = signed_cookies(Policy(RESOURCE, NOW + 3600), KEY_ID, keys.rsa_old)
    assert verifier.verify(SEGMENT_URL, old_cookie, None, CLIENT).ok

    holder.group = holder.group.rotate(
        "KNEWRSA0000002", public_key_pem(keys.rsa_new), datetime(2026, 2, 1)
    )
    assert holder.group.signing_key_id == "KNEWRSA0000002"
    new_cookie = signed_cookies(Policy(RESOURCE, NOW + 3600), "KNEWRSA0000002", keys.rsa_new)
    assert verifier.verify(SEGMENT_URL, old_cookie, None, CLIENT).ok
    assert verifier.verify(SEGMENT_URL, new_cookie, None, CLIENT).ok

    holder.group = holder.group.retire(KEY_ID)
    assert deny(verifier, old_cookie) == "unknown_key"
    assert verifier.verify(SEGMENT_URL, new_cookie, None, CLIENT).ok


# --- the cache never skips per-request checks ------------------------------------------------


def test_cache_hit_still_checks_time_scope_ip_and_key(keys: Keys, holder: Holder, clock) -> None:
    verifier = SignatureVerifier(holder, clock)
    cookies = signed_cookies(
        Policy(RESOURCE, NOW + 100, ip_address="198.51.100.7/32"), "KECDSA00000001", keys.ecdsa
    )
    assert verifier.verify(SEGMENT_URL, cookies, None, CLIENT).ok
    assert verifier.verify(SEGMENT_URL.replace("42", "43"), cookies, None, CLIENT).ok
    assert verifier.cache_hits == 1
    assert deny(verifier, cookies, ip="198.51.100.8") == "ip"
    assert deny(verifier, cookies, url=SEGMENT_URL.replace(ASSET, "zz9999")) == "scope"
    assert verifier.cache_hits == 3
    holder.group = holder.group.retire("KECDSA00000001")
    assert deny(verifier, cookies) == "unknown_key"
    clock.now = NOW + 100
    holder.group = KeyGroup(
        [TrustedKey("KECDSA00000001", public_key_pem(keys.ecdsa), "trusted", CREATED)]
    )
    assert deny(verifier, cookies) == "expired"


def test_botocore_grant_for_other_asset_is_out_of_scope(verifier: SignatureVerifier, keys) -> None:
    signer = botocore_signer(keys.rsa_old, KEY_ID)
    url = signer.generate_presigned_url(
        f"{HOST}/v1/zz9999/index.m3u8",
        policy=signer.build_policy(OTHER_RESOURCE, utc(NOW + 60)),
    )
    moved = url.replace("/v1/zz9999/", f"/v1/{ASSET}/")
    assert deny(verifier, {}, moved) == "scope"


def test_a_known_header_is_recognised_whole_not_by_its_tail(keys: Keys, holder, clock) -> None:
    """Known Cookie headers are looked up by their last characters and compared whole: a
    header that ends like a known one, with another policy in front, is verified in full."""
    verifier = SignatureVerifier(holder, clock)
    cookies = signed_cookies(Policy(RESOURCE, NOW + 100), KEY_ID, keys.rsa_old)
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    assert verifier.verify_cookie_header(SEGMENT_URL, header.encode(), CLIENT).ok
    assert verifier.verify_cookie_header(SEGMENT_URL, header.encode(), CLIENT).ok
    assert verifier.cache_hits == 1
    other = custom_policy_cookies(keys, {"Statement": [{"Resource": "*"}]})  # tampered below
    forged = "; ".join(f"{k}={v}" for k, v in other.items()) + "; " + header[-60:]
    verdict = verifier.verify_cookie_header(SEGMENT_URL, forged.encode(), CLIENT)
    assert not verdict.ok
    assert verifier.cache_hits == 1  # not taken for the known header
    assert verifier.verify_cookie_header(SEGMENT_URL, header.encode(), CLIENT).ok  # still known
    # a reloaded key group (the key ring reloads every few seconds) keeps it known; one
    # without its key does not
    holder.group = KeyGroup(list(holder.group.keys))
    assert verifier.verify_cookie_header(SEGMENT_URL, header.encode(), CLIENT).ok
    holder.group = KeyGroup([k for k in holder.group.keys if k.key_id != KEY_ID])
    assert not verifier.verify_cookie_header(SEGMENT_URL, header.encode(), CLIENT).ok


# --- the quick re-check of a known credential never allows what the full check refuses ---

BOUND = f"{SEGMENT_URL.rsplit('/', 1)[0]}/"


@pytest.mark.parametrize(
    ("url", "ip", "at"),
    [
        (SEGMENT_URL, CLIENT, NOW),
        (SEGMENT_URL, "198.51.100.8", NOW),  # another address (the grant names one)
        (SEGMENT_URL, f"::ffff:{CLIENT}", NOW),  # the same one, spelled as IPv6
        (SEGMENT_URL, CLIENT, NOW + 100),  # expired
        (SEGMENT_URL, CLIENT, NOW - 200),  # not yet valid
        (SEGMENT_URL.replace(ASSET, "zz9999"), CLIENT, NOW),
        (SEGMENT_URL.replace(f"/{ASSET}/", f"/{ASSET}x/"), CLIENT, NOW),
        (f"{HOST}/v1/{ASSET}/../zz9999/seg.m4s", CLIENT, NOW),
        (f"{HOST}/v1/{ASSET}/%2e%2e/zz9999/seg.m4s", CLIENT, NOW),
        (f"{HOST}/v1/{ASSET}/v720/./seg.m4s", CLIENT, NOW),
        (f"{HOST}/v1/{ASSET}\\..\\zz9999/seg.m4s", CLIENT, NOW),
        (f"{SEGMENT_URL}?time=3", CLIENT, NOW),
        (f"{SEGMENT_URL}?Signature=x", CLIENT, NOW),
        (BOUND, CLIENT, NOW),
    ],
)
@pytest.mark.parametrize("source", ["cookie", "token"])
def test_a_known_credential_gets_the_verdict_a_fresh_check_gives(
    keys: Keys, holder: Holder, source: str, url: str, ip: str, at: int
) -> None:
    from vodstack.entitlement import pathtoken

    policy = Policy(RESOURCE, NOW + 100, ip_address=f"{CLIENT}/32", date_greater_than=NOW - 100)
    cookies = signed_cookies(policy, KEY_ID, keys.rsa_old)
    credential = (
        pathtoken.encode(cookies)
        if source == "token"
        else "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()
    )
    clock = Clock(NOW)
    warm = SignatureVerifier(holder, clock)
    assert warm.verify_credential(source, SEGMENT_URL, credential, CLIENT).ok  # now known
    warm.follow_key_group(holder.group)
    clock.now = at
    fresh = SignatureVerifier(holder, Clock(at))
    expected = fresh.verify_credential(source, url, credential, ip)
    verdict = warm.verify_credential(source, url, credential, ip)
    assert (verdict.ok, verdict.reason) == (expected.ok, expected.reason)
