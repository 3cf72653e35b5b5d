"""Frames cut for the origin at request time (``thumbnail.jpg``, a poster at a chosen time).

:class:`FrameCutter` has the shape of ``vodstack.origin.sources.FrameSource`` (structural
typing: thumbnails sits below the origin and does not import it). The composition root
builds one per origin process and hands it to the ``Origin``.
"""

from __future__ import annotations

from vodstack.packaging import Presentation
from vodstack.storage import ObjectStore
from vodstack.storage.slices import read_slice
from vodstack.thumbnails.frames import frame_jpeg
from vodstack.thumbnails.guard import CutSlots


class FrameCutter:
    """FFmpeg cuts from the stored CMAF tracks, at most ``slots`` at once (a request that
    finds none free within ``wait_s`` gets ``Unavailable``: 503 + Retry-After)."""

    def __init__(self, store: ObjectStore, slots: int, wait_s: float) -> None:
        self.store = store
        self.cuts = CutSlots(slots, wait_s)

    def frame_jpeg(self, p: Presentation, time_s: float, width: int) -> bytes:
        with self.cuts.slot():
            return frame_jpeg(p, time_s, width, self._read)

    def _read(self, key: str, offset: int, length: int) -> bytes:
        return read_slice(self.store, key, offset, length)
