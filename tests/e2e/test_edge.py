"""The edge tier through real server processes: TTLs, collapsing, purge, split roles, origin
secret, failover, stale-if-error, TLS, access log and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import re
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer, free_port

pytestmark = pytest.mark.slow


def metric(server: LiveServer, name: str, labels: str = "") -> float:
    text = server.metrics()
    pattern = re.escape(name) + (re.escape("{" + labels + "}") if labels else "") + r" (\S+)$"
    match = re.search("^" + pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture(scope="module")
def edge_env(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("edge")
    server = LiveServer(home / "home", {"VODSTACK_ACCESS_LOG": str(home / "access.log")})
    server.start()
    source = make_clip_file(home / "m.mp4", seconds=8, size="320x180")
    asset_id = server.upload(source).json()["id"]
    assert server.wait(asset_id)["status"] == "ready"
    viewer = server.viewer(asset_id)
    yield server, asset_id, viewer, home
    server.stop()


def result(r: httpx.Response) -> str:
    return r.headers["x-edge-result-type"]


def test_manifests_expire_quickly_segments_do_not(edge_env) -> None:
    server, a, viewer, _ = edge_env
    first = viewer.get(f"/v1/{a}/index.m3u8")
    assert first.headers["cache-control"] == "public, max-age=2"
    assert result(viewer.get(f"/v1/{a}/index.m3u8")) == "Hit"
    seg = viewer.get(f"/v1/{a}/r1-4s/v144/1.m4s")
    assert seg.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert result(viewer.get(f"/v1/{a}/r1-4s/v144/1.m4s")) == "Hit"
    time.sleep(2.3)
    # the manifest's edge TTL ran out: revalidated with the origin (same ETag → RefreshHit)
    assert result(viewer.get(f"/v1/{a}/index.m3u8")) in ("RefreshHit", "Miss")
    assert result(viewer.get(f"/v1/{a}/r1-4s/v144/1.m4s")) == "Hit"


def test_hundred_concurrent_misses_make_one_origin_fetch(edge_env) -> None:
    server, a, viewer, _ = edge_env
    url = f"{server.base_url}/v1/{a}/r1-4s/v180/2.m4s"
    cookies = dict(viewer.client.cookies)
    before = metric(server, "vodstack_origin_requests_total", 'kind="segment"')

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            cookies=cookies, timeout=30, limits=httpx.Limits(max_connections=100)
        ) as client:
            return await asyncio.gather(*(client.get(url) for _ in range(100)))

    answers = asyncio.run(burst())
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1
    assert metric(server, "vodstack_origin_requests_total", 'kind="segment"') - before == 1


def test_manifests_are_compressed_when_accepted(edge_env) -> None:
    _, a, viewer, _ = edge_env
    plain = viewer.get(f"/v1/{a}/index.mpd", headers={"Accept-Encoding": "identity"})
    zipped = viewer.get(f"/v1/{a}/index.mpd", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.text == plain.text  # httpx inflates it
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    seg = viewer.get(f"/v1/{a}/r1-4s/v144/1.m4s", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in seg.headers
    # what browsers send: brotli wins, smaller still, its own ETag
    br = viewer.get(f"/v1/{a}/index.mpd", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["content-encoding"] == "br"
    assert br.text == plain.text  # httpx decodes brotli (the brotli package is installed)
    assert int(br.headers["content-length"]) <= int(zipped.headers["content-length"])
    assert len({plain.headers["etag"], zipped.headers["etag"], br.headers["etag"]}) == 3


def test_range_on_a_cached_segment(edge_env) -> None:
    _, a, viewer, _ = edge_env
    whole = viewer.get(f"/v1/{a}/r1-4s/a0/1.m4s").content
    part = viewer.get(f"/v1/{a}/r1-4s/a0/1.m4s", headers={"Range": "bytes=10-99"})
    assert part.status_code == 206
    assert part.content == whole[10:100]


def test_access_log_and_metrics(edge_env) -> None:
    server, a, viewer, home = edge_env
    viewer.get(f"/v1/{a}/r1-4s/v144/1.m4s")
    server.client.get(f"/v1/{a}/index.m3u8")  # unsigned: 403
    time.sleep(0.2)
    lines = [json.loads(line) for line in (home / "access.log").read_text().splitlines()]
    hits = [x for x in lines if x["path"].endswith("/r1-4s/v144/1.m4s") and x["status"] == 200]
    assert hits
    assert hits[-1]["x-edge-result-type"] == "Hit"
    assert hits[-1]["asset"] == a
    assert hits[-1]["bytes"] > 0
    assert any(x["status"] == 403 for x in lines)
    assert metric(server, "vodstack_edge_requests_total", 'kind="segment",result="Hit"') > 0
    assert metric(server, "vodstack_edge_cache_hit_ratio") > 0
    assert metric(server, "vodstack_edge_cache_bytes", 'tier="disk"') > 0
    assert metric(server, "vodstack_gate_denied_total", 'reason="missing"') > 0
    stats = server.cli("stats", "--url", server.base_url)
    assert "hit ratio" in stats
    assert "403" in stats


def test_unpublish_purges_every_cached_object(edge_env, tmp_path) -> None:
    server, _, _, home = edge_env
    source = make_clip_file(tmp_path / "p.mp4", seconds=4, size="160x90")
    a = server.upload(source).json()["id"]
    assert server.wait(a)["status"] == "ready"
    viewer = server.viewer(a, "purge-viewer")
    assert viewer.get(f"/v1/{a}/index.m3u8").status_code == 200
    assert result(viewer.get(f"/v1/{a}/index.m3u8")) == "Hit"
    assert result(viewer.get(f"/v1/{a}/r1-4s/v90/1.m4s")) in ("Miss", "Hit")
    server.cli("assets", "unpublish", a)  # another process: reaches the edge via the event log
    # every edge process follows the event log once a second: all objects go within ~1 s
    deadline = time.monotonic() + 3
    paths = (f"/v1/{a}/index.m3u8", f"/v1/{a}/r1-4s/v90/1.m4s")
    while any(viewer.get(p).status_code != 404 for p in paths):
        assert time.monotonic() < deadline, "asset still served after unpublish"
        time.sleep(0.1)


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def tls_server(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[LiveServer, ssl.SSLContext]]:
    """A server on ``https://`` with a self-signed certificate, and a context that trusts it."""
    cert, key = self_signed(tmp_path)
    server = LiveServer(
        tmp_path / "home",
        env,
        args=["--tls-cert", str(cert), "--tls-key", str(key)],
        scheme="https",
    )
    server.start()
    try:
        yield server, ssl.create_default_context(cafile=str(cert))
    finally:
        server.stop()


def test_https_with_secure_cookies_and_hsts(tmp_path) -> None:
    with tls_server(tmp_path, {"VODSTACK_HSTS": "true"}) as (server, verify):
        a = server.upload(make_clip_file(tmp_path / "m.mp4", seconds=2, size="160x90")).json()["id"]
        assert server.wait(a)["status"] == "ready"
        server.subscribe("tls")
        client = httpx.Client(base_url=server.base_url, verify=verify)
        r = client.post(f"/play/{a}", headers={"Authorization": f"Bearer {server.token('tls')}"})
        assert r.status_code == 200
        assert r.json()["hls"].startswith("https://127.0.0.1:")
        assert all("secure" in c.lower() for c in r.headers.get_list("set-cookie"))
        seg = client.get(f"/v1/{a}/r1-4s/v90/1.m4s")
        assert seg.status_code == 200
        assert seg.headers["strict-transport-security"] == "max-age=31536000"


def test_http2_bodies_are_still_limited_and_refusals_answered(tmp_path) -> None:
    """Over TLS the server speaks HTTP/2 (ALPN). A body sent as DATA frames with no
    Content-Length is still counted and cut at its route class's limit (web/bodylimit.py),
    and a form refused before its body is read is answered without a Connection header
    (HTTP/2 forbids it; that answer adds one on HTTP/1 only)."""
    with (
        tls_server(tmp_path, {"VODSTACK_MAX_PUBLIC_BODY_BYTES": "65536"}) as (server, verify),
        httpx.Client(base_url=server.base_url, verify=verify, http2=True) as client,
    ):
        r = client.post(
            "/api/beacons",
            content=(b"[" * 4096 for _ in range(64)),  # 256 KB, no Content-Length
            headers={"Content-Type": "application/json"},
        )
        assert r.http_version == "HTTP/2"
        assert r.status_code == 413, r.text
        r = client.post(
            "/api/assets",
            files={"file": ("A" * 5000 + ".mp4", b"x" * 200_000, "video/mp4")},
            headers=server.admin,
        )
        assert r.status_code == 400, r.text
        assert "connection" not in r.headers
        assert client.get("/healthz").status_code == 200


def test_split_roles_shared_origin_secret_failover_and_stale(tmp_path) -> None:
    """One origin (the shield) behind two edges; then the origin group fails over."""
    home = tmp_path / "home"
    primary = LiveServer(
        home, {"VODSTACK_ORIGIN_SECRETS": '["s-new", "s-old"]'}, args=["--role", "origin"]
    )
    primary.start()
    secondary = LiveServer(
        home,
        {"VODSTACK_ORIGIN_SECRETS": '["s-new", "s-old"]', "VODSTACK_WORKERS": "1"},
        args=["--role", "origin"],
    )
    edges: list[LiveServer] = []
    try:
        a = primary.upload(make_clip_file(tmp_path / "m.mp4", seconds=8, size="320x180")).json()[
            "id"
        ]
        assert primary.wait(a)["status"] == "ready"
        # the origin answers only its edges
        seg_path = f"/v1/{a}/r1-4s/v144/1.m4s"
        assert primary.client.get(seg_path).status_code == 403
        assert (
            primary.client.get(seg_path, headers={"X-Vodstack-Origin-Secret": "x"}).status_code
            == 403
        )
        for secret in ("s-new", "s-old"):  # both valid during a rotation
            assert (
                primary.client.get(
                    seg_path, headers={"X-Vodstack-Origin-Secret": secret}
                ).status_code
                == 200
            )
        secondary.start()
        for _ in range(2):
            port = free_port()
            edge = LiveServer(
                home,
                {
                    "VODSTACK_PUBLIC_URL": f"http://127.0.0.1:{port}",
                    "VODSTACK_ORIGIN_SECRETS": '["s-old"]',
                },
                args=[
                    "--role",
                    "edge",
                    "--origin",
                    primary.base_url,
                    "--origin",
                    secondary.base_url,
                ],
            )
            edge.port, edge.base_url = port, f"http://127.0.0.1:{port}"
            edge.client = httpx.Client(base_url=edge.base_url, timeout=30)
            edge.start()
            edges.append(edge)
        viewers = [edge.viewer(a, f"v{i}") for i, edge in enumerate(edges)]
        for v in viewers:
            assert v.get(seg_path).status_code == 200
            assert v.get(f"/v1/{a}/index.m3u8").status_code == 200
        assert result(viewers[0].get(seg_path)) == "Hit"
        # primary dies mid-playback: cached objects keep playing, new ones fail over
        primary.kill()
        assert result(viewers[0].get(seg_path)) == "Hit"
        fresh = viewers[0].get(f"/v1/{a}/r1-4s/v180/2.m4s")
        assert fresh.status_code == 200
        assert metric(edges[0], "vodstack_origin_failover_total", 'origin="0"') >= 1
        # the whole origin group down: an expired manifest is served stale (stale-if-error)
        secondary.kill()
        time.sleep(2.3)
        stale = viewers[1].get(f"/v1/{a}/index.m3u8")
        assert stale.status_code == 200
        assert result(stale) == "StaleHit"
        uncached = viewers[1].get(f"/v1/{a}/r1-4s/v180/1.m4s")
        assert uncached.status_code == 502
        assert uncached.json() == {"error": "the origin is unavailable"}
    finally:
        for server in [*edges, secondary, primary]:
            server.stop()
