"""One typed settings object, validated once at start-up.

Every field has a safe default so `vodstack demo` needs no configuration; each can be set by a
`VODSTACK_*` environment variable or a `vodstack.toml` in the working directory (env wins).
Derived values (paths, the ladder) are computed here once, never per request.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class RungTemplate(BaseModel):
    """One rung of a ladder template: a target height with its quality-capped VBR settings.

    ``crf`` targets quality; ``maxrate_kbps`` caps the peak (with a VBV buffer of
    ``bufsize_factor`` × maxrate) — our analogue of MediaConvert's QVBR.
    """

    height: int = Field(gt=0, le=4320)
    maxrate_kbps: int = Field(gt=0)
    crf: int = Field(default=23, ge=0, le=51)
    bufsize_factor: float = Field(default=2.0, gt=0)


DEFAULT_LADDER: tuple[RungTemplate, ...] = (
    RungTemplate(height=240, maxrate_kbps=400, crf=23),
    RungTemplate(height=360, maxrate_kbps=800, crf=23),
    RungTemplate(height=480, maxrate_kbps=1400, crf=23),
    RungTemplate(height=720, maxrate_kbps=3000, crf=23),
    RungTemplate(height=1080, maxrate_kbps=6000, crf=23),
)


def _default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "vodstack"


class Settings(BaseSettings):
    """All of vodstack's configuration. Field docs are the reference for operators."""

    model_config = SettingsConfigDict(
        env_prefix="VODSTACK_", toml_file="vodstack.toml", extra="ignore", frozen=True
    )

    home: Path = Field(default_factory=_default_home, description="Data directory.")
    public_url: str | None = Field(
        default=None,
        description="Scheme+host viewers use (base of playback URLs and policy Resources). "
        "Default: http://{host}:{port} of `serve`.",
    )
    admin_token: str | None = Field(
        default=None, description="Admin bearer token; generated on first run when unset."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in `home`."
    )
    storage_url: str | None = Field(
        default=None, description="Object store; default: the `objects` directory in `home`."
    )
    broker_url: str | None = Field(default=None, description="Celery broker (scale-out).")

    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` binds to.")

    max_upload_bytes: int = Field(
        default=50 * 1024**3, gt=0, description="Largest master accepted (bytes)."
    )
    max_source_duration_s: float = Field(
        default=6 * 3600, gt=0, description="Longest master accepted (seconds)."
    )
    ladder: tuple[RungTemplate, ...] = Field(
        default=DEFAULT_LADDER, description="Ladder template, lowest rung first."
    )
    x264_preset: str = Field(default="veryfast", description="libx264 preset for every rung.")
    audio_bitrate_kbps: int = Field(default=128, gt=0, description="AAC stereo bitrate.")
    fragment_s: int = Field(
        default=2, ge=1, le=10, description="Keyframe/fragment interval (seconds), all rungs."
    )
    segment_s: int = Field(
        default=4,
        ge=1,
        le=30,
        description="Delivered segment duration (a multiple of fragment_s); changing it needs "
        "no re-transcode.",
    )
    manifest_max_age_s: int = Field(
        default=2, ge=0, description="Cache-Control max-age of manifests (seconds)."
    )
    workers: int = Field(default=1, ge=1, le=64, description="In-process transcode workers.")
    job_max_attempts: int = Field(default=3, ge=1, description="Attempts before a job fails.")
    job_lease_s: int = Field(
        default=60, ge=5, description="A running job whose lease lapses is picked up again."
    )
    cpus: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        ge=1,
        description="CPU cores FFmpeg may use; encoder threads are shared out by rung size.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("segment_s")
    @classmethod
    def _segment_multiple_of_fragment(cls, value: int, info) -> int:
        fragment = info.data.get("fragment_s", 2)
        if value % fragment:
            raise ValueError(f"segment_s ({value}) must be a multiple of fragment_s ({fragment})")
        return value

    @field_validator("ladder")
    @classmethod
    def _ladder_sorted(cls, value: tuple[RungTemplate, ...]) -> tuple[RungTemplate, ...]:
        if not value:
            raise ValueError("the ladder needs at least one rung")
        return tuple(sorted(value, key=lambda r: r.height))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    # Derived locations, computed once.
    @cached_property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @cached_property
    def objects_dir(self) -> Path:
        return self.home / "objects"

    @cached_property
    def work_dir(self) -> Path:
        """Scratch space for transcodes; wiped per job."""
        return self.home / "work"

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'catalogue.db'}"

    def base_url(self) -> str:
        """Public scheme+host, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
