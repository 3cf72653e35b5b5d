"""Secret store backends (the vodstack.secrets package): files, the catalogue database
(encrypted), AWS Secrets Manager and SSM Parameter Store (both through moto_server's HTTP
API with botocore's real signing)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.fixtures.moto import MotoS3, moto_s3  # noqa: F401 - the session fixture

from vodstack.config import Settings
from vodstack.entitlement.keys import generate_private_key, public_key_pem
from vodstack.entitlement.keystore import SecretKeyStore
from vodstack.errors import ConfigError, InvalidInput
from vodstack.secrets import (
    DbBackend,
    KmsDataKey,
    SecretsManagerBackend,
    SecretStore,
    SsmBackend,
    open_secret_store,
)


def _aws(moto: MotoS3, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=moto.endpoint_url,
        aws_access_key_id=moto.access_key_id,
        aws_secret_access_key=moto.secret_access_key,
        region_name=moto.region,
    )


@pytest.fixture(params=["file", "db", "db+kms", "aws-sm", "aws-ssm"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SecretStore]:
    kind = request.param
    prefix = f"vodstack-test-{secrets.token_hex(4)}"
    if kind == "file":
        yield SecretStore(tmp_path / "secrets")
    elif kind == "db":
        yield SecretStore(backend=DbBackend(f"sqlite:///{tmp_path / 'c.db'}", b"pass phrase"))
    else:
        moto = request.getfixturevalue("moto_s3")
        if kind == "db+kms":
            kms = _aws(moto, "kms")
            key = KmsDataKey(kms.create_key()["KeyMetadata"]["KeyId"], kms)
            yield SecretStore(backend=DbBackend(f"sqlite:///{tmp_path / 'c.db'}", kms=key))
        elif kind == "aws-sm":
            yield SecretStore(backend=SecretsManagerBackend(prefix, _aws(moto, "secretsmanager")))
        else:
            yield SecretStore(backend=SsmBackend(prefix, _aws(moto, "ssm")))


def test_round_trip_create_if_absent_and_listing(store: SecretStore) -> None:
    assert store.read("origin-secret") is None
    value = bytes(range(256))  # binary values survive every backend
    assert store.get_or_create("origin-secret", lambda: value) == value
    assert store.get_or_create("origin-secret", lambda: b"other") == value
    assert store.create("origin-secret", b"loser") is False  # another node came second
    assert store.read("origin-secret") == value
    store.write("origin-secret", b"rotated")
    assert store.read("origin-secret") == b"rotated"
    store.write("key.signing-a", b"1")
    store.write("key.signing-b", b"2")
    assert store.names("key.") == ["key.signing-a", "key.signing-b"]
    store.delete("key.signing-a")
    assert store.names("key.") == ["key.signing-b"]
    with pytest.raises(ConfigError):
        store.read("../etc/passwd")


def test_private_keys_in_a_shared_store(store: SecretStore) -> None:
    keys = SecretKeyStore(store, passphrase=b"at rest")
    key = generate_private_key("rsa")
    keys.save("signing-k1", key)
    assert keys.names() == ["signing-k1"] and keys.is_encrypted("signing-k1")
    # "another node": a second key store over the same backend loads the same key
    other = SecretKeyStore(store, passphrase=b"at rest")
    assert public_key_pem(other.load("signing-k1")) == public_key_pem(key)
    with pytest.raises(InvalidInput):
        other.save("signing-k1", generate_private_key("rsa"))


def test_the_database_backend_seals_values_and_refuses_a_wrong_passphrase(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    SecretStore(backend=DbBackend(url, b"right")).write("webhook-secret", b"whsec_plain")
    import sqlite3

    raw = (
        sqlite3.connect(tmp_path / "c.db").execute("SELECT value FROM vodstack_secrets").fetchall()
    )
    assert raw and all(b"whsec_plain" not in bytes(r[0]) for r in raw)
    assert SecretStore(backend=DbBackend(url, b"right")).read("webhook-secret") == b"whsec_plain"
    with pytest.raises(ConfigError, match="VODSTACK_SECRETS_PASSPHRASE"):
        SecretStore(backend=DbBackend(url, b"wrong")).read("webhook-secret")


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    assert not open_secret_store(Settings(home=tmp_path)).shared
    with pytest.raises(ConfigError, match="VODSTACK_SECRETS_PASSPHRASE"):
        open_secret_store(Settings(home=tmp_path, secrets_url="db"))
    with pytest.raises(ConfigError, match="not one of"):
        open_secret_store(Settings(home=tmp_path, secrets_url="vault://x"))
    with pytest.raises(ConfigError, match="needs a prefix"):
        open_secret_store(Settings(home=tmp_path, secrets_url="aws-sm://"))
    db = open_secret_store(
        Settings(home=tmp_path, secrets_url="db", secrets_passphrase="p")  # type: ignore[arg-type]
    )
    assert db.shared and "encrypted" in repr(db)


def test_a_kms_wrapped_data_key_is_shared_through_the_catalogue(
    tmp_path: Path,
    moto_s3: MotoS3,  # noqa: F811
) -> None:
    kms = _aws(moto_s3, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    url = f"sqlite:///{tmp_path / 'c.db'}"
    SecretStore(backend=DbBackend(url, kms=KmsDataKey(key_id, kms))).write("origin-secret", b"s")
    # another node: unwraps the stored data key with KMS, no passphrase anywhere
    assert (
        SecretStore(backend=DbBackend(url, kms=KmsDataKey(key_id, kms))).read("origin-secret")
        == b"s"
    )
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ConfigError, match="KMS refused"):
        DbBackend(url, kms=KmsDataKey(other, kms))


def test_edge_nodes_default_to_one_worker_per_core(tmp_path: Path) -> None:
    import os

    assert Settings(home=tmp_path, role="edge").effective_server_workers == (os.cpu_count() or 1)
    assert Settings(home=tmp_path).effective_server_workers == 1  # all: one job scheduler
    assert Settings(home=tmp_path, role="origin").effective_server_workers == 1
    assert Settings(home=tmp_path, role="edge", server_workers=3).effective_server_workers == 3
