"""Operations: logs and metrics (telemetry/)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from vodstack.config.fields import secret


class TelemetrySettings(BaseModel):
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log records written by servers and workers."
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Server and worker logs: one JSON object per line (timestamp, level, "
        "logger, message, role, instance, request_id), or readable text. `demo` writes text "
        "on a terminal unless this is set.",
    )
    instance_id: str | None = Field(
        default=None,
        max_length=128,
        description="Names this process in logs and metrics (the `instance` label); default "
        "hostname:pid.",
    )
    metrics_token: SecretStr | None = secret(
        "Bearer token that may read /metrics (besides the admin token), for a "
        "Prometheus scraping the viewer port."
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Also serve /metrics on this port of metrics_host, without the viewer "
        "port's token (unset: no admin listener).",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address of the metrics_port listener (loopback)."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
