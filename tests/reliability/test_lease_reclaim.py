"""Issue 20 item 10: a job whose worker died restarts without waiting out its lease.

On its own host, a restarted process sees that the lease owner's process is gone (pid absent,
or reused by a later process) and requeues the job at once; on another host, the default lease
is short enough that the job restarts within about 15 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services
from vodstack.config import Settings
from vodstack.jobs.owner import host_name, owner_prefix, parse_owner, process_tag
from vodstack.jobs.worker import reclaim_dead_local


def _running_job(services: Services, owner: str) -> str:
    asset_id = new_id()
    services.catalogue.create_asset(
        asset_id, title="t", source_key=f"masters/{asset_id}/s.mp4", source_name="s", source_size=1
    )
    job = services.catalogue.enqueue_job(asset_id, max_attempts=3)
    assert services.catalogue.claim_job_by_id(job.id, owner, 3600) is not None
    return job.id


def _dead_pid() -> tuple[int, str]:
    """The pid and ``PID.START`` tag of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    tag = process_tag(proc.pid)
    proc.kill()
    proc.wait()
    return proc.pid, tag


def test_leases_of_dead_local_processes_are_reclaimed_at_once(services: Services) -> None:
    _, dead_tag = _dead_pid()
    host = host_name()
    dead = _running_job(services, f"{host}:{dead_tag}:0")
    mine = _running_job(services, f"{owner_prefix()}:0")
    # our own pid written by an earlier process (a restarted container's PID 1)
    earlier = _running_job(services, f"{host}:{os.getpid()}.zzzzzz:0")
    # a live process's pid with another start time: the pid was reused after its owner died
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        reused = _running_job(services, f"{host}:{live.pid}.zzzzzz:0")
        alive = _running_job(services, f"{host}:{process_tag(live.pid)}:0")
        elsewhere = _running_job(services, f"another-host:{dead_tag}:0")
        assert sorted(reclaim_dead_local(services.catalogue)) == sorted([dead, reused, earlier])
    finally:
        live.kill()
        live.wait()
    states = {j: services.catalogue.get_job(j).state for j in (dead, reused, mine, alive)}
    assert states == {dead: "queued", reused: "queued", mine: "running", alive: "running"}
    assert services.catalogue.get_job(elsewhere).state == "running"  # its lease decides
    assert parse_owner("h:12.ab:ondemand:7").pid == 12


def test_default_lease_restarts_another_hosts_job_within_15_s() -> None:
    lease = Settings.model_fields["job_lease_s"].default
    sweep = Settings.model_fields["job_sweep_s"].default
    assert lease + sweep <= 15, (lease, sweep)
    assert lease / 4 >= 1  # heartbeats: four per lease, so three may be late or lost


@pytest.mark.slow
def test_kill_9_mid_transcode_resumes_before_the_lease_lapses(tmp_path: Path) -> None:
    """The lease is 120 s here: a restarted server that waited it out would still be waiting
    when this test gives up (60 s)."""
    source = make_clip_file(tmp_path / "long.mp4", seconds=20, size="1280x720")
    server = LiveServer(
        tmp_path / "home", {"VODSTACK_X264_PRESET": "medium", "VODSTACK_JOB_LEASE_S": "120"}
    )
    server.start()
    try:
        asset_id = server.upload(source).json()["id"]
        deadline = time.monotonic() + 60
        while server.asset(asset_id)["status"] != "transcoding":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert server.asset(asset_id)["job"]["attempts"] == 1
        server.kill()
        server.start()
        deadline = time.monotonic() + 60
        while (job := server.asset(asset_id)["job"])["attempts"] < 2:
            assert time.monotonic() < deadline, f"the job did not restart: {job}"
            time.sleep(0.2)
        assert server.wait(asset_id, timeout=240)["status"] == "ready"
    finally:
        server.stop()
