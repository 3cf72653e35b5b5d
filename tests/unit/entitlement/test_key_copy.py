"""``vodstack keys copy KEY --as ID``: the same key pair under the id CloudFront gave it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vodstack.compose.services import build_services
from vodstack.config import Settings
from vodstack.entitlement.keys import public_key_pem
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import signed_cookies
from vodstack.errors import Conflict, InvalidInput

URL = "https://vod.example/v1/asset1/r1-4s/v720/1.m4s"
CF_ID = "K2JCJMDEHXQW5F"  # shaped like a CloudFront public key id


def test_a_key_copied_under_cloudfronts_id_signs_and_the_old_id_still_verifies(
    tmp_path: Path,
) -> None:
    services = build_services(Settings(home=tmp_path))
    try:
        ring = services.keyring
        old_id, old_key = ring.signer()
        assert ring.copy_as(old_id, CF_ID, activate=True) == CF_ID
        new_id, new_key = ring.signer()
        assert new_id == CF_ID and public_key_pem(new_key) == public_key_pem(old_key)
        policy = Policy("https://vod.example/v1/asset1/*", int(time.time()) + 600)
        for key_id in (CF_ID, old_id):  # cookies carrying either id verify
            cookies = signed_cookies(policy, key_id, new_key)
            verdict = services.signature_verifier.verify(URL, cookies, None, "192.0.2.1")
            assert verdict.ok and verdict.key_id == key_id, verdict
        ring.retire(old_id)
        ring.invalidate()
        refused = services.signature_verifier.verify(
            URL, signed_cookies(policy, old_id, old_key), None, "192.0.2.1"
        )
        assert not refused.ok
        with pytest.raises(Conflict):
            ring.copy_as(CF_ID, old_id)  # ids are never reused
        with pytest.raises(InvalidInput):
            ring.copy_as(CF_ID, "not/an/id")
    finally:
        services.close()
