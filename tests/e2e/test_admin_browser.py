"""The admin page acting, in a real browser (Debian Chromium, headless) against a live
``vodstack serve``: ids whole and copyable, a tus upload with progress, publish/unpublish,
delete and restore, search and paging (against the API's contract), the asset's actions
(access rules, captions, poster, protection, re-transcode) with errors in plain words, and the
catalogue-wide viewing quality beside an asset's."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.browser import Chromium, Page, missing_requirements
from tests.e2e.conftest import ADMIN_TOKEN, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROWS = "[...document.querySelectorAll('#assets tbody tr')]"


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    with Chromium() as chromium:
        yield chromium


@dataclass
class Stack:
    server: LiveServer
    alpha: str  # "Alpha lecture", 2 s
    beta: str  # "Beta lecture", 2 s (deleted by test_publish_unpublish_delete_and_restore)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("admin")
    server = LiveServer(home / "home", {"VODSTACK_MINT_RATE_PER_MIN": "600"})
    server.start()
    try:
        clip = make_clip_file(home / "clip.mp4", seconds=2, size="320x180")
        alpha = server.upload(clip, title="Alpha lecture").json()["id"]
        beta = server.upload(clip, title="Beta lecture").json()["id"]
        for asset_id in (alpha, beta):
            assert server.wait(asset_id, timeout=120)["status"] == "ready"
        yield Stack(server, alpha, beta)
    finally:
        server.stop()


def signed_in(browser: Chromium, server: LiveServer, name: str, **kwargs: object) -> Page:
    page = browser.page(name, **kwargs)  # type: ignore[arg-type]
    page.goto(f"{server.base_url}/admin")
    page.eval(f"document.getElementById('token').value = {json.dumps(ADMIN_TOKEN)}")
    page.click("#login button[type=submit]")
    page.wait_for("window.vodstackAdmin.refreshes > 0", 10)
    return page


def row_ids(page: Page) -> list[str]:
    return page.eval(f"{ROWS}.map(r => r.querySelector('code.id').textContent)")


def row_text(page: Page, asset_id: str) -> str:
    return page.eval(f"document.querySelector('#assets tr[data-id=\"{asset_id}\"]')?.innerText")


def test_ids_are_whole_and_the_copy_button_copies(browser: Chromium, stack: Stack) -> None:
    server = stack.server
    page = signed_in(browser, server, "copy", permissions=("clipboard-read", "clipboard-write"))
    shown = row_ids(page)
    assert {stack.alpha, stack.beta} <= set(shown), shown
    assert all(re.fullmatch(r"[a-z0-9]{20}", i) for i in shown)
    alpha = stack.alpha
    assert row_text(page, alpha).startswith("Alpha lecture")
    label = page.eval(
        f"document.querySelector('#assets tr[data-id=\"{alpha}\"] button.copy').ariaLabel"
    )
    assert label == f"Copy asset id: {alpha}"
    page.click(f'#assets tr[data-id="{alpha}"] button.copy')
    page.wait_for(
        f"document.querySelector('#assets tr[data-id=\"{alpha}\"] button.copy')"
        ".textContent === 'Copied'",
        5,
    )
    assert page.eval("navigator.clipboard.readText()") == alpha
    page.wait_for(f"document.getElementById('announce').textContent.includes('{alpha}')", 5)
    page.close()


def test_upload_shows_progress_and_the_asset_appears(
    browser: Chromium, stack: Stack, tmp_path: Path
) -> None:
    server = stack.server
    master = make_clip_file(tmp_path / "upload.mp4", seconds=3, size="640x360")
    size = master.stat().st_size
    page = signed_in(browser, server, "upload")
    # Small chunks (a test seam on the form): several PATCHes, progress between them.
    chunk = max(16 * 1024, size // 6)
    page.eval(f"document.getElementById('upload').dataset.chunkBytes = '{chunk}'")
    page.set_input_files("#file", master)
    page.eval("document.getElementById('title').value = 'Uploaded from the page'")
    page.click("#upload button[type=submit]")
    page.wait_for(
        "window.vodstackAdmin.uploads[0]?.assetId || window.vodstackAdmin.uploads[0]?.error", 30
    )
    record = page.eval("window.vodstackAdmin.uploads[0]")
    assert record["error"] is None, record
    progress = record["progress"]
    assert progress[-1] == 1 and any(0 < p < 1 for p in progress), progress
    assert progress == sorted(progress)
    patches = [r for r in page.requests() if r["method"] == "PATCH" and "/api/uploads/" in r["url"]]
    assert len(patches) >= 3, patches
    asset_id = record["assetId"]
    status = page.eval("document.getElementById('upload-status').textContent")
    assert status.startswith("Uploaded upload.mp4 as asset") and asset_id in status
    page.wait_for(f"{ROWS}.some(r => r.dataset.id === '{asset_id}')", 10)
    assert row_text(page, asset_id).startswith("Uploaded from the page")
    assert server.asset(asset_id)["title"] == "Uploaded from the page"
    # The list follows the pipeline on its own until the asset is ready.
    page.wait_for(
        f"document.querySelector('#assets tr[data-id=\"{asset_id}\"] .state-ready')", 90, 500
    )
    page.close()


def test_cancelling_an_upload_drops_it(stack: Stack, browser: Chromium, tmp_path: Path) -> None:
    server = stack.server
    master = make_clip_file(tmp_path / "cancel.mp4", seconds=3, size="640x360")
    page = signed_in(browser, server, "cancel")
    page.throttle(400)  # ≈ 50 kB/s: the upload is still going when it is cancelled
    page.eval("document.getElementById('upload').dataset.chunkBytes = '32768'")
    page.set_input_files("#file", master)
    page.click("#upload button[type=submit]")
    page.wait_for("window.vodstackAdmin.uploads[0]?.progress.some(p => p > 0)", 20)
    page.click("#upload-cancel")
    page.wait_for("window.vodstackAdmin.uploads[0].error", 20)
    assert page.eval("document.getElementById('upload-status').textContent") == (
        "Upload cancelled; the server drops what it received."
    )
    page.unthrottle()
    deleted = [r for r in page.requests() if r["method"] == "DELETE"]
    assert len(deleted) == 1 and "/api/uploads/" in deleted[0]["url"], deleted
    path = deleted[0]["url"].split(str(server.port), 1)[1]
    gone = server.client.head(path, headers={**server.admin, "Tus-Resumable": "1.0.0"})
    assert gone.status_code in (404, 410), gone
    assert page.eval("document.getElementById('upload-progress').hidden")
    page.close()


def test_publish_unpublish_delete_and_restore(browser: Chromium, stack: Stack) -> None:
    server = stack.server
    page = signed_in(browser, server, "publish")
    beta = stack.beta
    published = server.asset(beta)["published"]
    button = f'#assets tr[data-id="{beta}"] button[data-publish]'
    for _ in range(2):  # unpublish then publish again (or the other way round)
        page.click(button)
        page.wait_for(
            f"document.querySelector('{button}')?.textContent === "
            f"'{'Publish' if published else 'Unpublish'}'",
            10,
        )
        published = not published
        assert server.asset(beta)["published"] is published
        assert ("\tyes\t" if published else "\tno\t") in row_text(page, beta)

    # Delete from the asset's panel, after confirming on the page (no window.confirm).
    page.click(f'#assets tr[data-id="{beta}"] button[data-manage]')
    page.wait_for("!document.getElementById('asset').hidden", 10)
    assert page.eval("document.activeElement.id") == "asset-title"
    page.click("#asset-delete")
    assert page.eval("document.activeElement.id") == "delete-yes"
    page.click("#delete-yes")
    page.wait_for(f"!{ROWS}.some(r => r.dataset.id === '{beta}')", 10)
    assert server.client.get(f"/api/assets/{beta}", headers=server.admin).status_code == 404
    assert page.eval("document.getElementById('asset').hidden")
    assert beta in page.eval("document.getElementById('deleted-list').textContent")

    page.click(f'#deleted-list button[data-restore="{beta}"]')
    page.wait_for(
        "!document.getElementById('restore-error').hidden"
        f" || {ROWS}.some(r => r.dataset.id === '{beta}')",
        15,
    )
    error = page.eval(
        "document.getElementById('restore-error').hidden ? null"
        " : document.getElementById('restore-error').textContent"
    )
    if error is not None:  # a server without POST /api/assets/{id}/restore: said plainly
        assert error.startswith(f"Could not restore {beta}: this server does not offer that yet")
        assert f"/api/assets/{beta}/restore answered HTTP 404" in error
    else:
        assert server.wait(beta, timeout=120)["status"] == "ready"
    page.close()


def test_a_refusal_is_said_in_words_and_stays(browser: Chromium, stack: Stack) -> None:
    """A key without the scope an action needs (403, the server's reason) — shown in words,
    and not wiped by the list's next refresh."""
    server = stack.server
    page = browser.page("refused")
    reason = "API key vsk_ab12 (ci) lacks the scope 'publish' this operation needs (it holds: read)"
    page.route(
        r"/api/assets/[a-z0-9]{20}/(un)?publish$",
        method="POST",
        fulfill={"status": 403, "contentType": "application/json",
                 "body": json.dumps({"error": reason})},
    )  # fmt: skip
    page.goto(f"{server.base_url}/admin")
    page.eval(f"document.getElementById('token').value = {json.dumps(ADMIN_TOKEN)}")
    page.click("#login button[type=submit]")
    page.wait_for("window.vodstackAdmin.refreshes > 0", 10)
    published = server.asset(stack.alpha)["published"]
    page.click(f'#assets tr[data-id="{stack.alpha}"] button[data-publish]')
    page.wait_for("!document.getElementById('error').hidden", 10)
    verb = "unpublish" if published else "publish"
    expected = f"Could not {verb} “Alpha lecture”: not allowed. {reason}."
    assert page.eval("document.getElementById('error').textContent") == expected
    assert page.eval("document.getElementById('error').getAttribute('role')") == "alert"
    before = page.eval("window.vodstackAdmin.refreshes")
    page.click("#search button[type=submit]")  # the list loads again
    page.wait_for(f"window.vodstackAdmin.refreshes > {before}", 10)
    assert page.eval("document.getElementById('error').textContent") == expected
    assert server.asset(stack.alpha)["published"] is published  # nothing changed
    page.close()


def test_search_filters(browser: Chromium, stack: Stack) -> None:
    server = stack.server
    everything = server.client.get("/api/assets", headers=server.admin).json()
    probe = server.client.get("/api/assets", params={"q": "Alpha"}, headers=server.admin)
    if probe.status_code != 200 or len(probe.json()) == len(everything):
        pytest.skip("GET /api/assets on this build ignores q (search is another branch's part)")
    page = signed_in(browser, server, "search")
    page.eval("document.getElementById('q').value = 'Alpha'")
    page.click("#search button[type=submit]")
    alpha = stack.alpha
    page.wait_for(f"{ROWS}.length > 0 && {ROWS}.every(r => r.innerText.includes('Alpha'))", 10)
    assert alpha in row_ids(page)
    page.eval("document.getElementById('q').value = 'no such title anywhere'")
    page.click("#search button[type=submit]")
    page.wait_for(f"{ROWS}.length === 0 && !document.getElementById('empty').hidden", 10)
    assert page.eval("document.getElementById('empty').textContent") == (
        "No asset matches the search."
    )
    page.close()


def fake_asset(n: int) -> dict[str, object]:
    return {
        "id": f"{n:020d}",
        "title": f"Fake {n}",
        "status": "ready",
        "error": None,
        "duration": 60.0,
        "renditions": [],
        "published": True,
        "job": None,
    }


def test_paging_and_search_follow_the_list_contract(browser: Chromium, stack: Stack) -> None:
    server = stack.server
    """GET /api/assets answered as the paging contract says (Link rel=next, X-Next-Cursor):
    the page follows either header, stops when both are absent and sends only the
    contract's parameters."""
    page = browser.page("paging")
    base = server.base_url

    def answer(pattern: str, assets: list[dict], headers: dict[str, str]) -> None:
        page.route(
            pattern,
            method="GET",
            fulfill={"status": 200, "contentType": "application/json",
                     "headers": headers, "body": json.dumps(assets)},
        )  # fmt: skip

    answer(r"/api/assets\?(?!.*cursor=)", [fake_asset(1), fake_asset(2)],
           {"X-Next-Cursor": "c2", "Link": f'<{base}/api/assets?limit=50&cursor=c2>; rel="next"'})  # fmt: skip
    answer(r"/api/assets\?.*cursor=c2", [fake_asset(3)],
           {"Link": f'<{base}/api/assets?limit=50&cursor=c3>; rel="next"'})  # fmt: skip
    answer(r"/api/assets\?.*cursor=c3", [fake_asset(4)], {})
    page.goto(f"{base}/admin")
    page.eval(f"document.getElementById('token').value = {json.dumps(ADMIN_TOKEN)}")
    page.click("#login button[type=submit]")
    page.wait_for(f"{ROWS}.length === 2", 10)
    assert row_ids(page) == [f"{1:020d}", f"{2:020d}"]
    assert page.eval("document.getElementById('prev-page').disabled")
    page.click("#next-page")  # X-Next-Cursor
    page.wait_for(f"{ROWS}.length === 1 && {ROWS}[0].dataset.id === '{3:020d}'", 10)
    page.click("#next-page")  # the Link header alone
    page.wait_for(f"{ROWS}[0]?.dataset.id === '{4:020d}'", 10)
    assert page.eval("document.getElementById('next-page').disabled")  # no header: last page
    assert page.eval("document.getElementById('page-info').textContent") == "Page 3"
    page.click("#prev-page")
    page.wait_for(f"{ROWS}[0]?.dataset.id === '{3:020d}'", 10)

    page.eval("document.getElementById('q').value = 'lecture 7'")
    page.eval("document.getElementById('status-filter').value = 'ready'")
    page.click("#search button[type=submit]")
    page.wait_for(f"{ROWS}.length === 2", 10)
    listed = [r["url"] for r in page.requests() if "/api/assets?" in r["url"]]
    query = listed[-1].split("?", 1)[1]
    assert query == "limit=50&q=lecture+7&status=ready", listed  # no cursor: back to page 1
    assert all(
        set(re.findall(r"(\w+)=", u.split("?", 1)[1])) <= {"limit", "q", "status", "cursor"}
        for u in listed
    )
    assert page.eval("document.getElementById('prev-page').disabled")
    page.close()


def test_asset_actions_and_plain_errors(browser: Chromium, stack: Stack, tmp_path: Path) -> None:
    server = stack.server
    page = signed_in(browser, server, "actions")
    alpha = stack.alpha
    page.click(f'#assets tr[data-id="{alpha}"] button[data-manage]')
    page.wait_for("document.getElementById('access-plans')", 10)
    assert alpha in page.eval("document.getElementById('asset-summary').textContent")

    def notice() -> str:
        return page.eval("document.getElementById('asset-notice').textContent")

    def error() -> str | None:
        box = "document.getElementById('asset-error')"
        return page.eval(f"{box}.hidden ? null : {box}.textContent")

    def settle() -> None:
        page.wait_for(
            "document.getElementById('asset-notice').textContent"
            " || !document.getElementById('asset-error').hidden",
            15,
        )

    # Access rules: saved, then read back by the API; a bad country is refused in words.
    page.eval("document.getElementById('access-plans').value = 'gold, silver'")
    page.eval("document.getElementById('access-allow').value = 'FR BE'")
    page.click("#access button[type=submit]")
    settle()
    assert error() is None and notice().startswith("Access rules of “Alpha lecture” saved")
    rules = server.client.get(f"/api/assets/{alpha}/access", headers=server.admin).json()
    assert rules == {"plans": ["gold", "silver"], "geo_allow": ["FR", "BE"], "geo_deny": None}
    page.eval("document.getElementById('access-deny').value = 'France'")
    page.click("#access button[type=submit]")
    settle()
    assert error() == "Countries are two-letter ISO codes (FR, BE, US…): “France” is not one."

    # Captions: a WebVTT file uploaded from the page plays at once (listed by the API).
    vtt = tmp_path / "en.vtt"
    vtt.write_text("WEBVTT\n\n00:00.000 --> 00:01.500\nHello from the admin page\n")
    page.set_input_files("#caption-file", vtt)
    page.eval("document.getElementById('caption-language').value = 'en'")
    page.eval("document.getElementById('caption-label').value = 'English'")
    page.click("#caption-form button[type=submit]")
    page.wait_for("document.querySelector('#captions table')?.innerText.includes('English')", 15)
    listed = server.client.get(f"/api/assets/{alpha}/captions", headers=server.admin).json()
    assert [(c["language"], c["label"], c["cues"]) for c in listed] == [("en", "English", 1)]

    # Poster: a chosen frame; past the end is refused with the server's reason.
    page.eval("document.getElementById('poster-time').value = '1'")
    page.click("#poster button[type=submit]")
    settle()
    assert notice() == "The poster is now the frame at 1 s.", error()
    assert server.asset(alpha)["poster_time"] == 1
    page.eval("document.getElementById('poster-time').value = '99'")
    page.click("#poster button[type=submit]")
    settle()
    assert re.fullmatch(
        r"Could not set the poster: the server refused the values: "
        r"the poster time is after the end \(2\.\d{3} s\)\.",
        error() or "",
    ), error()

    # Protection: choosing nothing is explained before anything is sent.
    page.eval("document.querySelectorAll('#protection input').forEach(i => i.checked = false)")
    page.click("#protection button[type=submit]")
    settle()
    assert error().startswith("Choose at least one way to serve the asset")

    # Re-transcode: a job, and the current version keeps playing.
    page.click("#asset-retranscode")
    settle()
    assert error() is None and notice().startswith("Re-transcoding “Alpha lecture” (job ")
    page.click("#asset-close")
    assert page.eval("document.activeElement.dataset.manage") == alpha
    server.wait(alpha, timeout=120)
    page.close()
    none = {"plans": None, "geo_allow": None, "geo_deny": None}  # let the next tests play it
    server.client.put(f"/api/assets/{alpha}/access", json=none, headers=server.admin)


def beacons(server: LiveServer, asset_id: str, subject: str, events: list[dict]) -> None:
    server.subscribe(subject)
    play = server.play(asset_id, server.token(subject))
    play.raise_for_status()
    numbered = [{"seq": i, **e} for i, e in enumerate(events)]
    batch = {"session": play.json()["session"]["token"], "engine": "hls", "events": numbered}
    server.client.post("/api/beacons", json=batch).raise_for_status()


def test_viewing_quality_catalogue_and_asset(browser: Chromium, stack: Stack) -> None:
    server = stack.server
    alpha = stack.alpha
    beacons(server, alpha, "qoe-ann", [
        {"type": "start", "t": 0, "pos": 0},
        {"type": "first_frame", "t": 0.4, "pos": 0, "ms": 400},
        {"type": "ended", "t": 2.4, "pos": 2},
    ])  # fmt: skip
    beacons(server, alpha, "qoe-bob", [
        {"type": "start", "t": 0, "pos": 0},
        {"type": "first_frame", "t": 0.8, "pos": 0, "ms": 800},
        {"type": "error", "t": 1.0, "pos": 0.2, "fatal": True, "code": "net"},
    ])  # fmt: skip
    summary = server.client.get("/api/qoe", headers=server.admin).json()
    assert summary["totals"]["sessions"] >= 2

    page = signed_in(browser, server, "qoe")
    page.click("#qoe-button")
    page.wait_for("document.querySelector('#qoe-assets')", 10)
    assert page.eval("document.activeElement.id") == "qoe-title"
    totals = page.eval("document.querySelector('#qoe .qoe-figures').innerText")
    assert "Startup, median" in totals and "Sessions ending in an error" in totals
    assert "Completion" in totals and "Rebuffering" in totals
    row = page.eval(
        f"[...document.querySelectorAll('#qoe-assets tbody tr')]"
        f".find(r => r.innerText.includes('{alpha}')).innerText"
    )
    cells = row.split("\t")
    assert cells[0] == "Alpha lecture" and cells[2] == "2", cells  # title, id, sessions
    assert cells[3] == "400 ms" and cells[5] == "50.0 %" and cells[6] == "50 %", cells
    baseline = page.eval("document.querySelector('#qoe-assets tr.baseline').innerText")
    assert baseline.startswith("Whole catalogue")

    # The asset's panel shows its figures beside the catalogue's.
    page.click('#qoe-assets button[aria-label="Manage Alpha lecture"]')
    page.wait_for("document.querySelector('#asset-qoe table')", 10)
    table = page.eval("document.querySelector('#asset-qoe table').innerText")
    assert "This asset\tCatalogue" in table
    assert re.search(r"Sessions\t2\t\d+", table), table
    assert "Startup, median\t400 ms\t" in table
    console = [m for m in page.console() if "error" in m.lower()]
    assert not [m for m in console if "Content Security Policy" in m], console
    page.close()


def test_the_guide_commands_run(stack: Stack) -> None:
    """docs/admin.md's commands, as printed (the port and the asset id swapped in)."""
    guide = (Path(__file__).resolve().parents[2] / "docs" / "admin.md").read_text()
    (script,) = re.findall(r"```bash\n(.*?)```", guide, re.S)
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{stack.server.port}")
    script = re.sub(r"\bID\b", stack.alpha, script)
    out = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={**os.environ, "ADMIN": ADMIN_TOKEN},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    decoder, text = json.JSONDecoder(), out.stdout  # curl adds no newline between bodies
    qoe, end = decoder.raw_decode(text)
    access, _ = decoder.raw_decode(text, end)
    assert qoe["since"] and {"totals", "per_asset", "truncated"} <= set(qoe)
    assert set(access) == {"plans", "geo_allow", "geo_deny"}
