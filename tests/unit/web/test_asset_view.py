"""One asset view, two renderings: ``GET /api/assets/{id}`` and the CLI's ``asset_dict`` say
the same about the same asset (playback URLs from the one ``playback_urls``, renditions, job),
before and after it is playable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import make_settings

from vodstack.catalogue.models import Rendition
from vodstack.cli.common import asset_dict
from vodstack.compose.server import build_server
from vodstack.compose.services import Services, build_services
from vodstack.packaging.layout import asset_prefix, asset_url, playback_urls
from vodstack.web.app import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "admin-token-for-asset-views-0"
ASSET = "b" * 20
BASE = "https://vod.example"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = build_services(make_settings(tmp_path / "home", admin_token=TOKEN, public_url=BASE))
    s.catalogue.create_asset(ASSET, title="t", source_key="k", source_name="n", source_size=1)
    yield s
    s.close()


def _rendition(track: str, height: int) -> Rendition:
    return Rendition(
        track_id=track,
        kind="video",
        codec="avc1.64001f",
        width=height * 16 // 9,
        height=height,
        bitrate_avg=height * 1000,
        bitrate_peak=height * 1500,
        timescale=15360,
        init_size=800,
        file_key=f"k/{track}.mp4",
        file_size=1000,
        duration=4.0,
        fragments=[[800, 100, 0, 30720, 0, 60, 1, 900]],
    )


def test_the_url_layout_spells_playback_urls() -> None:
    assert asset_prefix(ASSET) == f"/v1/{ASSET}/"
    assert asset_url(BASE, ASSET) == f"{BASE}/v1/{ASSET}"
    urls = playback_urls(f"{BASE}/v1/{ASSET}/t/tok")
    assert (urls.hls, urls.dash) == (
        f"{BASE}/v1/{ASSET}/t/tok/index.m3u8",
        f"{BASE}/v1/{ASSET}/t/tok/index.mpd",
    )


def test_api_and_cli_render_the_same_view(services: Services) -> None:
    client = TestClient(create_app(build_server(services, run_workers=False)))
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def both() -> tuple[dict, dict]:
        api = client.get(f"/api/assets/{ASSET}", headers=headers)
        assert api.status_code == 200
        return api.json(), asset_dict(services, ASSET)

    api, cli = both()
    assert api["playback"] == cli["playback"] == {"hls": None, "dash": None}
    assert api["renditions"] == cli["renditions"] == []
    services.pipeline.enqueue_transcode(ASSET)
    services.catalogue.commit_revision(
        ASSET, 1, [_rendition("v360", 360), _rendition("v720", 720)], 4.0
    )
    api, cli = both()
    expected = playback_urls(asset_url(BASE, ASSET)).to_dict()
    assert api["playback"] == cli["playback"] == expected
    assert api["job"] == cli["job"] is not None
    assert api["extras"] == cli["extras"]
    shared = ("track", "kind", "codec", "width", "height", "bitrate", "peak_bitrate")
    assert [{k: r[k] for k in shared} for r in api["renditions"]] == cli["renditions"]
    assert [r["track"] for r in cli["renditions"]] == ["v360", "v720"]
