"""The commands of docs/embed.md run as printed, in order, against a server started with the
guide's own ``VODSTACK_EMBED_ORIGINS`` line (only the address is swapped for the test
server's), and say what the guide says they say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "embed.md").read_text()
pytestmark = pytest.mark.slow


def test_the_guide_runs_as_printed(tmp_path: Path) -> None:
    blocks = re.findall(r"```bash\n(.*?)```", DOC, re.S)
    serve = [b for b in blocks if "vodstack serve" in b]
    assert len(serve) == 1 and len(blocks) == 5
    # the serve line is the server this test starts: its setting, as printed
    line = re.fullmatch(r"VODSTACK_EMBED_ORIGINS='(.*)' vodstack serve\n", serve[0])
    assert line is not None, serve[0]
    server = LiveServer(tmp_path / "home", env={"VODSTACK_EMBED_ORIGINS": line[1]})
    server.start()
    try:
        make_clip_file(tmp_path / "master.mp4", seconds=2, size="320x180")
        asset_id = server.upload(tmp_path / "master.mp4", title="Lecture 1").json()["id"]
        assert server.wait(asset_id)["status"] == "ready"
        done = server.guide("\n".join(b for b in blocks if b not in serve), tmp_path, 120)
    finally:
        server.stop()
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    lines = done.stdout.splitlines()
    iframe = f'<iframe src="{server.base_url}/embed/{asset_id}" width="640" height="360"'
    assert lines[0] == "alice: premium (subscription 1)"
    assert lines[1:3] == ["200", "403"]  # a tokened playlist's relative URI; a tampered token
    assert lines[3] == "frame-ancestors 'self' https://learn.example.edu https://*.partner.example"
    assert (
        lines[4].startswith(iframe) and 'allow="autoplay; fullscreen; encrypted-media' in lines[4]
    )
    assert lines[5] == '{"type":"video","width":480,"height":270}'
    # the policy switched from the CLI, then back over HTTP; a signed picture URL
    assert lines[6:10] == [f"{asset_id} playback public", "200", "signed", "403"]
    assert lines[10:] == ["200 image/jpeg", "403"]
