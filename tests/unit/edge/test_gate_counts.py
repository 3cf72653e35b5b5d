"""The gate counts allowed requests in batches (issue #15: one Prometheus update per segment
cost more than the check); a scrape must still show every one of them."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from vodstack.compose import build_server
from vodstack.compose.services import Services
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import signed_cookies
from vodstack.web.app import create_app


def _allowed(client: TestClient, token: str) -> float:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    for family in text_string_to_metric_families(text):
        if family.name == "vodstack_gate_allowed":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    raise AssertionError("no vodstack_gate_allowed in /metrics")


@pytest.mark.parametrize("requests", [1, 63, 64, 65, 200])
def test_every_allowed_request_is_counted_by_the_next_scrape(
    services: Services, requests: int
) -> None:
    settings = services.settings
    base = settings.base_url()
    key_id, private_key = services.keyring.signer()
    policy = Policy(f"{base}/v1/abcdefghijkl/*", int(time.time()) + 600)
    cookies = signed_cookies(policy, key_id, private_key)
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    with TestClient(create_app(build_server(services, run_workers=False)), base_url=base) as c:
        admin = services.admin_token
        before = _allowed(c, admin)
        for _ in range(requests):  # allowed by the gate; the asset does not exist after it
            assert c.get("/v1/abcdefghijkl/master.m3u8", headers=header).status_code == 404
        assert c.get("/v1/abcdefghijkl/master.m3u8").status_code == 403  # not counted
        assert _allowed(c, admin) - before == requests
