"""One JPEG frame of a packaged asset, cut on the fly (``thumbnail.jpg?time=S&width=W``, and
the poster when its time was chosen by hand).

Only one fragment is decoded: the CMAF header plus the fragment that contains ``time``
(≤ 2 s of one rung, the smallest rung at least ``width`` wide) go to FFmpeg on stdin, which
decodes from that fragment's keyframe to the frame and scales it. The edge caches the result
per (time, width), so each distinct thumbnail is cut once.
"""

from __future__ import annotations

from collections.abc import Callable

from vodstack.errors import NotFound
from vodstack.media import ffmpeg_argv, ffmpeg_exe, run_ffmpeg_capture
from vodstack.packaging import Presentation, Track

ReadRange = Callable[[str, int, int], bytes]  # (file key, offset, length) → bytes


def pick_track(p: Presentation, width: int) -> Track:
    """The smallest H.264 rung at least ``width`` wide, else the widest (any decoder can cut
    from H.264; AV1/HEVC twins show the same picture)."""
    videos = [t for t in p.videos if t.codec_family == "h264"] or list(p.videos)
    if not videos:
        raise NotFound("this asset has no video track")
    wide = [t for t in videos if (t.width or 0) >= width]
    if wide:
        return min(wide, key=lambda t: t.width or 0)
    return max(videos, key=lambda t: t.width or 0)


def fragment_at(track: Track, time_s: float) -> tuple[int, float]:
    """Index of the fragment shown at ``time_s`` and ``time_s`` relative to its start."""
    target = time_s * track.timescale + track.media_time
    index = 0
    for i, frag in enumerate(track.fragments):
        if frag.presentation_time <= target:
            index = i
        else:
            break
    frag = track.fragments[index]
    offset = max(0.0, (target - frag.presentation_time) / track.timescale)
    return index, min(offset, frag.duration / track.timescale)


def frame_command(ffmpeg: str, offset_s: float, width: int) -> list[str]:
    """Decode from stdin, skip to ``offset_s`` (output-side seek: the input is a pipe), one
    frame scaled to ``width`` (even height, aspect kept) as JPEG on stdout."""
    argv = [*ffmpeg_argv(ffmpeg), "-f", "mp4"]
    argv += ["-i", "pipe:0", "-ss", f"{offset_s:.3f}", "-frames:v", "1"]
    argv += ["-vf", f"scale={width}:-2:flags=bicubic", "-q:v", "4"]
    return [*argv, "-f", "image2", "-c:v", "mjpeg", "pipe:1"]


def frame_jpeg(p: Presentation, time_s: float, width: int, read: ReadRange) -> bytes:
    track = pick_track(p, width)
    width = min(width, track.width or width)
    width -= width % 2
    time_s = min(max(0.0, time_s), max(0.0, track.duration_s - 0.05))
    index, offset = fragment_at(track, time_s)
    frag = track.fragments[index]
    data = read(track.file_key, 0, track.init_size) + read(track.file_key, frag.offset, frag.size)
    jpeg = run_ffmpeg_capture(frame_command(ffmpeg_exe(), offset, max(16, width)), input_bytes=data)
    if not jpeg and offset > 0:  # past the last frame of the fragment: take its last one
        jpeg = run_ffmpeg_capture(
            frame_command(ffmpeg_exe(), max(0.0, offset - 0.1), width), input_bytes=data
        )
    if not jpeg:
        raise NotFound(f"no frame at {time_s:.3f} s")
    return jpeg
