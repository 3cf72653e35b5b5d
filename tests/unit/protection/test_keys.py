"""Content keys: sealed at rest, generations, licence lookup, SPEKE v2 (CPIX) client against
a small CPIX server running in the test."""

from __future__ import annotations

import base64
import uuid

import pytest
from tests.fixtures.cpix import CpixServer

from vodstack.catalogue.content_keys import ContentKeys
from vodstack.compose.services import Services
from vodstack.errors import ConfigError, InvalidInput, NotFound, StorageError
from vodstack.packaging.encryption import WIDEVINE_SYSTEM_ID, parse_pssh
from vodstack.protection.providers import (
    CPIX,
    LocalKeyProvider,
    SpekeKeyProvider,
    cpix_request,
    parse_cpix_response,
)
from vodstack.protection.service import (
    Protection,
    dash_scheme,
    hls_scheme,
    parse_schemes,
)
from vodstack.protection.vault import KeyVault


def test_vault_seals_and_binds_context() -> None:
    vault = KeyVault(b"m" * 32)
    sealed = vault.seal(b"k" * 16, "asset|cenc|kid")
    assert b"k" * 16 not in base64.b64decode(sealed)
    assert vault.open(sealed, "asset|cenc|kid") == b"k" * 16
    with pytest.raises(ConfigError):
        vault.open(sealed, "other|cenc|kid")  # a sealed key moved to another row stays shut
    with pytest.raises(ConfigError):
        KeyVault(b"n" * 32).open(sealed, "asset|cenc|kid")  # another installation's master key
    assert "k" * 16 not in repr(vault)


@pytest.mark.parametrize(
    ("setting", "hls", "dash"),
    [
        ("clear", None, None),
        ("aes-128,cenc", "aes-128", "cenc"),
        ("cbcs", "cbcs", "cbcs"),
        ("clear,cenc", None, "cenc"),
    ],
)
def test_protocol_choice(setting: str, hls: str | None, dash: str | None) -> None:
    schemes = parse_schemes(setting)
    assert hls_scheme(schemes) == hls
    assert dash_scheme(schemes) == dash


def test_unavailable_protocols_and_bad_settings() -> None:
    with pytest.raises(NotFound):
        hls_scheme(parse_schemes("cenc"))  # HLS cannot carry cenc
    with pytest.raises(NotFound):
        dash_scheme(parse_schemes("aes-128"))
    with pytest.raises(InvalidInput, match="unknown protection"):
        parse_schemes("rot13")
    assert parse_schemes("") == ("clear",)
    assert parse_schemes(" CENC , aes-128 ") == ("aes-128", "cenc")


def test_generations_and_licence_lookup(services: Services) -> None:
    protection = Protection(ContentKeys(services.db), KeyVault(b"m" * 32), LocalKeyProvider())
    first = protection.current("asset1", "cenc")
    assert first.generation == 1
    assert protection.current("asset1", "cenc") == first  # stable until re-keyed
    assert protection.rekey("asset1", ["cenc", "clear"]) == [2]
    protection.forget("asset1")
    second = protection.current("asset1", "cenc")
    assert second.generation == 2
    assert second.content_key.key != first.content_key.key
    assert protection.generation("asset1", "cenc", 1).content_key == first.content_key
    found = protection.keys_for_licence("asset1", [first.content_key.kid])
    assert [k.generation for k in found] == [1]
    assert protection.keys_for_licence("other", [first.content_key.kid]) == []
    aes = protection.current("asset1", "aes-128")
    assert protection.keys_for_licence("asset1", [aes.content_key.kid]) == []  # key URI only
    with pytest.raises(NotFound):
        protection.generation("asset1", "cenc", 9)


@pytest.fixture
def cpix_server():
    server = CpixServer()
    yield server
    server.close()


def test_speke_v2_round_trip(cpix_server: CpixServer) -> None:
    provider = SpekeKeyProvider(cpix_server.url, [str(WIDEVINE_SYSTEM_ID)])
    key = provider.provide("asset-42", "cenc")
    request = cpix_server.requests[0]
    assert request.get("contentId") == "asset-42"
    assert request.get("version") == "2.3"
    content_key = next(request.iter(f"{{{CPIX}}}ContentKey"))
    assert content_key.get("commonEncryptionScheme") == "cenc"
    assert uuid.UUID(content_key.get("kid")).bytes == key.kid
    assert cpix_server.keys[content_key.get("kid")] == key.key
    assert key.iv == b"\x01" * 16
    assert key.pssh == (cpix_server.widevine,)
    assert parse_pssh(key.pssh[0]).system_id == WIDEVINE_SYSTEM_ID


def test_speke_errors_are_clear(cpix_server: CpixServer) -> None:
    with pytest.raises(StorageError, match="unreachable"):
        SpekeKeyProvider("http://127.0.0.1:1/speke").provide("a", "cenc")
    with pytest.raises(StorageError, match="no 16-byte key"):
        parse_cpix_response(cpix_request("a", b"k" * 16, "cenc", []), b"k" * 16)
    with pytest.raises(StorageError, match="unusable CPIX"):
        parse_cpix_response(b"<not-xml", b"k" * 16)
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    )
    with pytest.raises(StorageError):
        parse_cpix_response(bomb, b"k" * 16)  # entity expansion refused (defusedxml)
