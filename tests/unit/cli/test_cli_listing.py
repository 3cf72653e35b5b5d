"""The CLI's list commands page like the API (same cursors), ``assets set`` changes labels,
``api-keys`` creates (token printed once), lists and revokes keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.catalogue.test_paging import bulk_assets
from typer.testing import CliRunner

from vodstack.catalogue.apikeys import ApiKeys
from vodstack.cli.main import app
from vodstack.compose.services import build_services
from vodstack.config import Settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("VODSTACK_HOME", str(home))
    return home


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_assets_list_pages_with_cursors_and_all(home: Path) -> None:
    services = build_services(Settings(home=home))
    ids = set(bulk_assets(services, 25))
    services.close()
    code, out, err = run("assets", "list", "--limit", "10", "--json")
    first = json.loads(out)
    assert code == 0 and len(first) == 10
    cursor = err.split("next page: --cursor ", 1)[1].split()[0]
    code, out, _ = run("assets", "list", "--limit", "10", "--cursor", cursor, "--json")
    second = json.loads(out)
    assert {a["id"] for a in first}.isdisjoint(a["id"] for a in second)
    code, out, err = run("assets", "list", "--all", "--json")
    assert {a["id"] for a in json.loads(out)} == ids and "next page" not in err
    code, out, _ = run("assets", "list", "--status", "failed", "--all", "--json")
    assert len(json.loads(out)) == 9  # every third row of bulk_assets
    code, _, _ = run("assets", "list", "--limit", "0")
    assert code == 1
    code, _, _ = run("assets", "list", "--cursor", "garbage")
    assert code == 1


def test_assets_set_and_filter(home: Path) -> None:
    services = build_services(Settings(home=home))
    (asset_id,) = bulk_assets(services, 1)
    services.close()
    code, out, _ = run(
        "assets",
        "set",
        asset_id,
        "--meta",
        "show=S1",
        "--meta",
        "ep=2",
        "--tag",
        "promo",
        "--owner",
        "ann",
        "--title",
        "Pilot",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["metadata"] == {"ep": "2", "show": "S1"}
    code, out, _ = run(
        "assets",
        "set",
        asset_id,
        "--unset",
        "ep",
        "--untag",
        "promo",
        "--tag",
        "hd",
        "--owner",
        "",
        "--json",
    )
    got = json.loads(out)
    assert (got["metadata"], got["tags"], got["owner"]) == ({"show": "S1"}, ["hd"], None)
    code, out, _ = run("assets", "list", "--meta", "show=S1", "--tag", "hd", "--json")
    assert [a["id"] for a in json.loads(out)] == [asset_id] and json.loads(out)[0][
        "title"
    ] == "Pilot"
    code, _, _ = run("assets", "set", asset_id, "--meta", "bad key=v")
    assert code == 1


def test_api_keys_commands(home: Path) -> None:
    code, token, err = run("api-keys", "create", "ci", "--scope", "read", "--scope", "upload")
    token = token.strip()
    assert code == 0 and token.startswith("vsk_") and "shown this once" in err
    code, out, _ = run("api-keys", "list", "--json")
    (key,) = json.loads(out)
    assert key["scopes"] == ["read", "upload"] and token not in out
    services = build_services(Settings(home=home))
    assert ApiKeys(services.db).verify(token) is not None
    code, _, _ = run("api-keys", "revoke", key["id"])
    assert code == 0 and ApiKeys(services.db).verify(token) is None
    services.close()
    code, _, _ = run("api-keys", "create", "x", "--scope", "root")
    assert code == 1
