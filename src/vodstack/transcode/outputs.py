"""From encoded files to the catalogue rows of a revision (the commit step's material).

A track is indexed once here (fragments, timing, sizes) so no request ever parses a file;
its bit rates, its protected sizes (``{track}.protection.json``) and the rows of the
subtitles extracted beside it are worked out before the revision is committed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from vodstack.catalogue import Caption, Rendition
from vodstack.errors import MediaError, TranscodeError
from vodstack.ingest import SourceInfo
from vodstack.packaging import (
    Fragment,
    TrackIndex,
    fragment_to_row,
    language_name,
    read_track_index,
    read_track_index_bytes,
)
from vodstack.packaging.encryption import (
    encode_growth,
    growth_key,
    measure_growth,
    read_track_crypto,
)
from vodstack.storage import ObjectStore
from vodstack.transcode.bounds import MediaBound
from vodstack.transcode.derive import Derived, collect_captions
from vodstack.transcode.ladder import AudioRendition, LadderPlan
from vodstack.transcode.windowed import Layout, init_key

log = logging.getLogger(__name__)

# Tracks must cover the source to within this many seconds, else something was lost.
_DURATION_SLACK_S = 0.5


@dataclass(frozen=True, slots=True)
class RevisionFiles:
    """A revision's files, indexed, and the rows that describe them."""

    renditions: list[Rendition]
    captions: list[Caption]
    duration: float  # where the media ends, edit lists applied (as the manifests say)


def index_outputs(out: Path, info: SourceInfo, plan: LadderPlan) -> dict[str, TrackIndex]:
    """The index of every planned track; a missing or short one fails the attempt."""
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


def revision_files(
    out: Path, prefix: str, plan: LadderPlan, tracks: dict[str, TrackIndex]
) -> RevisionFiles:
    """Rows of the tracks and subtitles in ``out``, to be stored under ``prefix``; writes each
    track's protected sizes beside it (published with it)."""
    derived = Derived()
    collect_captions(out, plan, derived)
    audio_by_track = {a.track_id: a for a in plan.audio_outputs}
    rows = [
        file_rendition(prefix, tid, t, plan, audio_by_track.get(tid)) for tid, t in tracks.items()
    ]
    for tid, t in tracks.items():
        record_protection_growth(out / f"{tid}.mp4", t)
    # where the media ends, edit lists applied (as the manifests say): not AAC priming
    duration = max(t.presentation_end_seconds for t in tracks.values())
    return RevisionFiles(rows, embedded_captions(prefix, derived), round(duration, 6))


def rungs_info(plan: LadderPlan) -> list[dict[str, Any]]:
    """What the catalogue shows of each planned rung (``ladder_info["rungs"]``)."""
    return [
        {"track": r.track_id, "codec": r.codec, "crf": r.crf, "cap_kbps": r.maxrate_kbps,
         "rate_control": r.rate_control}
        for r in plan.rungs
    ]  # fmt: skip


def frame_rate_text(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def file_rendition(
    prefix: str, track_id: str, t: TrackIndex, plan: LadderPlan, audio: AudioRendition | None
) -> Rendition:
    """The row of one CMAF track file (``layout="file"``)."""
    seconds = t.duration / t.timescale
    media_bytes = sum(f.size for f in t.fragments)
    return Rendition(
        track_id=track_id,
        kind=t.kind,
        codec=t.codec,
        width=t.width,
        height=t.height,
        frame_rate=frame_rate_text(plan.fps) if t.kind == "video" else None,
        sample_rate=t.sample_rate,
        channels=t.channels,
        language=(audio.language if audio else None) or t.language,
        label=audio.label if audio else None,
        is_default=bool(audio and audio.default),
        vmaf=None,  # measured by the extras job, after the commit
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


def embedded_captions(prefix: str, derived: Derived) -> list[Caption]:
    """Rows of the subtitles extracted from the master (WebVTT files beside the tracks)."""
    return [
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


def windowed_renditions(
    store: ObjectStore, layout: Layout, chunks: str, plan: LadderPlan
) -> list[Rendition]:
    """Rows of a progressive revision: headers and window 0 are stored, every fragment's
    timing is planned; offsets are read from each chunk when it is served."""
    audio_by_track = {a.track_id: a for a in plan.audio_outputs}
    rows = []
    for track_id in layout.track_ids():
        with store.open(init_key(chunks, track_id)) as fh:
            header = fh.read()
        with store.open(f"{chunks}/{track_id}/00000.m4s") as fh:
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
        fragments = estimated_sizes(
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
                frame_rate=frame_rate_text(layout.fps) if index.kind == "video" else None,
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


def estimated_sizes(
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
