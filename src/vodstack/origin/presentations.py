"""What the origin knows of a revision: its presentation (tracks, fragment index, stored
files) read from the catalogue, and the segments of each track, both remembered per process."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from vodstack.base.lru import Lru
from vodstack.catalogue import Asset, Catalogue, MediaCatalogue
from vodstack.errors import NotFound
from vodstack.packaging import (
    Presentation,
    Segment,
    StoredFile,
    TextTrack,
    Track,
    VariantTag,
    fragment_from_row,
    segment_track,
)

_CACHE_SIZE = 256
_WINDOWED_RECHECK_S = 2.0


class Presentations:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.media = MediaCatalogue(catalogue.db)
        # (presentation, when it was loaded) per revision; segment maps per track and layout
        self._presentations: Lru[tuple[str, int], tuple[Presentation, float]] = Lru(_CACHE_SIZE)
        self._segments: Lru[tuple[str, int, str, int, bool], tuple[Segment, ...]] = Lru(
            _CACHE_SIZE * 8
        )
        self._lock = threading.Lock()

    def forget(self, asset_id: str) -> None:
        with self._lock:
            self._presentations.pop_where(lambda k, _: k[0] == asset_id)
            self._segments.pop_where(lambda k, _: k[0] == asset_id)

    def get(self, asset_id: str, revision: int) -> Presentation:
        key = (asset_id, revision)
        with self._lock:
            hit = self._presentations.get(key)
            cached, loaded = hit if hit is not None else (None, 0.0)
            # A windowed revision is joined in place (same revision, new rows), and the
            # extras (poster, storyboard, download) of a ready revision are added later by
            # their job; origins in other processes see no event for either, so they re-read
            # such rows every few seconds.
            if cached is not None and (
                (not cached.windowed and cached.files)
                or time.monotonic() - loaded < _WINDOWED_RECHECK_S
            ):
                return cached
        rows = self.catalogue.renditions(asset_id, revision)
        if not rows:
            raise NotFound(f"asset {asset_id} has no revision {revision}")
        tracks = tuple(
            Track(
                track_id=r.track_id,
                kind=r.kind,
                codec=r.codec,
                timescale=r.timescale,
                media_time=r.media_time,
                init_size=r.init_size,
                file_key=r.file_key,
                file_size=r.file_size,
                fragments=tuple(fragment_from_row(f) for f in r.fragments),
                width=r.width,
                height=r.height,
                frame_rate=r.frame_rate,
                sample_rate=r.sample_rate,
                channels=r.channels,
                language=r.language,
                label=r.label,
                is_default=r.is_default,
                windowed=r.layout == "windowed",
            )
            for r in rows
        )
        # Where the media ends on the presentation timeline (edit lists applied): AAC priming
        # would otherwise make a 12.000 s title 12.021 s long [23009-1 §5.3.9.2].
        duration = max(t.presentation_end_s for t in tracks)
        files = tuple(
            StoredFile(f.kind, f.file_key, f.size, dict(f.meta or {}))
            for f in self.media.files(asset_id, revision).values()
        )
        presentation = Presentation(asset_id, revision, duration, tracks, files=files)
        with self._lock:
            self._presentations.put(key, (presentation, time.monotonic()))
        return presentation

    def finished(self, asset: Asset, what: str) -> Presentation:
        """The current revision, for what is made from the whole title (pictures, download)."""
        p = self.get(asset.id, asset.revision)
        if p.windowed:
            raise NotFound(f"the {what} is made once every window is encoded")
        return p

    def track(
        self, asset_id: str, tag: VariantTag, track_id: str | None
    ) -> tuple[Presentation, Track]:
        p = self.get(asset_id, tag.revision)
        track = p.track(track_id or "")
        if track is None:
            raise NotFound(f"no track {track_id!r}")
        return p, track

    def segments(self, p: Presentation, track: Track, segment_s: int) -> tuple[Segment, ...]:
        # windowed: a joined track (same revision and id, real byte offsets) must not reuse
        # the segments computed from the windowed rows' planned sizes
        key = (p.asset_id, p.revision, track.track_id, segment_s, track.windowed)
        with self._lock:
            known = self._segments.get(key)
            if known is not None:
                return known
        segments = segment_track(track, segment_s)
        with self._lock:
            self._segments.put(key, segments)
        return segments

    def segment(self, p: Presentation, track: Track, segment_s: int, number: int | None) -> Segment:
        """Segment ``number`` (from 1) of a track."""
        segments = self.segments(p, track, segment_s)
        assert number is not None
        if not 1 <= number <= len(segments):
            raise NotFound(f"segment {number} does not exist")
        return segments[number - 1]

    def with_texts(self, p: Presentation) -> Presentation:
        """The presentation with its current text tracks: sidecar captions change without a
        new revision, so they are read per request (manifests and misses only: the edge
        caches the rest)."""
        texts = tuple(
            TextTrack(
                track_id=c.track_id,
                language=c.language if c.language != "und" else None,
                label=c.label,
                file_key=c.file_key,
                is_default=c.is_default,
                forced=c.forced,
                kind=c.kind,
            )
            for c in self.media.captions(p.asset_id, p.revision)
        )
        return replace(p, texts=texts)
