"""Ingest: masters arrive (multipart or resumable tus uploads), are probed and stored, and
``source.created`` starts the prepare path. ``probe`` is a module: import the function from it
(``from vodstack.ingest.probe import probe``), as a face name would shadow it."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.ingest.probe import SourceInfo, probe_audio
    from vodstack.ingest.resumable import ResumableUploads, UploadState
    from vodstack.ingest.upload import Ingestor, Upload, storage_extension

__all__ = [
    "Ingestor",
    "ResumableUploads",
    "SourceInfo",
    "Upload",
    "UploadState",
    "probe_audio",
    "storage_extension",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "probe": ["SourceInfo", "probe_audio"],
        "resumable": ["ResumableUploads", "UploadState"],
        "upload": ["Ingestor", "Upload", "storage_extension"],
    },
)
