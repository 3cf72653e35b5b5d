"""The master is probed at ingest (issue #17, as the README says): what it holds is kept with
the asset and the transcode job plans from it; a master that cannot become a video fails at
once with the reason, and its job still lands in the dead-letter queue with it."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from tests.conftest import make_clip_file

from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services
from vodstack.errors import SourceInvalid
from vodstack.ingest.probe import SourceInfo, probe
from vodstack.transcode import stage as stage_module

pytestmark = pytest.mark.slow


def _run_job(services: Services, asset_id: str, timeout: float = 120) -> None:
    pool = services.pipeline.pool(workers=1, only_asset=asset_id, only_kind="transcode")
    pool.start()
    try:
        deadline = time.monotonic() + timeout
        while (job := services.catalogue.latest_job(asset_id)) is None or job.state in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        pool.stop()


def test_a_good_master_is_described_with_its_asset(services: Services, tmp_path: Path) -> None:
    clip = make_clip_file(tmp_path / "c.mp4", seconds=2, size="320x180")
    asset_id = services.ingestor.ingest_file(clip, "t")
    asset = services.catalogue.get_asset(asset_id)
    assert asset.status == "queued" and asset.error is None
    assert asset.source_info is not None
    info = SourceInfo.from_json(asset.source_info)
    assert info == probe(clip, max_duration_s=60)
    assert asset.duration == info.duration


def test_the_job_plans_from_the_stored_probe(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = make_clip_file(tmp_path / "c.mp4", seconds=2, size="320x180")
    asset_id = services.ingestor.ingest_file(clip, "t")

    def no_probe(*args: object, **kwargs: object) -> SourceInfo:
        raise AssertionError("the job probed a master that was probed at ingest")

    monkeypatch.setattr(stage_module, "probe", no_probe)
    services.pipeline.stage.run(asset_id, new_id(), lambda f: None, threading.Event())
    assert services.catalogue.get_asset(asset_id).status == "ready"


def test_an_asset_ingested_before_is_probed_by_its_job(services: Services, tmp_path: Path) -> None:
    """No stored probe (ingested before masters were probed at ingest, or re-driven): the job
    probes, and commits what it found with the revision."""
    clip = make_clip_file(tmp_path / "c.mp4", seconds=2, size="320x180")
    asset_id = new_id()
    key = f"masters/{asset_id}/source.mp4"
    with services.store.writer(key) as fh:
        fh.write(clip.read_bytes())
    services.catalogue.create_asset(
        asset_id, title="old", source_key=key, source_name="c.mp4", source_size=1
    )
    services.pipeline.stage.run(asset_id, new_id(), lambda f: None, threading.Event())
    asset = services.catalogue.get_asset(asset_id)
    assert asset.status == "ready"
    assert asset.source_info is not None
    assert SourceInfo.from_json(asset.source_info) == probe(clip, max_duration_s=60)


def test_a_bad_master_fails_at_ingest_and_its_job_dead_letters_it(
    services: Services, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.mp4"
    notes.write_text("this is a text file, not a video\n" * 50)
    asset_id = services.ingestor.ingest_file(notes)
    asset = services.catalogue.get_asset(asset_id)
    assert asset.status == "failed" and asset.source_info is None
    assert asset.error is not None and "not a recognised video file" in asset.error
    reason = asset.error
    job = services.catalogue.latest_job(asset_id)
    assert job is not None and job.state == "queued"  # the dead-letter record to come
    _run_job(services, asset_id)
    job = services.catalogue.latest_job(asset_id)
    assert job is not None and job.state == "dead" and job.attempts == 1
    assert job.error == reason
    assert services.catalogue.get_asset(asset_id).error == reason
    # a re-drive (after the master was replaced) probes again
    services.pipeline.redrive(job.id)
    assert services.catalogue.get_asset(asset_id).status == "queued"


def test_a_re_drive_forgets_the_stored_probe(services: Services, tmp_path: Path) -> None:
    clip = make_clip_file(tmp_path / "c.mp4", seconds=2, size="320x180")
    asset_id = services.ingestor.ingest_file(clip, "t")
    job = services.catalogue.latest_job(asset_id)
    assert job is not None
    claimed = services.catalogue.claim_job_by_id(job.id, "w", 60)
    assert claimed is not None
    services.catalogue.finish_job(claimed, error="boom", dead_letter=True)
    services.pipeline.redrive(job.id)
    assert services.catalogue.get_asset(asset_id).source_info is None


def test_a_master_in_a_remote_store_is_probed_through_its_reader(tmp_path: Path) -> None:
    """S3 has no local file: the probe reads the object through a seekable stream."""
    clip = make_clip_file(tmp_path / "c.mp4", seconds=2, size="320x180")
    assert probe(io.BytesIO(clip.read_bytes()), max_duration_s=60) == probe(clip, max_duration_s=60)
    cut = clip.read_bytes()[:4000]  # ftyp and part of mdat: the index is missing
    with pytest.raises(SourceInvalid, match="incomplete"):
        probe(io.BytesIO(cut), max_duration_s=60)
    with pytest.raises(SourceInvalid, match="empty"):
        probe(io.BytesIO(b""), max_duration_s=60)
