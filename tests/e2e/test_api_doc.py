"""The commands of docs/api.md run as printed, in order, against a live server (only the
address is swapped for the test server's), and say what the guide says they say."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "api.md").read_text()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("apidoc") / "home")
    server.start()
    yield server
    server.stop()


def test_the_guide_runs_as_printed(server: LiveServer, tmp_path: Path) -> None:
    make_clip_file(tmp_path / "master.mp4", seconds=1, size="160x90")
    blocks = re.findall(r"```bash\n(.*?)```", DOC, re.S)
    assert len(blocks) >= 6
    done = server.guide("\n".join(blocks), tmp_path)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    out = done.stdout
    lines = out.splitlines()
    assert "403" in lines and "401" in lines and "400" in lines
    assert "409" in lines  # a re-drive of a job that is not dead
    assert "plans: any  geo allow: all  geo deny: none" in out  # the remote CLI
    assert '"metadata":{"course":"BIO-101","room":"B2"}' in out
    assert '"tags":["biology","lecture"]' in out and '"owner":null' in out
    assert re.search(
        r'^[Ll]ink: <http://127\.0\.0\.1:\d+/api/assets\?.*cursor=.*>; rel="next"', out, re.M
    )
    titles = [
        line.split(" ", 1)[1] for line in lines if re.fullmatch(r"[a-z0-9]{20} Lecture \d", line)
    ]
    assert titles == ["Lecture 1", "Lecture 2"]  # every page, in title order, once
    assert "unknown parameter 'colour'" in out
    assert "transcode" in out and "asset.updated" in out
