"""Checking the settings before anything starts, and showing where each value came from.

Why a module of its own: pydantic-settings ignores keys it does not know (a typo such as
``prot = 8080`` in ``vodstack.toml`` silently leaves the port at its default) and reports a bad
value as a multi-line ``ValidationError``. Here every problem becomes one line naming the key
and where it came from (the file or the ``VODSTACK_*`` variable), so ``vodstack config check``
and the servers (``serve``, ``worker``, ``demo``) refuse a broken configuration the same way.
Values are never echoed in a problem line: a bad value may be a secret.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from vodstack.config.settings import Settings
from vodstack.config.sources import NON_SETTINGS_VARIABLES, config_file
from vodstack.errors import ConfigError

PREFIX = "VODSTACK_"
Source = Literal["default", "file", "env"]
_SECRET_NAME = re.compile(r"secret|token|passphrase|password")
_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^:/@]*:)[^@/]*@", re.I)


class SettingsInvalid(ConfigError):
    """The settings cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Effective:
    """One setting as the process sees it."""

    name: str
    value: Any  # JSON-ready, secrets redacted
    source: Source
    origin: str | None  # the file path or the variable name; None for a default


def env_name(field: str) -> str:
    return f"{PREFIX}{field.upper()}"


def _environ() -> dict[str, str]:
    # pydantic-settings matches names case-insensitively (case_sensitive=False)
    return {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(PREFIX)}


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def read_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The settings file's table and the problems found reading it (syntax, unknown keys)."""
    if not path.is_file():
        if os.environ.get(f"{PREFIX}CONFIG"):
            return {}, [f"{PREFIX}CONFIG: settings file {path} does not exist"]
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"{path}: cannot read the settings file ({exc})"]
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"{path}: not valid TOML: {exc}"]
    known = list(Settings.model_fields)
    problems = [
        f"{path}: unknown key {key}{_suggest(key, known)}" for key in data if key not in known
    ]
    return data, problems


def read_env() -> tuple[dict[str, Any], list[str]]:
    """Settings values from ``VODSTACK_*`` variables, and the problems found reading them:
    unknown variables, values of list/table settings that are not JSON."""
    fields = Settings.model_fields
    known = {env_name(n): n for n in fields}
    source = EnvSettingsSource(Settings)
    values: dict[str, Any] = {}
    problems = []
    for var, value in sorted(_environ().items()):
        name = known.get(var)
        if name is None:
            if var not in NON_SETTINGS_VARIABLES:
                hint = _suggest(var, [*known, *NON_SETTINGS_VARIABLES])
                problems.append(f"{var}: unknown variable{hint}")
            continue
        try:
            values[name] = source.prepare_field_value(name, fields[name], value, False)
        except ValueError:
            problems.append(f'{var}: {name} expects JSON here, e.g. ["a", "b"] or {{"k": 1}}')
    return values, problems


def _location(loc: tuple[int | str, ...]) -> str:
    text = str(loc[0])
    for part in loc[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def source_of(name: str, file_data: dict[str, Any], path: Path) -> tuple[Source, str | None]:
    """Where a setting's value came from; the environment wins over the file (as loaded)."""
    var = env_name(name)
    if var in _environ():
        return "env", var
    if name in file_data:
        return "file", str(path)
    return "default", None


class _Given(Settings):
    """The settings validated from the values given to it only (no environment, no file)."""

    model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": None})

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        **_: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def problems(*, strict: bool = True) -> list[str]:
    """Every problem of the current settings, one line each (empty: usable). ``strict``
    includes unknown keys and variables."""
    path = config_file()
    file_data, found = read_file(path)
    env_data, env_found = read_env()
    found += env_found
    if not strict:
        found = [p for p in found if "unknown key" not in p and "unknown variable" not in p]
    # Validate what the sources would hand over (the environment wins), every field at once.
    known = {k: v for k, v in file_data.items() if k in Settings.model_fields}
    try:
        _Given(**{**known, **env_data})
    except ValidationError as exc:
        for error in exc.errors(include_input=False, include_url=False):
            loc = error["loc"] or ("settings",)
            where = source_of(str(loc[0]), file_data, path)[1] or "default"
            message = error["msg"].removeprefix("Value error, ")
            found.append(f"{where}: {_location(loc)}: {message}")
    return found


def load_settings(*, strict: bool = True) -> Settings:
    """Settings from the environment and the file, or :class:`SettingsInvalid` with one line
    per problem. ``strict`` also refuses unknown keys and variables (servers, ``config
    check``); without it only unusable values are refused."""
    found = problems(strict=strict)
    if found:
        raise SettingsInvalid(found)
    try:
        return Settings()
    except (ValidationError, SettingsError) as exc:  # not expected after the checks above
        raise SettingsInvalid([f"settings: {exc}".splitlines()[0]]) from None


def is_secret(name: str, value: Any) -> bool:
    return isinstance(value, SecretStr) or bool(_SECRET_NAME.search(name))


def redact(name: str, value: Any) -> Any:
    """What ``config show`` prints for a value: secrets as ``"***"`` (or null when unset),
    passwords inside URLs (``postgresql://u:***@host/db``) hidden."""
    if value is None or value in ((), []):
        return value
    if is_secret(name, value):
        return "***"
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\1***@", value)
    return value


def effective(settings: Settings) -> list[Effective]:
    path = config_file()
    file_data, _ = read_file(path)
    raw = dict(settings)
    dumped = settings.model_dump(mode="json")
    rows = []
    for name in Settings.model_fields:
        value = redact(name, raw[name])
        if value is raw[name]:
            value = dumped[name]
        source, origin = source_of(name, file_data, path)
        rows.append(Effective(name, value, source, origin))
    return rows
