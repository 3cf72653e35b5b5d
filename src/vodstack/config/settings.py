"""``Settings``: every group of settings in one typed object, validated once at start-up.

Each group (a module of this package) declares the fields of one stage; ``Settings`` inherits
them all, so code reads ``settings.<name>`` and operators set ``VODSTACK_<NAME>`` (or ``name``
in ``vodstack.toml``) whatever group a field sits in. A group validates its own fields; the
checks and derived values that span groups live here.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from vodstack.config.core import CoreSettings
from vodstack.config.costs import CostSettings
from vodstack.config.edge import EdgeSettings
from vodstack.config.entitlement import EntitlementSettings
from vodstack.config.ingest import IngestSettings
from vodstack.config.jobs import JobSettings
from vodstack.config.packaging import PackagingSettings
from vodstack.config.pictures import PictureSettings
from vodstack.config.protection import ProtectionSettings
from vodstack.config.secrets import SecretSettings
from vodstack.config.server import ServerSettings
from vodstack.config.sources import config_file
from vodstack.config.storage import StorageSettings
from vodstack.config.telemetry import TelemetrySettings
from vodstack.config.transcode import TranscodeSettings


# pydantic orders fields from the last base to the first, so the groups are listed here in
# reverse: `config show` prints them in pipeline order (core first, costs last), and every
# field is validated after those a validator reads from ``info.data`` (fragment_s, in
# transcode, before packaging's segment_s). tests/unit/test_config_groups.py pins this.
class Settings(
    CostSettings,
    TelemetrySettings,
    JobSettings,
    EdgeSettings,
    EntitlementSettings,
    PictureSettings,
    ProtectionSettings,
    PackagingSettings,
    TranscodeSettings,
    IngestSettings,
    SecretSettings,
    StorageSettings,
    ServerSettings,
    CoreSettings,
    BaseSettings,
):
    """All of vodstack's configuration. Field docs are the reference for operators."""

    model_config = SettingsConfigDict(
        env_prefix="VODSTACK_", toml_file="vodstack.toml", extra="ignore", frozen=True
    )

    @field_validator("segment_s")
    @classmethod
    def _segment_multiple_of_fragment(cls, value: int, info: ValidationInfo) -> int:
        fragment = info.data.get("fragment_s", 2)
        if value % fragment:
            raise ValueError(f"segment_s ({value}) must be a multiple of fragment_s ({fragment})")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file()))

    @cached_property
    def effective_edge_disk_dir(self) -> Path:
        return self.edge_disk_dir or self.home / "cache" / "edge"
