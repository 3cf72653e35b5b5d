"""Segments of a progressive revision, served while it is still being encoded: their
fragments come from window chunks, each made now by the ``WindowSource`` if nobody has asked
for it before (collapsed, capped, urgent)."""

from __future__ import annotations

from vodstack.errors import NotFound
from vodstack.origin.presentations import Presentations
from vodstack.origin.resources import IMMUTABLE, etag, stored_file
from vodstack.origin.sources import WindowSource
from vodstack.packaging import DeliveryPath, Presentation, Track
from vodstack.storage import ObjectStore
from vodstack.storage.slices import BytesResource, FileSlice, read_slice


class WindowedSlices:
    def __init__(
        self, store: ObjectStore, presentations: Presentations, windows: WindowSource | None
    ) -> None:
        self.store = store
        self.presentations = presentations
        self.windows = windows  # None: this process serves no title still being encoded

    def resolve(
        self, p: Presentation, track: Track, parsed: DeliveryPath, content_type: str
    ) -> FileSlice | BytesResource:
        """``init.mp4`` (stored beside the chunks) or media segment n of a windowed track."""
        assert parsed.tag is not None
        windows = self.windows
        if windows is None:
            raise NotFound("this process does not serve titles still being encoded")
        if parsed.kind == "init":
            return stored_file(self.store, init_key(track), content_type, IMMUTABLE)
        seg = self.presentations.segment(p, track, parsed.tag.segment_s, parsed.number)
        per_window = windows.layout(p.asset_id, p.revision).window_fragments
        parts: list[tuple[str, int, int]] = []
        for fragment in range(seg.first_fragment, seg.first_fragment + seg.fragment_count):
            window = fragment // per_window
            key = windows.ensure(p.asset_id, p.revision, track.track_id, window)
            offset, size = windows.chunk_fragments(key)[fragment - window * per_window]
            if parts and parts[-1][0] == key and parts[-1][1] + parts[-1][2] == offset:
                parts[-1] = (key, parts[-1][1], parts[-1][2] + size)
            else:
                parts.append((key, offset, size))
        tag = etag(p.asset_id, p.revision, track.track_id, "w", parsed.tag.segment_s, seg.number)
        if len(parts) == 1:
            key, offset, length = parts[0]
            path = self.store.local_path(key)
            return FileSlice(key, path, offset, length, content_type, IMMUTABLE, tag)
        body = b"".join(read_slice(self.store, k, o, n) for k, o, n in parts)
        return BytesResource(body, content_type, IMMUTABLE, tag)

    def init_bytes(self, track: Track) -> bytes:
        """The clear CMAF header of a windowed track (what its encrypted init is made from)."""
        key = init_key(track)
        return read_slice(self.store, key, 0, self.store.size(key))


def init_key(track: Track) -> str:
    return f"{track.file_key}/init.mp4"
