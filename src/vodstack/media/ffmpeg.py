"""The one place vodstack starts FFmpeg: logs the exact argv, streams progress, keeps the log tail;
and the one start of every FFmpeg argv (:func:`ffmpeg_argv`).

Why a choke point: every FFmpeg run is reproducible from the log line (shell-quoted argv), and
cancellation, timeouts and error reporting behave the same for every caller. Building an argv
stays a pure function of its caller (``transcode/command.py``, ``thumbnails/frames.py``, …);
only its first words come from here, so every run gets the same global options.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from functools import cache

import imageio_ffmpeg

from vodstack.errors import TranscodeError

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]
# SVT-AV1 prints its banner and configuration to stderr whatever FFmpeg's -loglevel says;
# SVT_LOG=1 keeps only its errors, so the log tail of a failure stays readable.
_ENV = {**os.environ, "SVT_LOG": "1"}


@cache
def ffmpeg_exe() -> str:
    """FFmpeg from the imageio-ffmpeg wheel: no system install needed."""
    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_argv(ffmpeg: str | None = None, *, loglevel: str = "error") -> list[str]:
    """The global options every FFmpeg run starts with (pure; inputs and outputs follow).

    ``-nostdin``: a job never waits on a terminal (stdin is closed anyway, but FFmpeg would
    still poll it for ``q``); ``-y``: outputs go to the job's own work directory, where a file
    of the same name can only be a failed attempt's; ``-loglevel error`` and ``-nostats``:
    stderr carries only errors, so the tail kept for a failure reads as the reason (progress
    comes from ``-progress pipe:1`` where a caller wants it).
    """
    exe = ffmpeg if ffmpeg is not None else ffmpeg_exe()
    return [exe, "-hide_banner", "-nostdin", "-y", "-loglevel", loglevel, "-nostats"]


def parse_progress_line(line: str) -> float | None:
    """Seconds of output written, from a ``-progress`` line (``out_time_us=…``), else None."""
    key, _, value = line.strip().partition("=")
    if key in ("out_time_us", "out_time_ms") and value.lstrip("-").isdigit():
        return max(0.0, int(value) / 1_000_000)  # out_time_ms is in µs too (FFmpeg quirk)
    return None


def run_ffmpeg(
    argv: list[str],
    *,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float | None = None,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
) -> None:
    """Run FFmpeg to completion; raise TranscodeError with the log tail when it fails.

    ``on_start`` receives the process (the window scheduler pauses background encodes with it).
    """
    log.info("ffmpeg: %s", shlex.join(argv))
    tail: deque[str] = deque(maxlen=30)
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=_ENV,
    )
    if on_start is not None:
        on_start(proc)

    def drain_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            tail.append(line.rstrip())

    reader = threading.Thread(target=drain_stderr, daemon=True)
    reader.start()
    watchdog = None
    fired = threading.Event()
    if cancel is not None or timeout_s is not None:
        watchdog = threading.Thread(
            target=_watch, args=(proc, cancel, timeout_s, fired), daemon=True
        )
        watchdog.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        seconds = parse_progress_line(line)
        if seconds is not None and on_progress and duration_s:
            on_progress(min(1.0, seconds / duration_s))
    code = proc.wait()
    reader.join(timeout=5)
    if code != 0:
        if cancel is not None and cancel.is_set():
            raise TranscodeError("transcode cancelled", "\n".join(tail))
        if fired.is_set():
            raise TranscodeError(
                f"FFmpeg was stopped after {timeout_s:.0f} s (the watchdog's limit for this "
                "media's length)",
                "\n".join(tail),
            )
        last = next((line for line in reversed(tail) if line.strip()), "no output")
        raise TranscodeError(f"FFmpeg failed (exit {code}): {last}", "\n".join(tail))
    if on_progress:
        on_progress(1.0)


def run_ffmpeg_capture(
    argv: list[str], *, input_bytes: bytes | None = None, timeout_s: float = 60
) -> bytes:
    """Run a short FFmpeg job that writes its result to stdout (a JPEG, a probe's stats) and
    return those bytes; ``input_bytes`` are fed on stdin (``-i pipe:0``)."""
    log.info("ffmpeg: %s", shlex.join(argv))
    try:
        proc = subprocess.run(
            argv,
            input=input_bytes,
            stdin=None if input_bytes is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            env=_ENV,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TranscodeError(f"FFmpeg did not finish in {timeout_s:.0f} s") from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-30:]
        last = tail[-1] if tail else "no output"
        raise TranscodeError(f"FFmpeg failed (exit {proc.returncode}): {last}", "\n".join(tail))
    return proc.stdout


def _watch(
    proc: subprocess.Popen[str],
    cancel: threading.Event | None,
    timeout_s: float | None,
    fired: threading.Event,
) -> None:
    """Kill FFmpeg when cancelled, or when it outlives ``timeout_s`` (``fired`` says so)."""
    waited = 0.0
    while proc.poll() is None:
        if cancel is not None and cancel.wait(0.5):
            proc.kill()
            return
        if cancel is None:
            threading.Event().wait(0.5)
        waited += 0.5
        if timeout_s is not None and waited >= timeout_s:
            fired.set()
            proc.kill()
            return
