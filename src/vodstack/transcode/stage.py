"""The transcode stage: master → probed → planned ladder → CMAF tracks → committed revision.

Outputs are written to a private work directory, indexed, moved into the store under a new
revision prefix in one step, and only then committed in the catalogue in one transaction. A
crash at any point leaves either the previous revision served or nothing served — never half
an asset. Re-running the stage after a crash redoes the work from the retained master.

Issue #8 steps, in order: the ladder template (the job's, else the one chosen at upload,
else the default) with its mode and codecs; separately uploaded audio tracks as extra
inputs; a per-title probe when the template asks for one. The asset is ready when its
ladder (and the embedded subtitles) is committed; the extras derived from the rungs (poster,
storyboard, download, VMAF) are a job of their own afterwards (``transcode.extras_job``).
Each step's wall and CPU time goes to the job's :class:`StageTimer`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from vodstack.catalogue.media import MediaCatalogue
from vodstack.catalogue.models import AudioUpload, Caption, Rendition
from vodstack.catalogue.repository import Catalogue
from vodstack.config import LadderTemplate, RungTemplate, Settings
from vodstack.errors import (
    ConfigError,
    MediaError,
    SourceInvalid,
    StorageError,
    TranscodeError,
)
from vodstack.ingest.probe import SourceInfo, probe, probe_audio
from vodstack.media import ffmpeg_exe, run_ffmpeg, run_ffmpeg_capture
from vodstack.packaging.encryption import read_track_crypto
from vodstack.packaging.encryption.growth import encode_growth, growth_key, measure_growth
from vodstack.packaging.language import language_name
from vodstack.packaging.model import fragment_to_row
from vodstack.packaging.track_index import (
    Fragment,
    TrackIndex,
    read_track_index,
    read_track_index_bytes,
)
from vodstack.storage import ObjectStore
from vodstack.storage.base import packaged_prefix, windows_prefix
from vodstack.transcode.bounds import MediaBound
from vodstack.transcode.command import ladder_command, subtitles_command
from vodstack.transcode.derive import Derived, collect_captions
from vodstack.transcode.ladder import (
    AudioRendition,
    AudioSource,
    CodecTuning,
    LadderPlan,
    TextExtraction,
    plan_audio,
    plan_ladder,
    source_filters,
)
from vodstack.transcode.pertitle import run_probe
from vodstack.transcode.progressive import WindowScheduler
from vodstack.transcode.quality import sample_windows
from vodstack.transcode.timing import StageTimer
from vodstack.transcode.windowed import LAYOUT_FILE, Layout, chunk_key, init_key, join_track

log = logging.getLogger(__name__)

# Tracks must cover the source to within this many seconds, else something was lost.
_DURATION_SLACK_S = 0.5
# Share of the job's progress bar per step.
_PROBE_SHARE, _LADDER_SHARE = 0.1, 0.75


def check_length(source: Path, info: SourceInfo, bound: MediaBound) -> None:
    """Fail before any encode when there is media past the declared duration (bounds.py)."""
    argv = bound.tail_probe_argv(ffmpeg_exe(), source, info.video.index)
    bound.check_tail(run_ffmpeg_capture(argv, timeout_s=bound.watchdog_s))


def _frame_rate_text(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def _estimated_sizes(
    fragments: tuple[Fragment, ...], bits_per_s: float, timescale: int, start: int
) -> tuple[Fragment, ...]:
    """Planned fragments with sizes at ``bits_per_s`` (the rung's cap): what the manifests
    declare as BANDWIDTH until the real sizes are known. The origin never reads them as
    byte positions (windowed tracks are served from their chunks)."""
    out = []
    offset = start
    for f in fragments:
        size = math.ceil(bits_per_s * f.duration / timescale / 8)
        out.append(replace(f, offset=offset, size=size))
        offset += size
    return tuple(out)


def codec_tuning(s: Settings) -> dict[str, CodecTuning]:
    """How AV1/HEVC rungs derive from H.264 ones, from the settings."""
    return {
        "h264": CodecTuning(0, 1.0),
        "av1": CodecTuning(s.av1_crf_offset, s.av1_bitrate_factor),
        "hevc": CodecTuning(s.hevc_crf_offset, s.hevc_bitrate_factor),
    }


class TranscodeStage:
    def __init__(self, settings: Settings, catalogue: Catalogue, store: ObjectStore) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.store = store
        self.media = MediaCatalogue(catalogue.db)
        self.windows = WindowScheduler(settings, catalogue, store, sources=self.master_path)
        self._masters_lock = threading.Lock()

    def run(
        self,
        asset_id: str,
        job_id: str,
        on_progress: Callable[[float], None],
        cancel: threading.Event,
        ladder: str | None = None,
        on_ready: Callable[[int], None] | None = None,
        timer: StageTimer | None = None,
    ) -> int:
        """Transcode the asset's master with the named ladder template (default: the one
        chosen at upload, else the configured ladder); returns the committed revision.

        ``on_ready`` is called when a progressive revision becomes playable, before the job
        ends (the pipeline announces the asset then)."""
        timer = timer or StageTimer()
        asset = self.catalogue.get_asset(asset_id)
        name = ladder or asset.ladder or "default"
        profile = self.profile(name)
        if asset.revision == 0:  # a re-transcode leaves a served asset "ready"
            self.catalogue.update_asset(asset_id, status="transcoding", error=None)
        work = self.settings.work_dir / job_id
        shutil.rmtree(work, ignore_errors=True)  # a retry starts clean (idempotent)
        out = work / "out"
        out.mkdir(parents=True)

        watchdog: dict[str, float] = {}

        def run(argv: list[str]) -> None:
            if cancel.is_set():
                raise TranscodeError("transcode cancelled")
            run_ffmpeg(argv, cancel=cancel, timeout_s=watchdog.get("s"))

        try:
            with timer.stage("probe"):
                source = self._local_source(asset.source_key, work)
                info = probe(source, max_duration_s=self.settings.max_source_duration_s)
                bound = MediaBound(info.duration, self.settings.ffmpeg_timeout_factor)
                watchdog["s"] = bound.watchdog_s
                check_length(source, info, bound)
                self.catalogue.update_asset(
                    asset_id, source_info=info.to_json(), duration=info.duration
                )
                uploads = self._audio_inputs(asset_id, work)
                plan = self.plan(info, profile=profile, uploads=[u for u, _ in uploads])
            timer.media_s = info.duration
            ladder_info: dict[str, Any] = {
                "template": name,
                "version": profile.version,
                "mode": profile.mode,
                "codecs": list(profile.codecs),
                "max_height": self._max_height(profile),
            }
            if profile.mode == "per_title":
                with timer.stage("per_title"):
                    plan, decision = run_probe(
                        ffmpeg_exe(),
                        source,
                        work / "probe",
                        plan,
                        windows=sample_windows(
                            info.duration,
                            count=self.settings.vmaf_windows,
                            length_s=self.settings.vmaf_window_s,
                            fragment_s=self.settings.fragment_s,
                        ),
                        preset=self.settings.x264_preset,
                        slack=self.settings.per_title_vmaf_slack,
                        tuning=self._tuning(),
                        run=run,
                    )
                ladder_info["per_title"] = decision.to_json()
            on_progress(_PROBE_SHARE)
            if self._windowable(plan, uploads):
                return self._run_windowed(
                    asset,
                    source,
                    info,
                    plan,
                    ladder_info,
                    out,
                    run,
                    on_progress,
                    cancel,
                    on_ready,
                    timer,
                )
            argv = ladder_command(
                ffmpeg_exe(),
                source,
                out,
                plan,
                fragment_s=self.settings.fragment_s,
                preset=self.settings.x264_preset,
                cpus=self.settings.cpus,
                audio_inputs=[path for _, path in uploads],
                av1_preset=self.settings.av1_preset,
                hevc_preset=self.settings.hevc_preset,
                input_args=bound.input_args(),
            )
            with timer.stage("ladder"):
                run_ffmpeg(
                    argv,
                    duration_s=info.duration,
                    on_progress=lambda f: on_progress(_PROBE_SHARE + _LADDER_SHARE * f),
                    cancel=cancel,
                    timeout_s=bound.watchdog_s,
                )
            with timer.stage("commit"):
                tracks = self._index_outputs(out, info, plan)
                revision = asset.revision + 1
                # A prefix for an uncommitted revision can only be a crashed attempt's leftovers.
                self.store.delete_prefix(packaged_prefix(asset_id, revision))
                rows, duration = self._publish_outputs(
                    asset, plan, ladder_info, out, tracks, revision
                )
                self.catalogue.commit_revision(asset_id, revision, rows, duration)
            timer.mark_ready()
            self._drop_old_revisions(asset_id, revision)
            return revision
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _publish_outputs(
        self,
        asset: Any,
        plan: LadderPlan,
        ladder_info: dict[str, Any],
        out: Path,
        tracks: dict[str, TrackIndex],
        revision: int,
    ) -> tuple[list[Rendition], float]:
        """Store the tracks and subtitles under the revision's prefix and record the
        subtitles; returns the rendition rows to commit. The extras come later (their job)."""
        derived = Derived()
        collect_captions(out, plan, derived)
        ladder_info["rungs"] = [
            {"track": r.track_id, "codec": r.codec, "crf": r.crf, "cap_kbps": r.maxrate_kbps,
             "rate_control": r.rate_control}
            for r in plan.rungs
        ]  # fmt: skip
        prefix = packaged_prefix(asset.id, revision)
        audio_by_track = {a.track_id: a for a in plan.audio_outputs}
        rows = [
            self._rendition(prefix, tid, t, plan, audio_by_track.get(tid), derived)
            for tid, t in tracks.items()
        ]
        for tid, t in tracks.items():
            record_protection_growth(out / f"{tid}.mp4", t)
        self.store.publish_directory(out, prefix)
        self._record_extras(asset.id, revision, prefix, derived, ladder_info)
        # where the media ends, edit lists applied (as the manifests say): not AAC priming
        duration = max(t.presentation_end_seconds for t in tracks.values())
        return rows, round(duration, 6)

    # -- windowed and progressive ---------------------------------------------------------------
    def _windowable(self, plan: LadderPlan, uploads: list[Any]) -> bool:
        """Windowed encoding: H.264 ladders with audio from the master; others single-pass."""
        if self.settings.transcode_mode == "single" or uploads:
            return False
        # AV1/HEVC windows are not verified to splice (encoder headers per window): single.
        h264 = all(r.codec == "h264" for r in plan.rungs)
        return h264 and all(a.input == 0 for a in plan.audio_outputs)

    def _run_windowed(
        self,
        asset: Any,
        source: Path,
        info: SourceInfo,
        plan: LadderPlan,
        ladder_info: dict[str, Any],
        out: Path,
        run: Callable[[list[str]], None],
        on_progress: Callable[[float], None],
        cancel: threading.Event,
        on_ready: Callable[[int], None] | None,
        timer: StageTimer,
    ) -> int:
        """Accelerated (windows in parallel, joined, committed) or progressive (ready after the
        first window, the rest on demand and in the background, then joined in place)."""
        progressive = self.settings.transcode_mode == "progressive"
        revision = asset.revision + 1
        if progressive and self.served_windowed(asset.id, asset.revision):
            revision = asset.revision  # a retry: go on filling the served revision
        else:
            self.store.delete_prefix(packaged_prefix(asset.id, revision))
            self.store.delete_prefix(windows_prefix(asset.id, revision))
            layout = Layout.from_plan(
                plan,
                source_key=asset.source_key,
                duration_s=info.duration,
                fragment_s=self.settings.fragment_s,
                window_fragments=self.settings.window_s // self.settings.fragment_s,
                preset=self.settings.x264_preset,
            )
            with self.store.writer(f"{windows_prefix(asset.id, revision)}/{LAYOUT_FILE}") as fh:
                fh.write(layout.to_json().encode())
            if progressive:
                with timer.stage("first_window"):
                    self.windows.fill_window(asset.id, revision, 0, cancel=cancel)
                    rows = self._windowed_renditions(asset.id, revision, plan)
                    self.catalogue.commit_revision(
                        asset.id, revision, rows, round(info.duration, 6)
                    )
                timer.mark_ready()
                self._drop_old_revisions(asset.id, revision)
                if on_ready is not None:
                    on_ready(revision)
        layout = self.windows.layout(asset.id, revision)
        # accelerated: one long run per worker; progressive: the opening minutes first
        workers = self.settings.window_workers
        batch = self.settings.window_batch if progressive else -(-layout.window_count // workers)
        with timer.stage("ladder"):
            self.windows.fill(
                asset.id,
                revision,
                cancel=cancel,
                on_progress=lambda f: on_progress(_PROBE_SHARE + _LADDER_SHARE * f),
                batch=batch,
                lowest_first=progressive,
            )
        with timer.stage("join"):
            chunks = windows_prefix(asset.id, revision)
            for track_id in layout.track_ids():
                keys = [chunk_key(chunks, track_id, w) for w in range(layout.window_count)]
                join_track(
                    self._read(init_key(chunks, track_id)),
                    map(self._read, keys),
                    out / f"{track_id}.mp4",
                )
            if plan.texts:
                bound = MediaBound(info.duration)
                run(subtitles_command(ffmpeg_exe(), source, out, plan, bound.input_args()))
        with timer.stage("commit"):
            tracks = self._index_outputs(out, info, plan)
            if progressive:
                self.store.delete_prefix(packaged_prefix(asset.id, revision))  # a crashed join
            rows, duration = self._publish_outputs(asset, plan, ladder_info, out, tracks, revision)
            if not progressive:
                self.catalogue.commit_revision(asset.id, revision, rows, duration)
            elif not self.catalogue.replace_renditions(asset.id, revision, rows, duration):
                raise TranscodeError("the asset moved to another revision while it was joined")
        if not progressive:
            timer.mark_ready()
            self._drop_old_revisions(asset.id, revision)
            self.store.delete_prefix(chunks)  # never served: the joined files are
            return revision
        self._forget_chunks_later(chunks)
        return revision

    def _read(self, key: str) -> bytes:
        with self.store.open(key) as fh:
            return fh.read()

    def served_windowed(self, asset_id: str, revision: int) -> bool:
        """The revision is served from window chunks that still exist (a final failure
        reclaims them; a re-drive then starts a fresh revision)."""
        if revision == 0:
            return False
        rows = self.catalogue.renditions(asset_id, revision)
        return (
            bool(rows)
            and all(r.layout == "windowed" for r in rows)
            and self.store.exists(f"{windows_prefix(asset_id, revision)}/{LAYOUT_FILE}")
        )

    def _windowed_renditions(
        self, asset_id: str, revision: int, plan: LadderPlan
    ) -> list[Rendition]:
        """Rows of a progressive revision: headers and window 0 are stored, every fragment's
        timing is planned; offsets are read from each chunk when it is served."""
        layout = self.windows.layout(asset_id, revision)
        chunks = windows_prefix(asset_id, revision)
        audio_by_track = {a.track_id: a for a in plan.audio_outputs}
        rows = []
        for track_id in layout.track_ids():
            with self.store.open(init_key(chunks, track_id)) as fh:
                header = fh.read()
            with self.store.open(f"{chunks}/{track_id}/00000.m4s") as fh:
                first = fh.read()
            index = read_track_index_bytes(header + first)
            rung = next((r for r in layout.rungs if r.track_id == track_id), None)
            audio = audio_by_track.get(track_id)
            measured = (
                sum(f.size for f in index.fragments)
                * 8
                * index.timescale
                / max(1, sum(f.duration for f in index.fragments))
            )
            cap = rung.maxrate_kbps * 1000 if rung else (audio.kbps * 1000 if audio else 0)
            fragments = _estimated_sizes(
                layout.planned_fragments(track_id, index.timescale),
                max(cap, measured),
                index.timescale,
                index.init_size,
            )
            rows.append(
                Rendition(
                    track_id=track_id,
                    kind=index.kind,
                    codec=index.codec,
                    width=index.width,
                    height=index.height,
                    frame_rate=_frame_rate_text(layout.fps) if index.kind == "video" else None,
                    sample_rate=index.sample_rate,
                    channels=index.channels,
                    language=(audio.language if audio else None) or index.language,
                    label=audio.label if audio else None,
                    is_default=bool(audio and audio.default),
                    bitrate_avg=int(measured),
                    bitrate_peak=int(max(cap, measured)),
                    timescale=index.timescale,
                    media_time=index.media_time,
                    init_size=index.init_size,
                    file_key=f"{chunks}/{track_id}",
                    file_size=0,
                    duration=round(sum(f.duration for f in fragments) / index.timescale, 6),
                    fragments=[fragment_to_row(f) for f in fragments],
                    layout="windowed",
                )
            )
        return rows

    def _forget_chunks_later(self, prefix: str) -> None:
        """Delete a joined revision's chunks once origins holding the old index have moved on
        (they re-read the rows on the purge the ready event triggers)."""
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

    def master_path(self, key: str) -> Path:
        """A local file of the master for on-demand window encodes: the store's own file, or
        one download per process kept under the work directory (S3)."""
        path = self.store.local_path(key)
        if path is not None and path.is_file():
            return path
        name = hashlib.sha256(key.encode()).hexdigest()[:32]
        cached = self.settings.work_dir / "masters" / name
        with self._masters_lock:
            if not cached.is_file():
                cached.parent.mkdir(parents=True, exist_ok=True)
                partial = cached.with_suffix(".part")
                with self.store.open(key) as src, open(partial, "wb") as dst:
                    shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
                os.replace(partial, cached)
        return cached

    # -- templates and planning ---------------------------------------------------------------
    def template(self, ladder: str | None) -> tuple[RungTemplate, ...]:
        return self.profile(ladder).rungs

    def profile(self, ladder: str | None) -> LadderTemplate:
        profiles = self.settings.ladder_profiles
        if (ladder or "default") not in profiles:
            raise ConfigError(f"no ladder named {ladder!r}; known: {', '.join(profiles)}")
        return profiles[ladder or "default"]

    def _max_height(self, profile: LadderTemplate) -> int:
        cap = self.settings.ladder_max_height
        return min(cap, profile.max_height) if profile.max_height else cap

    def _tuning(self) -> dict[str, CodecTuning]:
        return codec_tuning(self.settings)

    def plan(
        self,
        info: SourceInfo,
        template: tuple[RungTemplate, ...] | None = None,
        *,
        profile: LadderTemplate | None = None,
        uploads: list[AudioUpload] | None = None,
    ) -> LadderPlan:
        profile = profile or self.profile(None)
        if template is not None:
            profile = profile.model_copy(update={"rungs": template})
        width, height = info.display_size
        base = plan_ladder(
            width=width,
            height=height,
            fps=info.fps,
            has_audio=info.audio is not None or bool(uploads),
            template=profile.rungs,
            fragment_s=self.settings.fragment_s,
            audio_kbps=self.settings.audio_bitrate_kbps,
            codecs=profile.codecs,
            max_height=self._max_height(profile),
            mode="fixed" if profile.mode == "fixed" else "crf",
            tuning=self._tuning(),
        )
        sources = [
            AudioSource(0, a.index, a.channels, a.language, a.title, a.default)
            for a in info.audios or ((info.audio,) if info.audio else ())
        ]
        if sources and not any(s.default for s in sources):
            sources[0] = replace(sources[0], default=True)
        for n, upload in enumerate(uploads or (), start=1):
            sources.append(AudioSource(n, 0, 2, upload.language, upload.label, upload.is_default))
        if any(u.is_default for u in uploads or ()):  # an uploaded default wins
            sources = [replace(s, default=s.default and s.input > 0) for s in sources]
        audios = plan_audio(
            sources,
            kbps=self.settings.audio_bitrate_kbps,
            surround=self.settings.audio_surround,
            surround_kbps=self.settings.audio_surround_kbps,
        )
        texts = tuple(
            TextExtraction(f"e{s.index}", s.index, s.language, s.title, s.default, s.forced)
            for s in info.subtitles
        )
        return LadderPlan(
            rungs=base.rungs,
            fps=base.fps,
            gop_frames=base.gop_frames,
            audio_kbps=base.audio_kbps,
            video_stream=info.video.index,
            source_filters=source_filters(
                interlaced=info.video.interlaced, transfer=info.video.transfer
            ),
            audios=audios,
            texts=texts,
            sdr_tags=info.video.hdr,
        )

    # -- inputs -------------------------------------------------------------------------------
    def _local_source(self, key: str, work: Path, name: str = "source") -> Path:
        path = self.store.local_path(key)
        if path is not None and path.is_file():
            return path
        staged = work / name
        with self.store.open(key) as src, open(staged, "wb") as dst:
            shutil.copyfileobj(src, dst, 8 * 1024 * 1024)
        return staged

    def _audio_inputs(self, asset_id: str, work: Path) -> list[tuple[AudioUpload, Path]]:
        """Uploaded audio tracks that still probe fine (a bad one fails the job clearly)."""
        inputs = []
        for n, upload in enumerate(self.media.audio_uploads(asset_id)):
            path = self._local_source(upload.source_key, work, f"audio{n}")
            try:
                probe_audio(path, max_duration_s=self.settings.max_source_duration_s)
            except SourceInvalid as exc:
                raise SourceInvalid(f"uploaded audio track {upload.label!r}: {exc}") from exc
            inputs.append((upload, path))
        return inputs

    # -- outputs ------------------------------------------------------------------------------
    def _index_outputs(
        self, out: Path, info: SourceInfo, plan: LadderPlan
    ) -> dict[str, TrackIndex]:
        expected = [r.track_id for r in plan.rungs] + [a.track_id for a in plan.audio_outputs]
        tracks: dict[str, TrackIndex] = {}
        for track_id in expected:
            path = out / f"{track_id}.mp4"
            if not path.is_file():
                raise TranscodeError(f"FFmpeg produced no output for track {track_id}")
            with open(path, "rb") as fh:
                index = read_track_index(fh)
            seconds = index.duration / index.timescale
            if index.kind == "video":
                MediaBound(info.duration).check_decoded(seconds)
            if index.kind == "video" and seconds + _DURATION_SLACK_S < info.duration:
                raise TranscodeError(
                    f"track {track_id} covers {seconds:.2f} s of a {info.duration:.2f} s source"
                )
            tracks[track_id] = index
        return tracks

    def _rendition(
        self,
        prefix: str,
        track_id: str,
        t: TrackIndex,
        plan: LadderPlan,
        audio: AudioRendition | None,
        derived: Derived,
    ) -> Rendition:
        seconds = t.duration / t.timescale
        media_bytes = sum(f.size for f in t.fragments)
        return Rendition(
            track_id=track_id,
            kind=t.kind,
            codec=t.codec,
            width=t.width,
            height=t.height,
            frame_rate=_frame_rate_text(plan.fps) if t.kind == "video" else None,
            sample_rate=t.sample_rate,
            channels=t.channels,
            language=(audio.language if audio else None) or t.language,
            label=audio.label if audio else None,
            is_default=bool(audio and audio.default),
            vmaf=derived.vmaf.get(track_id),
            bitrate_avg=int(media_bytes * 8 / seconds) if seconds else 0,
            bitrate_peak=max(
                (int(f.size * 8 * t.timescale / f.duration) for f in t.fragments if f.duration),
                default=0,
            ),
            timescale=t.timescale,
            media_time=t.media_time,
            init_size=t.init_size,
            file_key=f"{prefix}/{track_id}.mp4",
            file_size=t.file_size,
            duration=round(seconds, 6),
            fragments=[fragment_to_row(f) for f in t.fragments],
        )

    def _record_extras(
        self,
        asset_id: str,
        revision: int,
        prefix: str,
        derived: Derived,
        ladder_info: dict[str, Any],
    ) -> None:
        """Catalogue rows of the revision's captions, written before the revision is
        committed: once it is served, everything it names exists."""
        captions = [
            Caption(
                track_id=text.track_id,
                source="embedded",
                language=text.language or "und",
                # An untitled stream is named by its language ("Français", not "fr").
                label=text.label or language_name(text.language) or f"Subtitles {text.stream + 1}",
                is_default=text.default,
                forced=text.forced,
                kind="subtitles",
                file_key=f"{prefix}/{name}",
                cue_count=cues,
            )
            for text, name, cues in derived.captions
        ]
        self.media.replace_embedded_captions(asset_id, revision, captions)
        # The revision's files (poster, storyboard, download) are the extras job's: none yet.
        self.media.set_files(asset_id, revision, [])
        self.media.set_asset_options(asset_id, ladder_info=ladder_info)

    def _drop_old_revisions(self, asset_id: str, current: int) -> None:
        """Keep the current and the previous revision's files (players finishing old URLs)."""
        for revision in range(1, current - 1):
            try:
                self.store.delete_prefix(packaged_prefix(asset_id, revision))
                self.store.delete_prefix(windows_prefix(asset_id, revision))
            except StorageError:
                log.warning("could not delete revision %d of %s", revision, asset_id)


def record_protection_growth(path: Path, index: TrackIndex) -> None:
    """Write ``{track}.protection.json`` beside a finished track: what cenc/cbcs add to each
    fragment, for the bit rates of protected manifests (packaging/encryption/growth.py),
    measured once here so no manifest request pays for it. Nothing for tracks that cannot
    be protected (text, AV1, Opus: protecting them fails alike)."""
    if index.kind not in ("video", "audio"):
        return
    try:
        with open(path, "rb") as fh:
            crypto = read_track_crypto(fh.read(index.init_size))

            def fragments() -> Iterator[bytes]:
                for f in index.fragments:
                    fh.seek(f.offset)
                    yield fh.read(f.size)

            growth = measure_growth(fragments(), crypto)
    except (MediaError, OSError) as exc:
        log.info("%s: no protected sizes recorded (%s)", path.name, exc)
        return
    path.with_name(growth_key(path.name)).write_bytes(encode_growth(growth))
