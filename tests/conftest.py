"""Shared test fixtures: short synthetic media made with FFmpeg lavfi, temp-dir settings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vodstack.compose.services import Services, build_services
from vodstack.config import RungTemplate, Settings
from vodstack.media import ffmpeg_argv

# A small ladder keeps transcodes to a second or two on 2 cores.
TEST_LADDER = (
    RungTemplate(height=144, maxrate_kbps=200),
    RungTemplate(height=240, maxrate_kbps=400),
    RungTemplate(height=360, maxrate_kbps=800),
)

MakeClip = Callable[..., Path]


def make_clip_file(
    out: Path,
    *,
    seconds: float = 4,
    size: str = "640x360",
    rate: int = 30,
    audio: bool = True,
    video: bool = True,
    extra: list[str] | None = None,
) -> Path:
    """An MP4 from ``testsrc2`` (+ ``sine``), like a small real master."""
    argv = ffmpeg_argv()
    if video:
        argv += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    if video:
        argv += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        argv += ["-c:a", "aac"]
    argv += [*(extra or []), str(out)]
    subprocess.run(argv, check=True)
    return out


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip(media_dir: Path) -> Path:
    """A 4 s 640x360 30 fps clip with AAC audio, shared by the session."""
    return make_clip_file(media_dir / "clip.mp4")


@pytest.fixture
def make_clip(tmp_path: Path) -> MakeClip:
    counter = iter(range(1000))

    def make(name: str | None = None, **kwargs: object) -> Path:
        return make_clip_file(tmp_path / (name or f"clip{next(counter)}.mp4"), **kwargs)  # type: ignore[arg-type]

    return make


def make_settings(home: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "home": home,
        "ladder": TEST_LADDER,
        "x264_preset": "ultrafast",
        "job_lease_s": 10,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    s = build_services(settings)
    yield s
    s.close()


#: The file in an xdist worker's temporary directory that lists the server homes it started.
_HOMES_LIST = "started-homes.txt"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The logs of every server this run started, grepped for the key material stored in its
    home and for the admin token: a secret printed by any code path, in any test, fails the
    run (issue #9: "grep the logs of a full test run for key material").

    Under pytest-xdist (scripts/test runs the suite in workers) each worker lists its homes
    in its own temporary directory, which lies in the controller's; the controller sweeps
    them all and alone decides the run's status."""
    e2e = sys.modules.get("tests.e2e.conftest")
    homes: list[Path] = list(e2e.STARTED_HOMES) if e2e is not None else []
    basetemp = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller sweeps
        (basetemp / _HOMES_LIST).write_text("".join(f"{home}\n" for home in homes))
        return
    for listing in sorted(basetemp.glob(f"*/{_HOMES_LIST}")):
        homes += [Path(line) for line in listing.read_text().splitlines()]
    if not homes:
        return
    from tests.e2e.conftest import ADMIN_TOKEN
    from tests.secrets_scan import sweep

    homes = list(dict.fromkeys(homes))
    found = sweep(homes, {"admin token": {ADMIN_TOKEN.encode()}})
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if found:
        message = f"key material in server logs ({len(found)}):\n  " + "\n  ".join(found[:20])
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        reporter.write_line(f"secrets sweep: {len(homes)} server homes, no key material in logs")
