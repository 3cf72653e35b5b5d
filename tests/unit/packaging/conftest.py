"""Short CMAF clips made with the FFmpeg vodstack ships with (imageio-ffmpeg), once per session.

The video and audio commands are the ones vodstack's transcoder runs (2 s fragments); the
others vary one thing each (B-frames, no global sidx, HEVC, AV1, Opus, text, non-fragmented).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg
import pytest

CMAF = "+cmaf+frag_keyframe+empty_moov+default_base_moof"
KEYFRAMES_2S = [
    *("-g", "60", "-keyint_min", "60", "-sc_threshold", "0"),
    *("-force_key_frames", "expr:gte(t,n_forced*2)", "-pix_fmt", "yuv420p"),
]


def _testsrc(size: str, seconds: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}"]


def _sine(seconds: int) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]


CLIPS: dict[str, list[str]] = {
    # exactly the transcoder's commands
    "video": [
        *_testsrc("640x360", 6),
        *("-c:v", "libx264", "-preset", "ultrafast", *KEYFRAMES_2S),
        *("-movflags", CMAF + "+global_sidx"),
    ],
    "audio": [
        *_sine(6),
        *("-c:a", "aac", "-b:a", "128k", "-ac", "2", "-frag_duration", "2000000"),
        *("-movflags", CMAF + "+global_sidx+delay_moov"),
    ],
    # B-frames (x264 medium is High profile), with and without the global sidx
    "bframes": [
        *_testsrc("320x180", 6),
        *("-c:v", "libx264", "-preset", "medium", *KEYFRAMES_2S),
        *("-movflags", CMAF + "+global_sidx"),
    ],
    "bframes_nosidx": [
        *_testsrc("160x90", 6),
        *("-c:v", "libx264", "-preset", "medium", *KEYFRAMES_2S, "-movflags", CMAF),
    ],
    # small enough to mutate thousands of times: B-frames, 0.5 s fragments, sidx
    "tiny": [
        *_testsrc("64x64", 2),
        *("-c:v", "libx264", "-preset", "medium", "-g", "15", "-pix_fmt", "yuv420p"),
        *("-movflags", CMAF + "+global_sidx"),
    ],
    "hevc": [
        *_testsrc("160x90", 2),
        *("-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-g", "30"),
        *("-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-movflags", CMAF),
    ],
    "av1": [
        *_testsrc("160x90", 2),
        *("-c:v", "libsvtav1", "-preset", "12", "-g", "30", "-pix_fmt", "yuv420p"),
        *("-svtav1-params", "verbosity=0", "-movflags", CMAF),
    ],
    "opus": [*_sine(2), "-c:a", "libopus", "-movflags", CMAF],
    "text": [
        *("-i", "{vtt}", "-c:s", "mov_text", "-metadata:s:0", "language=eng"),
        *("-frag_duration", "2000000", "-movflags", CMAF),
    ],
    "plain": [*_testsrc("160x90", 1), "-c:v", "libx264", "-preset", "ultrafast"],
    "two_tracks": [
        *_testsrc("160x90", 1),
        *_sine(1),
        *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-movflags", CMAF),
    ],
}

VTT = "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello\n\n00:00:02.000 --> 00:00:04.000\nWorld\n"


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``clip(name)`` → path of that clip, encoded on first use."""
    directory = tmp_path_factory.mktemp("clips")
    vtt = directory / "cues.vtt"
    vtt.write_text(VTT)
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            out = directory / f"{name}.mp4"
            args = [a.replace("{vtt}", str(vtt)) for a in CLIPS[name]]
            cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-hide_banner", "-y"]
            cmd += ["-loglevel", "error", *args, str(out)]
            subprocess.run(cmd, check=True, capture_output=True, timeout=120)
            made[name] = out
        return made[name]

    return make


@pytest.fixture(scope="session")
def clip_bytes(clip: Callable[[str], Path]) -> Callable[[str], bytes]:
    return lambda name: clip(name).read_bytes()
