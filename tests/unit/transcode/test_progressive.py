"""The window scheduler on real FFmpeg, a real catalogue and the local store: collapsing,
the on-demand cap, background pausing, idempotent parts, and failing a title with a hole."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest
from tests.conftest import make_clip_file, make_settings

from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services, build_services
from vodstack.errors import Unavailable
from vodstack.storage.base import windows_prefix
from vodstack.transcode.ladder import AudioRendition, Rung
from vodstack.transcode.windowed import LAYOUT_FILE, Layout, chunk_key

pytestmark = pytest.mark.slow


@pytest.fixture
def services(tmp_path: Path) -> Services:
    s = build_services(make_settings(tmp_path / "home", ondemand_encodes=1, ondemand_wait_s=0.3))
    yield s
    s.close()


def windowed_asset(services: Services, tmp_path: Path, seconds: int = 8) -> str:
    """An asset whose master is stored and whose revision 1 has a layout (no chunks yet)."""
    asset_id = new_id()
    source = make_clip_file(tmp_path / f"{asset_id}.mp4", seconds=seconds, size="320x180")
    key = f"masters/{asset_id}/source.mp4"
    with services.store.writer(key) as fh, open(source, "rb") as src:
        shutil.copyfileobj(src, fh)
    services.catalogue.create_asset(
        asset_id, title="w", source_key=key, source_name="s.mp4", source_size=1
    )
    layout = Layout(
        source_key=key,
        duration_s=seconds,
        fps=Fraction(30),
        frame_count=seconds * 30,
        fragment_s=2,
        window_fragments=1,
        rungs=(Rung("v144", 256, 144, 23, 200, 400),),
        audios=(AudioRendition("a0", 0, 0, 2, 64, default=True),),
        gop_frames=60,
        preset="ultrafast",
    )
    with services.store.writer(f"{windows_prefix(asset_id, 1)}/{LAYOUT_FILE}") as fh:
        fh.write(layout.to_json().encode())
    return asset_id


def test_concurrent_requests_for_one_window_make_one_encode(
    services: Services, tmp_path: Path
) -> None:
    scheduler = services.pipeline.stage.windows
    asset_id = windowed_asset(services, tmp_path)
    keys: list[str] = []
    errors: list[BaseException] = []

    def viewer() -> None:
        try:
            keys.append(scheduler.ensure(asset_id, 1, "v144", 1))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=viewer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(keys)) == 1
    assert scheduler.encodes["on_demand"] == 1
    parts = scheduler.parts(asset_id, 1)
    assert [(p.track_id, p.window, p.on_demand) for p in parts] == [("v144", 1, True)]
    assert len(scheduler.chunk_fragments(keys[0])) == 1  # one moof+mdat pair
    # present now: asking again encodes nothing
    scheduler.ensure(asset_id, 1, "v144", 1)
    assert scheduler.encodes["on_demand"] == 1


def test_the_cap_answers_busy_instead_of_queueing(services: Services, tmp_path: Path) -> None:
    scheduler = services.pipeline.stage.windows
    asset_id = windowed_asset(services, tmp_path)
    assert scheduler._slots.acquire(timeout=1)  # every slot taken by a long encode
    try:
        with pytest.raises(Unavailable) as caught:
            scheduler.ensure(asset_id, 1, "a0", 0)
        assert caught.value.retry_after == 1
    finally:
        scheduler._slots.release()
    assert not services.store.exists(chunk_key(windows_prefix(asset_id, 1), "a0", 0))


def test_viewers_pause_background_encodes(services: Services) -> None:
    """SIGSTOP while a viewer waits, SIGCONT after; no new background work starts meanwhile."""
    scheduler = services.pipeline.stage.windows
    proc = subprocess.Popen(["sleep", "30"], text=True)
    try:
        scheduler._background.add(proc)

        def state() -> str:
            return Path(f"/proc/{proc.pid}/stat").read_text().split(")")[1].split()[0]

        def becomes(wanted: set[str]) -> bool:  # signals are delivered asynchronously
            deadline = time.monotonic() + 10
            while state() not in wanted and time.monotonic() < deadline:
                time.sleep(0.01)
            return state() in wanted

        scheduler._pause_background()
        assert becomes({"T"})
        started = threading.Event()

        def background() -> None:
            scheduler._wait_for_viewers()
            started.set()

        worker = threading.Thread(target=background)
        worker.start()
        time.sleep(0.3)
        assert not started.is_set()  # waits while a viewer is waiting
        scheduler._resume_background()
        worker.join(5)
        assert started.is_set()
        assert scheduler._urgent == 0
        assert becomes({"S", "R"}), f"state {state()!r} after SIGCONT, poll {proc.poll()!r}"
    finally:
        proc.kill()
        proc.wait()


def test_fill_makes_every_missing_part_once(services: Services, tmp_path: Path) -> None:
    scheduler = services.pipeline.stage.windows
    asset_id = windowed_asset(services, tmp_path)
    scheduler.ensure(asset_id, 1, "v144", 3)  # a viewer got there first
    seen: list[float] = []
    scheduler.fill(asset_id, 1, cancel=threading.Event(), on_progress=seen.append, workers=2)
    assert scheduler.missing(asset_id, 1) == {}
    parts = scheduler.parts(asset_id, 1)
    assert len(parts) == 4 * 2  # 4 windows × (v144, a0), each once
    assert sum(p.on_demand for p in parts) == 1
    assert seen[-1] == 1.0


def test_a_window_that_cannot_be_encoded_fails_the_asset(
    services: Services, tmp_path: Path
) -> None:
    scheduler = services.pipeline.stage.windows
    asset_id = windowed_asset(services, tmp_path)
    services.catalogue.commit_revision(asset_id, 1, [], 8.0)  # revision 1 is served
    # the master loses its second half: the last window has no frames to encode
    path = services.store.local_path(services.catalogue.get_asset(asset_id).source_key)
    assert path is not None
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(Unavailable):
        scheduler.ensure(asset_id, 1, "v144", 3)
    asset = services.catalogue.get_asset(asset_id)
    assert asset.status == "failed"
    assert "window 3 of v144" in (asset.error or "")
    assert not services.store.exists(chunk_key(windows_prefix(asset_id, 1), "v144", 3))


def test_accelerated_job_joins_windows_keeps_subtitles_and_drops_chunks(tmp_path: Path) -> None:
    """VODSTACK_TRANSCODE_MODE=windowed through the real stage: windows in a pool of two,
    joined into one file per track and committed like a single-pass job (embedded subtitles
    included); the chunks, never served, are gone."""
    from tests.fixtures.media_sources import mov_text

    from vodstack.catalogue.media import MediaCatalogue
    from vodstack.packaging.track_index import read_track_index

    settings = make_settings(tmp_path / "home", transcode_mode="windowed", window_workers=2)
    services = build_services(settings)
    try:
        source = mov_text(tmp_path / "subs.mp4", seconds=8)
        asset_id = new_id()
        key = f"masters/{asset_id}/source.mp4"
        with services.store.writer(key) as fh, open(source, "rb") as src:
            shutil.copyfileobj(src, fh)
        services.catalogue.create_asset(
            asset_id, title="acc", source_key=key, source_name="s.mp4", source_size=1
        )
        revision = services.pipeline.stage.run(
            asset_id, new_id(), lambda f: None, threading.Event()
        )
        assert revision == 1
        rows = services.catalogue.renditions(asset_id, 1)
        assert rows and all(r.layout == "file" for r in rows)
        video = next(r for r in rows if r.kind == "video")
        path = services.store.local_path(video.file_key)
        assert path is not None
        with open(path, "rb") as fh:
            index = read_track_index(fh)
        assert sum(f.sample_count for f in index.fragments) == 8 * 30
        captions = MediaCatalogue(services.db).captions(asset_id, 1)
        embedded = [(c.language, c.label) for c in captions if c.source == "embedded"]
        assert embedded == [("fr", "Français")]  # no title: named by its language, not "fr"
        assert list(services.store.list(windows_prefix(asset_id, 1))) == []
    finally:
        services.close()
