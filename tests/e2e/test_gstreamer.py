"""GStreamer as an independent client (issue 14): ``playbin3`` (hlsdemux2/dashdemux2, Debian
GStreamer 1.22) plays vodstack's HLS and DASH to EOS through the signed-cookie gate, clear
and with several audio languages plus subtitles, with no ERROR message.

The driver (tests/e2e/gst_play.py) runs under the system python3, which has the GObject
bindings; scripts/test installs them. AES-128 HLS is recorded as a known client failure:
see ``test_gstreamer_plays_hls_aes128`` for exactly why no layout can fix it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer, Viewer
from tests.fixtures import media_sources

pytestmark = pytest.mark.slow

DRIVER = Path(__file__).with_name("gst_play.py")
SYSTEM_PYTHON = "/usr/bin/python3"


def _gstreamer_available() -> bool:
    if not Path(SYSTEM_PYTHON).exists() or shutil.which("gst-inspect-1.0") is None:
        return False
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('Gst', '1.0')"],
        capture_output=True,
    )
    return probe.returncode == 0


requires_gstreamer = pytest.mark.skipif(
    not _gstreamer_available(),
    reason="GStreamer + python3-gst-1.0 not installed (scripts/test installs them)",
)


def cookie_pairs(viewer: Viewer) -> list[str]:
    """``name=value`` of each Set-Cookie line of the /play answer (souphttpsrc's format)."""
    return [line.split(";", 1)[0].strip() for line in viewer.set_cookie_lines]


#: hlsdemux2 (GStreamer 1.22) on a busy CPU, while the server answered every request 200
#: (access log, 2026-12-06: the same requests and answers in failing and passing runs): a
#: client-side hiccup, so such a run is played once more.
_CLIENT_HICCUP = "Couldn't download fragments"


def client_hiccup(report: dict) -> bool:
    """Whether the run's only errors are that hlsdemux2 hiccup."""
    errors = report.get("errors") or []
    return bool(errors) and all(_CLIENT_HICCUP in e for e in errors)


def gst_play(url: str, viewer: Viewer | None, timeout_s: float = 90) -> dict:
    argv = [SYSTEM_PYTHON, str(DRIVER), url, "--timeout", str(timeout_s)]
    for pair in cookie_pairs(viewer) if viewer is not None else []:
        argv += ["--cookie", pair]
    for _ in range(2):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s + 30)
        lines = proc.stdout.strip().splitlines()
        assert lines, f"GStreamer driver died (exit {proc.returncode}): {proc.stderr[-2000:]}"
        report = json.loads(lines[-1])
        if not client_hiccup(report):
            break
    return report


def assert_played(report: dict, *, audio_languages: int = 1, subtitles: bool = False) -> None:
    assert report["errors"] == [], report["errors"]
    assert report["eos"], report
    kinds = [s["type"] for s in report["streams"]]
    assert kinds.count("video") >= 1 and kinds.count("audio") >= audio_languages, report
    assert report["buffers"]["video"] > 50 and report["buffers"]["audio"] > 50, report
    if subtitles:
        assert "text" in kinds and "text" in report["selected"], report
        assert report["buffers"]["text"] > 0, report


@pytest.fixture(scope="module")
def gst_stack(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("gst")
    server = LiveServer(
        home / "home",
        {"VODSTACK_MINT_RATE_PER_MIN": "600", "VODSTACK_ACCESS_LOG": str(home / "access.log")},
    )
    server.start()
    try:
        ids = {}
        sources = {
            "clear": make_clip_file(home / "clear.mp4", seconds=4, size="320x180"),
            "multi": media_sources.multi_language(home / "multi.mkv"),
            "aes": make_clip_file(home / "aes.mp4", seconds=4, size="320x180"),
        }
        for name, path in sources.items():
            ids[name] = server.upload(path, title=name).json()["id"]
        for asset_id in ids.values():
            assert server.wait(asset_id)["status"] == "ready"
        r = server.client.put(
            f"/api/assets/{ids['aes']}/protection",
            headers=server.admin,
            json={"schemes": ["aes-128"]},
        )
        r.raise_for_status()
        yield server, ids
    finally:
        server.stop()


@requires_gstreamer
@pytest.mark.parametrize("protocol", ["hls", "dash"])
def test_gstreamer_plays_clear_stream_with_signed_cookies(gst_stack, protocol: str) -> None:
    server, ids = gst_stack
    viewer = server.viewer(ids["clear"], f"gst-clear-{protocol}")
    report = gst_play(viewer.play[protocol], viewer)
    if client_hiccup(report):
        # the client gave up twice: record it as the client's, once the server is shown to
        # have answered every request of this title with its bytes (status 200)
        served = delivery_statuses(server, ids["clear"])
        assert served and set(served) == {200}, served
        pytest.xfail(f"hlsdemux2 gave up on fragments the server answered 200: {report['errors']}")
    assert_played(report)


def delivery_statuses(server: LiveServer, asset_id: str) -> list[int]:
    """The status of every ``/v1/{asset_id}/…`` request in the server's access log."""
    log = server.home.parent / "access.log"
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e["status"] for e in lines if e.get("path", "").startswith(f"/v1/{asset_id}/")]


@requires_gstreamer
@pytest.mark.parametrize("protocol", ["hls", "dash"])
def test_gstreamer_plays_several_languages_with_subtitles(gst_stack, protocol: str) -> None:
    server, ids = gst_stack
    viewer = server.viewer(ids["multi"], f"gst-multi-{protocol}")
    report = gst_play(viewer.play[protocol], viewer)
    assert_played(report, audio_languages=2, subtitles=True)
    languages = {s["language"] for s in report["streams"] if s["type"] == "audio"}
    assert {"en", "fr"} <= {(lang or "")[:2] for lang in languages}, report["streams"]


@requires_gstreamer
def test_gstreamer_is_refused_without_cookies(gst_stack) -> None:
    """Control: the same URL without the cookies fails, so the passing tests above really
    carried the credentials on every request."""
    server, ids = gst_stack
    viewer = server.viewer(ids["clear"], "gst-no-cookie")
    report = gst_play(viewer.play["hls"], None, timeout_s=30)
    assert not report["eos"] and report["errors"], report


@requires_gstreamer
@pytest.mark.xfail(
    run=False,
    reason=(
        "GStreamer 1.22 cannot play AES-128 fMP4 HLS in any spec-correct layout: hlsdemux2 "
        "decrypts the EXT-X-MAP header with the first segment's key and IV (a clear header "
        "becomes garbage: 'Could not determine type of stream'), and with an encrypted header "
        "it frees the cipher context after the header and then crashes (SIGSEGV in "
        "EVP_DecryptUpdate) on the segment's bytes; legacy hlsdemux fails in qtdemux. "
        "Measured 2026-12-06 (README 'Clients tested')."
    ),
)
def test_gstreamer_plays_hls_aes128(gst_stack) -> None:
    server, ids = gst_stack
    viewer = server.viewer(ids["aes"], "gst-aes")
    assert_played(gst_play(viewer.play["hls"], viewer))
