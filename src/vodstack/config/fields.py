"""Field shapes that recur across the settings groups, named once.

Each returns a pydantic ``Field``; the description is what ``config show`` and the group's
reference say about the setting, so callers always pass one.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field

#: Upper bound of every signed URL lifetime (a week): a leaked URL must not stay good longer.
MAX_URL_TTL_S = 7 * 86400


def cores() -> int:
    """This machine's CPU count (the default of settings that scale with it)."""
    return os.cpu_count() or 2


def optional(description: str) -> Any:
    """Unset (None) unless given."""
    return Field(default=None, description=description)


def listed(description: str) -> Any:
    """A list, empty unless given (a JSON list in a ``VODSTACK_*`` variable)."""
    return Field(default=(), description=description)


def secret(description: str) -> Any:
    """An optional secret (a ``SecretStr``: repr, logs and ``config show`` never print it)."""
    return Field(default=None, description=f"{description} Never logged.")


def positive(default: float, description: str, **bounds: Any) -> Any:
    """A number greater than zero (sizes, timeouts, intervals)."""
    return Field(default=default, gt=0, description=description, **bounds)


def rate(default: float, description: str) -> Any:
    """Requests per second or minute of a token bucket; 0 turns the limit off."""
    return Field(default=default, ge=0, description=description)


def burst(default: int) -> Any:
    """The bucket size of the rate setting declared just before it."""
    return Field(default=default, ge=1, description="Burst for the rate above.")


def concurrency(default: int, description: str, *, minimum: int = 1) -> Any:
    """How many of something run at once in one process (1-64)."""
    return Field(default=default, ge=minimum, le=64, description=description)


def url_ttl(default: int, description: str) -> Any:
    """Lifetime of a signed URL, a minute to a week."""
    return Field(default=default, ge=60, le=MAX_URL_TTL_S, description=description)
