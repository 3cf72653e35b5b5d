"""Catalogue repository on both backends: migrations, assets, revisions, grants, keys."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect

from vodstack.catalogue.models import Rendition, SigningKey
from vodstack.catalogue.repository import is_valid_id, new_id
from vodstack.compose.services import Services
from vodstack.errors import Conflict, NotFound


def _asset(services: Services, title: str = "t") -> str:
    asset_id = new_id()
    services.catalogue.create_asset(
        asset_id,
        title=title,
        source_key=f"masters/{asset_id}/s.mp4",
        source_name="s.mp4",
        source_size=5 * 1024**3,
    )
    return asset_id


def _rendition(track: str) -> Rendition:
    return Rendition(
        track_id=track,
        kind="video",
        codec="avc1.64001f",
        timescale=15360,
        init_size=800,
        file_key=f"k/{track}.mp4",
        file_size=6 * 1024**3,
        duration=10.0,
        fragments=[[800, 100, 0, 30720, 0, 60, 1, 900]],
    )


def test_migrations_create_every_table(services: Services) -> None:
    tables = set(inspect(services.db.engine).get_table_names())
    assert {
        "assets",
        "jobs",
        "renditions",
        "events",
        "signing_keys",
        "subscriptions",
        "licences",
        "alembic_version",
    } <= tables
    services.db.migrate()  # idempotent


def test_ids_are_path_safe() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_valid_id(i) for i in ids)
    assert not is_valid_id("../../etc/passwdxxxx")
    assert not is_valid_id("ABCDEFGHIJKLMNOPQRST")


def test_big_files_and_timezones_round_trip(services: Services) -> None:
    asset_id = _asset(services)
    asset = services.catalogue.get_asset(asset_id)
    assert asset.source_size == 5 * 1024**3  # needs BIGINT on PostgreSQL
    assert asset.created_at.tzinfo is not None  # aware on SQLite too


def test_commit_revision_is_atomic_and_keeps_the_previous(services: Services) -> None:
    asset_id = _asset(services)
    for revision in (1, 2, 3):
        services.catalogue.commit_revision(
            asset_id, revision, [_rendition("v1"), _rendition("v2")], 10.0
        )
    asset = services.catalogue.get_asset(asset_id)
    assert (asset.status, asset.revision) == ("ready", 3)
    assert len(services.catalogue.renditions(asset_id, 3)) == 2
    assert len(services.catalogue.renditions(asset_id, 2)) == 2  # previous kept
    assert services.catalogue.renditions(asset_id, 1) == []
    assert services.catalogue.renditions(asset_id, 3)[0].file_size == 6 * 1024**3


def test_delete_removes_rows(services: Services) -> None:
    asset_id = _asset(services)
    services.catalogue.enqueue_job(asset_id, max_attempts=2)
    services.catalogue.commit_revision(asset_id, 1, [_rendition("v1")], 1.0)
    services.catalogue.delete_asset(asset_id)
    with pytest.raises(NotFound):
        services.catalogue.get_asset(asset_id)
    assert services.catalogue.latest_job(asset_id) is None


def test_claims_race_safely_across_threads(services: Services) -> None:
    for _ in range(30):
        services.catalogue.enqueue_job(_asset(services), max_attempts=3)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        while (job := services.catalogue.claim_job(f"w{n}", 60)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == 30


def test_events_are_logged(services: Services) -> None:
    asset_id = _asset(services)
    services.bus.publish("asset.updated", asset_id, action="publish")
    events = services.catalogue.events(asset_id)
    assert [(e.type, e.payload) for e in events] == [("asset.updated", {"action": "publish"})]


def test_grants_subscriptions_and_licences(services: Services) -> None:
    grants = services.grants
    now = datetime.now(UTC)
    grants.subscribe("alice", "premium", expires_at=now + timedelta(days=1))
    grants.subscribe("alice", "basic")
    assert grants.cancel("alice", "basic") == 1
    subs = grants.subscriptions("alice")
    assert [(s.plan, s.cancelled) for s in subs] == [("premium", False), ("basic", True)]
    assert subs[0].expires_at > now
    asset_id = _asset(services)
    grants.license("Uni", asset_id)
    grants.license("Uni", None)
    grants.license("Other", asset_id)
    assert len(grants.licences("Uni", asset_id)) == 2
    assert len(grants.licences("Uni", new_id())) == 1  # the catalogue-wide one
    assert grants.revoke_licences("Uni") == 2
    grants.set_access(asset_id, plans=["premium"], geo_allow=["de"], geo_deny=None)
    asset = services.catalogue.get_asset(asset_id)
    assert (asset.plans, asset.geo_allow, asset.geo_deny) == (["premium"], ["DE"], None)


def test_signing_key_states(services: Services) -> None:
    grants = services.grants
    first = grants.signing_keys()
    assert [k.status for k in first] == ["active"]  # made on first start
    grants.add_key(
        SigningKey(
            key_id="KEXT", algorithm="rsa", public_key_pem="x", status="trusted", has_private=False
        )
    )
    with pytest.raises(Conflict):
        grants.activate_key("KEXT")  # cannot sign without a private key
    with pytest.raises(Conflict):
        grants.retire_key(first[0].key_id)  # rotate first
    grants.retire_key("KEXT")
    assert {k.key_id: k.status for k in grants.signing_keys()}["KEXT"] == "retired"
