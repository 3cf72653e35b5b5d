"""Issue 20 item 6: a master whose header understates its length is refused, and no FFmpeg
run over a master is unbounded (time bound from the probed duration, wall-clock watchdog)."""

from __future__ import annotations

import time
from pathlib import Path

import av
import pytest

from tests.conftest import make_settings
from tests.fixtures.lying_media import lying_mp4
from vodstack.compose.services import Services, build_services
from vodstack.errors import TranscodeError
from vodstack.media import ffmpeg_exe, run_ffmpeg
from vodstack.transcode import stage

LONGER = "the media is longer than its header declares"


def _transcode(services: Services, source: Path) -> tuple[str, str | None, int]:
    asset_id = services.ingestor.ingest_file(source)
    pool = services.pipeline.pool(workers=1, only_asset=asset_id)
    pool.start()
    try:
        deadline = time.monotonic() + 120
        while (asset := services.catalogue.get_asset(asset_id)).status not in ("ready", "failed"):
            assert time.monotonic() < deadline, asset.status
            time.sleep(0.1)
        job = services.catalogue.latest_job(asset_id)
        assert job is not None
        while job.state == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
            job = services.catalogue.latest_job(asset_id)
        return asset.status, asset.error, job.attempts
    finally:
        pool.stop()


def test_the_fixture_lies(tmp_path: Path) -> None:
    master = lying_mp4(tmp_path / "lie.mp4", real_s=20, header_s=2)
    with av.open(str(master)) as container:
        video = container.streams.video[0]
        assert float(video.duration * video.time_base) == pytest.approx(2, abs=0.1)
        frames = sum(1 for _ in container.decode(video))
    assert frames == 20 * 30  # every frame is still there


@pytest.mark.slow
def test_a_master_longer_than_its_header_fails_clearly_and_once(
    services: Services, tmp_path: Path
) -> None:
    status, error, attempts = _transcode(services, lying_mp4(tmp_path / "lie.mp4"))
    assert status == "failed"
    assert error is not None and LONGER in error, error
    assert attempts == 1  # permanent: not retried


@pytest.mark.slow
def test_the_single_pass_is_bounded_even_if_the_tail_check_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Second line of defence: with the pre-check disabled, the single-pass ladder stops at
    the bound and the too-long output is still recognised. (Windowed and progressive jobs
    lay their windows out from the declared duration, so they never read past it.)"""
    monkeypatch.setattr(stage, "check_length", lambda *args: None)
    services = build_services(make_settings(tmp_path / "home", transcode_mode="single"))
    try:
        status, error, _ = _transcode(services, lying_mp4(tmp_path / "lie.mp4"))
    finally:
        services.close()
    assert status == "failed"
    assert error is not None and LONGER in error, error


def test_the_watchdog_kills_an_ffmpeg_run_that_outlives_its_limit() -> None:
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    argv += ["-re", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-f", "null", "-"]
    with pytest.raises(TranscodeError, match="watchdog"):
        run_ffmpeg(argv, timeout_s=1)
