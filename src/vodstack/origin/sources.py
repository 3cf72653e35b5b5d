"""What the origin asks of the prepare side at request time, as protocols.

Delivery sits above preparation, so the origin never imports the window encoder or FFmpeg:
the composition root hands it objects with these shapes (``transcode.progressive.
WindowScheduler`` is a ``WindowSource``, ``thumbnails.cutter.FrameCutter`` a ``FrameSource``),
and tests can hand it fakes. Both may block (an encode, a decode): the origin runs off the
event loop.
"""

from __future__ import annotations

from typing import Protocol

from vodstack.packaging import Presentation


class WindowLayout(Protocol):
    """How a windowed revision is cut: ``window_fragments`` fragments per window chunk."""

    @property
    def window_fragments(self) -> int: ...


class WindowSource(Protocol):
    """Window chunks of a revision still being encoded (progressive mode)."""

    def layout(self, asset_id: str, revision: int) -> WindowLayout: ...

    def ensure(self, asset_id: str, revision: int, track_id: str, window: int) -> str:
        """The stored key of a track's window chunk, encoding it now if it does not exist
        yet; raises ``Unavailable`` when it cannot be made in time, ``NotFound`` for an
        unknown track."""
        ...

    def chunk_fragments(self, key: str) -> tuple[tuple[int, int], ...]:
        """(offset, size) of every fragment (moof+mdat) of a stored chunk, in order."""
        ...


class FrameSource(Protocol):
    """Frames of a packaged title cut on request (``thumbnail.jpg``, a poster at a chosen
    time)."""

    def frame_jpeg(self, p: Presentation, time_s: float, width: int) -> bytes:
        """A JPEG of the frame shown at ``time_s``, about ``width`` wide; raises ``NotFound``
        when there is no such frame, ``Unavailable`` when every cut slot stays busy."""
        ...
