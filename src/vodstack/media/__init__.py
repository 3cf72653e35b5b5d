"""Media tools below every stage: the one FFmpeg runner and the one start of its argv.

Stages build their own argv (pure functions) from :func:`ffmpeg_argv` and run it through
:func:`run_ffmpeg` (long runs: progress, cancellation, a watchdog) or
:func:`run_ffmpeg_capture` (short runs whose result is stdout).
"""

from vodstack.media.ffmpeg import (
    ProgressCallback,
    ffmpeg_argv,
    ffmpeg_exe,
    parse_progress_line,
    run_ffmpeg,
    run_ffmpeg_capture,
)

__all__ = [
    "ProgressCallback",
    "ffmpeg_argv",
    "ffmpeg_exe",
    "parse_progress_line",
    "run_ffmpeg",
    "run_ffmpeg_capture",
]
