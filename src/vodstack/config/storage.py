"""Object storage: where masters and packaged media live (storage/)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from vodstack.config.fields import optional


class StorageSettings(BaseModel):
    storage_url: str | None = optional("Object store; default: the `objects` directory in `home`.")
    s3_endpoint_url: str | None = optional("S3 API endpoint (MinIO, moto, …); default: AWS.")
    s3_sse: Literal["AES256", "aws:kms"] = Field(
        default="AES256", description="Server-side encryption sent on every S3 write."
    )
    s3_kms_key_id: str | None = optional("KMS key id for aws:kms.")
    s3_cache_dir: Path | None = optional(
        "Disk cache of S3 byte ranges for the origin (default: memory)."
    )
    s3_cache_bytes: int = Field(default=256 * 1024**2, ge=0, description="S3 range cache size.")
    keep_masters_on_delete: bool = Field(
        default=True,
        description="`assets delete` keeps the master (so the asset can be rebuilt); false "
        "removes it too.",
    )
