"""Listings, labels and uploads over HTTP, in-process: a JSON array per page, the next page in
``Link`` (RFC 8288) and ``X-Next-Cursor``, 400s that say what is wrong; labels set at upload
(multipart fields, tus ``Upload-Metadata``) and with ``PATCH``, returned and filterable."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_settings
from tests.unit.catalogue.test_paging import bulk_assets

from vodstack.compose import build_server
from vodstack.compose.services import Services, build_services
from vodstack.web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "admin-token-for-listing-0000"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
PUBLIC = "https://videos.example"
LINK = re.compile(r'^<([^>]+)>; rel="next"$')


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = build_services(make_settings(tmp_path / "home", admin_token=TOKEN, public_url=PUBLIC))
    yield s
    s.close()


@pytest.fixture
def client(services: Services) -> TestClient:
    return TestClient(create_app(build_server(services, run_workers=False)))


def follow(client: TestClient, url: str) -> Iterator[list[dict[str, Any]]]:
    """Pages, following the Link header as a generic RFC 8288 client would."""
    while True:
        r = client.get(url, headers=ADMIN)
        assert r.status_code == 200, r.text
        yield r.json()
        link = r.headers.get("link")
        if link is None:
            assert "x-next-cursor" not in r.headers
            return
        target = LINK.match(link)
        assert target, link
        assert target.group(1).startswith(f"{PUBLIC}/api/")  # the public base, never Host
        assert r.headers["x-next-cursor"] in target.group(1)
        url = target.group(1).removeprefix(PUBLIC)


def test_ten_thousand_assets_over_http_while_uploads_arrive(
    client: TestClient, services: Services
) -> None:
    existing = set(bulk_assets(services, 10_000))
    stop = threading.Event()

    def insert_meanwhile() -> None:
        while not stop.is_set():
            bulk_assets(services, 20, title="new")

    writer = threading.Thread(target=insert_meanwhile)
    writer.start()
    try:
        pages = list(follow(client, "/api/assets?limit=1000&status=ready&status=failed"))
    finally:
        stop.set()
        writer.join()
    ids = [a["id"] for page in pages for a in page]
    assert len(ids) == len(set(ids)) and existing <= set(ids)
    assert all(isinstance(page, list) for page in pages)  # the body stays a bare array


def test_default_page_and_headers(client: TestClient, services: Services) -> None:
    bulk_assets(services, 150)
    r = client.get("/api/assets", headers=ADMIN)
    assert len(r.json()) == 100 and "link" in r.headers
    second = client.get(f"/api/assets?cursor={r.headers['x-next-cursor']}", headers=ADMIN)
    assert len(second.json()) == 50 and "link" not in second.headers
    assert {a["id"] for a in r.json()}.isdisjoint(a["id"] for a in second.json())
    # a forged Host header never reaches the Link URL
    r = client.get("/api/assets?limit=10", headers={**ADMIN, "Host": "evil.example"})
    assert r.headers["link"].startswith(f"<{PUBLIC}/api/assets?limit=10&cursor=")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("limit=0", "limit must be a whole number from 1 to 1000"),
        ("limit=1001", "limit must be a whole number from 1 to 1000"),
        ("limit=abc", "limit must be a whole number"),
        ("cursor=bm9wZQ", "invalid cursor"),
        ("colour=red", "unknown parameter 'colour'"),
        ("status=done", "status must be one of"),
        ("sort=size", "sort must be one of"),
        ("created_after=last+week", "ISO 8601"),
        ("published=perhaps", "true or false"),
        ("metadata%5Bno+spaces%5D=x", "metadata[KEY]=VALUE"),
    ],
)
def test_bad_queries_are_400_with_the_reason(client: TestClient, query: str, reason: str) -> None:
    r = client.get(f"/api/assets?{query}", headers=ADMIN)
    assert r.status_code == 400 and reason in r.json()["error"]


def test_each_listing_pages(client: TestClient, services: Services) -> None:
    (asset_id,) = bulk_assets(services, 1)
    for i in range(5):
        client.post("/api/subscriptions", json={"subject": f"s{i}", "plan": "p"}, headers=ADMIN)
        client.post(
            "/api/licences", json={"institution": f"u{i}", "asset_id": asset_id}, headers=ADMIN
        )
        services.catalogue.add_event("asset.updated", asset_id, {})
    services.catalogue.enqueue_job(asset_id, max_attempts=3)
    for path, total in (
        ("/api/subscriptions", 5),
        ("/api/licences", 5),
        (f"/api/events?asset={asset_id}", 5),
        ("/api/jobs", 1),
    ):
        sep = "&" if "?" in path else "?"
        pages = list(follow(client, f"{path}{sep}limit=2"))
        assert sum(len(p) for p in pages) == total, path
    # the filters that existed before paging keep working
    assert [
        s["subject"] for s in client.get("/api/subscriptions?subject=s3", headers=ADMIN).json()
    ] == ["s3"]
    assert len(client.get("/api/licences?institution=u1", headers=ADMIN).json()) == 1
    job = client.get("/api/jobs", headers=ADMIN).json()[0]
    assert job["lane"] == "ondemand" and job["state"] == "queued"
    assert client.get(f"/api/jobs/{job['id']}", headers=ADMIN).json()["id"] == job["id"]
    assert client.get("/api/jobs/../x", headers=ADMIN).status_code == 404


# -- labels -----------------------------------------------------------------------------------------
def multipart(fields: dict[str, str]) -> dict[str, Any]:
    return {
        "files": {"file": ("m.mp4", b"\0\0\0\x18ftypmp42" + b"x" * 1000, "video/mp4")},
        "data": fields,
    }


def test_labels_at_multipart_upload_returned_and_filterable(client: TestClient) -> None:
    fields = {
        "title": "Pilot",
        "metadata": json.dumps({"show": "Lost", "episode": "1"}),
        "tags": "promo, hd",
        "classification": "internal",
        "owner": "ann",
        "cost_center": "cc-7",
    }
    r = client.post("/api/assets", headers=ADMIN, **multipart(fields))
    assert r.status_code == 202, r.text
    asset = client.get(f"/api/assets/{r.json()['id']}", headers=ADMIN).json()
    assert asset["metadata"] == {"episode": "1", "show": "Lost"}
    assert asset["tags"] == ["hd", "promo"]
    assert (asset["classification"], asset["owner"], asset["cost_center"]) == (
        "internal",
        "ann",
        "cc-7",
    )
    listed = client.get(
        "/api/assets?tag=promo&metadata%5Bshow%5D=Lost&owner=ann", headers=ADMIN
    ).json()
    assert [a["id"] for a in listed] == [asset["id"]] and listed[0]["tags"] == ["hd", "promo"]
    title = asset["title"]
    assert (
        client.get(f"/api/assets?q={title.upper()}", headers=ADMIN).json()[0]["id"] == asset["id"]
    )
    assert client.get("/api/assets?q=lost", headers=ADMIN).json() == []  # metadata: exact filter
    assert client.get("/api/assets?tag=sd", headers=ADMIN).json() == []


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"metadata": json.dumps({f"k{i}": "v" for i in range(51)})}, "at most 50"),
        ({"metadata": json.dumps({f"k{i}": "x" * 500 for i in range(40)})}, "at most 16384"),
        ({"metadata": "{not json"}, "JSON object"),
        ({"tags": "ok, not ok"}, "tag 'not ok'"),
        ({"owner": "x" * 300}, "longer than 255"),
    ],
)
def test_bad_labels_at_upload_create_nothing(
    client: TestClient, fields: dict[str, str], reason: str
) -> None:
    r = client.post("/api/assets", headers=ADMIN, **multipart(fields))
    assert r.status_code == 400 and reason in r.json()["error"]
    assert client.get("/api/assets", headers=ADMIN).json() == []


def tus_metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def test_labels_through_tus_upload_metadata(client: TestClient) -> None:
    body = b"\0\0\0\x18ftypmp42" + b"y" * 500
    tus = {**ADMIN, "Tus-Resumable": "1.0.0"}
    bad = tus_metadata(filename="a.mp4", metadata=json.dumps({"bad key": "v"}))
    r = client.post(
        "/api/uploads", headers={**tus, "Upload-Length": str(len(body)), "Upload-Metadata": bad}
    )
    assert r.status_code == 400 and "metadata key" in r.json()["error"]  # before any byte
    meta = tus_metadata(
        filename="b.mp4",
        title="Via tus",
        metadata=json.dumps({"lang": "fr"}),
        tags="a,b",
        owner="zoe",
    )
    r = client.post(
        "/api/uploads", headers={**tus, "Upload-Length": str(len(body)), "Upload-Metadata": meta}
    )
    assert r.status_code == 201
    r = client.patch(
        r.headers["location"],
        content=body,
        headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    asset = client.get(f"/api/assets/{r.headers['vodstack-asset-id']}", headers=ADMIN).json()
    assert (asset["title"], asset["metadata"], asset["tags"], asset["owner"]) == (
        "Via tus",
        {"lang": "fr"},
        ["a", "b"],
        "zoe",
    )


def test_patch_merges_and_refuses_oversize(client: TestClient) -> None:
    r = client.post("/api/assets", headers=ADMIN, **multipart({"metadata": '{"a": "1", "b": "2"}'}))
    url = f"/api/assets/{r.json()['id']}"
    r = client.patch(
        url,
        json={"title": "Renamed", "metadata": {"a": None, "c": "3"}, "tags": ["x"], "owner": "ann"},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["title"], got["metadata"], got["tags"], got["owner"]) == (
        "Renamed",
        {"b": "2", "c": "3"},
        ["x"],
        "ann",
    )
    got = client.patch(url, json={"owner": None}, headers=ADMIN).json()
    assert got["owner"] is None and got["tags"] == ["x"] and got["title"] == "Renamed"
    r = client.patch(url, json={"metadata": {f"n{i}": "v" for i in range(49)}}, headers=ADMIN)
    assert r.status_code == 400 and "51 keys" in r.json()["error"]
    r = client.patch(url, json={"metadata": {"k": "x" * 513}}, headers=ADMIN)
    assert r.status_code == 400 and "longer than 512" in r.json()["error"]
    r = client.patch(url, json={"title": "   "}, headers=ADMIN)
    assert r.status_code == 400
    r = client.patch(url, json={"colour": "red"}, headers=ADMIN)
    assert r.status_code == 422
    assert client.get(url, headers=ADMIN).json()["metadata"] == {"b": "2", "c": "3"}  # unchanged
    assert (
        client.patch("/api/assets/" + "z" * 20, json={"tags": []}, headers=ADMIN).status_code == 404
    )
    audit = client.get(f"/api/events?asset={got['id']}&type=asset.updated", headers=ADMIN).json()
    assert audit[-1]["payload"]["action"] == "labels"
    assert audit[-1]["payload"]["fields"] == ["metadata", "owner", "tags", "title"]
