"""The transcode stage is plan → run → commit (issue #17): it writes the asset's rows in a few
named steps — the asset is transcoding, (progressive) a playable first window, the result —
not once per detail while it runs."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event
from tests.conftest import make_settings

from vodstack.catalogue.repository import new_id
from vodstack.compose.services import build_services

pytestmark = pytest.mark.slow

# the asset and what a revision names (job rows, timings and window parts are bookkeeping)
_ASSET_TABLES = re.compile(r"\b(assets|renditions|captions|asset_files)\b")
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@contextmanager
def asset_transactions(engine: object) -> Iterator[list[list[str]]]:
    """Committed transactions that wrote the asset's tables, each as its statements."""
    groups: list[list[str]] = []
    current: list[str] = []

    def on_execute(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if _WRITE.match(statement) and _ASSET_TABLES.search(statement.split("WHERE")[0]):
            current.append(statement.split()[0] + " " + _ASSET_TABLES.search(statement)[0])  # type: ignore[index]

    def on_commit(conn) -> None:  # type: ignore[no-untyped-def]
        if current:
            groups.append(list(current))
            current.clear()

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield groups
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)


@pytest.mark.parametrize(("mode", "steps"), [("single", 2), ("progressive", 3)])
def test_the_stage_writes_the_asset_in_named_steps(tmp_path: Path, mode: str, steps: int) -> None:
    from tests.fixtures.media_sources import mov_text

    settings = make_settings(
        tmp_path / "home", transcode_mode=mode, progressive_cleanup_s=0, window_batch=1
    )
    services = build_services(settings)
    try:
        source = mov_text(tmp_path / "subs.mp4", seconds=6)  # embedded subtitles: captions too
        asset_id = services.ingestor.ingest_file(source, "t")
        with asset_transactions(services.db.engine) as groups:
            revision = services.pipeline.stage.run(
                asset_id, new_id(), lambda f: None, threading.Event()
            )
        assert revision == 1
        assert len(groups) == steps, groups  # transcoding, (first window,) the result
        assert groups[0] == ["UPDATE assets"]
        result = groups[-1]  # rows, captions, files and ladder info in one transaction
        assert {"INSERT renditions", "INSERT captions", "DELETE asset_files"} <= set(result)
        asset = services.catalogue.get_asset(asset_id)
        assert asset.status == "ready" and asset.ladder_info is not None
        assert asset.ladder_info["rungs"]
        assert [c.track_id for c in services.pipeline.stage.media.captions(asset_id, 1)]
    finally:
        services.close()
