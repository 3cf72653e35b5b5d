"""Cold masters on S3 (moto_server): move by storage class, restore before a re-transcode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from tests.conftest import make_clip_file, make_settings

from vodstack.catalogue.db import Database
from vodstack.catalogue.repository import Catalogue
from vodstack.compose.services import build_services
from vodstack.costs.lifecycle import Lifecycle
from vodstack.errors import Conflict, InvalidInput
from vodstack.storage.local import LocalStore
from vodstack.storage.tiers import ensure_hot, require_hot, storage_class

ASSET = "c" * 20
KEY = f"masters/{ASSET}/source.mp4"


def _world(tmp_path, store, cold_class: str = "GLACIER_IR") -> SimpleNamespace:
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    db.migrate()
    catalogue = Catalogue(db)
    catalogue.create_asset(ASSET, title="t", source_key=KEY, source_name="s", source_size=5)
    catalogue.update_asset(ASSET, created_at=datetime.now(UTC) - timedelta(days=100))
    with store.writer(KEY) as f:
        f.write(b"master bytes")
    settings = SimpleNamespace(cold_storage_class=cold_class)
    return SimpleNamespace(store=store, catalogue=catalogue, db=db, settings=settings)


def test_old_master_goes_cold_and_comes_back_before_a_retranscode(tmp_path, make_s3_store) -> None:
    world = _world(tmp_path, make_s3_store())
    life = Lifecycle(world)
    assert life.candidates(days=90) == [ASSET]
    assert life.candidates(days=200) == []
    assert life.move([ASSET]) == [ASSET]
    assert storage_class(world.store, KEY)[0] == "GLACIER_IR"
    assert life.candidates(days=90) == []  # already cold
    assert ensure_hot(world.store, world.catalogue, ASSET, KEY) == "restored"
    assert storage_class(world.store, KEY)[0] == "STANDARD"
    assert world.store.open(KEY).read() == b"master bytes"
    assert ensure_hot(world.store, world.catalogue, ASSET, KEY) == "hot"
    assert life.candidates(days=90) == [ASSET]  # restored: a candidate again
    world.db.dispose()


def test_archived_master_is_restored_first(tmp_path, make_s3_store) -> None:
    world = _world(tmp_path, make_s3_store(), cold_class="DEEP_ARCHIVE")
    Lifecycle(world).move([ASSET])
    # The first call asks S3 for a restore (hours on AWS); while it runs, a re-transcode is
    # refused with a reason; once S3 reports it done, the master is copied back.
    first = ensure_hot(world.store, world.catalogue, ASSET, KEY)
    assert first == "restoring"
    _, restore = storage_class(world.store, KEY)
    assert restore is not None
    if 'ongoing-request="true"' in restore:
        with pytest.raises(Conflict, match="being restored"):
            require_hot(world.store, world.catalogue, ASSET, KEY)
    else:  # moto completes restores at once
        require_hot(world.store, world.catalogue, ASSET, KEY)
        assert storage_class(world.store, KEY)[0] == "STANDARD"
    world.db.dispose()


def test_local_store_has_no_cold_class(tmp_path) -> None:
    world = _world(tmp_path, LocalStore(tmp_path / "objects"))
    assert ensure_hot(world.store, world.catalogue, ASSET, KEY) == "hot"
    with pytest.raises(InvalidInput, match="no storage classes"):
        Lifecycle(world).move([ASSET])
    world.db.dispose()


@pytest.mark.usefixtures("s3_env")
def test_retranscode_brings_a_cold_master_back_first(tmp_path, bucket: str) -> None:
    services = build_services(make_settings(tmp_path / "home", storage_url=f"s3://{bucket}/vod"))
    try:
        clip = make_clip_file(tmp_path / "m.mp4", seconds=1, size="160x90", audio=False)
        asset_id = services.ingestor.ingest_file(clip, "cold")
        key = services.catalogue.get_asset(asset_id).source_key
        Lifecycle(services).move([asset_id])
        assert storage_class(services.store, key)[0] == "GLACIER_IR"
        services.assets.retranscode(asset_id, queue="backfill")
        assert storage_class(services.store, key)[0] == "STANDARD"
        types = [
            e.type for e in services.catalogue.events_after(0, ("master.cold", "master.restored"))
        ]
        assert types == ["master.cold", "master.restored"]
    finally:
        services.close()
