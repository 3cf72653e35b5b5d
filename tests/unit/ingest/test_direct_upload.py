"""Direct uploads through the in-process app: one-time, expiring tus URLs usable with no key,
limited in size, making exactly one asset with the server side's title, ladder and metadata;
reused, expired, cancelled and foreign-origin uses refused with clear 4xx."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from tests.conftest import make_settings
from tests.fixtures.databases import postgres_available, postgres_database

from vodstack.catalogue.ingests import DirectUpload, Ingests
from vodstack.compose import build_server
from vodstack.compose.services import Services, build_services
from vodstack.errors import UploadRejected
from vodstack.ingest.direct import DirectRequest, DirectUploads, redact
from vodstack.web.app import create_app

ADMIN = {"Authorization": "Bearer direct-admin"}
TUS = {"Tus-Resumable": "1.0.0"}
PAGE = "http://app.example:8080"
DATA = b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 20  # 5 KiB, not a real video


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = build_services(
        make_settings(
            tmp_path / "home",
            admin_token="direct-admin",
            direct_upload_cors_origins=(PAGE, "https://other.example"),
            public_url="https://vod.example",
            ladders={"mobile": [{"height": 144, "maxrate_kbps": 200}]},
        )
    )
    yield s
    s.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(build_server(services, run_workers=False))) as c:
        yield c


def create(client: TestClient, **body: object) -> dict:
    r = client.post("/api/uploads/direct", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    return r.json()


def path_of(url: str) -> str:
    assert url.startswith("https://vod.example/direct-uploads/")
    return url.removeprefix("https://vod.example")


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def begin(
    client: TestClient, path: str, length: int = len(DATA), headers: dict | None = None
) -> httpx.Response:
    return client.post(path, headers={**TUS, "Upload-Length": str(length), **(headers or {})})


def patch(client: TestClient, path: str, offset: int, chunk: bytes) -> httpx.Response:
    return client.patch(
        path,
        content=chunk,
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )


def test_one_url_one_upload_one_asset_with_the_server_side_choices(
    services: Services, client: TestClient
) -> None:
    made = create(
        client,
        title="Lecture 7",
        metadata={"course": "cs101", "owner": "alice"},
        max_bytes=10_000,
        ladder="mobile",
    )
    assert made["status"] == "waiting" and made["max_bytes"] == 10_000
    path = path_of(made["url"])
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43
    # the token exists nowhere on the server side: only its digest
    row = Ingests(services.db).direct(made["id"])
    assert token not in (row.token_hash, row.id)
    assert token not in str([e.payload for e in services.catalogue.events()])

    r = begin(client, path, headers={"Upload-Metadata": meta(filename="talk.mp4", title="Pwned")})
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == made["url"]  # the same URL takes HEAD and PATCH
    assert "Upload-Expires" in r.headers
    half = len(DATA) // 2
    assert patch(client, path, 0, DATA[:half]).status_code == 204
    head = client.head(path, headers=TUS)
    assert head.headers["Upload-Offset"] == str(half)
    assert head.headers["Upload-Length"] == str(len(DATA))
    assert patch(client, path, 1, b"x").status_code == 409  # a wrong offset
    done = patch(client, path, half, DATA[half:])
    assert done.status_code == 204
    asset_id = done.headers["Vodstack-Asset-Id"]

    asset = services.catalogue.get_asset(asset_id)
    assert asset.title == "Lecture 7"  # the server's title, not the uploader's
    assert asset.ladder == "mobile"
    assert asset.source_name == "talk.mp4"
    with services.store.open(asset.source_key) as fh:
        assert fh.read() == DATA
    status = client.get(f"/api/uploads/direct/{made['id']}", headers=ADMIN).json()
    assert status["status"] == "complete" and status["asset_id"] == asset_id
    assert status["url"] is None  # shown once
    assert status["offset"] == status["length"] == len(DATA)
    created = services.catalogue.events(asset_id, types=["asset.created"])[0].payload
    assert created["source"] == "direct"
    assert created["direct_upload_id"] == made["id"]
    assert created["metadata"] == {"course": "cs101", "owner": "alice"}

    # reused: a second creation, a PATCH after the end → 409; one asset only
    again = begin(client, path)
    assert again.status_code == 409 and "already used" in again.json()["error"]
    assert patch(client, path, len(DATA), b"x").status_code == 409
    assert [a.id for a in services.catalogue.list_assets()] == [asset_id]
    r = client.delete(f"/api/uploads/direct/{made['id']}", headers=ADMIN)
    assert r.status_code == 409 and asset_id in r.json()["error"]


def test_an_expired_url_is_gone_and_makes_nothing(services: Services, client: TestClient) -> None:
    made = create(client, expires_in_s=0.3)
    time.sleep(0.4)
    path = path_of(made["url"])
    r = begin(client, path)
    assert r.status_code == 410 and "expired" in r.json()["error"]
    assert client.head(path, headers=TUS).status_code == 410
    assert patch(client, path, 0, DATA).status_code == 410
    status = client.get(f"/api/uploads/direct/{made['id']}", headers=ADMIN).json()
    assert status["status"] == "expired"
    assert services.catalogue.list_assets() == []
    assert list((services.settings.home / "uploads").glob("*.part")) == []


def test_size_limits(services: Services, client: TestClient) -> None:
    made = create(client, max_bytes=1000)
    path = path_of(made["url"])
    r = begin(client, path, length=1001)
    assert r.status_code == 413 and "at most 1000 bytes" in r.json()["error"]
    assert begin(client, path, length=0).status_code == 400
    # a refused creation does not spend the URL
    assert begin(client, path, length=10).status_code == 201
    assert patch(client, path, 0, b"y" * 11).status_code == 400  # over its Upload-Length
    over = client.post("/api/uploads/direct", json={"max_bytes": 10**15}, headers=ADMIN)
    assert over.status_code == 400 and "over the server's limit" in over.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"cors_origin": "https://evil.example"}, "is not one of"),
        ({"ladder": "nope"}, "no ladder"),
        ({"metadata": {"k": "v" * 2000}}, "over 1000"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "at most 50"),
        ({"expires_in_s": 10**9}, "expires_in_s"),
    ],
)
def test_bad_admin_requests_create_nothing(
    services: Services, client: TestClient, body: dict, message: str
) -> None:
    r = client.post("/api/uploads/direct", json=body, headers=ADMIN)
    assert r.status_code in (400, 422), r.text
    assert message in r.text
    assert Ingests(services.db).direct_by_token("x") is None


def test_keys_and_tokens(client: TestClient) -> None:
    assert client.post("/api/uploads/direct", json={}).status_code == 401
    assert begin(client, "/direct-uploads/" + "A" * 43).status_code == 404
    assert begin(client, "/direct-uploads/" + "A" * 500).status_code == 404
    made = create(client)
    assert (
        begin(client, path_of(made["url"]), headers={"Tus-Resumable": "0.2.2"}).status_code == 412
    )


def test_cancelled_urls_answer_410_and_drop_their_bytes(
    services: Services, client: TestClient
) -> None:
    waiting = create(client)
    r = client.delete(f"/api/uploads/direct/{waiting['id']}", headers=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert begin(client, path_of(waiting["url"])).status_code == 410

    started = create(client)
    path = path_of(started["url"])
    assert begin(client, path).status_code == 201
    assert patch(client, path, 0, DATA[:100]).status_code == 204
    assert client.delete(path, headers=TUS).status_code == 204  # the uploader gives up
    assert patch(client, path, 100, DATA[100:]).status_code == 410
    assert list((services.settings.home / "uploads").glob("*.part")) == []
    assert services.catalogue.list_assets() == []
    types = [e.type for e in services.catalogue.events()]
    assert types.count("direct_upload.cancelled") == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_creations_make_exactly_one_upload(tmp_path: Path, backend: str) -> None:
    with ExitStack() as stack:
        extra = {}
        if backend == "postgresql":
            if not postgres_available():
                pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (it runs in CI)")
            extra["database_url"] = stack.enter_context(postgres_database())
        services = build_services(make_settings(tmp_path / "home", **extra))
        stack.callback(services.close)
        _race(services)


def _race(services: Services) -> None:
    uploads = DirectUploads(
        services.settings, Ingests(services.db), services.ingestor, services.bus
    )
    _, token = uploads.create(DirectRequest())
    results: list[str] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        try:
            uploads.start(token, 10, None)
            results.append("created")
        except UploadRejected as exc:
            results.append(str(exc.status))

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["409"] * 7 + ["created"]
    assert len(list((services.settings.home / "uploads").glob("*.part"))) == 1


def test_cors_for_listed_origins_only(client: TestClient) -> None:
    made = create(client)
    path = path_of(made["url"])
    preflight = {"Origin": PAGE, "Access-Control-Request-Method": "PATCH"}
    r = client.options(path, headers=preflight)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == PAGE
    assert "PATCH" in r.headers["Access-Control-Allow-Methods"]
    assert "Upload-Offset" in r.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in r.headers
    evil = client.options(path, headers={**preflight, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    r = begin(client, path, headers={"Origin": PAGE})
    assert r.headers["Access-Control-Allow-Origin"] == PAGE
    assert "Location" in r.headers["Access-Control-Expose-Headers"]
    # the admin API is never opened to another origin
    r = client.post("/api/uploads/direct", json={}, headers={**ADMIN, "Origin": PAGE})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_a_url_bound_to_one_origin_refuses_pages_of_another(client: TestClient) -> None:
    made = create(client, cors_origin=PAGE)
    path = path_of(made["url"])
    r = begin(client, path, headers={"Origin": "https://other.example"})
    assert r.status_code == 403 and PAGE in r.json()["error"]
    assert r.headers["Access-Control-Allow-Origin"] == "https://other.example"  # readable
    assert begin(client, path, headers={"Origin": PAGE}).status_code == 201


def test_tokens_never_reach_logs() -> None:
    assert redact("/direct-uploads/SECRET") == "/direct-uploads/-"
    assert redact("/direct-uploads/SECRET/x") == "/direct-uploads/-/x"
    assert redact("/api/uploads/direct/abc") == "/api/uploads/direct/abc"


def test_expired_state_is_computed(services: Services) -> None:
    from datetime import timedelta

    from vodstack.catalogue.models import utcnow

    row = DirectUpload(status="waiting", expires_at=utcnow() - timedelta(seconds=1))
    assert row.state() == "expired"
    row.status = "uploading"
    assert row.state() == "uploading"
