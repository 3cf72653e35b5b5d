"""One start for every FFmpeg argv (issue #17): the global options come from
``vodstack.media.ffmpeg_argv``, never from a hand-written copy."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from vodstack.config import DEFAULT_LADDER
from vodstack.media import ffmpeg_argv
from vodstack.thumbnails.frames import frame_command
from vodstack.transcode.bounds import MediaBound
from vodstack.transcode.command import ladder_command, subtitles_command
from vodstack.transcode.ladder import plan_ladder

SRC = Path(__file__).resolve().parents[3] / "src" / "vodstack"


def test_the_prefix_keeps_ffmpeg_quiet_and_off_the_terminal() -> None:
    argv = ffmpeg_argv("ffmpeg")
    assert argv == ["ffmpeg", "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats"]
    assert ffmpeg_argv("ff", loglevel="warning")[4:6] == ["-loglevel", "warning"]


def test_the_stages_build_on_it() -> None:
    plan = plan_ladder(
        width=640, height=360, fps=Fraction(30), has_audio=True, template=DEFAULT_LADDER,
        fragment_s=2, audio_kbps=128,
    )  # fmt: skip
    src, out = Path("in.mp4"), Path("out")
    prefix = ffmpeg_argv("ff")
    for argv in (
        ladder_command("ff", src, out, plan, fragment_s=2, preset="veryfast"),
        subtitles_command("ff", src, out, plan),
        frame_command("ff", 1.0, 320),
        MediaBound(10.0).tail_probe_argv("ff", src, 0),
    ):
        assert argv[: len(prefix)] == prefix, argv


def test_no_module_writes_its_own_prefix() -> None:
    """A new hand-rolled ``[ffmpeg, "-hide_banner", …]`` would drift from the others."""
    own = SRC / "media" / "ffmpeg.py"
    found = [
        f"{path.relative_to(SRC)}:{n}"
        for path in SRC.rglob("*.py")
        if path != own and "static" not in path.parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r'"-hide_banner"|"-nostdin"', line)
    ]
    assert found == []
