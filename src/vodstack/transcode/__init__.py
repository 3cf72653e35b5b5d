"""Transcode: ladder planning (pure), FFmpeg command building (pure), the transcode and extras
stages, and windowed encoding on demand."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.transcode.extras_job import ExtrasStage, extras_status
    from vodstack.transcode.progressive import WindowScheduler
    from vodstack.transcode.stage import TranscodeStage
    from vodstack.transcode.timing import StageTimer

__all__ = ["ExtrasStage", "StageTimer", "TranscodeStage", "WindowScheduler", "extras_status"]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "extras_job": ["ExtrasStage", "extras_status"],
        "progressive": ["WindowScheduler"],
        "stage": ["TranscodeStage"],
        "timing": ["StageTimer"],
    },
)
