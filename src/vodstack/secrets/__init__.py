"""Secrets (signing keys, the content-key vault's master key, origin and webhook secrets, the
admin token): generated on first use, kept in one store that every node of an installation
can reach, never logged; callers get them as bytes.

Where they live is ``VODSTACK_SECRETS_URL`` (one module per backend in this package):

==================  =======================================================================
``file`` (default)  a directory of 0600 files (``home/secrets``): one machine, or a mounted
                    secret volume.
``db``              the catalogue database, each value AES-256-GCM encrypted under a key
                    derived (scrypt) from ``VODSTACK_SECRETS_PASSPHRASE``: every node that
                    reaches the catalogue and knows the passphrase shares the secrets.
``db+kms://KEY``    the same table, sealed under a data key AWS KMS generated and wrapped
                    (only the wrapped key is stored; nodes unwrap it with kms:Decrypt).
``aws-sm://P``      AWS Secrets Manager, secret ``P/<name>`` (what the reference
                    architecture uses; KMS-encrypted by AWS, IAM-scoped per node role).
``aws-ssm://P``     SSM Parameter Store ``SecureString`` parameters ``/P/<name>``.
==================  =======================================================================

Why not plain catalogue rows: the catalogue is shared, backed up and queried by tools;
secrets must not ride along readable, hence the encryption of the ``db`` backend.

Several nodes may start at once on an empty store: creation is create-if-absent in every
backend (``O_EXCL`` link, a unique row, ``CreateSecret``/``PutParameter`` without overwrite),
and the loser reads the winner's value, so all nodes end up with the same secret.

Modules: ``base`` (the backend protocol and valid names), ``files``, ``db``, ``aws`` (one per
backend), ``url`` (``VODSTACK_SECRETS_URL`` → a backend), ``store`` (:class:`SecretStore`),
``live`` (secrets that rotate without a restart). Backends import only ``base`` (``db`` also the
KMS data key of ``aws``), the store imports the backends: no cycle.
"""

from __future__ import annotations

from vodstack.secrets.aws import KmsDataKey, SecretsManagerBackend, SsmBackend
from vodstack.secrets.base import SecretBackend
from vodstack.secrets.db import DbBackend
from vodstack.secrets.files import FileBackend
from vodstack.secrets.live import LIVE_SECRET_TTL_S, PREVIOUS, LiveSecret, rotate_secret
from vodstack.secrets.store import SecretStore, open_secret_store, random_token
from vodstack.secrets.url import open_backend

__all__ = [
    "LIVE_SECRET_TTL_S",
    "PREVIOUS",
    "DbBackend",
    "FileBackend",
    "KmsDataKey",
    "LiveSecret",
    "SecretBackend",
    "SecretStore",
    "SecretsManagerBackend",
    "SsmBackend",
    "open_backend",
    "open_secret_store",
    "random_token",
    "rotate_secret",
]
