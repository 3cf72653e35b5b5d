"""Content keys at rest: sealed with AES-256-GCM under the installation's master key.

The master key lives in the secrets store (a 0600 file, generated on first run), never in the
catalogue; the catalogue holds only sealed keys, each bound (as GCM associated data) to its
asset, scheme and KID so a sealed key copied onto another row does not open.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vodstack.errors import ConfigError
from vodstack.secrets import SecretStore

_NAME = "content-master-key"


class KeyVault:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ConfigError("the content master key must be 32 bytes")
        self._aead = AESGCM(master_key)

    def __repr__(self) -> str:  # never show key material
        return "KeyVault(<sealed>)"

    @classmethod
    def from_secrets(cls, store: SecretStore) -> KeyVault:
        return cls(store.get_or_create(_NAME, lambda: secrets.token_bytes(32)))

    def seal(self, key: bytes, context: str) -> str:
        nonce = secrets.token_bytes(12)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, key, context.encode())).decode()

    def open(self, sealed: str, context: str) -> bytes:
        raw = base64.b64decode(sealed)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag as exc:
            raise ConfigError(
                "a content key could not be unsealed: wrong master key or tampered catalogue row"
            ) from exc
