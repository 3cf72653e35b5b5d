"""CLI output: ids whole at 80 columns on a terminal, plain text when piped, a readable
`assets show`, the server's URL instead of the default port, one-line errors."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from tests.conftest import make_settings

from vodstack.cli.asset_view import asset_view
from vodstack.cli.output import plain_table, show_table
from vodstack.cli.server_url import cli_base_url, record_server_url

ID = "k1675fyl1d3uhcr7phnq"
LONG = "a title long enough to squeeze every other column of the table " * 2


def table() -> Table:
    t = Table("id", "status", "published", "duration", "title", "error")
    t.add_row(ID, "failed", "yes", "12.0s", LONG, "the source has no video stream " * 3)
    return t


def test_ids_are_whole_on_an_80_column_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    before = Console(width=80, record=True, file=io.StringIO())
    before.print(table())
    old = before.export_text()
    assert ID not in old and "…" in old  # what `assets list` printed before
    show_table(table(), terminal=True)
    out = capsys.readouterr().out
    assert ID in out and "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_piped_tables_are_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    show_table(table(), terminal=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "status", "published", "duration", "title", "error"]
    assert lines[1].startswith(f"{ID}  failed  yes")
    assert LONG.strip() in lines[1] and "│" not in lines[1] and "\x1b" not in lines[1]
    assert plain_table(["a", "b"], [["x\ny", "z"]]) == "a    b\nx y  z\n"


def test_assets_show_is_readable() -> None:
    text = asset_view(
        {
            "id": ID,
            "title": "Lecture 1",
            "status": "ready",
            "revision": 2,
            "duration": 12.04,
            "published": True,
            "playback_policy": "signed",
            "drm": "clear",
            "playback": {"hls": f"http://h:8400/v1/{ID}/index.m3u8", "dash": None},
            "renditions": [
                {
                    "track": "v240",
                    "kind": "video",
                    "codec": "avc1.64001e",
                    "width": 426,
                    "height": 240,
                    "bitrate": 380000,
                    "peak_bitrate": 520000,
                    "vmaf": 91.23,
                }
            ],
            "captions": [{"track": "t1", "language": "en", "label": "English", "source": "upload"}],
            "job": {"id": "j" * 20, "state": "succeeded", "attempts": 1, "progress": 1.0},
        }
    )
    assert text.splitlines()[0] == "Lecture 1"
    assert f"  id          {ID}" in text
    assert "ready (revision 2)" in text and "12.0 s" in text
    assert f"hls   http://h:8400/v1/{ID}/index.m3u8" in text
    assert "426x240" in text and "380 kb/s (peak 520 kb/s)" in text and "VMAF 91.2" in text
    assert "{" not in text


def test_the_cli_prints_the_running_servers_url(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir(parents=True)
    assert cli_base_url(settings) == "http://127.0.0.1:8000"
    record_server_url(settings, "127.0.0.1", 8400)
    assert cli_base_url(settings) == "http://127.0.0.1:8400"
    configured = make_settings(tmp_path / "home", public_url="https://vod.example/")
    assert cli_base_url(configured) == "https://vod.example"  # configured wins
    (settings.home / "server.json").write_text("{broken")
    assert cli_base_url(settings) == "http://127.0.0.1:8000"


def test_stats_without_a_server_is_one_line(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir(parents=True)
    record_server_url(settings, "127.0.0.1", 9)  # nothing listens on the discard port
    proc = subprocess.run(
        [sys.executable, "-m", "vodstack.cli", "stats"],
        env={"VODSTACK_HOME": str(settings.home), "PATH": "/usr/bin:/bin", **_pythonpath()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no vodstack server answers at http://127.0.0.1:9" in lines[0]
    assert "Traceback" not in proc.stderr


def _pythonpath() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME")}
