"""The packager's view of an asset: frozen value types named in the specs' vocabulary.

Built once per (asset, revision) from catalogue rows and cached by the origin; the HLS and DASH
writers are pure functions of a ``Presentation`` and the segmenting rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from vodstack.packaging.track_index import Fragment, presentation_end_s


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
    label: str | None = None  # what a player shows for an audio track (HLS NAME)
    is_default: bool = False
    # A progressive revision: file_key is a prefix of per-window chunks, fragment offsets and
    # sizes are unknown until each chunk exists (transcode.windowed).
    windowed: bool = False

    @property
    def codec_family(self) -> str:
        """h264 | hevc | av1 | aac | …: what groups renditions into switching sets."""
        fourcc = self.codec.split(".", 1)[0]
        return {"avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc"}.get(
            fourcc, {"av01": "av1", "mp4a": "aac"}.get(fourcc, fourcc)
        )

    @property
    def duration_s(self) -> float:
        return sum(f.duration for f in self.fragments) / self.timescale

    @property
    def presentation_end_s(self) -> float:
        """Where the media ends on the presentation timeline (edit list applied)."""
        return presentation_end_s(self.fragments, self.media_time, self.timescale)

    @property
    def fps(self) -> Fraction | None:
        return Fraction(self.frame_rate) if self.frame_rate else None


@dataclass(frozen=True, slots=True)
class TextTrack:
    """A WebVTT subtitle/caption track: one whole file, cut into segments for HLS."""

    track_id: str
    language: str | None  # RFC 5646
    label: str
    file_key: str
    is_default: bool = False
    forced: bool = False
    kind: str = "subtitles"  # subtitles | captions (CEA-608-like, for the hard of hearing)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file of the revision besides the tracks (poster, storyboard sprites, download)."""

    kind: str
    file_key: str
    size: int
    meta: dict = field(default_factory=dict)  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class Presentation:
    """Everything needed to write manifests and resolve segment URLs for one revision."""

    asset_id: str
    revision: int
    duration_s: float
    tracks: tuple[Track, ...]
    texts: tuple[TextTrack, ...] = ()
    files: tuple[StoredFile, ...] = ()

    @property
    def videos(self) -> tuple[Track, ...]:
        """Video tracks, H.264 first (every device decodes it), then by codec, lowest first."""
        order = {"h264": 0, "hevc": 1, "av1": 2}
        return tuple(
            sorted(
                (t for t in self.tracks if t.kind == "video"),
                key=lambda t: (order.get(t.codec_family, 9), t.height or 0, t.width or 0),
            )
        )

    @property
    def audios(self) -> tuple[Track, ...]:
        """Audio tracks, the default one first."""
        audios = [t for t in self.tracks if t.kind == "audio"]
        return tuple(sorted(audios, key=lambda t: not t.is_default))

    def video_sets(self) -> dict[str, tuple[Track, ...]]:
        """Video tracks per codec family (one DASH AdaptationSet each), H.264 first."""
        sets: dict[str, list[Track]] = {}
        for track in self.videos:
            sets.setdefault(track.codec_family, []).append(track)
        return {family: tuple(tracks) for family, tracks in sets.items()}

    def track(self, track_id: str) -> Track | None:
        return next((t for t in self.tracks if t.track_id == track_id), None)

    def text(self, track_id: str) -> TextTrack | None:
        return next((t for t in self.texts if t.track_id == track_id), None)

    def file(self, kind: str) -> StoredFile | None:
        return next((f for f in self.files if f.kind == kind), None)

    @property
    def windowed(self) -> bool:
        """Still being made window by window: no byte-range features (I-frame playlists,
        trick mode, pictures cut from the tracks) until the tracks are joined."""
        return any(t.windowed for t in self.tracks)


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
