"""The parts every role shares, built from one Settings object (no global state: tests build
their own): catalogue, store, secrets, event bus, ingest, the job pipeline, asset operations,
entitlement. ``serve`` adds the deliver path on top (compose/delivery.py, compose/server.py),
``worker`` the job lanes (compose/lanes.py); the CLI uses these alone."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from vodstack.assets import AssetManager
from vodstack.base import LocalEventBus
from vodstack.catalogue import Catalogue, Database, Grants
from vodstack.config import Settings
from vodstack.entitlement import (
    DevIdentityProvider,
    EntitlementService,
    JwksCache,
    JwtVerifier,
    KeyRing,
    PrivateKeyStore,
    SecretKeyStore,
    SignatureVerifier,
    ViewerLocator,
)
from vodstack.errors import ConfigError
from vodstack.ingest import Ingestor
from vodstack.jobs import JobDispatcher, Pipeline, Webhooks, webhook_secret_source
from vodstack.secrets import SecretStore, open_secret_store
from vodstack.storage import ObjectStore, open_store
from vodstack.telemetry import Metrics
from vodstack.transcode import TranscodeStage

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    catalogue: Catalogue
    store: ObjectStore
    secrets: SecretStore
    bus: LocalEventBus
    ingestor: Ingestor
    pipeline: Pipeline
    assets: AssetManager
    grants: Grants
    keyring: KeyRing
    dev_idp: DevIdentityProvider | None
    entitlement: EntitlementService
    locator: ViewerLocator
    signature_verifier: SignatureVerifier
    metrics: Metrics
    webhooks: Webhooks | None = None  # None: no webhook endpoints configured

    @property
    def admin_token(self) -> str:
        return self.secrets.admin_token(self.settings.admin_token)

    def close(self) -> None:
        if self.webhooks is not None:
            self.webhooks.close()
        self.keyring.close()
        self.db.dispose()


def build_services(settings: Settings) -> Services:
    make_home_private(settings.home)
    db = Database(settings.effective_database_url)
    db.migrate()
    catalogue = Catalogue(db)
    store = open_store(settings)
    bus = LocalEventBus(catalogue)
    secret_store = open_secret_store(settings)
    dispatcher = _dispatcher(settings)
    stage = TranscodeStage(settings, catalogue, store)
    pipeline = Pipeline(settings, catalogue, bus, stage, dispatcher)
    webhooks = None
    if settings.webhook_urls:
        webhooks = Webhooks(
            settings,
            catalogue,
            webhook_secret_source(settings, secret_store),
            transport=dispatcher,  # type: ignore[arg-type]  # the broker's, or None: a thread
        )
        webhooks.attach(bus)
    grants = Grants(db)
    passphrase = signing_key_passphrase(settings, secret_store)
    keystore = (
        SecretKeyStore(secret_store, passphrase)
        if secret_store.shared
        else PrivateKeyStore(settings.secrets_dir / "keys", passphrase)
    )
    keystore.encrypt_stored()  # keys written before a passphrase was configured
    keyring = KeyRing(
        grants, keystore, audit=lambda type_, payload: bus.publish(type_, None, **payload)
    )
    keyring.ensure_signing_key()
    verifier = SignatureVerifier(keyring.key_group)
    keyring.follow(verifier.follow_key_group)  # a server's reloader tells it the group
    dev_idp, jwt_verifier = _identity(settings, keystore)
    locator = ViewerLocator(
        settings.trusted_proxies, country_header=settings.country_header, geoip_db=settings.geoip_db
    )
    return Services(
        settings=settings,
        db=db,
        catalogue=catalogue,
        store=store,
        secrets=secret_store,
        bus=bus,
        ingestor=Ingestor.from_settings(settings, catalogue, store, bus),
        pipeline=pipeline,
        assets=AssetManager(
            catalogue, store, bus, pipeline, keep_masters=settings.keep_masters_on_delete
        ),
        grants=grants,
        keyring=keyring,
        dev_idp=dev_idp,
        entitlement=EntitlementService(settings, catalogue, grants, keyring, jwt_verifier, locator),
        locator=locator,
        signature_verifier=verifier,
        metrics=Metrics(),
        webhooks=webhooks,
    )


def make_home_private(home: Path) -> None:
    """Create the data directory owner-only (0700), and tighten one made before (0755 under
    umask 022 exposed the catalogue: viewer ids, viewing history, the audit log).

    Files inside are created 0600 by the process's umask (``private_umask``, set by the
    ``vodstack`` command and the ASGI factory) and, for the catalogue and logs, explicitly."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix" and home.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        try:
            os.chmod(home, 0o700)
        except PermissionError:
            log.warning("%s is readable by others and not ours to chmod", home)


def private_umask() -> None:
    """Files and directories this process creates are owner-only (0600/0700): media, caches,
    uploads in progress, SQLite's journals. Called by the entry points (CLI, ASGI factory),
    not by library code, since the umask is process-wide."""
    os.umask(0o077)


PASSPHRASE_FILE = "signing-key-passphrase"  # noqa: S105 - a file name, not a secret


def signing_key_passphrase(settings: Settings, secrets: SecretStore) -> bytes | None:
    """The passphrase encrypting private keys at rest, or None (keys stored unencrypted).

    ``VODSTACK_SIGNING_KEY_PASSPHRASE`` wins; else the ``signing-key-passphrase`` file of the
    secrets directory (a mounted secret, say), which like a key file must be owner-only.
    One trailing newline is ignored (``echo … > file``). The value is never logged."""
    configured = settings.signing_key_passphrase
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode()
    raw = secrets.read(PASSPHRASE_FILE)
    if raw is None:
        return None
    path = settings.secrets_dir / PASSPHRASE_FILE
    where = f"{PASSPHRASE_FILE} in {secrets!r}" if secrets.shared else str(path)
    owner_only = stat.S_IRWXG | stat.S_IRWXO
    if not secrets.shared and os.name == "posix" and path.stat().st_mode & owner_only:
        raise ConfigError(f"{path} is accessible by others; chmod 600 it")
    value = raw.removesuffix(b"\n").removesuffix(b"\r")
    if not value:
        raise ConfigError(f"{where} is empty: write the passphrase or remove it")
    return value


def _dispatcher(settings: Settings) -> JobDispatcher | None:
    """The broker's dispatcher when one is configured (Celery imported only then)."""
    if not settings.broker_url:
        return None
    from vodstack.compose.celery_app import CeleryDispatcher

    return CeleryDispatcher(settings)


def _identity(
    settings: Settings, keystore: PrivateKeyStore
) -> tuple[DevIdentityProvider | None, JwtVerifier]:
    """External IdP when an issuer is configured (dev tokens refused), else the dev IdP."""
    if settings.jwt_issuer:
        if not settings.jwks_url:
            raise ConfigError("VODSTACK_JWT_ISSUER is set: VODSTACK_JWKS_URL is required too")
        jwks = JwksCache(settings.jwks_url, min_refresh_interval=settings.jwks_min_refresh_s)
        return None, JwtVerifier.external(
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            jwks=jwks,
            leeway=settings.jwt_leeway_s,
        )
    idp = DevIdentityProvider.load_or_create(keystore, audience=settings.jwt_audience)
    return idp, JwtVerifier.development(idp, leeway=settings.jwt_leeway_s)
