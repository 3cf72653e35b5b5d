"""Webhook payloads carry the asset's labels (``data.asset``: metadata, tags, governance),
as they are when the event is delivered; an asset deleted meanwhile has none."""

from __future__ import annotations

import time

from tests.fixtures.scaleout import WebhookReceiver

from vodstack.base.events import ASSET_READY, SOURCE_CREATED
from vodstack.catalogue.labels import LabelsPatch, LabelStore
from vodstack.catalogue.repository import new_id
from vodstack.compose.services import build_services
from vodstack.config import Settings

SECRET = b"whsec_labels"


def test_asset_events_carry_labels(settings: Settings) -> None:
    receiver = WebhookReceiver(SECRET)
    services = build_services(
        settings.model_copy(
            update={"webhook_urls": (receiver.url,), "webhook_secret": SECRET.decode()}
        )
    )
    try:
        asset_id = new_id()
        services.catalogue.create_asset(
            asset_id, title="t", source_key="masters/x/s.mp4", source_name="s.mp4", source_size=1
        )
        LabelStore(services.db).update(
            asset_id,
            LabelsPatch(metadata={"show": "S1"}, tags=["promo"], governance={"owner": "ann"}),
        )
        services.bus.publish(ASSET_READY, asset_id, revision=1)
        services.bus.publish(SOURCE_CREATED, "z" * 20, size=1)  # no such asset: no labels
        deadline = time.monotonic() + 10
        while len(receiver.processed) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        services.close()
        receiver.close()
    by_type = {b["type"]: b for b in receiver.processed.values()}
    assert by_type["asset.ready"]["data"]["asset"] == {
        "metadata": {"show": "S1"},
        "tags": ["promo"],
        "classification": None,
        "owner": "ann",
        "cost_center": None,
    }
    assert by_type["asset.ready"]["data"]["revision"] == 1  # the event's own payload stays
    assert "asset" not in by_type["source.created"]["data"]
    assert all(r.signature_ok for r in receiver.received)
