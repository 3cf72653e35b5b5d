"""What is derived from the encoded rungs: the WebVTT files of embedded subtitles (with the
ladder, they are playback tracks), and the extras made after the revision is committed — the
poster and storyboard, the MP4 download and sampled VMAF per rung (``transcode.extras_job``).

None of the extras may cost the viewer the video: when one fails (an odd source, a full disk
of scratch space) it is logged, its status says why, and the revision keeps serving.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vodstack.captions import CaptionInvalid, parse_webvtt
from vodstack.config import Settings
from vodstack.errors import TranscodeError
from vodstack.ingest import SourceInfo
from vodstack.thumbnails import Storyboard, plan_storyboard
from vodstack.transcode.extras import download_command, pictures_command
from vodstack.transcode.ladder import LadderPlan, Rung, TextExtraction
from vodstack.transcode.quality import parse_vmaf_log, sample_windows, vmaf_command
from vodstack.transcode.timing import StageTimer

log = logging.getLogger(__name__)

Runner = Callable[[list[str]], None]
POSTER = "poster.jpg"
STORYBOARD_DIR = "sb"
DOWNLOAD = "download.mp4"


@dataclass
class Derived:
    """Files written next to the tracks (relative to the output directory) and the facts the
    catalogue keeps about them."""

    files: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    vmaf: dict[str, float] = field(default_factory=dict)
    captions: list[tuple[TextExtraction, str, int]] = field(default_factory=list)


def _pick(rungs: tuple[Rung, ...], max_p: int) -> Rung:
    fitting = [r for r in rungs if r.p <= max_p]
    return max(fitting, key=lambda r: r.p) if fitting else min(rungs, key=lambda r: r.p)


def make_pictures(
    ffmpeg: str,
    out: Path,
    plan: LadderPlan,
    keyframes: Mapping[str, int],
    info: SourceInfo,
    settings: Settings,
    run: Runner,
    derived: Derived,
) -> None:
    """``keyframes``: fragments (each starts with a keyframe) per track."""
    h264 = plan.rungs_for("h264")
    poster_rung = _pick(h264, settings.poster_max_height)
    board_rung = min(
        (r for r in h264 if r.width >= settings.storyboard_width),
        key=lambda r: r.p,
        default=max(h264, key=lambda r: r.p),
    )
    board = plan_storyboard(
        duration_s=info.duration,
        keyframes=keyframes[board_rung.track_id],
        fragment_s=settings.fragment_s,
        width=board_rung.width,
        height=board_rung.height,
        interval_s=settings.storyboard_interval_s,
        tile_width=settings.storyboard_width,
        columns=settings.storyboard_columns,
        rows=settings.storyboard_rows,
    )
    (out / STORYBOARD_DIR).mkdir(exist_ok=True)
    run(
        pictures_command(
            ffmpeg,
            poster_source=out / f"{poster_rung.track_id}.mp4",
            poster_height=settings.poster_max_height,
            keyframes=keyframes[poster_rung.track_id],
            poster_out=out / POSTER,
            storyboard_source=out / f"{board_rung.track_id}.mp4",
            board=board,
            sheet_pattern=out / STORYBOARD_DIR / "%d.jpg",
        )
    )
    poster = out / POSTER
    if poster.is_file():
        derived.files["poster"] = (POSTER, poster.stat().st_size, {"from": poster_rung.track_id})
    sheets = sorted((out / STORYBOARD_DIR).glob("*.jpg"))
    if sheets:
        made = min(board.count, len(sheets) * board.per_sheet)
        board = Storyboard(**{**board.to_json(), "count": made})
        size = sum(s.stat().st_size for s in sheets)
        meta = {**board.to_json(), "sheets": len(sheets)}
        derived.files["storyboard"] = (STORYBOARD_DIR, size, meta)


def make_download(
    ffmpeg: str,
    out: Path,
    plan: LadderPlan,
    settings: Settings,
    run: Runner,
    derived: Derived,
    title: str | None,
) -> bool:
    """False when the settings ask for no download."""
    if settings.download_max_height <= 0:
        return False
    rung = _pick(plan.rungs_for("h264"), settings.download_max_height)
    default_audio = next((a for a in plan.audio_outputs if a.default), None)
    audio = out / f"{default_audio.track_id}.mp4" if default_audio else None
    target = out / DOWNLOAD
    run(download_command(ffmpeg, out / f"{rung.track_id}.mp4", audio, target, title=title))
    meta = {"track": rung.track_id, "width": rung.width, "height": rung.height}
    derived.files["download"] = (DOWNLOAD, target.stat().st_size, meta)
    return True


def measure_quality(
    ffmpeg: str,
    source: Path,
    out: Path,
    plan: LadderPlan,
    info: SourceInfo,
    settings: Settings,
    run: Runner,
    derived: Derived,
) -> None:
    """Sampled VMAF of every video rung (all codecs) at the display size (the top rung's)."""
    top = max(plan.rungs_for("h264"), key=lambda r: r.width * r.height)
    windows = sample_windows(
        info.duration,
        count=settings.vmaf_windows,
        length_s=settings.vmaf_window_s,
        fragment_s=settings.fragment_s,
    )
    scratch = out.parent / "vmaf"
    scratch.mkdir(exist_ok=True)
    logs = [scratch / f"{r.track_id}.json" for r in plan.rungs]
    try:
        run(
            vmaf_command(
                ffmpeg,
                source,
                [out / f"{r.track_id}.mp4" for r in plan.rungs],
                logs,
                windows=windows,
                fps=plan.fps,
                size=(top.width, top.height),
                source_filters=plan.source_filters,
                video_stream=plan.video_stream,
                subsample=settings.vmaf_subsample,
                threads=settings.cpus,
            )
        )
        results = {r.track_id: parse_vmaf_log(log) for r, log in zip(plan.rungs, logs, strict=True)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for track, scored in results.items():
        if scored is not None:
            derived.vmaf[track] = round(scored[0], 2)


def collect_captions(out: Path, plan: LadderPlan, derived: Derived) -> None:
    """Keep the embedded subtitle tracks that yielded cues (an empty stream is dropped)."""
    for text in plan.texts:
        path = out / f"{text.track_id}.vtt"
        try:
            cues = parse_webvtt(path.read_text("utf-8")) if path.is_file() else []
        except (CaptionInvalid, UnicodeDecodeError):
            cues = []
        if not cues:
            path.unlink(missing_ok=True)
            log.warning("embedded subtitle stream %d has no usable cue; left out", text.stream)
            continue
        derived.captions.append((text, path.name, len(cues)))


# The extras, in the order they are made (cheapest first: the poster comes soonest).
EXTRAS = ("pictures", "download", "quality")


def derive(
    ffmpeg: str,
    source: Callable[[], Path],
    out: Path,
    plan: LadderPlan,
    keyframes: Mapping[str, int],
    info: SourceInfo,
    settings: Settings,
    run: Runner,
    timer: StageTimer,
    *,
    title: str | None = None,
    on_step: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> Derived:
    """Make every extra from the rung files in ``out``; each one's state (``ready``,
    ``skipped``, ``failed`` with the reason) and time go to ``timer``. ``source`` gives the
    master's local path, fetched only when quality scores need it."""
    derived = Derived()

    def pictures() -> bool:
        make_pictures(ffmpeg, out, plan, keyframes, info, settings, run, derived)
        return True

    def quality() -> bool:
        if not settings.quality_scores:
            return False
        measure_quality(ffmpeg, source(), out, plan, info, settings, run, derived)
        return True

    steps: dict[str, Callable[[], bool]] = {
        "pictures": pictures,
        "download": lambda: make_download(ffmpeg, out, plan, settings, run, derived, title),
        "quality": quality,
    }
    for name in EXTRAS:
        timer.set_extra(name, "running")
    for done, name in enumerate(EXTRAS):
        try:
            with timer.stage(name):
                made = steps[name]()
            timer.set_extra(name, "ready" if made else "skipped")
        except (TranscodeError, OSError, KeyError, ValueError) as exc:
            if cancel is not None and cancel.is_set():
                raise
            log.warning("could not make the %s: %s", name, exc)
            reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            timer.set_extra(name, "failed", reason)
        if on_step:
            on_step((done + 1) / len(EXTRAS))
    return derived
