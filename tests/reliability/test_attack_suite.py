"""The attack suite in CI: every attack kind against a live server under legitimate load.

Forged and replayed grants, path tricks, the development sign-in behind a same-host proxy,
admin enumeration, hostile bodies (declared, chunked, slow, echoed) and a 2 × 150 MB body
flood, missing ``nosniff`` and a forged ``Host``: each attempt must be refused, every
legitimate signed request made meanwhile must succeed, the server must stay up, and the flood
must not grow its memory by more than a small fraction of what it sends (it grew by 725 MB);
non-canonical spellings of a segment and thumbnails past the end or at odd widths must not
make new cache entries (issue 20 items 4 and 5).
``python -m bench.attacks`` prints the same numbers for BENCHMARKS.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from tests.reliability.attacks import FLOOD_BYTES, SUITE_ENV, cookie_header, run_suite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("attacks")
    server = LiveServer(root / "home", SUITE_ENV)
    server.start()
    clip = make_clip_file(root / "clip.mp4", seconds=2, size="320x180")
    asset_id = server.upload(clip).json()["id"]
    assert server.wait(asset_id)["status"] == "ready"
    viewer = server.viewer(asset_id, "attack-suite-viewer")
    yield (
        server,
        asset_id,
        cookie_header(viewer.client.cookies),
        server.token("attack-suite-viewer"),
    )
    server.stop()


def test_every_attack_is_refused_while_legitimate_viewers_keep_playing(target: Any) -> None:
    server, asset_id, cookie, token = target
    report = run_suite(server, asset_id, cookie, token)
    print("\n".join(report.lines()))
    assert report.alive
    assert not report.broken, report.lines()
    kinds = {a.kind for a in report.attempts}
    assert {
        "forgery",
        "path trick",
        "dev sign-in",
        "body",
        "body flood",
        "nosniff",
        "cache key",
        "thumbnail",
    } <= kinds
    assert len(report.attempts) >= 100
    assert report.legit_ok > 20 and not report.legit_failed, report.legit_failed[:10]
    # 2 × 150 MB sent: the server may hold a few buffers of it, never the bodies
    assert report.rss_peak - report.rss_idle < FLOOD_BYTES // 3, report.lines()
