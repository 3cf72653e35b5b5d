"""Cut a ladder into independently encodable windows on the keyframe grid (pure).

Every rung keyframes at the first frame whose time is ≥ k × fragment_s (what FFmpeg's
``-force_key_frames expr:gte(t,n_forced*F)`` does on a constant-frame-rate stream), so the
fragment boundaries are known from the frame rate alone, before anything is encoded. A window
is a run of whole fragments; encoded on its own (seek to its first frame, encode its frames,
keyframes at its fragment starts) and re-timed (packaging.retime), it splices seamlessly with
its neighbours: same frames, same timestamps, closed GOPs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Window:
    index: int
    first_fragment: int
    fragment_count: int
    start_frame: int
    frame_count: int

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frame_count


def fragment_start_frames(frame_count: int, fps: Fraction, fragment_s: int) -> list[int]:
    """First frame of every fragment: ceil(k × fragment_s × fps) for every k that lands
    inside the stream."""
    starts = []
    k = 0
    while True:
        frame = math.ceil(k * fragment_s * fps)
        if frame >= frame_count:
            return starts or [0]
        starts.append(frame)
        k += 1


def plan_windows(
    frame_count: int, fps: Fraction, fragment_s: int, window_fragments: int
) -> tuple[Window, ...]:
    if frame_count < 1 or window_fragments < 1:
        raise ValueError("a window needs frames and at least one fragment")
    starts = fragment_start_frames(frame_count, fps, fragment_s)
    windows = []
    for index, first in enumerate(range(0, len(starts), window_fragments)):
        last = min(first + window_fragments, len(starts))
        end_frame = starts[last] if last < len(starts) else frame_count
        windows.append(Window(index, first, last - first, starts[first], end_frame - starts[first]))
    return tuple(windows)


def window_of_fragment(windows: tuple[Window, ...], fragment: int) -> Window:
    for window in windows:
        if window.first_fragment <= fragment < window.first_fragment + window.fragment_count:
            return window
    raise IndexError(f"fragment {fragment} is beyond the last window")


def keyframe_times(window: Window, frame_count: int, fps: Fraction, fragment_s: int) -> str:
    """``-force_key_frames`` list for a window encoded alone: its fragment starts, in seconds
    from the window's first frame (exact frame times, so rounding cannot move a keyframe)."""
    starts = fragment_start_frames(frame_count, fps, fragment_s)
    inside = starts[window.first_fragment : window.first_fragment + window.fragment_count]
    return ",".join(f"{float(Fraction(f - window.start_frame) / fps):.6f}" for f in inside)


def frame_ticks(fps: Fraction, timescale: int) -> Fraction:
    """Track-timescale ticks per frame (FFmpeg's mp4 timescale for 30 fps is 15360: 512)."""
    return Fraction(timescale) / fps


def window_tfdt(window: Window, fps: Fraction, timescale: int) -> int:
    """Decode time of the window's first frame in the full track."""
    ticks = window.start_frame * frame_ticks(fps, timescale)
    if ticks.denominator != 1:
        raise ValueError(f"{fps} fps frames do not fall on whole ticks of {timescale}")
    return int(ticks)


# -- audio ---------------------------------------------------------------------------------------
# AAC codes 1024 samples per frame. Audio fragments of a windowed track start at the first AAC
# frame at or after each fragment boundary, the same rule as video keyframes, so window w of
# the audio covers the same stretch of time as window w of every video rung (±1 AAC frame).
AAC_FRAME = 1024
AUDIO_RATE = 48_000


def audio_fragment_starts(frame_count: int, fragment_s: int, rate: int = AUDIO_RATE) -> list[int]:
    """First AAC frame of every audio fragment: ceil(k × fragment_s × rate / 1024)."""
    starts = []
    k = 0
    while True:
        frame = math.ceil(Fraction(k * fragment_s * rate, AAC_FRAME))
        if frame >= frame_count:
            return starts or [0]
        starts.append(frame)
        k += 1


def audio_frame_count(duration_s: float, rate: int = AUDIO_RATE) -> int:
    """AAC frames that cover ``duration_s`` (the last one padded with silence)."""
    return max(1, math.ceil(duration_s * rate / AAC_FRAME))


def fragment_bounds(starts: list[int], total: int, first: int, count: int) -> tuple[int, int]:
    """[start, end) in frames of fragments ``first`` … ``first + count - 1``."""
    end_index = first + count
    return starts[first], starts[end_index] if end_index < len(starts) else total
