"""The Python client against the server's OpenAPI document: every (method, path) the client
calls is an operation there, and every field its dataclasses read is a property of the
schema the operation answers with — a renamed route or field fails here, in CI."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_settings

from vodstack.client import MODELS, ROUTES
from vodstack.client.models import (
    Access,
    ApiKey,
    ApiKeyCreated,
    Asset,
    AssetCreated,
    Event,
    Job,
    Licence,
    Operation,
    Purged,
    Resent,
    Restored,
    Retained,
    SigningKey,
    Subscription,
)
from vodstack.compose import build_server
from vodstack.compose.services import build_services
from vodstack.web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The schema each route answers with (list routes: the item schema).
ANSWERS = {
    "assets.list": Asset,
    "assets.create": AssetCreated,
    "assets.get": Asset,
    "assets.patch": Asset,
    "assets.publish": Asset,
    "assets.unpublish": Asset,
    "assets.restore": Restored,
    "jobs.list": Job,
    "jobs.get": Job,
    "subscriptions.list": Subscription,
    "subscriptions.create": Subscription,
    "licences.list": Licence,
    "licences.create": Licence,
    "assets.playback": Asset,
    "assets.protection": Asset,
    "assets.access.get": Access,
    "assets.access.set": Access,
    "masters.get": Retained,
    "masters.purge": Purged,
    "jobs.redrive": Job,
    "jobs.resend": Resent,
    "events.list": Event,
    "operations.list": Operation,
    "operations.create": Operation,
    "operations.get": Operation,
    "operations.cancel": Operation,
    "operations.resume": Operation,
    "subscriptions.cancel": Subscription,
    "api_keys.list": ApiKey,
    "api_keys.create": ApiKeyCreated,
    "api_keys.get": ApiKey,
    "keys.list": SigningKey,
    "keys.add": SigningKey,
    "keys.rotate": SigningKey,
    "keys.retire": SigningKey,
}


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = Path(tmp_path_factory.mktemp("openapi")) / "home"
    services = build_services(make_settings(home, admin_token="client-openapi-token-000000"))
    try:
        yield create_app(build_server(services, run_workers=False)).openapi()
    finally:
        services.close()


def _schema_name(ref_or_schema: dict[str, Any]) -> str | None:
    target = ref_or_schema.get("items", ref_or_schema)
    ref = target.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_every_route_the_client_calls_is_in_the_openapi_document(
    openapi: dict[str, Any], name: str
) -> None:
    method, path = ROUTES[name]
    assert path in openapi["paths"], f"{name}: {path} is not a server route"
    assert method.lower() in openapi["paths"][path], f"{name}: no {method} {path}"


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_every_field_the_client_reads_is_in_the_response_schema(
    openapi: dict[str, Any], name: str
) -> None:
    method, path = ROUTES[name]
    responses = openapi["paths"][path][method.lower()]["responses"]
    ok = next(v for code, v in responses.items() if code.startswith("2"))
    schema = ok["content"]["application/json"]["schema"]
    model = ANSWERS[name]
    assert _schema_name(schema) == model.SCHEMA, f"{name} answers {schema}, not {model.SCHEMA}"
    properties = openapi["components"]["schemas"][model.SCHEMA]["properties"]
    missing = [f.name for f in dataclasses.fields(model) if f.name not in properties]
    assert not missing, f"{model.__name__} reads {missing}, absent from {model.SCHEMA}"


def test_every_model_is_checked() -> None:
    assert set(MODELS) <= set(ANSWERS.values())


def test_client_imports_no_server_code() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vodstack.client; "
        "bad = [m for m in sys.modules if m.startswith(('vodstack.web', 'vodstack.compose', "
        "'fastapi', 'sqlalchemy'))]; print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
