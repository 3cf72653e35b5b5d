"""Shared secret stores for nodes on several machines (``VODSTACK_SECRETS_URL``).

* ``db``: a ``vodstack_secrets`` table in the catalogue database. Values are sealed with
  AES-256-GCM (the secret's name as associated data, so a row copied to another name does not
  open); the key comes from ``VODSTACK_SECRETS_PASSPHRASE`` through scrypt (RFC 7914,
  n=2^15, r=8, p=1) with a random salt kept in the table itself. The table belongs to this
  store, not to the catalogue's Alembic schema: it is created on first use, and the
  catalogue's migrations never see secrets.
* ``aws-sm://PREFIX``: AWS Secrets Manager, one secret ``PREFIX/<name>`` (``SecretBinary``).
* ``aws-ssm://PREFIX``: SSM Parameter Store, one ``SecureString`` ``/PREFIX/<name>`` holding
  the value in base64 (parameters are text).

AWS credentials, region and endpoints come from boto3's usual chain (instance role,
``AWS_REGION``, ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` / ``AWS_ENDPOINT_URL_SSM`` for a
test endpoint such as ``moto_server``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vodstack.errors import ConfigError

if TYPE_CHECKING:
    from vodstack.config import Settings
    from vodstack.secretstore import SecretBackend

_SALT = "__salt__"  # not a valid secret name: never collides with one


def open_backend(url: str, settings: Settings) -> SecretBackend:
    if url == "db":
        passphrase = settings.secrets_passphrase
        if passphrase is None or not passphrase.get_secret_value():
            raise ConfigError(
                "VODSTACK_SECRETS_URL=db needs VODSTACK_SECRETS_PASSPHRASE (the same on every node)"
            )
        return DbBackend(settings.effective_database_url, passphrase.get_secret_value().encode())
    for scheme, cls in (("aws-sm://", SecretsManagerBackend), ("aws-ssm://", SsmBackend)):
        if url.startswith(scheme):
            prefix = url.removeprefix(scheme).strip("/")
            if not prefix:
                raise ConfigError(f"VODSTACK_SECRETS_URL {url!r} needs a prefix, e.g. {scheme}vod")
            return cls(prefix)
    raise ConfigError(
        f"VODSTACK_SECRETS_URL {url!r} is not one of: file, db, aws-sm://PREFIX, aws-ssm://PREFIX"
    )


class DbBackend:
    """Encrypted rows of the catalogue database (SQLite or PostgreSQL)."""

    def __init__(self, database_url: str, passphrase: bytes) -> None:
        from sqlalchemy import Column, LargeBinary, MetaData, String, Table

        from vodstack.catalogue.db import make_engine

        self.description = "catalogue database (encrypted)"
        self._engine = make_engine(database_url)
        self._table = Table(
            "vodstack_secrets",
            MetaData(),
            Column("name", String(160), primary_key=True),
            Column("value", LargeBinary, nullable=False),
        )
        self._table.metadata.create_all(self._engine, checkfirst=True)
        salt = self._raw_read(_SALT)
        if salt is None:
            self._raw_create(_SALT, secrets.token_bytes(16))
            salt = self._raw_read(_SALT) or b""
        key = hashlib.scrypt(
            passphrase, salt=salt, n=2**15, r=8, p=1, maxmem=64 * 1024**2, dklen=32
        )
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "DbBackend(<sealed>)"

    # -- rows -----------------------------------------------------------------------------------
    def _raw_read(self, name: str) -> bytes | None:
        from sqlalchemy import select

        with self._engine.connect() as conn:
            row = conn.execute(select(self._table.c.value).where(self._table.c.name == name))
            value = row.scalar_one_or_none()
        return bytes(value) if value is not None else None

    def _raw_create(self, name: str, value: bytes) -> bool:
        from sqlalchemy.exc import IntegrityError

        try:
            with self._engine.begin() as conn:
                conn.execute(self._table.insert().values(name=name, value=value))
        except IntegrityError:
            return False
        return True

    # -- sealed values --------------------------------------------------------------------------
    def _seal(self, name: str, value: bytes) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, value, name.encode())

    def read(self, name: str) -> bytes | None:
        sealed = self._raw_read(name)
        if sealed is None:
            return None
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], name.encode())
        except InvalidTag:
            raise ConfigError(
                f"secret {name!r} in the catalogue does not open: VODSTACK_SECRETS_PASSPHRASE "
                "differs from the one it was stored with (or the row was altered)"
            ) from None

    def write(self, name: str, value: bytes) -> None:
        if self.create(name, value):
            return
        with self._engine.begin() as conn:
            conn.execute(
                self._table.update()
                .where(self._table.c.name == name)
                .values(value=self._seal(name, value))
            )

    def create(self, name: str, value: bytes) -> bool:
        return self._raw_create(name, self._seal(name, value))

    def delete(self, name: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(self._table.delete().where(self._table.c.name == name))

    def names(self, prefix: str) -> list[str]:
        from sqlalchemy import select

        with self._engine.connect() as conn:
            rows = conn.execute(select(self._table.c.name)).scalars().all()
        return sorted(n for n in rows if n.startswith(prefix) and n != _SALT)


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service)


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class SecretsManagerBackend:
    """One Secrets Manager secret per name, ``PREFIX/<name>``."""

    def __init__(self, prefix: str, client: Any = None) -> None:
        self.prefix = prefix
        self.description = f"aws-sm://{prefix}"
        self._sm = client or _client("secretsmanager")

    def _id(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def read(self, name: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            answer = self._sm.get_secret_value(SecretId=self._id(name))
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise ConfigError(f"Secrets Manager refused {self._id(name)!r}: {_code(exc)}") from exc
        if "SecretBinary" in answer:
            return bytes(answer["SecretBinary"])
        return str(answer.get("SecretString", "")).encode()

    def write(self, name: str, value: bytes) -> None:
        if not self.create(name, value):
            self._sm.put_secret_value(SecretId=self._id(name), SecretBinary=value)

    def create(self, name: str, value: bytes) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._sm.create_secret(Name=self._id(name), SecretBinary=value)
        except ClientError as exc:
            if _code(exc) == "ResourceExistsException":
                return False
            raise ConfigError(f"Secrets Manager refused {self._id(name)!r}: {_code(exc)}") from exc
        return True

    def delete(self, name: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self._sm.delete_secret(SecretId=self._id(name), ForceDeleteWithoutRecovery=True)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise

    def names(self, prefix: str) -> list[str]:
        head = f"{self.prefix}/"
        found: list[str] = []
        paginator = self._sm.get_paginator("list_secrets")
        for page in paginator.paginate(Filters=[{"Key": "name", "Values": [head + prefix]}]):
            found += [s["Name"].removeprefix(head) for s in page.get("SecretList", [])]
        return sorted(n for n in found if n.startswith(prefix) and "/" not in n)


class SsmBackend:
    """One SSM ``SecureString`` parameter per name, ``/PREFIX/<name>`` (base64 text)."""

    def __init__(self, prefix: str, client: Any = None) -> None:
        self.prefix = f"/{prefix}"
        self.description = f"aws-ssm://{prefix}"
        self._ssm = client or _client("ssm")

    def _id(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def read(self, name: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            answer = self._ssm.get_parameter(Name=self._id(name), WithDecryption=True)
        except ClientError as exc:
            if _code(exc) == "ParameterNotFound":
                return None
            raise ConfigError(f"SSM refused {self._id(name)!r}: {_code(exc)}") from exc
        return base64.b64decode(answer["Parameter"]["Value"])

    def _put(self, name: str, value: bytes, overwrite: bool) -> None:
        self._ssm.put_parameter(
            Name=self._id(name),
            Value=base64.b64encode(value).decode(),
            Type="SecureString",
            Overwrite=overwrite,
        )

    def write(self, name: str, value: bytes) -> None:
        self._put(name, value, overwrite=True)

    def create(self, name: str, value: bytes) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._put(name, value, overwrite=False)
        except ClientError as exc:
            if _code(exc) == "ParameterAlreadyExists":
                return False
            raise ConfigError(f"SSM refused {self._id(name)!r}: {_code(exc)}") from exc
        return True

    def delete(self, name: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self._ssm.delete_parameter(Name=self._id(name))
        except ClientError as exc:
            if _code(exc) != "ParameterNotFound":
                raise

    def names(self, prefix: str) -> list[str]:
        head = f"{self.prefix}/"
        found: list[str] = []
        paginator = self._ssm.get_paginator("get_parameters_by_path")
        for page in paginator.paginate(Path=self.prefix, Recursive=False):
            found += [p["Name"].removeprefix(head) for p in page.get("Parameters", [])]
        return sorted(n for n in found if n.startswith(prefix))
