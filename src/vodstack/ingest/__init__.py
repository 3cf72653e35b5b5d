"""Ingest: masters arrive (multipart or resumable tus uploads), are probed and stored, and
``source.created`` starts the prepare path."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.ingest.probe import SourceInfo, probe, probe_audio
    from vodstack.ingest.resumable import ResumableUploads, UploadState
    from vodstack.ingest.upload import Ingestor, Upload, storage_extension

__all__ = [
    "Ingestor",
    "ResumableUploads",
    "SourceInfo",
    "Upload",
    "UploadState",
    "probe",
    "probe_audio",
    "storage_extension",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "probe": ["SourceInfo", "probe", "probe_audio"],
        "resumable": ["ResumableUploads", "UploadState"],
        "upload": ["Ingestor", "Upload", "storage_extension"],
    },
)
