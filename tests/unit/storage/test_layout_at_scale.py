"""Storage that does not degrade with the catalogue's size (issue #19).

* Every object of an asset lives under ``masters/{assetId}/`` or ``packaged/{assetId}/``,
  and asset ids are random, so keys spread evenly right after the fixed top-level prefix:
  S3 splits a bucket's request-rate partitions by key range (3,500 writes and 5,500 reads
  per second each), and random ids let it split ``packaged/`` 36 ways, then 36² ways…, where
  sequential ids (timestamps, counters) would keep every new title in the hottest range.
* No request path lists objects: a listing costs one request per 1,000 keys and would grow
  with the prefix. Viewer and admin reads go from catalogue rows to exact keys; listing is
  left to maintenance (deleting an asset's prefix, cleaning partial uploads).

The request-path test runs the same requests against the local store (listing forbidden at
the ObjectStore seam) and against S3 on moto_server (wire requests recorded: no
ListObjectsV2 may go out).
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_clip_file, make_settings
from tests.fixtures.moto import MotoS3
from tests.unit.storage.support import RequestLog, all_bucket_keys

from vodstack.catalogue.repository import ASSET_ID_LENGTH, new_id
from vodstack.compose import build_server
from vodstack.compose.services import Services, build_services
from vodstack.storage.base import MASTERS, PACKAGED
from vodstack.web.app import create_app

PER_ASSET_KEY = re.compile(rf"^({MASTERS}|{PACKAGED})/[a-z0-9]{{{ASSET_ID_LENGTH}}}/")


def test_asset_ids_spread_keys_over_every_partition() -> None:
    """The character after ``packaged/`` is uniform over the 36 id characters (chi-square
    at 36,000 ids, 35 degrees of freedom: 99.9 % quantile 66.6), and so are the next two."""
    ids = [new_id() for _ in range(36_000)]
    for position in (0, 1):
        counts = Counter(i[position] for i in ids)
        assert len(counts) == 36
        expected = len(ids) / 36
        chi2 = sum((n - expected) ** 2 / expected for n in counts.values())
        assert chi2 < 66.6, (position, counts.most_common(3))
    # no two-character range holds more than its share of new titles (sequential ids would)
    pairs = Counter(i[:2] for i in ids)
    assert max(pairs.values()) < 8 * len(ids) / 36**2
    assert math.isclose(len(set(ids)), len(ids))


class NoListing:
    """An ObjectStore whose listing calls fail: what a request path must never need."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.listed: list[str] = []

    def list(self, prefix: str) -> Iterator[str]:
        self.listed.append(f"list {prefix}")
        raise AssertionError(f"listing {prefix!r} on a request path")

    def delete_prefix(self, prefix: str) -> int:
        self.listed.append(f"delete_prefix {prefix}")
        raise AssertionError(f"listing (to delete) {prefix!r} on a request path")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture(params=["local", "s3"])
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Services, Any]]:
    overrides: dict[str, Any] = {}
    if request.param == "s3":
        moto: MotoS3 = request.getfixturevalue("moto_s3")
        client = moto.client()
        bucket = f"vod-{new_id(12)}"
        client.create_bucket(Bucket=bucket)
        for name, value in {
            "AWS_ACCESS_KEY_ID": moto.access_key_id,
            "AWS_SECRET_ACCESS_KEY": moto.secret_access_key,
            "AWS_DEFAULT_REGION": moto.region,
            "VODSTACK_S3_ENDPOINT_URL": moto.endpoint_url,
        }.items():
            monkeypatch.setenv(name, value)
        overrides["storage_url"] = f"s3://{bucket}/vod"
    services = build_services(make_settings(tmp_path / "home", **overrides))
    try:
        yield services, request.param
    finally:
        services.close()


def ready_asset(services: Services, clip: Path) -> str:
    """Ingest and transcode in this process, extras (poster, storyboard) included."""
    asset_id = services.ingestor.ingest_file(clip, "layout")
    pool = services.pipeline.pool(workers=1, only_asset=asset_id)
    pool.start()
    try:
        deadline = time.monotonic() + 120
        while True:
            extras = services.catalogue.latest_job(asset_id, "extras")
            if extras is not None and extras.state in ("succeeded", "dead", "failed"):
                break
            assert time.monotonic() < deadline, services.catalogue.get_asset(asset_id).error
            time.sleep(0.1)
    finally:
        pool.stop()
    assert services.catalogue.get_asset(asset_id).status == "ready"
    return asset_id


def stored_keys(services: Services, where: str) -> list[str]:
    if where == "local":
        root = services.settings.objects_dir
        return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]
    store: Any = services.store
    return [
        k.removeprefix(store.full_key("x")[:-1])
        for k in all_bucket_keys(store.client, store.bucket)
    ]


def test_request_paths_never_list_objects(stack: tuple[Services, Any], tmp_path: Path) -> None:
    services, where = stack
    clip = make_clip_file(tmp_path / "clip.mp4", seconds=2, size="320x180")
    asset_id = ready_asset(services, clip)
    keys = stored_keys(services, where)
    assert keys and all(PER_ASSET_KEY.match(k) for k in keys), keys

    if where == "local":
        services.store = NoListing(services.store)  # type: ignore[assignment]
        wire = None
    else:
        wire = RequestLog(services.store.client)  # type: ignore[attr-defined]
    client = TestClient(create_app(build_server(services, run_workers=False)))
    admin = {"Authorization": f"Bearer {services.admin_token}"}
    services.grants.subscribe("viewer", "basic")
    assert services.dev_idp is not None
    viewer = {"Authorization": f"Bearer {services.dev_idp.mint('viewer', ttl=600)}"}

    def ok(method: str, url: str, **kw: Any) -> Any:
        r = client.request(method, url, **kw)
        assert r.status_code in (200, 202, 206), (url, r.status_code, r.text[:300])
        return r

    ok("GET", "/healthz")
    ok("GET", "/metrics", headers=admin)
    ok("GET", "/api/assets?limit=10&q=layout", headers=admin)
    detail = ok("GET", f"/api/assets/{asset_id}", headers=admin).json()
    ok("GET", "/api/operations", headers=admin)
    for picture in ("poster", "storyboard"):
        assert detail["pictures"][picture], detail["pictures"]  # the extras job made them
        ok("GET", "/" + detail["pictures"][picture].split("/", 3)[3])
    ok("GET", f"/watch/{asset_id}")
    play = ok("POST", f"/play/{asset_id}", headers=viewer).json()
    base = "/" + play["token"]["base"].split("/", 3)[3]
    master = ok("GET", f"{base}/index.m3u8").text
    ok("GET", f"{base}/index.mpd")
    playlist = next(line for line in master.splitlines() if line.endswith(".m3u8"))
    media = ok("GET", f"{base}/{playlist}").text
    tag = playlist.split("/")[0]
    ok("GET", f"{base}/{tag}/{playlist.split('/')[1].removesuffix('.m3u8')}/init.mp4")
    segment = next(line for line in media.splitlines() if line and not line.startswith("#"))
    ok("GET", f"{base}/{tag}/{segment}", headers={"Range": "bytes=0-99"})
    ok("GET", f"{base}/thumbnail.jpg?time=1&width=160")

    if wire is None:
        assert services.store.listed == []  # type: ignore[attr-defined]
    else:
        assert wire.count("ListObjectsV2") == 0 and wire.count("ListObjects") == 0
        assert wire.count("ListMultipartUploads") == 0
        assert wire.count("GetObject") + wire.count("HeadObject") > 0  # the log does see reads
