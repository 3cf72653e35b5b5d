"""Windows of a windowed revision: made for a waiting viewer now, or by the background job.

One ``WindowScheduler`` per process. The origin calls :meth:`WindowScheduler.ensure` for a
chunk a viewer asked for; the transcode job calls :meth:`WindowScheduler.fill` for the rest.
The rules the issue sets:

* **Collapsing**: concurrent requests for one chunk cause one encode; the others wait for it.
* **Priority**: while any viewer waits on a chunk, background FFmpeg processes of this process
  are paused (SIGSTOP, SIGCONT when the last urgent encode ends) and no new one starts, so the
  viewer's encode gets the cores.
* **Cap**: at most ``ondemand_encodes`` urgent encodes run at once; a request that cannot get a
  slot within ``ondemand_wait_s`` fails fast (503 + Retry-After) instead of piling up.
* **Idempotent**: a chunk is written once, atomically (``store.writer``); whoever finds it
  present uses it. Processes that share the store (origin and Celery workers) coordinate
  through it; pausing only reaches FFmpeg processes of the same process.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from vodstack.base.lru import Lru
from vodstack.catalogue import Catalogue, WindowPart
from vodstack.config import Settings
from vodstack.errors import MediaError, NotFound, TranscodeError, Unavailable
from vodstack.media import ffmpeg_exe, run_ffmpeg
from vodstack.packaging import iter_boxes
from vodstack.storage import ObjectStore, windows_prefix
from vodstack.transcode.windowed import (
    LAYOUT_FILE,
    Chunk,
    Layout,
    audio_of,
    chunk_key,
    encode_audio_windows,
    encode_video_windows,
    init_key,
)

log = logging.getLogger(__name__)

PartKey = tuple[str, int, str, int]  # asset, revision, track, window
_LAYOUT_CACHE = 64
_INDEX_CACHE = 4096


class WindowScheduler:
    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        store: ObjectStore,
        sources: Callable[[str], Path] | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.store = store
        self._sources = sources
        self._lock = threading.Lock()
        self._inflight: dict[PartKey, Future[None]] = {}
        self._slots = threading.BoundedSemaphore(max(1, settings.ondemand_encodes))
        self._urgent = 0
        self._idle = threading.Condition(self._lock)
        self._background: set[subprocess.Popen[str]] = set()
        self._layouts: Lru[tuple[str, int], Layout] = Lru(_LAYOUT_CACHE)
        self._indexes: Lru[str, tuple[tuple[int, int], ...]] = Lru(_INDEX_CACHE)
        self.encodes = {"on_demand": 0, "background": 0}  # counters, for tests and metrics

    # -- layout and chunks ----------------------------------------------------------------------
    def layout(self, asset_id: str, revision: int) -> Layout:
        key = (asset_id, revision)
        with self._lock:
            cached = self._layouts.peek(key)
        if cached is not None:
            return cached
        prefix = windows_prefix(asset_id, revision)
        with self.store.open(f"{prefix}/{LAYOUT_FILE}") as fh:
            layout = Layout.from_json(fh.read().decode())
        with self._lock:
            self._layouts.put(key, layout)
        return layout

    def chunk_fragments(self, key: str) -> tuple[tuple[int, int], ...]:
        """(offset, size) of every moof+mdat pair of a stored chunk."""
        with self._lock:
            known = self._indexes.peek(key)
        if known is not None:
            return known
        with self.store.open(key) as fh:
            data = fh.read()
        boxes = list(iter_boxes(data))
        frags = tuple(
            (box.offset, nxt.offset + nxt.size - box.offset)
            for box, nxt in itertools.pairwise(boxes)
            if box.type == "moof" and nxt.type == "mdat"
        )
        with self._lock:
            self._indexes.put(key, frags)
        return frags

    # -- on demand ------------------------------------------------------------------------------
    def ensure(self, asset_id: str, revision: int, track_id: str, window: int) -> str:
        """The key of the chunk, encoding it now if it does not exist yet (urgent)."""
        prefix = windows_prefix(asset_id, revision)
        key = chunk_key(prefix, track_id, window)
        if self.store.exists(key):
            return key
        part = (asset_id, revision, track_id, window)
        with self._lock:
            future = self._inflight.get(part)
            owner = future is None
            if owner:
                future = self._inflight[part] = Future()
        assert future is not None
        if not owner:
            try:
                future.result(timeout=self.settings.ondemand_timeout_s)
            except TimeoutError as exc:
                raise Unavailable("this part of the title is being prepared; retry", 1) from exc
            return key
        try:
            self._urgent_encode(asset_id, revision, track_id, window)
            future.set_result(None)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._inflight.pop(part, None)
        return key

    def _urgent_encode(self, asset_id: str, revision: int, track_id: str, window: int) -> None:
        layout = self.layout(asset_id, revision)
        if track_id not in layout.track_ids():
            raise NotFound(f"no track {track_id!r}")
        if not 0 <= window < layout.window_count:
            raise NotFound(f"window {window} does not exist")
        if not self._slots.acquire(timeout=self.settings.ondemand_wait_s):
            raise Unavailable("this part of the title is being prepared; retry shortly", 1)
        try:
            self._pause_background()
            if self.store.exists(chunk_key(windows_prefix(asset_id, revision), track_id, window)):
                return  # the background job wrote it while we waited
            chunks = self._encode(layout, [track_id], window, background=False)
            self._store_chunks(asset_id, revision, chunks, on_demand=True)
            self.encodes["on_demand"] += 1
        except (TranscodeError, MediaError) as exc:
            self._fail_asset(asset_id, revision, f"window {window} of {track_id}: {exc}")
            raise Unavailable(f"window {window} of track {track_id} could not be encoded") from exc
        finally:
            self._resume_background()
            self._slots.release()

    # -- background -----------------------------------------------------------------------------
    def fill_window(
        self, asset_id: str, revision: int, window: int, *, cancel: threading.Event
    ) -> None:
        """Every missing track of one window, from one decode (the job's first window)."""
        if cancel.is_set():
            raise TranscodeError("transcode cancelled")
        layout = self.layout(asset_id, revision)
        tracks = self.missing(asset_id, revision).get(window, [])
        if tracks:
            chunks = self._encode(layout, tracks, window, background=False)
            self._store_chunks(asset_id, revision, chunks, on_demand=False)

    def missing(self, asset_id: str, revision: int) -> dict[int, list[str]]:
        """Tracks without a stored chunk, per window."""
        layout = self.layout(asset_id, revision)
        done = {(p.track_id, p.window) for p in self.parts(asset_id, revision)}
        out: dict[int, list[str]] = {}
        for window in range(layout.window_count):
            tracks = [t for t in layout.track_ids() if (t, window) not in done]
            if tracks:
                out[window] = tracks
        return out

    def fill(
        self,
        asset_id: str,
        revision: int,
        *,
        cancel: threading.Event,
        on_progress: Callable[[float], None] = lambda f: None,
        workers: int | None = None,
        batch: int = 1,
        lowest_first: bool = True,
    ) -> None:
        """Encode every missing chunk. With ``lowest_first``, the lowest rung and the audio
        over the whole title come first (everything becomes playable at some quality soonest),
        in time order, then the other rungs. Each run covers up to ``batch`` consecutive
        windows of every rung it makes, from one decode (fewer seeks and process starts:
        accelerated jobs use one long run per worker, progressive ones short runs)."""
        layout = self.layout(asset_id, revision)
        lowest = layout.rungs[0].track_id if layout.rungs else None
        first_pass = {lowest, *(a.track_id for a in layout.audios)}
        if not lowest_first:  # one pass: every track of a window from one decode
            first_pass = set(layout.track_ids())
        missing = sorted(self.missing(asset_id, revision).items())
        tasks = _batches([(w, [t for t in ts if t in first_pass]) for w, ts in missing], batch)
        tasks += _batches([(w, [t for t in ts if t not in first_pass]) for w, ts in missing], batch)
        if not tasks:
            on_progress(1.0)
            return
        total = len(tasks)
        done = 0
        done_lock = threading.Lock()
        workers = max(1, workers or self.settings.window_workers)
        stop = threading.Event()  # one window failed: start no other

        def work(task: tuple[int, int, list[str]]) -> None:
            nonlocal done
            if cancel.is_set() or stop.is_set():
                raise TranscodeError("transcode cancelled")
            first_window, count, tracks = task
            self._wait_for_viewers()
            chunks = self._encode(layout, tracks, first_window, count, background=True)
            self._store_chunks(asset_id, revision, chunks, on_demand=False)
            self.encodes["background"] += 1
            with done_lock:
                done += 1
                on_progress(done / total)

        with ThreadPoolExecutor(workers, thread_name_prefix="window") as pool:
            futures = [pool.submit(work, task) for task in tasks]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                stop.set()
                raise

    # -- encoding -------------------------------------------------------------------------------
    def _encode(
        self,
        layout: Layout,
        track_ids: Iterable[str],
        window: int,
        count: int = 1,
        *,
        background: bool,
    ) -> list[Chunk]:
        """Windows ``window`` … ``+count-1`` of the given tracks: the video rungs from one
        decode, each audio track from one encode."""
        source = self._source(layout.source_key)
        run = self._runner(background)
        wanted = list(track_ids)
        rungs = [r for r in layout.rungs if r.track_id in wanted]
        chunks: list[Chunk] = []
        if rungs:
            # a viewer's window gets every core; background windows share them out
            workers = self.settings.window_workers
            threads = 0 if not background else max(1, self.settings.cpus // workers)
            chunks += encode_video_windows(
                ffmpeg_exe(), source, layout, rungs, window, count, run=run, threads=threads
            )
        for track_id in wanted:
            if layout.kind(track_id) == "audio":
                audio = audio_of(layout, track_id)
                chunks += encode_audio_windows(
                    ffmpeg_exe(), source, layout, audio, window, count, run=run
                )
        return chunks

    def _runner(self, background: bool) -> Callable[[list[str]], None]:
        timeout = self.settings.ondemand_timeout_s if not background else None
        if not background:
            return lambda argv: run_ffmpeg(argv, timeout_s=timeout)

        def run(argv: list[str]) -> None:
            procs: list[subprocess.Popen[str]] = []

            def started(proc: subprocess.Popen[str]) -> None:
                procs.append(proc)
                with self._lock:
                    self._background.add(proc)
                    if self._urgent:  # a viewer is already waiting: start paused
                        _signal(proc, signal.SIGSTOP)

            try:
                run_ffmpeg(argv, on_start=started)
            finally:
                with self._lock:
                    self._background.difference_update(procs)

        return run

    def _source(self, key: str) -> Path:
        if self._sources is not None:
            return self._sources(key)
        path = self.store.local_path(key)
        if path is None or not path.is_file():
            raise TranscodeError("the master is not reachable from this process")
        return path

    def _store_chunks(
        self, asset_id: str, revision: int, chunks: list[Chunk], *, on_demand: bool
    ) -> None:
        prefix = windows_prefix(asset_id, revision)
        for chunk in chunks:
            header = init_key(prefix, chunk.track_id)
            if not self.store.exists(header):
                with self.store.writer(header) as fh:
                    fh.write(chunk.init)
            key = chunk_key(prefix, chunk.track_id, chunk.window)
            if self.store.exists(key):
                continue  # made meanwhile (a viewer's request): the first copy may be served
            with self.store.writer(key) as fh:
                fh.write(chunk.data)
            self._record(asset_id, revision, chunk, on_demand)

    def _record(self, asset_id: str, revision: int, chunk: Chunk, on_demand: bool) -> None:
        part = WindowPart(
            asset_id=asset_id,
            revision=revision,
            track_id=chunk.track_id,
            window=chunk.window,
            size=len(chunk.data),
            on_demand=on_demand,
        )
        # written twice (two processes racing): one row is enough
        with contextlib.suppress(IntegrityError), self.catalogue.db.session() as session:
            session.add(part)

    def parts(self, asset_id: str, revision: int) -> list[WindowPart]:
        with self.catalogue.db.session() as session:
            rows = (
                session.query(WindowPart)
                .filter(WindowPart.asset_id == asset_id, WindowPart.revision == revision)
                .all()
            )
            session.expunge_all()
            return rows

    def _fail_asset(self, asset_id: str, revision: int, reason: str) -> None:
        """A window that cannot be made fails the asset: a title with a hole in it must not
        keep being offered."""
        log.warning("asset %s revision %d: %s", asset_id, revision, reason)
        with contextlib.suppress(NotFound):
            self.catalogue.mark_failed(asset_id, reason, revision=revision)

    # -- priority -------------------------------------------------------------------------------
    def _pause_background(self) -> None:
        with self._lock:
            self._urgent += 1
            for proc in self._background:
                _signal(proc, signal.SIGSTOP)

    def _resume_background(self) -> None:
        with self._lock:
            self._urgent -= 1
            if self._urgent == 0:
                for proc in self._background:
                    _signal(proc, signal.SIGCONT)
                self._idle.notify_all()

    def _wait_for_viewers(self) -> None:
        with self._lock:
            while self._urgent:
                self._idle.wait(1.0)


def _signal(proc: subprocess.Popen[str], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        if proc.poll() is None:
            os.kill(proc.pid, sig)


def _batches(windows: list[tuple[int, list[str]]], size: int) -> list[tuple[int, int, list[str]]]:
    """(first window, count, tracks) runs of consecutive windows missing the same tracks."""
    out: list[tuple[int, int, list[str]]] = []
    for window, tracks in windows:
        if not tracks:
            continue
        if out:
            first, count, same = out[-1]
            if same == tracks and first + count == window and count < max(1, size):
                out[-1] = (first, count + 1, same)
                continue
        out.append((window, 1, tracks))
    return out
