"""Group a track's CMAF fragments into delivered segments (pure).

Segments are made at request time from the stored fragments, so the segment duration is a
packaging choice, not an encoding one: 4 s segments are two 2 s fragments back to back, i.e.
one contiguous byte range (moof+mdat, moof+mdat) of the track file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from vodstack.base.lru import Lru
from vodstack.packaging.model import Track

T = TypeVar("T")

# A segment may overrun its nominal duration by this fraction: AAC fragments are 94 frames
# (2.005 s at 48 kHz), so two of them make a 4.011 s segment, which is still "a 4 s segment".
_TOLERANCE = 0.1


@dataclass(frozen=True, slots=True)
class Segment:
    """A delivered media segment: numbered from 1 (DASH startNumber default)."""

    number: int
    start: int  # earliest presentation time, track timescale (edit list not applied)
    duration: int  # track timescale
    offset: int  # first byte in the track file
    size: int  # bytes (whole fragments, contiguous)
    first_fragment: int
    fragment_count: int


class _IndexMemo:
    """Results derived from a track's fragment index, remembered per index.

    Why: every manifest request walked every fragment again (segment grouping for each
    variant, peak and average bit rates, I-frame ranges, the DASH timeline): ~0.5 ms of a 60 s
    title's 0.66 ms warm multivariant playlist, 37 ms for a 2 h title, for results that change
    only when the index does. Fragment tuples (and the segment tuples made from them) are
    immutable and shared by every presentation built from the same catalogue rows, so the
    tuple's identity is the key; the entry holds the tuple itself, so its id cannot be reused
    while the entry lives. Bounded (LRU): ~10 entries per cached title and segment duration;
    an entry of an evicted or purged presentation keeps its index alive only until newer
    work pushes it out.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: Lru[tuple[int, str], tuple[Any, Any]] = Lru(max_entries)
        self._lock = threading.Lock()

    def get(self, index: tuple[Any, ...], what: str, compute: Callable[[], T]) -> T:
        """``compute()``, or its remembered result for this ``index`` tuple and ``what``
        (which must name every other input, e.g. ``"segments/90000/4"``)."""
        key = (id(index), what)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] is index:
                return cast(T, hit[1])
        value = compute()
        with self._lock:
            self._entries.put(key, (index, value))
        return value


index_memo = _IndexMemo()


def segment_track(track: Track, segment_s: int) -> tuple[Segment, ...]:
    """Greedy grouping: add fragments while the segment stays within the nominal duration."""
    return index_memo.get(
        track.fragments,
        f"segments/{track.timescale}/{segment_s}",
        lambda: _group(track, segment_s),
    )


def _group(track: Track, segment_s: int) -> tuple[Segment, ...]:
    limit = segment_s * track.timescale * (1 + _TOLERANCE)
    segments: list[Segment] = []
    group: list[int] = []
    group_duration = 0

    def close() -> None:
        first = track.fragments[group[0]]
        last = track.fragments[group[-1]]
        segments.append(
            Segment(
                number=len(segments) + 1,
                start=first.presentation_time,
                duration=group_duration,
                offset=first.offset,
                size=last.offset + last.size - first.offset,
                first_fragment=group[0],
                fragment_count=len(group),
            )
        )

    for index, fragment in enumerate(track.fragments):
        if group and group_duration + fragment.duration > limit:
            close()
            group, group_duration = [], 0
        group.append(index)
        group_duration += fragment.duration
    if group:
        close()
    return tuple(segments)


def peak_bitrate(
    track: Track, segments: tuple[Segment, ...], sizes: tuple[int, ...] | None = None
) -> int:
    """Highest segment bit rate in bits/s — HLS BANDWIDTH and DASH @bandwidth are peaks
    [RFC 8216 §4.3.4.2; ISO/IEC 23009-1 §5.3.5.2]. ``sizes``: the bytes each segment is
    served as when that differs from the stored bytes (protected media, see
    :func:`served_sizes`); one per segment."""
    served = sizes if sizes is not None else tuple(seg.size for seg in segments)

    def compute() -> int:
        best = 0.0
        for seg, size in zip(segments, served, strict=True):
            if seg.duration > 0:
                best = max(best, size * 8 * track.timescale / seg.duration)
        return int(best) + 1 if best else 0

    # A sizes tuple is made for one track and segment duration (served_sizes), so it names
    # the segments too.
    return index_memo.get(sizes or segments, f"peak/{track.timescale}", compute)


def average_bitrate(track: Track, sizes: tuple[int, ...] | None = None) -> int:
    """Media bytes (as served: ``sizes`` per segment, else the stored fragments) over the
    whole duration, in bits/s (HLS AVERAGE-BANDWIDTH)."""

    def compute() -> int:
        seconds = track.duration_s
        media_bytes = sum(sizes) if sizes is not None else sum(f.size for f in track.fragments)
        return int(media_bytes * 8 / seconds) + 1 if seconds > 0 else 0

    if sizes is not None:
        return index_memo.get(sizes, f"average/{track.timescale}", compute)
    return index_memo.get(track.fragments, f"average/{track.timescale}", compute)


#: Bytes each segment of a track is served as, per track id, when protection changes them.
ServedSizes = Mapping[str, tuple[int, ...]]


def served_sizes(track: Track, segment_s: int, fragment_sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Per-segment sizes from per-fragment ones (``fragment_sizes``, made once per track and
    protection): a segment is its fragments back to back, and protection works fragment by
    fragment (packaging/encryption/fragment.py)."""
    return index_memo.get(
        fragment_sizes,
        f"served/{segment_s}",
        lambda: tuple(
            sum(fragment_sizes[seg.first_fragment : seg.first_fragment + seg.fragment_count])
            for seg in segment_track(track, segment_s)
        ),
    )
