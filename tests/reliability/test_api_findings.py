"""Inputs the API fuzzer (test_api_fuzz.py) found answering 5xx; each test failed before its fix.

In-process (TestClient): the same app as ``vodstack serve``, without a server process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from vodstack.compose.server import build_server
from vodstack.compose.services import build_services
from vodstack.web.app import create_app

TOKEN = "findings-admin-token"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    services = build_services(make_settings(tmp_path / "home", admin_token=TOKEN))
    with TestClient(create_app(build_server(services, run_workers=False))) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c
    services.close()


@pytest.mark.parametrize("route", ["/api/licences", "/api/subscriptions"])
@pytest.mark.parametrize("number", ["9223372036854775808", "-9223372036854775809", "1" * 40])
def test_ids_beyond_the_database_integer_are_not_found_or_invalid(
    client: TestClient, route: str, number: str
) -> None:
    # schemathesis: DELETE /api/licences/9223372036854775808 → 500 (SQLite OverflowError)
    r = client.delete(f"{route}/{number}")
    assert r.status_code in (404, 422), r.text


def test_non_latin1_filename_in_a_multipart_upload_is_accepted(client: TestClient) -> None:
    # tests/reliability/test_bad_inputs.py: a UTF-8 filename (what browsers send) → 500
    r = client.post("/api/assets", files={"file": ("\u202egpj.mp4", b"\0" * 100, "video/mp4")})
    assert r.status_code == 202, r.text
    r = client.post("/api/assets", files={"file": ("動画.mp4", b"\0" * 100, "video/mp4")})
    assert r.status_code == 202, r.text
    assert client.get(f"/api/assets/{r.json()['id']}").json()["title"] == "動画"


def test_an_oversized_multipart_part_header_is_a_400(client: TestClient) -> None:
    # a 5000-character filename: python-multipart's header limit → MultipartParseError → 500
    r = client.post("/api/assets", files={"file": ("A" * 5000 + ".mp4", b"\0" * 100, "video/mp4")})
    assert r.status_code == 400, r.text
    assert "multipart" in r.json()["error"]
