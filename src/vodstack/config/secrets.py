"""Secrets: where they live and the passphrases that seal them (vodstack.secrets)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from vodstack.config.fields import optional, secret


class SecretSettings(BaseModel):
    admin_token: str | None = optional("Admin bearer token; generated on first run when unset.")
    secrets_url: str = Field(
        default="file",
        description="Where secrets and private signing keys live: `file` (0600 files in "
        "home/secrets), `db` (the catalogue database, encrypted with secrets_passphrase), "
        "`db+kms://KEY` (the same, encrypted under an AWS KMS-wrapped data key), "
        "`aws-sm://PREFIX` (AWS Secrets Manager) or `aws-ssm://PREFIX` (SSM Parameter Store "
        "SecureString). A shared store lets every node sign and rotate with the same keys.",
    )
    secrets_passphrase: SecretStr | None = secret(
        "Encrypts the `db` secrets backend (AES-256-GCM, scrypt-derived key); the "
        "same on every node."
    )
    signing_key_passphrase: SecretStr | None = secret(
        "Encrypts the private signing keys at rest (PKCS#8, best available "
        "scheme); keys stored in clear are re-encrypted on first use. Default: the contents of "
        "`signing-key-passphrase` in the secrets directory if that file exists, else keys are "
        "stored unencrypted (0600 files)."
    )
