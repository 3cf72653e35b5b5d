"""Shared secret stores for nodes on several machines (``VODSTACK_SECRETS_URL``).

* ``db``: a ``vodstack_secrets`` table in the catalogue database. Values are sealed with
  AES-256-GCM (the secret's name as associated data, so a row copied to another name does not
  open); the key comes from ``VODSTACK_SECRETS_PASSPHRASE`` through scrypt (RFC 7914,
  n=2^15, r=8, p=1) with a random salt kept in the table itself. ``db+kms://KEY`` uses a
  KMS-wrapped data key instead (envelope encryption): no passphrase to hand out, and access
  follows the nodes' IAM role. The table belongs to this
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

from typing import TYPE_CHECKING

from vodstack.errors import ConfigError
from vodstack.secrets.aws import KmsDataKey, SecretsManagerBackend, SsmBackend
from vodstack.secrets.base import SecretBackend
from vodstack.secrets.db import DbBackend

if TYPE_CHECKING:
    from vodstack.config import Settings


def open_backend(url: str, settings: Settings) -> SecretBackend:
    if url == "db":
        passphrase = settings.secrets_passphrase
        if passphrase is None or not passphrase.get_secret_value():
            raise ConfigError(
                "VODSTACK_SECRETS_URL=db needs VODSTACK_SECRETS_PASSPHRASE (the same on every node)"
            )
        return DbBackend(settings.effective_database_url, passphrase.get_secret_value().encode())
    if url.startswith("db+kms://"):
        key_id = url.removeprefix("db+kms://")
        if not key_id:
            raise ConfigError(f"VODSTACK_SECRETS_URL {url!r} needs a KMS key: db+kms://alias/vod")
        return DbBackend(settings.effective_database_url, kms=KmsDataKey(key_id))
    for scheme, cls in (("aws-sm://", SecretsManagerBackend), ("aws-ssm://", SsmBackend)):
        if url.startswith(scheme):
            prefix = url.removeprefix(scheme).strip("/")
            if not prefix:
                raise ConfigError(f"VODSTACK_SECRETS_URL {url!r} needs a prefix, e.g. {scheme}vod")
            return cls(prefix)
    raise ConfigError(
        f"VODSTACK_SECRETS_URL {url!r} is not one of: file, db, db+kms://KEY, aws-sm://PREFIX, "
        "aws-ssm://PREFIX"
    )
