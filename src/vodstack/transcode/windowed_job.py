"""The run step of the windowed modes: lay a revision out in windows, make them, join them.

Accelerated (``VODSTACK_TRANSCODE_MODE=windowed``): windows encoded in parallel, joined into
one file per track, committed like a single pass. Progressive: the revision is served after
its first window (the stage publishes it), the rest is made in the background and on demand
(``progressive.WindowScheduler``), then joined in place. This module only encodes and joins;
every catalogue write is the stage's.
"""

from __future__ import annotations

import logging
import threading

from vodstack.config import Settings
from vodstack.errors import StorageError
from vodstack.media import ffmpeg_exe
from vodstack.storage import ObjectStore, packaged_prefix, windows_prefix
from vodstack.transcode.command import subtitles_command
from vodstack.transcode.progressive import WindowScheduler
from vodstack.transcode.run import TranscodeRun
from vodstack.transcode.windowed import LAYOUT_FILE, Layout, chunk_key, init_key, join_track

log = logging.getLogger(__name__)


class WindowedEncode:
    def __init__(self, settings: Settings, store: ObjectStore, windows: WindowScheduler) -> None:
        self.settings = settings
        self.store = store
        self.windows = windows

    @property
    def progressive(self) -> bool:
        return self.settings.transcode_mode == "progressive"

    def lay_out(self, run: TranscodeRun, revision: int) -> None:
        """A fresh revision: its windows' layout, stored where every process finds it."""
        asset_id = run.asset.id
        self.store.delete_prefix(packaged_prefix(asset_id, revision))
        self.store.delete_prefix(windows_prefix(asset_id, revision))
        layout = Layout.from_plan(
            run.plan,
            source_key=run.asset.source_key,
            duration_s=run.info.duration,
            fragment_s=self.settings.fragment_s,
            window_fragments=self.settings.window_s // self.settings.fragment_s,
            preset=self.settings.x264_preset,
        )
        with self.store.writer(f"{windows_prefix(asset_id, revision)}/{LAYOUT_FILE}") as fh:
            fh.write(layout.to_json().encode())

    def first_window(self, run: TranscodeRun, revision: int) -> None:
        """Every track of window 0, from one decode: what makes a progressive title playable."""
        self.windows.fill_window(run.asset.id, revision, 0, cancel=run.control.cancel)

    def fill(self, run: TranscodeRun, revision: int) -> None:
        """Every missing window. Accelerated: one long run per worker; progressive: the
        opening minutes first, in short runs (a viewer's request may come in between)."""
        layout = self.windows.layout(run.asset.id, revision)
        workers = self.settings.window_workers
        progressive = self.progressive
        batch = self.settings.window_batch if progressive else -(-layout.window_count // workers)
        self.windows.fill(
            run.asset.id,
            revision,
            cancel=run.control.cancel,
            on_progress=run.ladder_progress,
            batch=batch,
            lowest_first=progressive,
        )

    def join(self, run: TranscodeRun, revision: int) -> None:
        """One file per track in ``run.out`` from the stored windows, plus the embedded
        subtitles (no ladder run carried them)."""
        layout = self.windows.layout(run.asset.id, revision)
        chunks = windows_prefix(run.asset.id, revision)
        for track_id in layout.track_ids():
            keys = [chunk_key(chunks, track_id, w) for w in range(layout.window_count)]
            join_track(
                self._read(init_key(chunks, track_id)),
                map(self._read, keys),
                run.out / f"{track_id}.mp4",
            )
        if run.plan.texts:
            bounded = run.source.bound.input_args()
            run.ffmpeg()(
                subtitles_command(ffmpeg_exe(), run.source.path, run.out, run.plan, bounded)
            )

    def drop_chunks(self, asset_id: str, revision: int) -> None:
        """An accelerated revision's chunks: never served (the joined files are)."""
        self.store.delete_prefix(windows_prefix(asset_id, revision))

    def forget_chunks_later(self, asset_id: str, revision: int) -> None:
        """Delete a joined revision's chunks once origins holding the old index have moved on
        (they re-read the rows on the purge the ready event triggers)."""
        prefix = windows_prefix(asset_id, revision)
        delay = self.settings.progressive_cleanup_s

        def delete() -> None:
            try:
                self.store.delete_prefix(prefix)
            except StorageError:
                log.warning("could not delete window chunks under %s", prefix)

        if delay <= 0:
            delete()
            return
        timer = threading.Timer(delay, delete)
        timer.daemon = True
        timer.start()

    def _read(self, key: str) -> bytes:
        with self.store.open(key) as fh:
            return fh.read()
