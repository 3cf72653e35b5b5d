"""Pictures of an asset: the poster, storyboard sprite sheets with their WebVTT thumbnails
track, and single frames cut on the fly for ``thumbnail.jpg?time=S&width=W`` (issue #8)."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.thumbnails.frames import frame_jpeg
    from vodstack.thumbnails.guard import CutSlots, ThumbnailAdmission
    from vodstack.thumbnails.storyboard import Storyboard, plan_storyboard, storyboard_vtt

__all__ = [
    "CutSlots",
    "Storyboard",
    "ThumbnailAdmission",
    "frame_jpeg",
    "plan_storyboard",
    "storyboard_vtt",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "frames": ["frame_jpeg"],
        "guard": ["CutSlots", "ThumbnailAdmission"],
        "storyboard": ["Storyboard", "plan_storyboard", "storyboard_vtt"],
    },
)
