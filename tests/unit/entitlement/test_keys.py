"""Key ids, key vetting, the trusted key group's life cycle, and private keys on disk."""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from vodstack.entitlement.keygroup import KeyGroup, TrustedKey
from vodstack.entitlement.keys import (
    generate_private_key,
    load_public_key,
    new_key_id,
    private_key_pem,
    public_key_pem,
)
from vodstack.entitlement.keystore import PrivateKeyStore
from vodstack.errors import ConfigError, Conflict, InvalidInput, NotFound

from .support import CREATED, Keys


def test_key_ids_look_like_cloudfront() -> None:
    ids = {new_key_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"K[A-Z0-9]{13}", key_id) for key_id in ids)


def test_generated_kinds() -> None:
    assert isinstance(generate_private_key("ecdsa"), ec.EllipticCurvePrivateKey)
    with pytest.raises(InvalidInput):
        generate_private_key("dsa")  # type: ignore[arg-type]


def test_weak_or_exotic_public_keys_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    p384 = ec.generate_private_key(ec.SECP384R1())
    for key in (small, p384):
        with pytest.raises(InvalidInput):
            load_public_key(public_key_pem(key))
    with pytest.raises(InvalidInput):
        load_public_key("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n")


def test_key_group_life_cycle(keys: Keys) -> None:
    group = KeyGroup([TrustedKey("KA", public_key_pem(keys.rsa_old), "active", CREATED)])
    assert group.signing_key_id == "KA"
    assert group.public_key("KA") is not None
    assert group.public_key("KB") is None

    rotated = group.rotate("KB", public_key_pem(keys.ecdsa), CREATED)
    assert rotated.signing_key_id == "KB"
    assert [(k.key_id, k.status) for k in rotated.keys] == [("KA", "trusted"), ("KB", "active")]
    assert rotated.public_key("KA") is not None
    assert group.signing_key_id == "KA"  # groups are immutable

    retired = rotated.retire("KA")
    assert retired.public_key("KA") is None
    assert retired.get("KA").status == "retired"  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        retired.retire("KB")  # the signer cannot be retired; rotate first
    with pytest.raises(NotFound):
        retired.retire("KZ")
    added = retired.add(TrustedKey("KC", public_key_pem(keys.rsa_new), "trusted", CREATED))
    assert added.public_key("KC") is not None
    assert added.signing_key_id == "KB"


def test_key_group_invariants(keys: Keys) -> None:
    pem = public_key_pem(keys.rsa_old)
    with pytest.raises(InvalidInput):
        KeyGroup(
            [TrustedKey("KA", pem, "active", CREATED), TrustedKey("KA", pem, "trusted", CREATED)]
        )
    with pytest.raises(InvalidInput):
        KeyGroup(
            [TrustedKey("KA", pem, "active", CREATED), TrustedKey("KB", pem, "active", CREATED)]
        )
    with pytest.raises(InvalidInput):
        TrustedKey("K/../x", pem, "active", CREATED)
    with pytest.raises(InvalidInput):
        TrustedKey("KA", pem, "disabled", CREATED)  # type: ignore[arg-type]
    assert "BEGIN" not in repr(KeyGroup([TrustedKey("KA", pem, "active", CREATED)]))


def test_store_writes_owner_only_files(tmp_path: Path, keys: Keys) -> None:
    store = PrivateKeyStore(tmp_path / "keys")
    path = store.save("KA", keys.rsa_old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert store.load("KA").private_numbers() == keys.rsa_old.private_numbers()  # type: ignore[union-attr]
    assert store.names() == ["KA"]
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["KA.pem"]  # no temp files left
    with pytest.raises(InvalidInput):
        store.save("KA", keys.rsa_new)  # never overwrite a key


def test_store_encrypts_at_rest(tmp_path: Path, keys: Keys) -> None:
    store = PrivateKeyStore(tmp_path, passphrase=b"correct horse")
    path = store.save("KA", keys.ecdsa)
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert store.load("KA").private_numbers() == keys.ecdsa.private_numbers()  # type: ignore[union-attr]
    with pytest.raises(ConfigError) as wrong:
        PrivateKeyStore(tmp_path, passphrase=b"wrong").load("KA")
    with pytest.raises(ConfigError):
        PrivateKeyStore(tmp_path).load("KA")
    assert "correct horse" not in repr(store)
    assert "BEGIN" not in str(wrong.value)


def test_store_refuses_readable_files_and_bad_names(tmp_path: Path, keys: Keys) -> None:
    store = PrivateKeyStore(tmp_path)
    path = store.save("KA", keys.rsa_old)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        store.load("KA")
    with pytest.raises(NotFound):
        store.load("KZ")
    for bad in ("../KA", "", "a/b", ".hidden", "x" * 65):
        with pytest.raises(InvalidInput):
            store.save(bad, keys.rsa_old)


def test_store_never_logs_key_material(tmp_path: Path, keys: Keys, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    store = PrivateKeyStore(tmp_path, passphrase=b"s3cret")
    store.save("KA", keys.rsa_old)
    store.load("KA")
    pem = private_key_pem(keys.rsa_old).decode()
    body = pem.splitlines()[1]
    assert body not in caplog.text
    assert "s3cret" not in caplog.text
