"""Dead-letter queue, re-drive, queue priority, ladder templates, lifecycle and audit events —
through the real catalogue (SQLite and PostgreSQL) and, where a job must run, real FFmpeg."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.conftest import make_clip_file

from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services, build_services
from vodstack.config import Settings
from vodstack.errors import ConfigError, Conflict


def _asset(services: Services) -> str:
    asset_id = new_id()
    services.catalogue.create_asset(
        asset_id,
        title="t",
        source_key=f"masters/{asset_id}/source.mp4",
        source_name="s.mp4",
        source_size=1,
    )
    return asset_id


def _wait_state(services: Services, job_id: str, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while services.catalogue.get_job(job_id).state != state:
        assert time.monotonic() < deadline, services.catalogue.get_job(job_id).state
        time.sleep(0.05)


@pytest.mark.slow
def test_exhausted_job_is_dead_with_its_reason_and_redrive_completes_it(
    settings: Settings, tmp_path: Path
) -> None:
    services = build_services(
        settings.model_copy(update={"job_max_attempts": 2, "job_backoff_s": 0.05})
    )
    good = make_clip_file(
        tmp_path / "good.mp4", seconds=2, size="320x180", extra=["-movflags", "+faststart"]
    )
    data = good.read_bytes()
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(data[: len(data) // 2])  # moov intact, half of the media missing
    asset_id = services.ingestor.ingest_file(corrupt)
    job_id = services.catalogue.latest_job(asset_id).id  # type: ignore[union-attr]
    pool = services.pipeline.pool(workers=1)
    pool.start()
    try:
        _wait_state(services, job_id, "dead")
        # the job row says dead before the failure hook has marked the asset and announced it
        deadline = time.monotonic() + 30
        while not services.catalogue.events(asset_id, types=["transcode.failed"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        job = services.catalogue.get_job(job_id)
        assert job.attempts == 2 and "covers" in (job.error or "")
        asset = services.catalogue.get_asset(asset_id)
        assert asset.status == "failed" and asset.error == job.error  # the asset contract
        assert [j.id for j in services.pipeline.dead_jobs()] == [job_id]
        failed = services.catalogue.events(asset_id, types=["transcode.failed"])
        assert failed[0].payload["dead_letter"] is True and failed[0].payload["attempts"] == 2
        # fix the master, then re-drive: attempts start again and the job completes
        with services.store.writer(asset.source_key) as fh:
            fh.write(data)
        redriven = services.pipeline.redrive(job_id)
        assert redriven.state == "queued" and redriven.attempts == 0
        assert services.catalogue.get_asset(asset_id).status == "queued"
        _wait_state(services, job_id, "succeeded")
    finally:
        pool.stop()
    assert services.catalogue.get_asset(asset_id).status == "ready"
    assert services.pipeline.dead_jobs() == []
    audit = services.catalogue.events(asset_id, types=["job.redriven"])
    assert audit[0].payload["previous_attempts"] == 2
    services.close()


def test_redrive_needs_a_dead_job_and_no_other_active_one(services: Services) -> None:
    asset_id = _asset(services)
    job = services.catalogue.enqueue_job(asset_id, max_attempts=1)
    with pytest.raises(Conflict, match="not in the dead-letter queue"):
        services.pipeline.redrive(job.id)
    claimed = services.catalogue.claim_job("w", 60)
    assert claimed is not None
    services.catalogue.finish_job(claimed, error="boom", dead_letter=True)
    assert services.catalogue.get_job(job.id).state == "dead"
    other = services.catalogue.enqueue_job(asset_id, max_attempts=1)  # e.g. a re-transcode
    with pytest.raises(Conflict, match=other.id):
        services.pipeline.redrive(job.id)


def test_a_broker_message_claims_only_a_due_queued_job(services: Services) -> None:
    asset_id = _asset(services)
    job = services.catalogue.enqueue_job(asset_id, max_attempts=3)
    first = services.catalogue.claim_job_by_id(job.id, "w1", 60)
    assert first is not None and first.attempt == 1
    assert services.catalogue.claim_job_by_id(job.id, "w2", 60) is None  # duplicate delivery
    services.catalogue.retry_job(first, error="x", delay_s=30)
    assert services.catalogue.claim_job_by_id(job.id, "w2", 60) is None  # not due yet


def test_uploads_are_claimed_before_backfill_work(services: Services) -> None:
    backfill = [
        services.catalogue.enqueue_job(_asset(services), queue="backfill", max_attempts=1)
        for _ in range(3)
    ]
    upload = services.catalogue.enqueue_job(_asset(services), max_attempts=1)
    order = [services.catalogue.claim_job("w", 60) for _ in range(4)]
    assert [j.id for j in order if j] == [upload.id] + [j.id for j in backfill]


def test_a_job_carries_its_ladder_template(settings: Settings) -> None:
    small = [{"height": 144, "maxrate_kbps": 200}]
    services = build_services(settings.model_copy(update={"ladders": {"small": small}}))
    try:
        assert set(services.settings.ladder_templates) == {"default", "small"}
        job_id = services.pipeline.enqueue_transcode(_asset(services), ladder="small")
        assert services.catalogue.get_job(job_id).kind == "transcode:small"
        with pytest.raises(ConfigError, match="no ladder named 'huge'"):
            services.pipeline.enqueue_transcode(_asset(services), ladder="huge")
        with pytest.raises(ConfigError):
            services.pipeline.stage.planner.template("huge")
        assert services.pipeline.stage.planner.template(None) == services.settings.ladder
    finally:
        services.close()


def test_with_a_broker_serve_and_ingest_run_no_jobs_in_process(settings: Settings) -> None:
    services = build_services(settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"}))
    try:
        assert not services.pipeline.runs_locally
        assert services.pipeline.pool().config.workers == 0
    finally:
        services.close()


def test_delete_keeps_the_master_unless_told_otherwise(settings: Settings) -> None:
    for keep in (True, False):
        services = build_services(settings.model_copy(update={"keep_masters_on_delete": keep}))
        asset_id = _asset(services)
        key = services.catalogue.get_asset(asset_id).source_key
        with services.store.writer(key) as fh:
            fh.write(b"master")
        with services.store.writer(f"packaged/{asset_id}/1/v144.mp4") as fh:
            fh.write(b"media")
        services.assets.delete(asset_id)
        assert list(services.store.list(f"packaged/{asset_id}")) == []
        assert services.store.exists(key) is keep
        audit = services.catalogue.events(asset_id, types=["asset.updated"])[0].payload
        assert audit["action"] == "delete" and audit["master_removed"] is (not keep)
        services.close()


def test_publish_unpublish_and_key_changes_are_audited(services: Services) -> None:
    asset_id = _asset(services)
    services.assets.set_published(asset_id, False)
    services.assets.set_published(asset_id, True)
    actions = [e.payload["action"] for e in services.catalogue.events(asset_id)]
    assert actions == ["publish", "unpublish"]
    old = services.keyring.key_group().signing_key_id
    new = services.keyring.rotate()
    services.keyring.retire(old)  # type: ignore[arg-type]
    keys = services.catalogue.events(None, prefix="key.")
    assert [e.type for e in keys][:3] == ["key.retired", "key.rotated", "key.created"]
    assert keys[1].payload == {"key_id": new, "previous_key_id": old}


def test_cli_redrive_all_requeues_every_dead_job_and_reports_the_rest(
    settings: Settings,
) -> None:
    import json
    import os
    import subprocess
    import sys

    services = build_services(settings)
    dead = []
    for _ in range(2):
        job = services.catalogue.enqueue_job(_asset(services), max_attempts=1)
        claimed = services.catalogue.claim_job("w", 60)
        assert claimed is not None and claimed.id == job.id
        services.catalogue.finish_job(claimed, error="boom", dead_letter=True)
        dead.append(job.id)
    blocked = services.catalogue.get_job(dead[1])
    services.catalogue.enqueue_job(blocked.asset_id, max_attempts=1)  # e.g. a re-transcode
    env = {**os.environ, "VODSTACK_HOME": str(settings.home)}
    if settings.database_url:
        env["VODSTACK_DATABASE_URL"] = settings.database_url
    out = subprocess.run(
        [sys.executable, "-m", "vodstack.cli", "jobs", "redrive", "--all", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    assert [j["id"] for j in report["redriven"]] == [dead[0]]
    assert list(report["skipped"]) == [dead[1]]  # another job is active for that asset
    assert services.catalogue.get_job(dead[0]).state == "queued"
    assert services.catalogue.get_job(dead[1]).state == "dead"
    services.close()
