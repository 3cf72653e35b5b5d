"""The trusted key group: which public keys may sign playback grants.

Mirrors CloudFront's trusted key groups (AWS CloudFront Developer Guide,
"private-content-trusted-signers", "Rotating key pairs"): a grant names its key with
``Key-Pair-Id``; rotation adds a new key beside the old one and switches signing to it, so grants
already handed out keep working until they expire; retiring the old key then makes every grant it
signed fail.

Statuses:

- ``active``  — the one key new grants are signed with; also verifies.
- ``trusted`` — verifies grants, signs none (the previous signer during rotation, or a key
  added from elsewhere with ``vodstack keys add``).
- ``retired`` — kept for the record; verifies nothing.

A :class:`KeyGroup` is immutable: every change returns a new group, so a verifier holding the
old one is never half-updated. Persisting it is the catalogue's job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from vodstack.entitlement.keys import PublicKey, fingerprint, load_public_key
from vodstack.errors import Conflict, InvalidInput, NotFound

__all__ = ["KeyGroup", "KeyStatus", "TrustedKey", "VerificationKey"]

KeyStatus = Literal["active", "trusted", "retired"]
_STATUSES = ("active", "trusted", "retired")


@dataclass(frozen=True)
class TrustedKey:
    """One public key of the group, as stored in the catalogue."""

    key_id: str
    public_key_pem: str
    status: KeyStatus
    created_at: datetime

    def __post_init__(self) -> None:
        if not self.key_id or not self.key_id.isascii() or not self.key_id.isalnum():
            raise InvalidInput("key id must be non-empty ASCII letters and digits")
        if self.status not in _STATUSES:
            raise InvalidInput(f"key status must be one of {', '.join(_STATUSES)}")


@dataclass(frozen=True)
class VerificationKey:
    """A loaded public key ready for signature checks, with a stable fingerprint."""

    key_id: str
    public_key: PublicKey = field(repr=False)
    fingerprint: bytes


class KeyGroup:
    """In-memory trusted key group, built from a list of :class:`TrustedKey`.

    PEMs are parsed and vetted once, here, so per-request lookups are dictionary reads.
    """

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        self._keys: tuple[TrustedKey, ...] = tuple(keys)
        ids = [key.key_id for key in self._keys]
        if len(set(ids)) != len(ids):
            raise InvalidInput("key ids in a key group must be unique")
        active = [key.key_id for key in self._keys if key.status == "active"]
        if len(active) > 1:
            raise InvalidInput("a key group has at most one active (signing) key")
        self._signing_key_id = active[0] if active else None
        self._verifiers: dict[str, VerificationKey] = {}
        for key in self._keys:
            if key.status == "retired":
                continue
            public = load_public_key(key.public_key_pem)
            self._verifiers[key.key_id] = VerificationKey(key.key_id, public, fingerprint(public))

    def __repr__(self) -> str:
        states = ", ".join(f"{key.key_id}:{key.status}" for key in self._keys)
        return f"KeyGroup({states})"

    @property
    def keys(self) -> tuple[TrustedKey, ...]:
        return self._keys

    @property
    def signing_key_id(self) -> str | None:
        """The id new grants are signed with, or ``None`` if the group has no active key."""
        return self._signing_key_id

    def get(self, key_id: str) -> TrustedKey | None:
        return next((key for key in self._keys if key.key_id == key_id), None)

    def public_key(self, key_id: str) -> PublicKey | None:
        """The key that verifies grants naming ``key_id``; ``None`` if unknown or retired."""
        entry = self._verifiers.get(key_id)
        return entry.public_key if entry is not None else None

    def verification_key(self, key_id: str) -> VerificationKey | None:
        """Like :meth:`public_key`, with the fingerprint verifier caches are keyed on."""
        return self._verifiers.get(key_id)

    def add(self, key: TrustedKey) -> KeyGroup:
        """A group with ``key`` added (``vodstack keys add``/``create``)."""
        return KeyGroup((*self._keys, key))

    def rotate(self, key_id: str, public_key_pem: str, created_at: datetime) -> KeyGroup:
        """Add a new key and sign with it; the previous signer stays ``trusted``.

        Grants signed by the previous key keep verifying until :meth:`retire` is called for it.
        """
        demoted = [replace(k, status="trusted") if k.status == "active" else k for k in self._keys]
        new = TrustedKey(key_id, public_key_pem, "active", created_at)
        return KeyGroup((*demoted, new))

    def retire(self, key_id: str) -> KeyGroup:
        """Stop trusting ``key_id``: every grant it signed fails from now on.

        Retiring the signing key is refused; rotate first so new grants can still be issued.
        """
        key = self.get(key_id)
        if key is None:
            raise NotFound(f"no key {key_id!r} in the trusted key group")
        if key.status == "active":
            raise Conflict(f"key {key_id!r} is the signing key; rotate to a new key first")
        return KeyGroup(replace(k, status="retired") if k is key else k for k in self._keys)
