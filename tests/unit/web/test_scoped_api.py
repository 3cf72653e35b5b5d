"""The admin API with scoped keys, in-process: every /api operation declares one scope in
OpenAPI and refuses a key without it (403 naming the scope) before touching anything; keys
are created, shown once, revoked; the body-limit layer accepts keys; an undeclared route
stops the app from being built."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from tests.conftest import make_settings

from vodstack.catalogue.apikeys import SCOPES
from vodstack.compose import build_server
from vodstack.compose.services import Services, build_services
from vodstack.errors import ConfigError
from vodstack.web import app as app_module
from vodstack.web.app import create_app
from vodstack.web.auth import is_admin_path

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "admin-token-for-scopes-000000"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
ASSET = "a" * 20


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = build_services(make_settings(tmp_path / "home", admin_token=TOKEN))
    yield s
    s.close()


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(build_server(services, run_workers=False)))


def new_key(client: TestClient, *scopes: str, auth: dict[str, str] = ADMIN) -> dict[str, str]:
    r = client.post(
        "/api/api-keys", json={"name": f"k {' '.join(scopes)}", "scopes": scopes}, headers=auth
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def operations(client: TestClient) -> list[tuple[str, str, list[str]]]:
    doc = client.get("/openapi.json").json()
    return [
        (method.upper(), path, [s for req in op.get("security", []) for s in req.get("bearer", [])])
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if is_admin_path(path)
    ]


#: A value per path parameter: row ids are numbers, the rest are asset-like ids.
SAMPLES = {"subscription_id": "1", "licence_id": "1"}


def fill(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: SAMPLES.get(m.group(1), ASSET), path)


def test_openapi_declares_the_bearer_scheme_and_one_scope_per_operation(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert all(name in scheme["description"] for name in SCOPES)
    ops = operations(client)
    assert len(ops) > 40
    for method, path, scopes in ops:
        assert len(scopes) == 1 and scopes[0] in SCOPES, (method, path, scopes)
    declared = {(m, p): s[0] for m, p, s in ops}
    assert declared[("GET", "/api/assets")] == "read"
    assert declared[("POST", "/api/assets")] == "upload"
    assert declared[("PATCH", "/api/assets/{asset_id}")] == "upload"
    assert declared[("POST", "/api/assets/{asset_id}/publish")] == "publish"
    assert declared[("POST", "/api/subscriptions")] == "entitle"
    assert declared[("POST", "/api/keys/rotate")] == "keys"
    assert declared[("POST", "/api/api-keys")] == "keys"
    assert "security" not in doc["paths"]["/api/beacons"]["post"]  # players' own token


def test_every_operation_refuses_a_key_without_its_scope(client: TestClient) -> None:
    keys = {scope: new_key(client, scope) for scope in SCOPES}
    checked = 0
    for method, path, (scope,) in operations(client):
        url = fill(path)
        for held, headers in keys.items():
            r = client.request(method, url, headers=headers)
            if held in (scope, "admin"):
                assert r.status_code not in (401, 403), (method, url, held, r.text)
            else:
                assert r.status_code == 403, (method, url, held, r.status_code)
                assert f'scope="{scope}"' in r.headers["www-authenticate"]
                if method != "HEAD":
                    assert r.json()["rule"] == f"scope:{scope}"
                    assert repr(scope) in r.json()["error"]
                checked += 1
    assert checked > 150


def test_keys_are_shown_once_listed_without_secrets_and_revoked(client: TestClient) -> None:
    r = client.post(
        "/api/api-keys", json={"name": "cms", "scopes": ["upload", "read"]}, headers=ADMIN
    )
    created = r.json()
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    assert created["scopes"] == ["read", "upload"] and created["token"].startswith("vsk_")
    cms = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/assets", headers=cms).status_code == 200
    listed = client.get("/api/api-keys", headers=ADMIN).json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert (
        "token" not in listed[0]
        and created["token"] not in client.get("/api/api-keys", headers=ADMIN).text
    )
    assert listed[0]["last_used_at"] is not None
    assert client.delete(f"/api/api-keys/{created['id']}", headers=ADMIN).status_code == 204
    r = client.get("/api/assets", headers=cms)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/api/api-keys", headers=ADMIN).json() == []
    assert client.get("/api/api-keys?revoked=true", headers=ADMIN).json()[0]["revoked_at"]
    assert client.get("/api/api-keys/nope", headers=ADMIN).status_code == 404
    events = client.get("/api/events?type_prefix=api_key.", headers=ADMIN).json()
    assert [e["type"] for e in events] == ["api_key.revoked", "api_key.created"]
    assert created["token"] not in str(events)


def test_a_keys_key_cannot_mint_more_than_it_holds(client: TestClient) -> None:
    manager = new_key(client, "keys", "read")
    assert (
        client.post(
            "/api/api-keys", json={"name": "r", "scopes": ["read"]}, headers=manager
        ).status_code
        == 201
    )
    r = client.post("/api/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=manager)
    assert r.status_code == 403 and "admin" in r.json()["error"]
    r = client.post("/api/api-keys", json={"name": "x", "scopes": ["root"]}, headers=ADMIN)
    assert r.status_code == 400 and "unknown scope root" in r.json()["error"]


def test_bodies_wait_for_a_valid_key(client: TestClient) -> None:
    upload = new_key(client, "upload")
    bogus = {"Authorization": "Bearer vsk_" + "a" * 16 + "_" + "b" * 43}
    r = client.post(
        "/api/uploads", headers={**bogus, "Upload-Length": "10", "Tus-Resumable": "1.0.0"}
    )
    assert r.status_code == 401 and "invalid API key" in r.json()["error"]
    r = client.post(
        "/api/uploads", headers={**upload, "Upload-Length": "10", "Tus-Resumable": "1.0.0"}
    )
    assert r.status_code == 201
    reader = new_key(client, "read")
    r = client.post(
        "/api/uploads", headers={**reader, "Upload-Length": "10", "Tus-Resumable": "1.0.0"}
    )
    assert r.status_code == 403


def test_an_api_route_without_a_scope_is_refused_at_start(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = APIRouter(prefix="/api")

    @bare.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    original = app_module.api_costs.router
    combined = APIRouter()
    combined.include_router(original)
    combined.include_router(bare)
    monkeypatch.setattr(app_module.api_costs, "router", combined)
    with pytest.raises(ConfigError, match="GET /api/forgotten"):
        create_app(build_server(services, run_workers=False))
