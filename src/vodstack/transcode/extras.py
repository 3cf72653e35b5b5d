"""FFmpeg argv for what a revision carries besides its CMAF tracks (pure): the poster and the
storyboard sprites, cut from encoded rungs, and the progressive MP4 download.

Both picture jobs decode keyframes only (``-skip_frame nokey``): every fragment starts with
one, so a 2-hour title gives 3600 pictures to choose from at the cost of decoding 3600 frames,
not 216 000. The download is a remux (``-c copy``) of a rung and the default audio with the
index up front (``+faststart``), so it plays while it downloads.
"""

from __future__ import annotations

from pathlib import Path

from vodstack.media import ffmpeg_argv
from vodstack.thumbnails import Storyboard

POSTER_CANDIDATES = 50  # the thumbnail filter compares this many keyframes (memory-bound)


def pictures_command(
    ffmpeg: str,
    *,
    poster_source: Path,
    poster_height: int,
    keyframes: int,
    poster_out: Path,
    storyboard_source: Path,
    board: Storyboard,
    sheet_pattern: Path,
) -> list[str]:
    """Poster (FFmpeg's ``thumbnail`` filter: the keyframe closest to the average colour
    histogram of its batch, i.e. a representative picture rather than a black or flash frame)
    and storyboard sheets (``tile``), in one run."""
    step = max(1, -(-keyframes // POSTER_CANDIDATES))
    batch = max(2, min(POSTER_CANDIDATES, -(-keyframes // step)))  # thumbnail needs n ≥ 2
    poster = (
        f"[0:v]select='not(mod(n\\,{step}))',scale=-2:'min(ih,{poster_height})',"
        f"thumbnail=n={batch}[poster]"
    )
    sheet = (
        f"[1:v]select='not(mod(n\\,{board.keyframe_step}))',"
        f"scale={board.tile_width}:{board.tile_height}:flags=bicubic,setsar=1,"
        f"tile={board.columns}x{board.rows}[sheets]"
    )
    argv = ffmpeg_argv(ffmpeg)
    argv += ["-skip_frame", "nokey", "-i", str(poster_source)]
    argv += ["-skip_frame", "nokey", "-i", str(storyboard_source)]
    argv += ["-filter_complex", f"{poster};{sheet}"]
    argv += ["-map", "[poster]", "-frames:v", "1", "-fps_mode", "passthrough", "-q:v", "3"]
    argv += ["-update", "1", str(poster_out)]
    argv += ["-map", "[sheets]", "-fps_mode", "passthrough", "-q:v", "5", "-start_number", "1"]
    argv += [str(sheet_pattern)]
    return argv


def download_command(
    ffmpeg: str, video: Path, audio: Path | None, out: Path, *, title: str | None = None
) -> list[str]:
    """Progressive MP4: one video rung and the default audio, copied, index first."""
    argv = ffmpeg_argv(ffmpeg)
    argv += ["-i", str(video)]
    if audio is not None:
        argv += ["-i", str(audio)]
    argv += ["-map", "0:v:0"] + (["-map", "1:a:0"] if audio is not None else [])
    argv += ["-c", "copy", "-map_metadata", "-1", "-movflags", "+faststart"]
    if title:
        argv += ["-metadata", f"title={title[:200]}"]
    return [*argv, "-f", "mp4", str(out)]
