"""Webhooks for the whole lifecycle of an asset, from a real pipeline to a real receiver that
checks every signature: created, upload completed, transcode started/progress, ready, extras,
captions, published/unpublished, deleted, restored, master purged, failed and dead-lettered.
An endpoint that never answers does not hold up the pipeline."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.conftest import make_clip_file, make_settings
from tests.fixtures.scaleout import WebhookReceiver

from vodstack.assets.masters import Masters
from vodstack.base.actor import Actor
from vodstack.base.events import ASSET_UPDATED, DomainEvent
from vodstack.captions.service import CaptionRequest, CaptionService
from vodstack.catalogue.media import MediaCatalogue
from vodstack.compose.services import Services, build_services
from vodstack.errors import ConfigError
from vodstack.jobs.lifecycle import ProgressSteps
from vodstack.jobs.webhook_events import BUS_EVENTS, PUBLIC_TYPES, public_data, public_type
from vodstack.jobs.webhooks import WEBHOOK_ATTEMPT, deliveries_for

SECRET = b"whsec_lifecycle"
ACTOR = Actor("cli", "tester", "host")
VTT = b"WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n"


def until(predicate: Callable[[], object], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(SECRET)
    yield r
    r.close()


def _services(tmp_path: Path, urls: list[str], **extra: object) -> Services:
    return build_services(
        make_settings(
            tmp_path / "home",
            webhook_urls=tuple(urls),
            webhook_secret=SECRET.decode(),
            webhook_backoff_s=0.05,
            transcode_mode="single",
            job_backoff_s=0.01,
            **extra,
        )
    )


# -- the mapping (pure) ------------------------------------------------------------------------
def test_every_public_type_comes_from_a_bus_event() -> None:
    reachable = {public_type(DomainEvent(t, "a" * 20, {}, 1)) for t in BUS_EVENTS}
    for action, type_ in [
        ("publish", "asset.published"),
        ("unpublish", "asset.unpublished"),
        ("delete", "asset.deleted"),
    ]:
        assert public_type(DomainEvent(ASSET_UPDATED, "a", {"action": action})) == type_
        reachable.add(type_)
    added = DomainEvent(ASSET_UPDATED, "a", {"action": "captions", "change": "added"})
    assert public_type(added) == "captions.ready"
    reachable.add("captions.ready")
    assert set(PUBLIC_TYPES) == reachable - {None}
    removed = DomainEvent(ASSET_UPDATED, "a", {"action": "captions", "change": "removed"})
    for quiet in [removed, DomainEvent(ASSET_UPDATED, "a", {"action": "poster"})]:
        assert public_type(quiet) is None
    assert public_type(DomainEvent("key.rotated", None, {})) is None


def test_payloads_are_versioned_and_carry_no_edge_detail() -> None:
    event = DomainEvent(
        ASSET_UPDATED, "a" * 20, {"action": "delete", "title": "T", "purge": {"scope": "asset"}}, 7
    )
    assert public_data(event, "asset.deleted", "https://x") == {"title": "T"}
    [delivery] = deliveries_for(event, ("https://hooks.example/in",), "https://x")
    body = json.loads(delivery.body)
    assert body["type"] == delivery.event_type == "asset.deleted"
    assert body["version"] == 1 and body["event_id"] == 7
    assert set(body) == {"id", "type", "version", "created_at", "event_id", "asset_id", "data"}
    assert deliveries_for(event, ("https://h",), "https://x", ("asset.ready",)) == []


# -- a real pipeline -----------------------------------------------------------------------------
def test_the_whole_lifecycle_is_delivered(tmp_path: Path, receiver: WebhookReceiver) -> None:
    services = _services(tmp_path, [receiver.url])
    pool = services.pipeline.pool(workers=1)
    pool.start()
    try:
        clip = make_clip_file(tmp_path / "c.mp4", seconds=2, size="320x180")
        asset_id = services.ingestor.ingest_file(clip, "Lifecycle")

        def settled() -> bool:
            asset = services.catalogue.get_asset(asset_id)
            extras = services.catalogue.latest_job(asset_id, "extras")
            return asset.status == "ready" and extras is not None and extras.state == "succeeded"

        until(settled)
        captions = CaptionService(MediaCatalogue(services.db), services.store, services.bus, 10**6)
        captions.add(asset_id, VTT, CaptionRequest("en"), filename="en.vtt")
        services.assets.set_published(asset_id, False)
        services.assets.set_published(asset_id, True)
        services.assets.delete(asset_id)
        masters = Masters(services.catalogue, services.store, services.bus, services.pipeline)
        masters.restore(asset_id, ACTOR)
        until(settled)
        services.assets.delete(asset_id)
        masters.purge(asset_id, ACTOR)

        bad = tmp_path / "notes.mp4"
        bad.write_text("not a video\n" * 100)
        failed_id = services.ingestor.ingest_file(bad)
        until(lambda: services.catalogue.get_asset(failed_id).status == "failed")
        until(lambda: any(b["type"] == "asset.failed" for b in receiver.processed.values()))
        until(lambda: any(b["type"] == "master.purged" for b in receiver.processed.values()))
        # deliveries are asynchronous (and retried): on a loaded machine an earlier event's
        # can land after master.purged's; wait for every one before stopping
        until(
            lambda: (
                {"asset.restored", "transcode.started", "asset.ready", "asset.deleted"}
                <= {b["type"] for b in receiver.processed.values() if b["asset_id"] == asset_id}
                and sum(
                    b["type"] == "asset.ready"
                    for b in receiver.processed.values()
                    if b["asset_id"] == asset_id
                )
                >= 2
            )
        )
    finally:
        pool.stop()
        services.close()

    assert receiver.received and all(r.signature_ok for r in receiver.received)
    bodies = sorted(receiver.processed.values(), key=lambda b: b["event_id"])
    assert all(b["version"] == 1 for b in bodies)
    types = [b["type"] for b in bodies if b["asset_id"] == asset_id]
    expected = [
        "asset.created",
        "source.created",
        "transcode.started",
        "transcode.progress",
        "asset.ready",
        "asset.extras_ready",
        "captions.ready",
        "asset.unpublished",
        "asset.published",
        "asset.deleted",
        "asset.created",  # the restore
        "asset.restored",
        "asset.ready",
        "asset.deleted",
        "master.purged",
    ]
    seen = iter(types)
    assert all(t in seen for t in expected), types  # in this order (others may interleave)
    # asset.restored names the queued job, so a worker may announce its start first
    rebuilt = ["asset.deleted", "asset.created", "transcode.started", "asset.ready"]
    seen = iter(types)
    assert all(t in seen for t in rebuilt), types
    by_type = {b["type"]: b for b in bodies if b["asset_id"] == asset_id}
    assert by_type["asset.created"]["data"]["source"] == "restore"  # the last one
    assert by_type["source.created"]["data"]["source"] == "upload"
    assert by_type["captions.ready"]["data"]["language"] == "en"
    assert by_type["asset.deleted"]["data"]["title"] == "Lifecycle"
    assert by_type["master.purged"]["data"]["actor"] == {
        "via": "cli",
        "name": "tester",
        "where": "host",
    }
    assert "download" in by_type["asset.extras_ready"]["data"]["extras"]
    progress = [b["data"]["progress"] for b in bodies if b["type"] == "transcode.progress"]
    assert progress and all(0 < p < 1 for p in progress)
    failed = [b["type"] for b in bodies if b["asset_id"] == failed_id]
    assert {"job.dead_lettered", "transcode.failed", "asset.failed"} <= set(failed)
    dead = next(b for b in bodies if b["type"] == "job.dead_lettered")
    assert dead["data"]["kind"] == "transcode" and dead["data"]["error"]


def test_an_endpoint_that_never_answers_does_not_hold_up_the_pipeline(tmp_path: Path) -> None:
    hang = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    url = f"http://127.0.0.1:{hang.getsockname()[1]}/hook"
    services = _services(tmp_path, [url], webhook_timeout_s=3, webhook_max_attempts=2)
    pool = services.pipeline.pool(workers=1)
    pool.start()
    try:
        clip = make_clip_file(tmp_path / "c.mp4", seconds=2, size="320x180")
        started = time.monotonic()
        asset_id = services.ingestor.ingest_file(clip)
        until(lambda: services.catalogue.get_asset(asset_id).status == "ready", 60)
        took = time.monotonic() - started
        # several events were published before ready; each attempt waits out a 3 s timeout,
        # one at a time on the sender's thread: if publishing waited for them, ready would
        # come after all of them
        attempts = lambda: services.catalogue.events(None, types=[WEBHOOK_ATTEMPT])  # noqa: E731
        until(lambda: len(attempts()) >= 1, 30)
        published = len(
            [e for e in services.catalogue.events(asset_id) if e.type != WEBHOOK_ATTEMPT]
        )
        assert published >= 4
        assert took < published * 3
        first = attempts()[-1].payload
        assert first["ok"] is False and "Timeout" in first["error"]
    finally:
        pool.stop()
        services.close()
        hang.close()


def test_an_unknown_type_in_the_filter_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no webhook type asset\.redy"):
        _services(tmp_path, ["https://hooks.example/in"], webhook_events=("asset.redy",))


def test_progress_steps_are_announced_once_each_and_never_fail_the_job() -> None:
    seen: list[float] = []
    steps = ProgressSteps(0.25, seen.append)
    for value in (0.1, 0.3, 0.3, 0.8, 0.9, 1.0):
        steps(value)
    assert seen == [0.25, 0.75]  # a jump past two steps announces the last one
    broken = ProgressSteps(0.5, lambda f: (_ for _ in ()).throw(RuntimeError("db down")))
    broken(0.6)  # logged, not raised
