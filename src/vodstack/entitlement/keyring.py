"""The installation's signing keys: catalogue rows (public) + key store files (private).

Servers read the key group through ``key_group()``, refreshed every few seconds, so a
``vodstack keys rotate`` run in another process takes effect without a restart: new cookies
are signed with the new key while cookies signed with the old one keep verifying until they
expire — zero-downtime rotation as with a CloudFront key group.

The gate reads the group on every delivery request. In a server (:meth:`start_reloading`)
one background thread re-reads it every ``refresh_s / 2`` and a request never waits for the
catalogue; unchanged rows keep the same group object (no PEM parsed again), and a follower
(the verifier, :meth:`follow`) is told the group each reload confirms, so a request compares
with it instead of calling. Measured (issue #15, py-spy): re-reading inside the request had
been a quarter to two fifths of the gate's time. Elsewhere (the CLI, one-off processes) a
read older than ``refresh_s`` re-reads in place. A change made through this ring (create,
activate, retire, …) invalidates the group and the next read loads it at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from vodstack.catalogue import Grants, SigningKey
from vodstack.entitlement.keygroup import KeyGroup, TrustedKey
from vodstack.entitlement.keys import (
    KeyKind,
    PrivateKey,
    generate_private_key,
    load_public_key,
    new_key_id,
    public_key_pem,
)
from vodstack.entitlement.keystore import PrivateKeyStore
from vodstack.errors import ConfigError, Conflict, InvalidInput

log = logging.getLogger(__name__)

#: the catalogue's key rows as loaded: a reload that reads the same rows keeps its group
_Rows = tuple[tuple[str, str, str, Any], ...]


def _kind(pem: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec

    return "ecdsa" if isinstance(load_public_key(pem), ec.EllipticCurvePublicKey) else "rsa"


def _check_id(key_id: str) -> None:
    if not key_id.isascii() or not key_id.isalnum() or len(key_id) > 32:
        raise InvalidInput("key id must be 1-32 ASCII letters and digits")


class KeyRing:
    def __init__(
        self,
        grants: Grants,
        store: PrivateKeyStore,
        *,
        refresh_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        audit: Callable[[str, dict[str, Any]], object] | None = None,
    ) -> None:
        self.grants = grants
        self.store = store
        # Key changes are security-relevant: each one is written to the audit (event) log.
        self._audit = audit or (lambda _type, _payload: None)
        self.refresh_s = refresh_s
        self.clock = clock
        self._lock = threading.Lock()
        # (group, loaded at, its rows), replaced as one tuple: a reader never sees a group
        # with another group's time
        self._current: tuple[KeyGroup | None, float, _Rows] = (None, float("-inf"), ())
        self._generation = 0  # bumped by invalidate(): a reload begun before is not stored
        self._wake = threading.Event()  # reload now (a read found the group old; closing)
        self._reloader: threading.Thread | None = None  # the one that may reload
        self._followers: list[Callable[[KeyGroup | None], None]] = []
        self._private: dict[str, PrivateKey] = {}

    def _store_name(self, key_id: str) -> str:
        return f"signing-{key_id}"

    def follow(self, follower: Callable[[KeyGroup | None], None]) -> None:
        """Tell ``follower`` the group each time a load confirms it while the background
        reloader runs, and None whenever a read has to go through :meth:`key_group` (a change
        made here, the reloader stopped). A reader on every request (the gate's verifier)
        then compares with what it was told instead of calling (issue #15)."""
        with self._lock:
            self._followers.append(follower)

    def _tell(self, group: KeyGroup | None) -> None:
        """Called under the lock, so what followers are told keeps the order of the loads."""
        for follower in self._followers:
            follower(group)

    def invalidate(self) -> None:
        """Load the group again on the next read, in that read (a change made here)."""
        with self._lock:
            self._generation += 1
            self._tell(None)
            group, _, rows = self._current
            self._current = (group, float("-inf"), rows)

    def key_group(self) -> KeyGroup:
        """The trusted key group, about ``refresh_s`` old at most (see the module docstring)."""
        now = self.clock()
        # Read without the lock: this runs on every delivery request.
        current = self._current
        group = current[0]
        if group is not None and now - current[1] < self.refresh_s:
            return group
        if group is not None and current[1] != float("-inf") and self._reloader is not None:
            self._wake.set()  # the reloader is late (a busy machine): serve what is loaded
            return group
        return self._load(now)  # never loaded, changed here, or no reloader in this process

    def _load(self, now: float) -> KeyGroup:
        generation = self._generation
        rows: _Rows = tuple(
            (k.key_id, k.public_key_pem, k.status, k.created_at) for k in self.grants.signing_keys()
        )
        with self._lock:
            group, _, known = self._current
            if group is None or rows != known:
                group = KeyGroup(TrustedKey(*row) for row in rows)  # type: ignore[arg-type]
            if generation == self._generation:  # not invalidated while the rows were read
                self._current = (group, now, rows)
                if self._reloader is not None:  # it keeps the group current from now on
                    self._tell(group)
        return group

    def start_reloading(self) -> None:
        """Re-read the group in a background thread from now on (servers: the gate reads it
        on every request); :meth:`close` stops it."""
        with self._lock:
            if self._reloader is not None:
                return
            self._reloader = threading.Thread(
                target=self._reload_forever, name="keyring-reload", daemon=True
            )
            self._reloader.start()

    def close(self) -> None:
        """Stop the reload thread, if one runs; reads re-read in place again."""
        with self._lock:
            self._reloader = None
            self._tell(None)
        self._wake.set()

    def _reload_forever(self) -> None:
        while True:
            self._wake.wait(self.refresh_s / 2)
            self._wake.clear()
            if self._reloader is not threading.current_thread():  # closed (or replaced)
                return
            try:
                self._load(self.clock())
            except Exception:  # the catalogue is away: keep the keys in use, try again later
                log.warning("signing keys not reloaded; the loaded ones stay in use", exc_info=True)
                with self._lock:
                    group, loaded_at, rows = self._current
                    if loaded_at != float("-inf"):  # not invalidated meanwhile
                        # fresh again: reads stop waking the reloader until the next try
                        self._current = (group, self.clock(), rows)

    def signer(self) -> tuple[str, PrivateKey]:
        """The active key id and its private key (loaded once per key)."""
        key_id = self.key_group().signing_key_id
        if key_id is None:
            raise ConfigError("no active signing key: run `vodstack keys create`")
        with self._lock:
            cached = self._private.get(key_id)
        if cached is None:
            cached = self.store.load(self._store_name(key_id))
            with self._lock:
                self._private[key_id] = cached
        return key_id, cached

    def create(self, kind: KeyKind = "rsa", *, activate: bool = False) -> str:
        """Generate a key pair; it signs only when activated (or when it is the first key)."""
        key_id = new_key_id()
        private = generate_private_key(kind)
        self.store.save(self._store_name(key_id), private)
        first = self.key_group().signing_key_id is None
        self.grants.add_key(
            SigningKey(
                key_id=key_id,
                algorithm=kind,
                public_key_pem=public_key_pem(private),
                status="trusted",
                has_private=True,
            )
        )
        if activate or first:
            self.grants.activate_key(key_id)
        self.invalidate()
        self._audit(
            "key.created", {"key_id": key_id, "algorithm": kind, "active": activate or first}
        )
        return key_id

    def ensure_signing_key(self) -> str:
        existing = self.key_group().signing_key_id
        return existing if existing is not None else self.create()

    def rotate(self, kind: KeyKind = "rsa") -> str:
        """New key signs from now on; the old one keeps verifying until retired."""
        previous = self.key_group().signing_key_id
        key_id = self.create(kind, activate=True)
        self._audit("key.rotated", {"key_id": key_id, "previous_key_id": previous})
        return key_id

    def activate(self, key_id: str) -> None:
        self.grants.activate_key(key_id)
        self.invalidate()
        self._audit("key.activated", {"key_id": key_id})

    def retire(self, key_id: str) -> None:
        self.grants.retire_key(key_id)
        self.invalidate()
        self._audit("key.retired", {"key_id": key_id})

    def copy_as(self, key_id: str, new_id: str, *, activate: bool = False) -> str:
        """The same key pair under another id, e.g. the id CloudFront gave its public key:
        a CloudFront edge checks ``CloudFront-Key-Pair-Id`` against *its* key ids, which it
        assigns itself (deploy/terraform outputs them as ``cloudfront_key_ids``). The old id
        keeps verifying until retired, so switching ids is a rotation without a new key."""
        _check_id(new_id)
        keys = {k.key_id: k for k in self.grants.signing_keys()}
        if new_id in keys:
            raise Conflict(f"key {new_id} already exists")
        source = keys.get(key_id)
        if source is None:
            raise InvalidInput(f"no key {key_id}")
        if not source.has_private:
            raise InvalidInput(f"key {key_id} has no private key here: nothing to sign with")
        self.store.save(self._store_name(new_id), self.store.load(self._store_name(key_id)))
        self.grants.add_key(
            SigningKey(
                key_id=new_id,
                algorithm=source.algorithm,
                public_key_pem=source.public_key_pem,
                status="trusted",
                has_private=True,
            )
        )
        if activate:
            self.grants.activate_key(new_id)
        self.invalidate()
        self._audit("key.copied", {"key_id": new_id, "from_key_id": key_id, "active": activate})
        return new_id

    def add_public(self, pem: str, key_id: str | None = None) -> str:
        """Trust an outside public key (verification only), like registering a CloudFront
        public key whose private half signs elsewhere."""
        key_id = key_id or new_key_id()
        _check_id(key_id)
        public_key_pem(load_public_key(pem))  # vets: RSA ≥ 2048 or P-256
        self.grants.add_key(
            SigningKey(
                key_id=key_id,
                algorithm=_kind(pem),
                public_key_pem=pem,
                status="trusted",
                has_private=False,
            )
        )
        self.invalidate()
        self._audit("key.added", {"key_id": key_id, "algorithm": _kind(pem)})
        return key_id
