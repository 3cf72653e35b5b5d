"""Per-asset protection: which schemes an asset is served with, and their content keys.

Protocol choice from an asset's scheme set (stored in the catalogue's ``drm`` column):
HLS uses ``aes-128``, else ``cbcs`` (SAMPLE-AES; HLS cannot carry ``cenc``), else clear;
DASH uses ``cenc``, else ``cbcs``, else clear. A set without ``clear`` that offers a protocol
no scheme for (e.g. only ``cenc`` for HLS) makes that protocol unavailable.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vodstack.catalogue import ContentKey as ContentKeyRow
from vodstack.catalogue import ContentKeys, Database
from vodstack.config import Settings
from vodstack.errors import Forbidden, InvalidInput, NotFound
from vodstack.packaging.encryption import ContentKey
from vodstack.protection.providers import KeyProvider, LocalKeyProvider, SpekeKeyProvider
from vodstack.protection.vault import KeyVault
from vodstack.secrets import SecretStore

SCHEMES = ("aes-128", "cbcs", "cenc")
_CURRENT_TTL_S = 2.0


def parse_schemes(text: str | Sequence[str]) -> tuple[str, ...]:
    """Validate and normalise a protection setting, e.g. ``"cenc,aes-128"``."""
    items = text.split(",") if isinstance(text, str) else list(text)
    schemes = sorted({s.strip().lower() for s in items if s.strip()})
    if not schemes:
        return ("clear",)
    unknown = [s for s in schemes if s != "clear" and s not in SCHEMES]
    if unknown:
        raise InvalidInput(
            f"unknown protection {', '.join(unknown)}; use clear, "
            f"{', '.join(SCHEMES)} or a comma-separated set"
        )
    return tuple(schemes)


def hls_scheme(schemes: Sequence[str]) -> str | None:
    """The scheme HLS is served with; None = clear. NotFound when HLS is not offered."""
    for scheme in ("aes-128", "cbcs"):
        if scheme in schemes:
            return scheme
    if "clear" in schemes:
        return None
    raise NotFound("this asset is not offered over HLS with its protection")


def dash_scheme(schemes: Sequence[str]) -> str | None:
    for scheme in ("cenc", "cbcs"):
        if scheme in schemes:
            return scheme
    if "clear" in schemes:
        return None
    raise NotFound("this asset is not offered over DASH with its protection")


@dataclass(frozen=True, slots=True)
class ActiveKey:
    asset_id: str
    scheme: str
    generation: int
    content_key: ContentKey
    pssh: tuple[bytes, ...]
    provider: str = "local"  # "local" or the external key service that issued it

    @property
    def external(self) -> bool:
        return self.provider != "local"

    def __repr__(self) -> str:
        return f"ActiveKey({self.asset_id}, {self.scheme}, gen {self.generation})"


class Protection:
    def __init__(
        self,
        keys: ContentKeys,
        vault: KeyVault,
        provider: KeyProvider,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys = keys
        self.vault = vault
        self.provider = provider
        self.clock = clock
        self._lock = threading.Lock()
        self._creating = threading.Lock()  # one key creation at a time in this process
        self._by_generation: dict[tuple[str, str, int], ActiveKey] = {}
        self._current: dict[tuple[str, str], tuple[float, int]] = {}

    @staticmethod
    def _context(asset_id: str, scheme: str, kid_hex: str) -> str:
        return f"{asset_id}|{scheme}|{kid_hex}"

    def _unseal(self, row: ContentKeyRow) -> ActiveKey:
        key = self.vault.open(row.key_sealed, self._context(row.asset_id, row.scheme, row.kid))
        return ActiveKey(
            row.asset_id,
            row.scheme,
            row.generation,
            ContentKey(bytes.fromhex(row.kid), key, bytes.fromhex(row.iv)),
            tuple(base64.b64decode(p) for p in (row.pssh or ())),
            row.provider or "local",
        )

    def _create(self, asset_id: str, scheme: str) -> ActiveKey:
        """A new generation, committed before any manifest can name it; returns the row every
        process agrees on for that generation (see ``ContentKeys.get``)."""
        provided = self.provider.provide(asset_id, scheme)
        kid_hex = provided.kid.hex()
        row = self.keys.add(
            ContentKeyRow(
                asset_id=asset_id,
                scheme=scheme,
                generation=self.keys.next_generation(asset_id, scheme),
                kid=kid_hex,
                key_sealed=self.vault.seal(provided.key, self._context(asset_id, scheme, kid_hex)),
                iv=provided.iv.hex(),
                provider=self.provider.name,
                pssh=[base64.b64encode(p).decode() for p in provided.pssh] or None,
            )
        )
        self.forget(asset_id)
        canonical = self.keys.get(asset_id, scheme, row.generation)
        return self._unseal(canonical if canonical is not None else row)

    def current(self, asset_id: str, scheme: str, *, fresh: bool = False) -> ActiveKey:
        """The key new URLs use (created on first need). Remembered a moment per process;
        ``fresh`` reads the catalogue. The remembered generation never goes backwards: a
        slow reader must not undo a newer generation already put in a manifest (issue 20:
        its segments answered 404 until the memo expired)."""
        now = self.clock()
        with self._lock:
            cached = self._current.get((asset_id, scheme))
        if not fresh and cached is not None and now - cached[0] < _CURRENT_TTL_S:
            return self.generation(asset_id, scheme, cached[1])
        row = self.keys.latest(asset_id, scheme)
        if row is None:
            with self._creating:  # concurrent first uses create one generation, not several
                row = self.keys.latest(asset_id, scheme)
                key = self._unseal(row) if row is not None else self._create(asset_id, scheme)
        else:
            key = self._unseal(row)
        with self._lock:
            known = self._current.get((asset_id, scheme))
            newer = known is not None and known[1] > key.generation
            if not newer:
                self._current[(asset_id, scheme)] = (now, key.generation)
            self._by_generation[(asset_id, scheme, key.generation)] = key
        if newer:  # a re-key landed while we read: name the newest, as other threads do
            assert known is not None
            return self.generation(asset_id, scheme, known[1])
        return key

    def prepare(self, asset_id: str, schemes: Sequence[str]) -> None:
        """Make sure each protected scheme has a key before a manifest can name it (called
        before the asset's protection setting changes)."""
        for scheme in schemes:
            if scheme in SCHEMES:
                self.current(asset_id, scheme, fresh=True)

    def generation(self, asset_id: str, scheme: str, generation: int) -> ActiveKey:
        """The key of one generation (old URLs keep decrypting with their own key)."""
        with self._lock:
            key = self._by_generation.get((asset_id, scheme, generation))
        if key is not None:
            return key
        row = self.keys.get(asset_id, scheme, generation)
        if row is None:
            raise NotFound("no such key")
        key = self._unseal(row)
        with self._lock:
            self._by_generation[(asset_id, scheme, generation)] = key
        return key

    def rekey(self, asset_id: str, schemes: Sequence[str]) -> list[int]:
        """New keys for the asset's protected schemes (no re-transcode); returns generations."""
        return [self._create(asset_id, s).generation for s in schemes if s in SCHEMES]

    def keys_for_licence(self, asset_id: str, kids: Sequence[bytes]) -> list[ActiveKey]:
        """The asset's keys among ``kids`` (never another asset's)."""
        wanted = {k.hex() for k in kids}
        rows = [
            r for r in self.keys.for_asset(asset_id) if r.kid in wanted and r.scheme != "aes-128"
        ]
        return [self._unseal(r) for r in rows]

    def forget(self, asset_id: str) -> None:
        with self._lock:
            for key in [k for k in self._current if k[0] == asset_id]:
                del self._current[key]
            for key in [k for k in self._by_generation if k[0] == asset_id]:
                del self._by_generation[key]


CLEAR_KEY_REFUSED = "clear_key_refused"


def refuse_external_in_clear(keys: Sequence[ActiveKey], allowed: bool) -> None:
    """Keys issued by an external key service (SPEKE) protect content for commercial DRM,
    whose licence servers release them only into a CDM: handing them out as ClearKey (or as
    raw bytes at an HLS key URI) to any cookie holder would defeat that DRM. Only locally
    issued keys go out in the clear, unless the operator opted in
    (``VODSTACK_CLEARKEY_EXTERNAL_KEYS``). AES-128 keys are not DRM keys and are exempt."""
    if allowed:
        return
    if any(k.external and k.scheme != "aes-128" for k in keys):
        raise Forbidden(
            "this key comes from the external key service (commercial DRM) and is not "
            "released as ClearKey; use the DRM vendor's licence server",
            rule=CLEAR_KEY_REFUSED,
        )


def build_protection(settings: Settings, db: Database, secrets: SecretStore) -> Protection:
    """Protection from settings: SPEKE when a key service is configured, else local keys."""
    provider: KeyProvider = (
        SpekeKeyProvider(settings.speke_url, settings.speke_system_ids)
        if settings.speke_url
        else LocalKeyProvider()
    )
    return Protection(ContentKeys(db), KeyVault.from_secrets(secrets), provider)


def protection_setting(schemes: Sequence[str]) -> str:
    """The catalogue's ``drm`` column value for a scheme set."""
    return ",".join(parse_schemes(schemes))
