"""Webhooks: HMAC signatures, delivery off the hot path, retries with one delivery id, every
attempt in the event log — against a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from tests.fixtures.scaleout import WebhookReceiver

from vodstack.base.events import ASSET_READY, SOURCE_CREATED
from vodstack.compose.services import Services, build_services
from vodstack.config import Settings
from vodstack.jobs.webhooks import WEBHOOK_ATTEMPT, redact, sign, verify, webhook_secret

SECRET = b"whsec_unit"


def test_signature_round_trip_and_forgeries() -> None:
    body = '{"type":"asset.ready"}'
    header = sign(SECRET, 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify(SECRET, header, body, now=1_700_000_010)
    assert verify(SECRET, header, body.encode(), now=1_700_000_010)
    assert not verify(SECRET, header, body + " ", now=1_700_000_010)  # tampered body
    assert not verify(b"other", header, body, now=1_700_000_010)  # wrong secret
    assert not verify(SECRET, header, body, now=1_700_000_000 + 301)  # replayed later
    t_swapped = header.replace("t=1700000000", "t=1700000005")
    assert not verify(SECRET, t_swapped, body, now=1_700_000_010)  # timestamp is signed
    # During a secret rotation a receiver may get two v1 values: any valid one passes.
    both = f"{header},v1={'0' * 64}"
    assert verify(SECRET, both, body, now=1_700_000_010)
    assert not verify(SECRET, "garbage", body)


def test_endpoint_urls_are_redacted_in_the_log() -> None:
    assert redact("https://user:pw@hooks.example:8443/in?token=s3cr3t") == (
        "https://hooks.example:8443/in"
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(SECRET, fail_first=(ASSET_READY,))
    yield r
    r.close()


def _services(settings: Settings, urls: list[str], **extra: object) -> Services:
    update = {
        "webhook_urls": tuple(urls),
        "webhook_secret": SECRET.decode(),
        "webhook_backoff_s": 0.05,
        **extra,
    }
    return build_services(settings.model_copy(update=update))


def _wait(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_events_are_delivered_signed_retried_and_logged(
    settings: Settings, receiver: WebhookReceiver
) -> None:
    services = _services(settings, [receiver.url])
    try:
        created = services.bus.publish(SOURCE_CREATED, "a" * 20, size=1)
        ready = services.bus.publish(ASSET_READY, "a" * 20, revision=1)
        services.bus.publish("asset.updated", "a" * 20, action="publish")  # not a webhook type
        _wait(lambda: len(receiver.processed) == 2)
        _wait(lambda: len(services.catalogue.events(None, types=[WEBHOOK_ATTEMPT])) == 3)
    finally:
        services.close()
    assert all(r.signature_ok for r in receiver.received)
    by_type = {b["type"]: b for b in receiver.processed.values()}
    assert by_type["source.created"]["event_id"] == created.id
    assert by_type["asset.ready"]["data"]["revision"] == 1
    assert by_type["asset.ready"]["data"]["playback"]["hls"].endswith("/index.m3u8")
    # asset.ready was refused once (500) and retried with the same id and byte-identical body
    ready_hits = [r for r in receiver.received if r.event_type == ASSET_READY]
    assert [r.attempt for r in ready_hits] == [1, 2]
    assert (
        len({r.delivery_id for r in ready_hits}) == 1 and ready_hits[0].body == ready_hits[1].body
    )
    assert json.loads(ready_hits[0].body)["event_id"] == ready.id
    attempts = services.catalogue.events(None, types=[WEBHOOK_ATTEMPT])
    log = sorted(
        (e.payload["event_type"], e.payload["attempt"], e.payload["status"], e.payload["final"])
        for e in attempts
    )
    assert log == [
        ("asset.ready", 1, 500, False),
        ("asset.ready", 2, 204, True),
        ("source.created", 1, 204, True),
    ]
    assert all(e.payload["url"] == receiver.url for e in attempts)


def test_delivery_never_blocks_the_publisher_and_gives_up_after_max_attempts(
    settings: Settings,
) -> None:
    hang = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    url = f"http://127.0.0.1:{hang.getsockname()[1]}/hook"
    services = _services(settings, [url], webhook_timeout_s=0.5, webhook_max_attempts=2)
    try:
        started = time.monotonic()
        services.bus.publish(ASSET_READY, "b" * 20, revision=1)
        assert time.monotonic() - started < 0.3
        _wait(lambda: len(services.catalogue.events(None, types=[WEBHOOK_ATTEMPT])) == 2)
    finally:
        services.close()
        hang.close()
    attempts = services.catalogue.events(None, types=[WEBHOOK_ATTEMPT])
    assert [(e.payload["attempt"], e.payload["ok"], e.payload["final"]) for e in attempts] == [
        (2, False, True),
        (1, False, False),
    ]
    assert "Timeout" in attempts[0].payload["error"]


def test_the_secret_is_generated_once_and_kept_private(settings: Settings) -> None:
    services = build_services(settings)
    try:
        first = webhook_secret(settings, services.secrets)
        assert first.startswith(b"whsec_") and webhook_secret(settings, services.secrets) == first
        path = settings.secrets_dir / "webhook-secret"
        assert path.stat().st_mode & 0o777 == 0o600
        assert services.webhooks is None  # no endpoints configured: no subscriber at all
    finally:
        services.close()
