"""`pip install .` must carry the player: a wheel built from this tree holds every static file
(nested ones included) and the page templates."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "src" / "vodstack"


@pytest.mark.slow
def test_wheel_contains_the_player(tmp_path: Path) -> None:
    # Build from a clean copy: an in-tree build/ left by an earlier build would hide a bad glob.
    tree = tmp_path / "tree"
    shutil.copytree(
        ROOT / "src",
        tree / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(tree),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("vodstack-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = [
        p.relative_to(PACKAGE.parent).as_posix()
        for folder in ("web/static", "web/templates")
        for p in (PACKAGE / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert any("/vendor/shaka-player/" in w for w in wanted)  # nested two levels deep
    missing = sorted(set(wanted) - names)
    assert not missing, missing
