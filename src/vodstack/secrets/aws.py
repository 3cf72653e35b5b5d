"""``aws-sm://PREFIX``, ``aws-ssm://PREFIX`` and the KMS data key of ``db+kms://KEY``.

boto3 is imported on first use, so only deployments that name an AWS backend need it.
"""

from __future__ import annotations

import base64
from typing import Any

from vodstack.errors import ConfigError


class KmsDataKey:
    """Envelope encryption (AWS KMS ``GenerateDataKey``): the catalogue holds only the wrapped
    data key; a node needs ``kms:Decrypt`` on ``key_id`` to open the secrets."""

    def __init__(self, key_id: str, client: Any = None) -> None:
        self.key_id = key_id
        self._kms = client or _client("kms")

    def generate(self) -> tuple[bytes, bytes]:
        answer = self._kms.generate_data_key(KeyId=self.key_id, KeySpec="AES_256")
        return bytes(answer["Plaintext"]), bytes(answer["CiphertextBlob"])

    def unwrap(self, blob: bytes) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return bytes(self._kms.decrypt(CiphertextBlob=blob, KeyId=self.key_id)["Plaintext"])
        except ClientError as exc:
            raise ConfigError(
                f"KMS refused to unwrap the secrets data key with {self.key_id!r}: {_code(exc)}"
            ) from exc


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
