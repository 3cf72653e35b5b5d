"""Content protection: where content keys come from and who may fetch them (protection/)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from vodstack.config.fields import listed, optional, rate


class ProtectionSettings(BaseModel):
    speke_url: str | None = optional(
        "SPEKE v2 key service (CPIX over HTTP); default: keys generated locally."
    )
    speke_system_ids: tuple[str, ...] = listed(
        "DRM system ids whose PSSH the key service should return (Widevine "
        "edef8ba9-…, PlayReady 9a04f079-…); their boxes go into init segments and the MPD."
    )
    licence_rate_per_min: int = rate(120, "ClearKey licence requests per address (0 = off).")
    clearkey_external_keys: bool = Field(
        default=False,
        description="Also release keys issued by the external key service (SPEKE) through "
        "the built-in ClearKey licence server and HLS key URIs. Off: such keys are refused "
        "with 403 (rule clear_key_refused), since any cookie holder could read them.",
    )
