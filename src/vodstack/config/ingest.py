"""Ingest: what an upload may be (ingest/, captions/, the upload routes)."""

from __future__ import annotations

from pydantic import BaseModel

from vodstack.config.fields import positive


class IngestSettings(BaseModel):
    max_upload_bytes: int = positive(50 * 1024**3, "Largest master accepted (bytes).")
    max_source_duration_s: float = positive(6 * 3600, "Longest master accepted (seconds).")
    caption_max_bytes: int = positive(2 * 1024**2, "Largest caption file accepted (bytes).")
    audio_upload_max_bytes: int = positive(
        2 * 1024**3, "Largest separate audio track accepted (bytes)."
    )
    upload_expiry_s: float = positive(
        24 * 3600,
        "Resumable uploads (/api/uploads) not completed within this are removed.",
    )
