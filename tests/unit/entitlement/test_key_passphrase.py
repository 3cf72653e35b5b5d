"""Private signing keys encrypted at rest (``signing_key_passphrase``, or the
``signing-key-passphrase`` file of the secrets directory), wired through ``build_services``:
every key file on disk is an encrypted PKCS#8 PEM, it does not open without the passphrase,
and cookies and viewer tokens are still signed and verified — across restarts, and for keys
that were written in clear before the passphrase was configured."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import make_settings

from vodstack.catalogue.models import Asset
from vodstack.compose.services import Services, build_services
from vodstack.entitlement.keystore import PrivateKeyStore
from vodstack.entitlement.tokens import ViewerClaims
from vodstack.errors import ConfigError

PASSPHRASE = "correct horse battery staple"
ASSET_ID = "b" * 20


@pytest.fixture
def opened() -> Iterator[list[Services]]:
    made: list[Services] = []
    yield made
    for services in made:
        services.close()


def start(opened: list[Services], home: Path, **overrides: object) -> Services:
    services = build_services(make_settings(home, **overrides))
    opened.append(services)
    return services


def key_files(home: Path) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in (home / "secrets" / "keys").glob("*.pem")}


def assert_signs_and_verifies(services: Services) -> str:
    """A real /play grant (minted now) verifies at the gate; a dev token verifies too."""
    viewer = ViewerClaims("viewer-1", "vodstack-dev", 0, {})
    grant = services.entitlement.mint(viewer, Asset(id=ASSET_ID), "198.51.100.7")
    url = f"{services.settings.base_url()}/v1/{ASSET_ID}/index.m3u8"
    verdict = services.signature_verifier.verify(url, dict(grant.cookies), None, "198.51.100.7")
    assert verdict.ok, verdict
    assert services.dev_idp is not None
    token = services.dev_idp.mint("viewer-1")
    assert services.entitlement.verifier.verify(token).subject == "viewer-1"
    return grant.cookies["CloudFront-Key-Pair-Id"]


def assert_encrypted(home: Path, passphrase: bytes) -> None:
    files = key_files(home)
    assert {"jwt-dev"} < set(files)  # the dev IdP's key and at least one signing key
    assert any(name.startswith("signing-") for name in files)
    for name, pem in files.items():
        assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"), name
        assert passphrase not in pem
        mode = (home / "secrets" / "keys" / f"{name}.pem").stat().st_mode & 0o777
        assert mode == 0o600, oct(mode)
        with pytest.raises(ConfigError):  # unusable without the passphrase ...
            PrivateKeyStore(home / "secrets" / "keys").load(name)
        with pytest.raises(ConfigError):  # ... or with a wrong one
            PrivateKeyStore(home / "secrets" / "keys", b"wrong").load(name)
        PrivateKeyStore(home / "secrets" / "keys", passphrase).load(name)


def test_without_a_passphrase_keys_are_plain_pem(tmp_path: Path, opened) -> None:
    services = start(opened, tmp_path / "home")
    assert_signs_and_verifies(services)
    for pem in key_files(tmp_path / "home").values():
        assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_passphrase_setting_encrypts_keys_and_signing_works(
    tmp_path: Path, opened, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    caplog.set_level(logging.DEBUG)
    services = start(opened, home, signing_key_passphrase=PASSPHRASE)
    key_id = assert_signs_and_verifies(services)
    rotated = services.keyring.rotate("ecdsa")  # keys made later are encrypted too
    assert assert_signs_and_verifies(services) == rotated != key_id
    assert_encrypted(home, PASSPHRASE.encode())
    # a restart with the same passphrase opens them and keeps signing with the active key
    services.close()
    opened.remove(services)
    again = start(opened, home, signing_key_passphrase=PASSPHRASE)
    assert assert_signs_and_verifies(again) == rotated
    # the secret never shows: not in the settings' repr/dump, not in any log record
    assert PASSPHRASE not in repr(again.settings)
    assert PASSPHRASE not in str(again.settings.model_dump())
    assert PASSPHRASE not in repr(again.keyring.store)
    assert PASSPHRASE not in caplog.text


def test_a_wrong_passphrase_refuses_to_start(tmp_path: Path, opened) -> None:
    home = tmp_path / "home"
    start(opened, home, signing_key_passphrase=PASSPHRASE).close()
    opened.clear()
    with pytest.raises(ConfigError):
        build_services(make_settings(home, signing_key_passphrase="not it"))


def test_passphrase_from_the_secrets_directory(tmp_path: Path, opened) -> None:
    home = tmp_path / "home"
    secret = home / "secrets" / "signing-key-passphrase"
    secret.parent.mkdir(parents=True, mode=0o700)
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"from a mounted secret\n")  # `echo … > file`: the newline is not part of it
    os.close(fd)
    services = start(opened, home)
    assert_signs_and_verifies(services)
    assert_encrypted(home, b"from a mounted secret")
    # the setting wins over the file
    services.close()
    opened.clear()
    with pytest.raises(ConfigError):
        build_services(make_settings(home, signing_key_passphrase="something else"))


@pytest.mark.parametrize(("content", "mode"), [(b"shared\n", 0o640), (b"\n", 0o600)])
def test_unsafe_or_empty_passphrase_file_is_refused(
    tmp_path: Path, content: bytes, mode: int
) -> None:
    home = tmp_path / "home"
    secret = home / "secrets" / "signing-key-passphrase"
    secret.parent.mkdir(parents=True, mode=0o700)
    secret.write_bytes(content)
    os.chmod(secret, mode)
    with pytest.raises(ConfigError):
        build_services(make_settings(home))


def test_keys_written_in_clear_are_encrypted_once_a_passphrase_is_set(
    tmp_path: Path, opened
) -> None:
    home = tmp_path / "home"
    services = start(opened, home)
    first = assert_signs_and_verifies(services)
    second = services.keyring.rotate()  # `first` is now only trusted: never loaded again here
    services.close()
    opened.clear()
    assert all(p.startswith(b"-----BEGIN PRIVATE KEY-----") for p in key_files(home).values())

    upgraded = start(opened, home, signing_key_passphrase=PASSPHRASE)
    assert_encrypted(home, PASSPHRASE.encode())  # every key, the inactive one included
    assert f"signing-{first}" in key_files(home)
    assert assert_signs_and_verifies(upgraded) == second
    # the previously active key still opens (it is needed again if re-activated)
    upgraded.keyring.activate(first)
    assert assert_signs_and_verifies(upgraded) == first
