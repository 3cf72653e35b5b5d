"""One typed settings object, validated once at start-up.

Every field has a safe default so `vodstack demo` needs no configuration; each can be set by a
`VODSTACK_*` environment variable or a `vodstack.toml` in the working directory (env wins).
Derived values (paths, the ladder) are computed here once, never per request.

The fields are grouped per stage, one module each (``core``, ``server``, ``storage``,
``secrets``, ``ingest``, ``transcode``, ``packaging``, ``protection``, ``pictures``,
``entitlement``, ``edge``, ``jobs``, ``telemetry``, ``costs``); ``settings`` composes them into
:class:`Settings`, ``ladder`` holds the ladder templates, ``fields`` the recurring field
shapes, ``sources`` where settings come from and ``check`` the start-up check and
``config show``.
"""

from __future__ import annotations

from vodstack.config.check import (
    Effective,
    SettingsInvalid,
    effective,
    load_settings,
    problems,
    redact,
)
from vodstack.config.ladder import (
    DEFAULT_LADDER,
    LadderMode,
    LadderTemplate,
    RungTemplate,
    VideoCodec,
)
from vodstack.config.settings import Settings
from vodstack.config.sources import NON_SETTINGS_VARIABLES, config_file

__all__ = [
    "DEFAULT_LADDER",
    "NON_SETTINGS_VARIABLES",
    "Effective",
    "LadderMode",
    "LadderTemplate",
    "RungTemplate",
    "Settings",
    "SettingsInvalid",
    "VideoCodec",
    "config_file",
    "effective",
    "load_settings",
    "problems",
    "redact",
]
