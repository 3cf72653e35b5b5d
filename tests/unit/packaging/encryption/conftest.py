"""Clear CMAF clips for the encryption tests, encoded once per session with FFmpeg lavfi."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.unit.packaging.encryption.support import make_clip


@pytest.fixture(scope="session")
def clear_clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``clear_clip(name)`` → path of that clip (see ``support.CLIPS``), encoded on first use."""
    directory = tmp_path_factory.mktemp("clear_cmaf")
    return lambda name: make_clip(directory, name)


@pytest.fixture(scope="session")
def clear_bytes(clear_clip: Callable[[str], Path]) -> Callable[[str], bytes]:
    return lambda name: clear_clip(name).read_bytes()
