"""The rest of the remote CLI against a `vodstack serve` on another port (issue 18): playback
policy, protection, access rules, re-key, purge of a retained master, catalogue-wide
re-transcode and operations, the dead-letter queue (re-drive, re-send), the event log,
entitlement --show/--revoke, API keys and signing keys. Each command runs in a process with
its own empty home, so every effect checked here happened on the server, over the API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import ADMIN_TOKEN, LiveServer
from tests.e2e.test_remote_cli import vodstack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, Path]]:
    root = tmp_path_factory.mktemp("remote-admin")
    server = LiveServer(root / "home", {"VODSTACK_JOB_MAX_ATTEMPTS": "1"})
    server.start()
    clip = make_clip_file(root / "clip.mp4", seconds=2, size="160x90")
    asset_id = server.upload(clip, title="remote admin").json()["id"]
    assert server.wait(asset_id)["status"] == "ready"
    yield server, asset_id, root
    server.stop()


class Remote:
    """`vodstack --url SERVER --api-key KEY …` from a home that has no catalogue of its own."""

    def __init__(self, server: LiveServer, home: Path, key: str = ADMIN_TOKEN) -> None:
        self.args = ("--url", server.base_url, "--api-key", key)
        self.home = home

    def run(self, *args: str) -> Any:
        return vodstack(self.home, *self.args, *args)

    def __call__(self, *args: str) -> str:
        proc = self.run(*args)
        assert proc.returncode == 0, f"vodstack {' '.join(args)}: {proc.stderr[-2000:]}"
        return str(proc.stdout)

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json"))


def _get(server: LiveServer, path: str) -> Any:
    r = server.client.get(path, headers=server.admin)
    r.raise_for_status()
    return r.json()


def test_asset_commands_change_the_server(
    served: tuple[LiveServer, str, Path], tmp_path: Path
) -> None:
    server, asset_id, _ = served
    cli = Remote(server, tmp_path / "cli-home")

    public = cli.json("assets", "policy", asset_id, "public")
    assert server.asset(asset_id)["playback_policy"] == "public"
    assert public["playback"]["hls"].startswith(f"http://127.0.0.1:{server.port}/v1/")
    assert f"{asset_id} playback signed" in cli("assets", "policy", asset_id, "signed")

    protected = cli("assets", "protect", asset_id, "aes-128")
    assert protected.strip() == f"{asset_id} protection: aes-128 (hls: aes-128, dash: not offered)"
    assert server.asset(asset_id)["drm"] == "aes-128"
    rekeyed = cli.json("assets", "rekey", asset_id)
    assert rekeyed["id"] == asset_id and rekeyed["generations"]
    assert "protection: clear" in cli("assets", "protect", asset_id, "clear")

    assert "access updated" in cli(
        "assets", "access", asset_id, "--plans", "premium", "--geo-deny", "fr"
    )
    rules = _get(server, f"/api/assets/{asset_id}/access")
    assert rules == {"plans": ["premium"], "geo_allow": None, "geo_deny": ["FR"]}
    shown = cli("assets", "access", asset_id)
    assert shown.strip() == f"{asset_id}  plans: premium  geo allow: all  geo deny: FR"

    events = cli.json("events", "--asset", asset_id, "--type", "asset.updated", "--all")
    actions = [e["payload"].get("action") for e in events]
    assert {"playback", "protection", "rekey", "access"} <= set(actions), actions
    assert "asset.updated" in cli("events", "--asset", asset_id, "--limit", "2")

    # Catalogue-wide re-transcode: the server drives the operation; the CLI says what it queued.
    started = cli("assets", "retranscode", "--all")
    op_id = started.split()[1]
    assert "1 assets" in started and f"operations show {op_id}" in started
    assert op_id in cli("operations", "list")
    done = cli.json("operations", "show", op_id, "--watch")
    assert done["state"] == "succeeded" and done["done"] == 1, done
    assert _get(server, f"/api/operations/{op_id}")["state"] == "succeeded"
    server.wait(asset_id)
    publish = cli.json("operations", "publish", "--status", "ready")
    assert publish["kind"] == "publish" and publish["state"] == "succeeded"
    assert server.asset(asset_id)["published"] is True

    # Delete keeps the master; purging it asks, or needs --yes; then it is gone for good.
    cli("assets", "delete", asset_id)
    asked = cli.run("assets", "purge-master", asset_id)  # stdin is not a terminal
    assert asked.returncode == 2 and "add --yes" in asked.stderr
    assert _get(server, f"/api/assets/{asset_id}/master")["size"] > 0
    purged = cli.json("assets", "purge-master", asset_id, "--yes")
    assert purged["purged"] is True and purged["size"] > 0
    gone = server.client.get(f"/api/assets/{asset_id}/master", headers=server.admin)
    assert gone.status_code == 404


def _dead_job(server: LiveServer, root: Path) -> dict[str, Any]:
    good = make_clip_file(
        root / "good.mp4", seconds=2, size="160x90", extra=["-movflags", "+faststart"]
    )
    data = good.read_bytes()
    corrupt = root / "corrupt.mp4"
    corrupt.write_bytes(data[: len(data) // 2])  # index intact, half the media missing
    asset_id = server.upload(corrupt).json()["id"]
    deadline = time.monotonic() + 120
    while True:
        jobs = _get(server, f"/api/jobs?asset={asset_id}&state=dead")
        if jobs:
            return dict(jobs[0])
        assert time.monotonic() < deadline, _get(server, f"/api/jobs?asset={asset_id}")
        time.sleep(0.3)


def test_jobs_entitlement_and_keys_over_the_api(
    served: tuple[LiveServer, str, Path], tmp_path: Path
) -> None:
    server, _, root = served
    cli = Remote(server, tmp_path / "cli-home")
    dead = _dead_job(server, root)

    listed = cli.json("jobs", "dead")
    assert [(j["id"], j["queue"], j["state"]) for j in listed] == [(dead["id"], "ondemand", "dead")]
    assert dead["id"] in cli("jobs", "dead")  # piped: plain columns, the whole id
    out = cli("jobs", "redrive", dead["id"])
    assert out.strip() == f"{dead['id']} queued (ondemand)"
    redriven = _get(server, f"/api/events?asset={dead['asset_id']}&type=job.redriven")
    assert redriven and redriven[0]["payload"]["job_id"] == dead["id"]
    good = server.upload(root / "good.mp4").json()["id"]
    succeeded = server.wait(good)["job"]["id"]
    again = cli.run("jobs", "redrive", succeeded)  # not dead: the server's 409, in one line
    assert again.returncode == 1 and "dead-letter queue" in again.stderr, again.stderr
    assert "(409)" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert cli.json("jobs", "resend")["resent"] is not None
    for _ in range(600):  # the corrupt master dies again: --all re-drives it
        if cli.json("jobs", "dead"):
            break
        time.sleep(0.2)
    report = cli.json("jobs", "redrive", "--all")
    assert [j["id"] for j in report["redriven"]] == [dead["id"]] and report["skipped"] == {}

    # entitle --show and --revoke: cancelled (kept), not deleted; licences removed.
    cli("entitle", "alice", "--plan", "basic")
    cli("entitle", "alice", "--plan", "premium")
    assert cli("entitle", "alice", "--revoke", "--plan", "basic").strip() == (
        "1 subscription(s) cancelled"
    )
    subs = {s["plan"]: s["cancelled"] for s in _get(server, "/api/subscriptions?subject=alice")}
    assert subs == {"basic": True, "premium": False}
    shown = json.loads(cli("entitle", "alice", "--show"))
    assert sorted((s["plan"], s["cancelled"]) for s in shown["subscriptions"]) == [
        ("basic", True),
        ("premium", False),
    ]
    cli("entitle", "Uni Example", "--licence")
    assert cli("entitle", "Uni Example", "--licence", "--revoke").strip() == "1 licence(s) removed"
    assert _get(server, "/api/licences?institution=Uni%20Example") == []

    # API keys and signing keys.
    created = cli.json("api-keys", "create", "ci", "--scope", "read,upload")
    assert created["token"].startswith("vsk_") and created["scopes"] == ["read", "upload"]
    assert created["id"] in cli("api-keys", "list")
    assert cli.json("api-keys", "revoke", created["id"])["revoked_at"]
    reader = Remote(server, tmp_path / "cli-home", created["token"])
    assert reader.run("assets", "list").returncode == 1  # revoked: refused by the server
    before = {k["key_id"] for k in cli.json("keys", "list")}
    new = cli("keys", "rotate").strip()
    assert new not in before
    statuses = {k["key_id"]: k["status"] for k in _get(server, "/api/keys")}
    assert statuses[new] == "active"
    old = next(iter(before))
    assert cli.json("keys", "retire", old)["status"] == "retired"
    assert {k["key_id"]: k["status"] for k in _get(server, "/api/keys")}[old] == "retired"

    generated = cli.json("keys", "create")["key_id"]
    assert {k["key_id"]: k["status"] for k in _get(server, "/api/keys")}[generated] == "trusted"
    assert cli.json("keys", "activate", generated)["status"] == "active"
    copied = cli.json("keys", "copy", generated, "--as", "CFCOPY1", "--activate")["key_id"]
    statuses = {k["key_id"]: k["status"] for k in _get(server, "/api/keys")}
    assert copied == "CFCOPY1" and statuses[copied] == "active"
    assert statuses[generated] == "trusted"  # the copy signs now; the original still verifies
    missing = cli.run("keys", "activate", "NOSUCHKEY")
    assert missing.returncode == 1 and "no key NOSUCHKEY" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
