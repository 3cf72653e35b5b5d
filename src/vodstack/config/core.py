"""Where an installation keeps its data: the home directory and the catalogue database."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, Field

from vodstack.config.fields import optional


def _default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "vodstack"


class CoreSettings(BaseModel):
    home: Path = Field(default_factory=_default_home, description="Data directory.")
    database_url: str | None = optional("SQLAlchemy URL; default: SQLite file in `home`.")

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
