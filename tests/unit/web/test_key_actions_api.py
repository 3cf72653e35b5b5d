"""The signing-key calls the remote CLI's `keys create|activate|copy` needed: generate a pair
(trusted, signs once activated), activate a key of the group, copy a pair under CloudFront's
id; each with the `keys` scope, the reason in a 404/409."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_settings
from tests.unit.web.test_scoped_api import TOKEN, new_key

from vodstack.compose import build_server
from vodstack.compose.services import Services, build_services
from vodstack.web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = build_services(make_settings(tmp_path / "home", admin_token=TOKEN))
    yield s
    s.close()


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(build_server(services, run_workers=False)))


def _statuses(services: Services) -> dict[str, str]:
    return {k.key_id: k.status for k in services.grants.signing_keys()}


def test_generate_activate_and_copy_signing_keys(client: TestClient, services: Services) -> None:
    reader, keys = new_key(client, "read"), new_key(client, "keys")
    refused = client.post("/api/keys/generate", headers=reader)
    assert refused.status_code == 403 and refused.json()["rule"] == "scope:keys"
    signer = next(k for k, s in _statuses(services).items() if s == "active")

    made = client.post("/api/keys/generate", params={"algorithm": "ecdsa"}, headers=keys)
    assert made.status_code == 201, made.text
    new = made.json()
    assert new["status"] == "trusted" and new["algorithm"] == "ecdsa" and new["can_sign"]
    assert _statuses(services)[signer] == "active"  # a generated key does not sign yet

    active = client.post(f"/api/keys/{new['key_id']}/activate", headers=keys)
    assert active.status_code == 200 and active.json()["status"] == "active"
    assert _statuses(services)[signer] == "trusted"  # still verifies what it signed

    copied = client.post(
        f"/api/keys/{signer}/copy", json={"new_id": "CFKEY1", "activate": True}, headers=keys
    )
    assert copied.status_code == 201 and copied.json()["key_id"] == "CFKEY1"
    assert copied.json()["public_key_pem"] == next(
        k.public_key_pem for k in services.grants.signing_keys() if k.key_id == signer
    )
    assert _statuses(services)["CFKEY1"] == "active"

    again = client.post(f"/api/keys/{signer}/copy", json={"new_id": "CFKEY1"}, headers=keys)
    assert again.status_code == 409 and "CFKEY1" in again.json()["error"]
    unknown = client.post("/api/keys/NOSUCHKEY/activate", headers=keys)
    assert unknown.status_code == 404 and "NOSUCHKEY" in unknown.json()["error"]
    client.post(f"/api/keys/{new['key_id']}/retire", headers=keys)
    retired = client.post(f"/api/keys/{new['key_id']}/activate", headers=keys)
    assert retired.status_code == 409 and "retired" in retired.json()["error"]
    bad_id = client.post(f"/api/keys/{signer}/copy", json={"new_id": "../x"}, headers=keys)
    assert bad_id.status_code in (400, 422)
