"""Two nodes, no file copied between them: an origin and an edge with ``--workers 2``, each
with a home of its own, sharing only the catalogue and a secret store (AWS Secrets Manager,
here moto_server). The edge serves a signed stream with the signing key, dev IdP key and
origin secret the origin created; ``vodstack keys rotate`` run on the origin's machine makes
the running edge sign with the new key and keep accepting the old one until it is retired,
with no restart.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer, Viewer
from tests.fixtures.moto import MotoS3, moto_s3  # noqa: F401 - the session fixture

pytestmark = [pytest.mark.slow, pytest.mark.services]


@dataclass
class Nodes:
    origin: LiveServer
    edge: LiveServer
    asset_id: str


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory, moto_s3: MotoS3) -> Iterator[Nodes]:  # noqa: F811
    root = tmp_path_factory.mktemp("nodes")
    shared = {
        "VODSTACK_DATABASE_URL": f"sqlite:///{root / 'catalogue.db'}",
        "VODSTACK_SECRETS_URL": f"aws-sm://vodstack-e2e-{secrets.token_hex(4)}",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": moto_s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": moto_s3.access_key_id,
        "AWS_SECRET_ACCESS_KEY": moto_s3.secret_access_key,
        "AWS_DEFAULT_REGION": moto_s3.region,
        "VODSTACK_PLAYBACK_RATE_PER_S": "0",
        "VODSTACK_MINT_RATE_PER_MIN": "0",
    }
    origin = LiveServer(root / "origin-node", shared, args=["--role", "origin"])
    origin.start()
    edge = LiveServer(
        root / "edge-node",
        shared,
        args=["--role", "edge", "--origin", origin.base_url, "--workers", "2"],
    )
    try:
        clip = make_clip_file(root / "m.mp4", seconds=4, size="320x180")
        asset_id = origin.upload(clip).json()["id"]
        assert origin.wait(asset_id)["status"] == "ready"
        edge.start()
        yield Nodes(origin, edge, asset_id)
    finally:
        edge.stop()
        origin.stop()


def _key_id(viewer: Viewer) -> str:
    return viewer.client.cookies["CloudFront-Key-Pair-Id"]


def _plays(server: LiveServer, viewer: Viewer, asset_id: str) -> int:
    """Status of the manifest and a media segment, through the edge (worst of the two)."""
    base = f"{server.base_url}/v1/{asset_id}/"
    statuses = [viewer.get(base + "index.m3u8").status_code]
    playlist = viewer.get(base + "index.m3u8").text
    variant = next(line for line in playlist.splitlines() if line and not line.startswith("#"))
    media = viewer.get(base + variant)
    statuses.append(media.status_code)
    if media.status_code == 200:
        segment = next(ln for ln in media.text.splitlines() if ln and not ln.startswith("#"))
        statuses.append(viewer.get(httpx.URL(base + variant).join(segment)).status_code)
    return max(statuses)


def _eventually(check: object, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the refresh interval"
        time.sleep(0.2)


def test_the_edge_node_serves_with_secrets_from_the_shared_store(nodes: Nodes) -> None:
    viewer = nodes.edge.viewer(nodes.asset_id, "shared-viewer")
    assert _plays(nodes.edge, viewer, nodes.asset_id) == 200
    # Nothing secret was written to the edge node's disk: it all came from the store.
    secrets_dir = nodes.edge.home / "secrets"
    assert not secrets_dir.exists() or not any(secrets_dir.rglob("*"))
    assert not (nodes.origin.home / "secrets" / "keys").exists()


def test_a_rotation_on_one_node_reaches_the_running_edge(nodes: Nodes) -> None:
    before = nodes.edge.viewer(nodes.asset_id, "before-rotation")
    old_key = _key_id(before)
    pids = (nodes.origin.proc.pid, nodes.edge.proc.pid)  # type: ignore[union-attr]
    new_key = nodes.origin.cli("keys", "rotate")  # another process, on the origin's node
    assert new_key != old_key

    def edge_signs_with_new_key() -> bool:
        return _key_id(nodes.edge.viewer(nodes.asset_id, "after-rotation")) == new_key

    # Both worker processes refresh the key group (every 2 s) and load the new private key
    # from the shared store: several answers in a row are signed with the new key.
    _eventually(lambda: all(edge_signs_with_new_key() for _ in range(4)))
    after = nodes.edge.viewer(nodes.asset_id, "after-rotation")
    assert _plays(nodes.edge, after, nodes.asset_id) == 200
    assert _plays(nodes.edge, before, nodes.asset_id) == 200  # old key: still trusted
    nodes.origin.cli("keys", "retire", old_key)
    _eventually(lambda: all(_plays(nodes.edge, before, nodes.asset_id) == 403 for _ in range(4)))
    assert _plays(nodes.edge, after, nodes.asset_id) == 200
    assert (nodes.origin.proc.pid, nodes.edge.proc.pid) == pids  # type: ignore[union-attr]
    assert nodes.origin.proc.poll() is None and nodes.edge.proc.poll() is None  # type: ignore[union-attr]


def test_a_node_without_the_db_passphrase_refuses_to_start(tmp_path: Path) -> None:
    server = LiveServer(
        tmp_path / "lost",
        {"VODSTACK_SECRETS_URL": "db"},  # no passphrase: refused before serving
    )
    with pytest.raises(RuntimeError, match="VODSTACK_SECRETS_PASSPHRASE"):
        server.start()


def _edge_requests(server: LiveServer) -> float:
    """``vodstack_edge_requests_total`` summed over kinds and results, from one scrape."""
    from prometheus_client.parser import text_string_to_metric_families

    text = server.client.get("/metrics", headers=server.admin).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "vodstack_edge_requests_total"
    )


def test_metrics_of_a_multi_worker_edge_count_every_worker(nodes: Nodes) -> None:
    """Any worker's /metrics shows all workers' counters (not the half it served itself)."""
    viewer = nodes.edge.viewer(nodes.asset_id, "metrics-viewer")
    manifest = f"/v1/{nodes.asset_id}/index.m3u8"
    before = max(_edge_requests(nodes.edge) for _ in range(6))
    for _ in range(40):  # new connections: spread over both workers
        assert (
            httpx.get(
                nodes.edge.base_url + manifest, cookies=dict(viewer.client.cookies)
            ).status_code
            == 200
        )
    scrapes = [_edge_requests(nodes.edge) for _ in range(6)]
    assert min(scrapes) >= before + 40, (before, scrapes)


def _cli(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "vodstack.cli", *args],
        env={**os.environ, "VODSTACK_SERVER_WORKERS": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def _kid(jwt: str) -> str:
    head = jwt.split(".", maxsplit=1)[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]


def test_a_file_install_moves_its_secrets_into_the_shared_store(tmp_path: Path) -> None:
    catalogue = f"sqlite:///{tmp_path / 'catalogue.db'}"
    first = {"VODSTACK_HOME": str(tmp_path / "one"), "VODSTACK_DATABASE_URL": catalogue}
    key_id = _cli(first, "keys", "create")
    kid = _kid(_cli(first, "token", "viewer"))  # the dev IdP key, in one/secrets/keys
    shared = {"VODSTACK_SECRETS_URL": "db", "VODSTACK_SECRETS_PASSPHRASE": "moving day"}
    out = json.loads(_cli({**first, **shared}, "secrets", "import", "--json"))
    assert {f"key.signing-{key_id}", "key.jwt-dev"} <= set(out["imported"])
    again = json.loads(_cli({**first, **shared}, "secrets", "import", "--json"))
    assert again["imported"] == [] and set(again["already_there"]) == set(out["imported"])
    # A second node with an empty home signs with the imported keys.
    second = {"VODSTACK_HOME": str(tmp_path / "two"), "VODSTACK_DATABASE_URL": catalogue, **shared}
    assert _kid(_cli(second, "token", "viewer")) == kid
    listed = json.loads(_cli(second, "secrets", "list", "--json"))
    assert f"key.signing-{key_id}" in listed["names"]
    assert "moving day" not in json.dumps(listed)


def _origin_secret_values(origin: LiveServer) -> tuple[str, str | None]:
    """The store's origin secret and its previous value, read as the nodes read them."""
    from vodstack.config import Settings
    from vodstack.secrets import PREVIOUS, open_secret_store

    env = {
        k[len("VODSTACK_") :].lower(): v
        for k, v in origin.env.items()
        if k == "VODSTACK_SECRETS_URL"
    }
    saved = {k: os.environ.get(k) for k in origin.env if k.startswith("AWS_")}
    os.environ.update({k: v for k, v in origin.env.items() if k.startswith("AWS_")})
    try:
        store = open_secret_store(Settings(**env))
        previous = store.read("origin-secret" + PREVIOUS)
        return store.read("origin-secret").decode(), previous.decode() if previous else None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_an_origin_secret_rotation_reaches_the_running_nodes(nodes: Nodes) -> None:
    """`vodstack secrets rotate origin-secret` on one node: the origin accepts the new and the
    previous value, the edge sends the new one within seconds, nothing restarts, and after a
    second rotation the first value is refused."""
    viewer = nodes.edge.viewer(nodes.asset_id, "secret-rotation")
    manifest = f"/v1/{nodes.asset_id}/index.m3u8"
    first, _ = _origin_secret_values(nodes.origin)
    nodes.origin.cli("secrets", "rotate", "origin-secret")
    second, previous = _origin_secret_values(nodes.origin)
    assert second != first and previous == first

    def origin_answers(secret: str) -> int:
        return httpx.get(
            nodes.origin.base_url + manifest, headers={"X-Vodstack-Origin-Secret": secret}
        ).status_code

    _eventually(lambda: origin_answers(second) == 200)
    assert origin_answers(first) == 200  # the previous value: edges not yet caught up
    # Manifests live 2 s at the edge: every refetch after the rotation carries the new secret.
    for _ in range(4):
        time.sleep(2.5)
        assert _plays(nodes.edge, viewer, nodes.asset_id) == 200
    nodes.origin.cli("secrets", "rotate", "origin-secret")
    _eventually(lambda: origin_answers(first) == 403)
    time.sleep(6)  # past the edge's re-read: it sends the newest value
    assert _plays(nodes.edge, viewer, nodes.asset_id) == 200
    assert nodes.origin.proc.poll() is None and nodes.edge.proc.poll() is None  # type: ignore[union-attr]
