"""Storyboard: thumbnails every few seconds tiled into sprite sheets, and the WebVTT track that
maps each time range to a tile (``sheet.jpg#xywh=x,y,w,h``, W3C Media Fragments §4.2.1) —
the de-facto format players read for seek-bar previews (JW Player, Video.js, Shaka's
``addThumbnailsTrack``). Pure geometry and text; the pictures are cut by the transcode.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from vodstack.packaging import format_timestamp

# A sprite sheet should stay small enough for a browser to decode at once.
_MAX_THUMBS = 300


@dataclass(frozen=True, slots=True)
class Storyboard:
    interval_s: float  # a multiple of the fragment: every thumbnail is a keyframe
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    count: int  # thumbnails in all sheets
    duration_s: float
    fragment_s: float = 2.0

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    @property
    def sheets(self) -> int:
        return math.ceil(self.count / self.per_sheet)

    @property
    def sheet_size(self) -> tuple[int, int]:
        return self.columns * self.tile_width, self.rows * self.tile_height

    @property
    def keyframe_step(self) -> int:
        """Keep every Nth keyframe (one keyframe per fragment)."""
        return max(1, round(self.interval_s / self.fragment_s)) if self.fragment_s else 1

    def tile(self, index: int) -> tuple[int, int, int, int, int]:
        """(sheet number from 1, x, y, w, h) of thumbnail ``index``."""
        sheet, position = divmod(index, self.per_sheet)
        row, column = divmod(position, self.columns)
        return (
            sheet + 1,
            column * self.tile_width,
            row * self.tile_height,
            self.tile_width,
            self.tile_height,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Storyboard:
        return cls(**data)


def plan_storyboard(
    *,
    duration_s: float,
    keyframes: int,
    fragment_s: int,
    width: int,
    height: int,
    interval_s: float = 0,
    tile_width: int = 160,
    columns: int = 5,
    rows: int = 5,
) -> Storyboard:
    """Thumbnails every ``interval_s`` (0: every fragment, widened so a long title stays near
    300 thumbnails), rounded to whole fragments so each is a keyframe."""
    if interval_s <= 0:
        interval_s = fragment_s * max(1, math.ceil(duration_s / _MAX_THUMBS / fragment_s))
    step = max(1, round(interval_s / fragment_s))
    tile_height = max(2, round(tile_width * height / width / 2) * 2)
    return Storyboard(
        interval_s=float(step * fragment_s),
        tile_width=tile_width,
        tile_height=tile_height,
        columns=columns,
        rows=rows,
        count=max(1, math.ceil(keyframes / step)),
        duration_s=duration_s,
        fragment_s=float(fragment_s),
    )


def storyboard_vtt(board: Storyboard, sheet_uri: str) -> str:
    """The WebVTT thumbnails track; ``sheet_uri`` has ``{n}`` for the sheet number."""
    lines = ["WEBVTT", ""]
    for i in range(board.count):
        start = i * board.interval_s
        if start >= board.duration_s:
            break
        last = i == board.count - 1
        end = board.duration_s if last else min((i + 1) * board.interval_s, board.duration_s)
        sheet, x, y, w, h = board.tile(i)
        lines.append(
            f"{format_timestamp(round(start * 1000))} --> {format_timestamp(round(end * 1000))}"
        )
        lines.append(f"{sheet_uri.format(n=sheet)}#xywh={x},{y},{w},{h}")
        lines.append("")
    return "\n".join(lines) + "\n"
