"""The packager's view of an asset: frozen value types named in the specs' vocabulary.

Built once per (asset, revision) from catalogue rows and cached by the origin; the HLS and DASH
writers are pure functions of a ``Presentation`` and the segmenting rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from vodstack.packaging.track_index import Fragment


@dataclass(frozen=True, slots=True)
class Track:
    """One CMAF track file (a rendition) and its fragment index."""

    track_id: str
    kind: str  # video | audio | text
    codec: str  # RFC 6381
    timescale: int
    media_time: int  # edit-list media_time: presentation time 0 of this track
    init_size: int  # bytes [0, init_size) of the file are the CMAF header (ftyp+moov)
    file_key: str
    file_size: int
    fragments: tuple[Fragment, ...]
    width: int | None = None
    height: int | None = None
    frame_rate: str | None = None  # "30" or "30000/1001"
    sample_rate: int | None = None
    channels: int | None = None
    language: str | None = None

    @property
    def duration_s(self) -> float:
        return sum(f.duration for f in self.fragments) / self.timescale

    @property
    def fps(self) -> Fraction | None:
        return Fraction(self.frame_rate) if self.frame_rate else None


@dataclass(frozen=True, slots=True)
class Presentation:
    """Everything needed to write manifests and resolve segment URLs for one revision."""

    asset_id: str
    revision: int
    duration_s: float
    tracks: tuple[Track, ...]

    @property
    def videos(self) -> tuple[Track, ...]:
        return tuple(
            sorted((t for t in self.tracks if t.kind == "video"), key=lambda t: t.height or 0)
        )

    @property
    def audios(self) -> tuple[Track, ...]:
        return tuple(t for t in self.tracks if t.kind == "audio")

    def track(self, track_id: str) -> Track | None:
        return next((t for t in self.tracks if t.track_id == track_id), None)


def fragment_from_row(row: list[int]) -> Fragment:
    offset, size, decode_time, duration, pts, count, sap, key_end = row
    return Fragment(
        offset=offset,
        size=size,
        decode_time=decode_time,
        duration=duration,
        presentation_time=pts,
        sample_count=count,
        starts_with_sap=bool(sap),
        key_sample_end=key_end,
    )


def fragment_to_row(f: Fragment) -> list[int]:
    return [
        f.offset,
        f.size,
        f.decode_time,
        f.duration,
        f.presentation_time,
        f.sample_count,
        int(f.starts_with_sap),
        f.key_sample_end,
    ]
