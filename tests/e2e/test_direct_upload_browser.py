"""A browser uploads through a direct-upload URL: a page of another site (no admin token, no
cookie) sends a master with plain fetch() tus requests — creation, PATCHes, a HEAD to resume —
and the asset becomes ready with the title the server side chose. The token never reaches
the access log; the spent URL refuses a second upload from the page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.browser import Chromium, missing_requirements
from tests.e2e.conftest import LiveServer
from tests.fixtures.http_source import HttpSource, Route

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UPLOADER = """
async (url) => {
  const blob = await (await fetch('/clip.mp4')).blob();
  const tus = {'Tus-Resumable': '1.0.0'};
  const name = btoa('lecture.mp4');
  const made = await fetch(url, {method: 'POST', headers: {...tus,
      'Upload-Length': String(blob.size), 'Upload-Metadata': 'filename ' + name}});
  if (made.status !== 201) return {step: 'create', status: made.status, body: await made.text()};
  const at = made.headers.get('Location');
  const piece = Math.ceil(blob.size / 3);
  let offset = 0, last = null, statuses = [];
  for (let i = 0; i < 2; i++) {  // two pieces, then ask where to resume, as after a drop
    last = await fetch(at, {method: 'PATCH', headers: {...tus, 'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream'}, body: blob.slice(offset, offset + piece)});
    statuses.push(last.status);
    offset = Number(last.headers.get('Upload-Offset'));
  }
  const head = await fetch(at, {method: 'HEAD', headers: tus});
  offset = Number(head.headers.get('Upload-Offset'));
  last = await fetch(at, {method: 'PATCH', headers: {...tus, 'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream'}, body: blob.slice(offset)});
  statuses.push(last.status);
  const again = await fetch(url, {method: 'POST', headers: {...tus, 'Upload-Length': '10'}});
  return {statuses, size: blob.size, asset: last.headers.get('Vodstack-Asset-Id'),
          reused: again.status, reusedError: (await again.json()).error};
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    with Chromium() as chromium:
        yield chromium


def test_a_page_uploads_through_a_direct_upload_url(browser: Chromium, tmp_path: Path) -> None:
    site = HttpSource()
    page_origin = f"http://localhost:{site.port}"  # another site than the server's 127.0.0.1
    site.add(
        "/",
        Route(
            body=b"<!doctype html><title>uploader</title>", headers={"Content-Type": "text/html"}
        ),
    )
    site.file("/clip.mp4", make_clip_file(tmp_path / "clip.mp4", seconds=2, size="320x180"))
    server = LiveServer(
        tmp_path / "home",
        {
            "VODSTACK_DIRECT_UPLOAD_CORS_ORIGINS": json.dumps([page_origin]),
            "VODSTACK_ACCESS_LOG": str(tmp_path / "access.log"),
        },
    )
    server.start()
    try:
        made = server.client.post(
            "/api/uploads/direct",
            json={"title": "From the browser", "cors_origin": page_origin, "max_bytes": 10**7},
            headers=server.admin,
        ).json()
        page = browser.page("direct-upload")
        assert page.goto(f"{page_origin}/") == 200
        result = page.eval(f"({UPLOADER})({json.dumps(made['url'])})")
        assert result["statuses"] == [204, 204, 204], result
        assert result["reused"] == 409 and "already used" in result["reusedError"]
        asset = server.wait(result["asset"])
        assert asset["status"] == "ready", asset
        assert asset["title"] == "From the browser"
        status = server.client.get(f"/api/uploads/direct/{made['id']}", headers=server.admin).json()
        assert status["status"] == "complete" and status["asset_id"] == result["asset"]
        token = made["url"].rsplit("/", 1)[1]
        log = (tmp_path / "access.log").read_text()
        assert "/direct-uploads/-" in log and token not in log
        assert token not in server.log_path.read_text()
        page.close()
    finally:
        server.stop()
        site.close()
