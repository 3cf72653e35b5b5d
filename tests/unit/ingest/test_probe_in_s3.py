"""A master in S3 is probed at ingest through ranged reads of the object (moto_server on
loopback): no local copy, only the parts a demuxer looks at."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_clip_file
from tests.fixtures.moto import MotoS3, moto_s3  # noqa: F401 - the session fixture

from vodstack.compose.services import Services
from vodstack.ingest.probe import SourceInfo, probe
from vodstack.ingest.upload import Ingestor
from vodstack.storage.s3 import S3Store

pytestmark = [pytest.mark.slow, pytest.mark.services]


def _ranged_bytes(client: Any) -> list[int]:
    """Sizes of the object bodies S3 sent (GET responses), as they arrive."""
    got: list[int] = []

    def record(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "GetObject":
            got.append(int(parsed.get("ContentLength") or 0))

    client.meta.events.register("after-call.s3.GetObject", record)
    return got


def test_a_master_in_s3_is_probed_without_a_copy(
    services: Services,
    moto_s3: MotoS3,  # noqa: F811
    tmp_path: Path,
) -> None:
    client = moto_s3.client()
    bucket = f"vod-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=bucket)
    # small reads so a short test master shows it (by default a GET fetches 4 MiB ahead)
    store = S3Store(bucket, "vod", client=client, chunk_size=64 * 1024, readahead=256 * 1024)
    ingestor = Ingestor(services.catalogue, store, services.bus, 10**9, 600)
    clip = make_clip_file(tmp_path / "c.mp4", seconds=20, size="640x360")  # index at the end
    got = _ranged_bytes(client)
    asset_id = ingestor.ingest_file(clip, "t")
    asset = services.catalogue.get_asset(asset_id)
    assert asset.source_info is not None and asset.status == "queued"
    assert SourceInfo.from_json(asset.source_info) == probe(clip, max_duration_s=600)
    assert 0 < sum(got) < clip.stat().st_size / 4, (sum(got), clip.stat().st_size)  # ranges

    notes = tmp_path / "notes.mp4"
    notes.write_text("this is a text file, not a video\n" * 50)
    bad = services.catalogue.get_asset(ingestor.ingest_file(notes))
    assert bad.status == "failed" and "not a recognised video file" in (bad.error or "")
