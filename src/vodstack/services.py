"""Assemble vodstack's parts from one Settings object (no global state: tests build their own)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vodstack.assets import AssetManager
from vodstack.catalogue.db import Database
from vodstack.catalogue.repository import Catalogue
from vodstack.config import Settings
from vodstack.ingest.upload import Ingestor
from vodstack.jobs.bus import LocalEventBus
from vodstack.jobs.pipeline import Pipeline
from vodstack.secretstore import SecretStore
from vodstack.storage import ObjectStore, open_store
from vodstack.transcode.stage import TranscodeStage

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

    @property
    def admin_token(self) -> str:
        return self.secrets.admin_token(self.settings.admin_token)

    def close(self) -> None:
        self.db.dispose()


def build_services(settings: Settings) -> Services:
    settings.home.mkdir(parents=True, exist_ok=True)
    db = Database(settings.effective_database_url)
    db.migrate()
    catalogue = Catalogue(db)
    store = open_store(settings)
    bus = LocalEventBus(catalogue)
    stage = TranscodeStage(settings, catalogue, store)
    pipeline = Pipeline(settings, catalogue, bus, stage)
    return Services(
        settings=settings,
        db=db,
        catalogue=catalogue,
        store=store,
        secrets=SecretStore(settings.secrets_dir),
        bus=bus,
        ingestor=Ingestor(catalogue, store, bus, settings.max_upload_bytes),
        pipeline=pipeline,
        assets=AssetManager(catalogue, store, bus, pipeline),
    )
