"""The vendored player engines are exactly the npm packages the lockfile pins.

``scripts/vendor-player`` copies them from ``web/node_modules`` into the Python package and
records each file's package, version, source path and sha256 in ``VERSIONS.json``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from vodstack.web.pages import ENGINE_FILES, VENDOR_MANIFEST

ROOT = Path(__file__).resolve().parents[3]
VENDOR = VENDOR_MANIFEST.parent
MODULES = ROOT / "web" / "node_modules"
MANIFEST = json.loads(VENDOR_MANIFEST.read_text())


def test_every_vendored_file_is_listed_with_its_hash() -> None:
    listed = {f["path"] for f in MANIFEST["files"]}
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()} - {
        "VERSIONS.json"
    }
    assert on_disk == listed
    for f in MANIFEST["files"]:
        data = (VENDOR / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"], f["path"]
        assert len(data) == f["bytes"]
    assert set(ENGINE_FILES.values()) <= listed


def test_versions_match_the_lockfile() -> None:
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())
    package = json.loads((ROOT / "web" / "package.json").read_text())
    for f in MANIFEST["files"]:
        assert lock["packages"][f"node_modules/{f['package']}"]["version"] == f["version"]
        assert package["dependencies"][f["package"]] == f["version"]  # pinned exactly


@pytest.mark.skipif(not MODULES.is_dir(), reason="web/node_modules absent (run npm ci in web/)")
def test_vendored_files_are_byte_identical_to_node_modules() -> None:
    for f in MANIFEST["files"]:
        meta = json.loads((MODULES / f["package"] / "package.json").read_text())
        assert meta["version"] == f["version"], f"{f['package']}: run scripts/vendor-player"
        source = (MODULES / f["package"] / f["source"]).read_bytes()
        assert source == (VENDOR / f["path"]).read_bytes(), f["path"]
