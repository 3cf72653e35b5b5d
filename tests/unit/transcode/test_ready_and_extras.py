"""Issue #16: an asset is ready when its ladder is committed; the extras (poster, storyboard,
MP4 download, VMAF) follow in a job of their own, whose failures never fail the asset; every
job records wall and CPU time per stage. H.264 uploads are progressive by default.

Real FFmpeg, real catalogue, local store; jobs run by the pipeline's own pools."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from tests.conftest import make_clip_file, make_settings

from vodstack.catalogue.media import MediaCatalogue
from vodstack.catalogue.repository import EXTRAS_KIND, TRANSCODE_KIND
from vodstack.cli.common import wait_for_asset
from vodstack.compose.services import Services, build_services
from vodstack.config import Settings
from vodstack.transcode.extras_job import extras_status

pytestmark = pytest.mark.slow


def run_extras(services: Services, asset_id: str, timeout: float = 120) -> None:
    pool = services.pipeline.pool(workers=1, only_asset=asset_id, only_kind=EXTRAS_KIND)
    pool.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            job = services.catalogue.latest_job(asset_id, kind=EXTRAS_KIND)
            if job is not None and job.state in ("succeeded", "failed", "dead"):
                return
            assert time.monotonic() < deadline, job and job.state
            time.sleep(0.1)
    finally:
        pool.stop()


def ingest(services: Services, tmp_path: Path, seconds: float = 2) -> str:
    clip = make_clip_file(tmp_path / "clip.mp4", seconds=seconds, size="320x180")
    asset_id = services.ingestor.ingest_file(clip, "t")
    assert wait_for_asset(services, asset_id, quiet=True) == "ready"
    return asset_id


def test_ready_with_the_ladder_then_extras_in_their_own_job(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path / "home", transcode_mode="single"))
    try:
        asset_id = ingest(services, tmp_path)
        media = MediaCatalogue(services.db)
        asset = services.catalogue.get_asset(asset_id)
        # ready: the ladder is committed and served, none of the extras exist yet
        assert asset.status == "ready" and services.catalogue.renditions(asset_id, 1)
        assert media.files(asset_id, 1) == {}
        assert set(media.quality(asset_id, 1).values()) == {None}
        transcode = services.catalogue.latest_job(asset_id)
        assert transcode is not None and transcode.kind == TRANSCODE_KIND
        assert transcode.state == "succeeded"
        stages = transcode.stages or {}
        assert {"probe", "ladder", "commit"} <= set(stages["stages"])
        assert stages["stages"]["ladder"]["cpu_s"] > 0  # FFmpeg's CPU, read from the children
        assert stages["media_s"] == pytest.approx(2, abs=0.1)
        assert stages["cpu_s_per_media_min"] > 0 and stages["ready_s"] <= stages["seconds"]
        queued = services.catalogue.latest_job(asset_id, kind=EXTRAS_KIND)
        assert queued is not None and queued.state == "queued" and queued.queue == "backfill"
        assert extras_status(services.catalogue, asset)["state"] == "queued"  # type: ignore[index]

        run_extras(services, asset_id)
        assert set(media.files(asset_id, 1)) == {"poster", "storyboard", "download"}
        assert all(v is not None for v in media.quality(asset_id, 1).values())
        status = extras_status(services.catalogue, services.catalogue.get_asset(asset_id))
        assert status is not None and status["state"] == "ready"
        assert status["items"] == {
            n: {"state": "ready"} for n in ("pictures", "download", "quality")
        }
        assert {"pictures", "download", "quality"} <= set(status["timings"]["stages"])
        event = services.catalogue.events(asset_id, types=["asset.extras_ready"])[0]
        assert event.payload["revision"] == 1
        assert event.payload["extras"]["quality"] == {"state": "ready"}
        exposition = generate_latest(services.pipeline.metrics.registry).decode()
        for stage in ("ladder", "commit", "quality"):
            assert f'vodstack_job_stage_seconds_count{{stage="{stage}"}} 1.0' in exposition
        assert 'vodstack_job_stage_cpu_seconds_total{stage="ladder"}' in exposition
    finally:
        services.close()


def test_extras_that_cannot_be_made_never_fail_the_asset(tmp_path: Path) -> None:
    services = build_services(
        make_settings(tmp_path / "home", transcode_mode="single", job_max_attempts=1)
    )
    try:
        asset_id = ingest(services, tmp_path)
        # the extras job reads the committed tracks back: take one away
        (row,) = [r for r in services.catalogue.renditions(asset_id, 1) if r.track_id == "v180"]
        services.store.delete_prefix(row.file_key)
        run_extras(services, asset_id)
        asset = services.catalogue.get_asset(asset_id)
        assert asset.status == "ready" and asset.error is None
        status = extras_status(services.catalogue, asset)
        assert status is not None and status["state"] == "failed" and status["error"]
        assert services.catalogue.events(asset_id, types=["asset.extras_failed"])
        assert not services.catalogue.events(asset_id, types=["asset.failed"])
    finally:
        services.close()


def test_h264_uploads_are_progressive_by_default(tmp_path: Path) -> None:
    assert Settings.model_fields["transcode_mode"].default == "progressive"
    services = build_services(make_settings(tmp_path / "home"))
    try:
        asset_id = ingest(services, tmp_path, seconds=6)
        (early, *_) = services.catalogue.events(asset_id, types=["asset.ready"])[::-1]
        assert early.payload.get("progressive") is True  # playable after the first window
        job = services.catalogue.latest_job(asset_id)
        assert job is not None and job.state == "succeeded"
        stages = job.stages or {}
        assert {"first_window", "ladder", "join", "commit"} <= set(stages["stages"])
        assert stages["ready_s"] < stages["seconds"]
        rows = services.catalogue.renditions(asset_id, 1)
        assert rows and all(r.layout == "file" for r in rows)  # joined when the job ended
        queued = services.catalogue.latest_job(asset_id, kind=EXTRAS_KIND)
        assert queued is not None and queued.state == "queued"
    finally:
        services.close()


def test_av1_and_uploaded_audio_keep_the_single_pass(tmp_path: Path) -> None:
    """Progressive windows are H.264-only and take audio from the master."""
    services = build_services(make_settings(tmp_path / "home"))
    try:
        stage = services.pipeline.stage
        clip = make_clip_file(tmp_path / "c.mp4", seconds=1, size="320x180")
        from vodstack.ingest.probe import probe

        info = probe(clip, max_duration_s=60)
        h264 = stage.planner.plan(info)
        assert stage.planner.windowable(h264, [])
        av1 = stage.planner.plan(
            info, profile=stage.planner.profile(None).model_copy(update={"codecs": ("h264", "av1")})
        )
        assert not stage.planner.windowable(av1, [])
        assert not stage.planner.windowable(h264, [object()])
        single = build_services(make_settings(tmp_path / "h2", transcode_mode="single"))
        try:
            assert not single.pipeline.stage.planner.windowable(h264, [])
        finally:
            single.close()
    finally:
        services.close()


def test_an_origin_of_another_process_serves_a_joined_track_from_its_real_offsets(
    tmp_path: Path,
) -> None:
    """An origin that served a progressive revision's windows (estimated offsets) and learns
    of the join only by re-reading the rows must not reuse the windowed segment index."""
    from vodstack.origin.origin import Origin
    from vodstack.storage.slices import read_resource
    from vodstack.thumbnails.cutter import FrameCutter

    settings = make_settings(tmp_path / "home", progressive_cleanup_s=60, window_batch=1)
    services = build_services(settings)
    try:
        stage = services.pipeline.stage
        frames = FrameCutter(services.store, 1, 1.0)
        other = Origin(
            settings, services.catalogue, services.store, windows=stage.windows, frames=frames
        )
        clip = make_clip_file(tmp_path / "clip.mp4", seconds=12, size="320x180")
        asset_id = services.ingestor.ingest_file(clip, "t")
        path = "r1-4s/v144/2.m4s"
        seen: list[bool] = []

        def on_ready(revision: int) -> None:  # the first window is served, the job goes on
            p = other.presentation(asset_id, revision)
            seen.append(p.windowed)
            other.resolve(asset_id, path)

        stage.run(
            asset_id, "job1", lambda f: None, __import__("threading").Event(), on_ready=on_ready
        )
        assert seen == [True]
        cache = other.presentations._presentations  # as after the re-check interval:
        for key in list(cache):  # rows are read again
            presentation, _ = cache.peek(key)  # type: ignore[misc]
            cache.put(key, (presentation, float("-inf")))
        body = read_resource(services.store, other.resolve(asset_id, path))
        fresh = Origin(settings, services.catalogue, services.store, windows=None, frames=frames)
        assert body == read_resource(services.store, fresh.resolve(asset_id, path))
    finally:
        services.close()
