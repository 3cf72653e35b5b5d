"""Encode a ladder window by window: each window of each track is a stored chunk of its own.

A *layout* fixes, before anything is encoded, which frames every window holds (the 2 s
keyframe grid of windows.py) and so every fragment's decode time and duration. A window of
any video rung is then made by one FFmpeg run that seeks to the window's first frame, encodes
exactly its frames with keyframes at its fragment starts, and is re-timed into place
(packaging.retime): chunks made at different times, by different processes, splice into one
continuous CMAF track, and the track made by joining them (init + chunks, in order) is the
same track a viewer was served chunk by chunk. Audio windows are encoded with two frames of
pre-roll that prime the AAC decoder's overlap and are then dropped, and are written at exact
AAC-frame times (packaging.fragment_writer).

Stored layout under the revision prefix:
``layout.json``, ``{track}/init.mp4``, ``{track}/{window:05d}.m4s``.

Why one module: the layout, the per-window FFmpeg commands and the joining must agree
frame for frame (seek points, keyframe times, AAC pre-roll); they change together, and the
pure frame grid they share lives apart in ``windows.py``.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from vodstack.errors import BoxParseError, TranscodeError
from vodstack.media import ffmpeg_argv, run_ffmpeg
from vodstack.packaging import (
    Fragment,
    TrackIndex,
    adts_frames,
    audio_fragment,
    iso639_2,
    read_track_index,
    read_track_index_bytes,
    retime_fragments,
)
from vodstack.transcode.command import filter_graph, video_encoder_args
from vodstack.transcode.ladder import AudioRendition, LadderPlan, Rung
from vodstack.transcode.windows import (
    AAC_FRAME,
    AUDIO_RATE,
    audio_fragment_starts,
    audio_frame_count,
    fragment_bounds,
    fragment_start_frames,
    frame_ticks,
)

LAYOUT_FILE = "layout.json"
CMAF_FLAGS = "+cmaf+frag_keyframe+empty_moov+default_base_moof"
_AUDIO_PREROLL = 2  # AAC frames encoded before a window and dropped (MDCT overlap priming)
Runner = Callable[[list[str]], None]


@dataclass(frozen=True, slots=True)
class Layout:
    """Everything needed to encode any window of any track, persisted with the revision."""

    source_key: str
    duration_s: float
    fps: Fraction
    frame_count: int
    fragment_s: int
    window_fragments: int
    rungs: tuple[Rung, ...]
    audios: tuple[AudioRendition, ...]
    gop_frames: int
    video_stream: int = 0
    source_filters: tuple[str, ...] = ()
    sdr_tags: bool = False
    preset: str = "veryfast"

    @classmethod
    def from_plan(
        cls,
        plan: LadderPlan,
        *,
        source_key: str,
        duration_s: float,
        fragment_s: int,
        window_fragments: int,
        preset: str,
    ) -> Layout:
        if any(a.input != 0 for a in plan.audio_outputs):
            raise ValueError("windowed encoding takes audio from the master only")
        return cls(
            source_key=source_key,
            duration_s=duration_s,
            fps=plan.fps,
            frame_count=max(1, math.floor(duration_s * plan.fps + Fraction(1, 1000))),
            fragment_s=fragment_s,
            window_fragments=window_fragments,
            rungs=plan.rungs,
            audios=plan.audio_outputs,
            gop_frames=plan.gop_frames,
            video_stream=plan.video_stream,
            source_filters=plan.source_filters,
            sdr_tags=plan.sdr_tags,
            preset=preset,
        )

    # -- geometry ---------------------------------------------------------------------------
    @property
    def video_starts(self) -> list[int]:
        return fragment_start_frames(self.frame_count, self.fps, self.fragment_s)

    @property
    def audio_frames(self) -> int:
        return audio_frame_count(self.duration_s)

    @property
    def audio_starts(self) -> list[int]:
        return audio_fragment_starts(self.audio_frames, self.fragment_s)

    @property
    def window_count(self) -> int:
        return math.ceil(len(self.video_starts) / self.window_fragments)

    def fragments_of(self, window: int, kind: str) -> tuple[int, int]:
        """(first fragment, count) of ``window`` in a track of ``kind``."""
        starts = self.video_starts if kind == "video" else self.audio_starts
        first = window * self.window_fragments
        if not 0 <= first < len(starts):
            raise IndexError(f"window {window} is beyond the last one")
        return first, min(self.window_fragments, len(starts) - first)

    def window_of_fragment(self, fragment: int) -> int:
        return fragment // self.window_fragments

    def track_ids(self) -> list[str]:
        return [r.track_id for r in self.rungs] + [a.track_id for a in self.audios]

    def kind(self, track_id: str) -> str:
        return "video" if any(r.track_id == track_id for r in self.rungs) else "audio"

    def planned_fragments(self, track_id: str, timescale: int) -> tuple[Fragment, ...]:
        """Every fragment's timing, known before any is encoded. Offsets and sizes are not:
        they are 0 here, and the origin reads them from each stored chunk."""
        if self.kind(track_id) == "video":
            starts, total, tick = (
                self.video_starts,
                self.frame_count,
                frame_ticks(self.fps, timescale),
            )
        else:
            starts, total, tick = self.audio_starts, self.audio_frames, Fraction(AAC_FRAME)
        out = []
        for k, first in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else total
            decode = int(first * tick)
            out.append(
                Fragment(0, 0, decode, int(end * tick) - decode, decode, end - first, True, 0)
            )
        return tuple(out)

    # -- persistence --------------------------------------------------------------------------
    def to_json(self) -> str:
        data = asdict(self)
        data["fps"] = str(self.fps)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Layout:
        data: dict[str, Any] = json.loads(text)
        data["fps"] = Fraction(data["fps"])
        data["rungs"] = tuple(Rung(**r) for r in data["rungs"])
        data["audios"] = tuple(AudioRendition(**a) for a in data["audios"])
        data["source_filters"] = tuple(data["source_filters"])
        return cls(**data)


def chunk_key(prefix: str, track_id: str, window: int) -> str:
    return f"{prefix}/{track_id}/{window:05d}.m4s"


def init_key(prefix: str, track_id: str) -> str:
    return f"{prefix}/{track_id}/init.mp4"


@dataclass(frozen=True, slots=True)
class Chunk:
    """One window of one track: re-timed fragments ready to store, and the track header."""

    track_id: str
    window: int
    data: bytes
    init: bytes


# -- video ---------------------------------------------------------------------------------------
def _seek_arg(frame: int, fps: Fraction) -> list[str]:
    """Input seek to just before ``frame``: 1 µs early, so rounding the time to FFmpeg's
    microseconds can never drop the window's first frame (its neighbours are ≥ 16 ms away)."""
    if frame == 0:
        return []
    micros = math.floor(Fraction(frame) / fps * 1_000_000) - 1
    return ["-ss", f"{micros / 1_000_000:.6f}"]


def video_window_command(
    ffmpeg: str,
    source: Path,
    out_dir: Path,
    layout: Layout,
    rungs: Sequence[Rung],
    first_window: int,
    window_count: int = 1,
    *,
    threads: int = 0,
) -> list[str]:
    """One decode of windows ``first_window`` … ``+window_count-1`` for the given rungs."""
    starts = layout.video_starts
    first, count = layout.fragments_of(first_window, "video")
    last_window = min(first_window + window_count, layout.window_count) - 1
    last_first, last_count = layout.fragments_of(last_window, "video")
    start, _ = fragment_bounds(starts, layout.frame_count, first, count)
    _, end = fragment_bounds(starts, layout.frame_count, last_first, last_count)
    keyframes = ",".join(
        f"{float(Fraction(f - start) / layout.fps):.6f}"
        for f in starts[first : last_first + last_count]
    )
    plan = LadderPlan(
        rungs=tuple(rungs),
        fps=layout.fps,
        gop_frames=layout.gop_frames,
        audio_kbps=None,
        video_stream=layout.video_stream,
        source_filters=layout.source_filters,
        sdr_tags=layout.sdr_tags,
    )
    argv = ffmpeg_argv(ffmpeg)
    argv += [*_seek_arg(start, layout.fps), "-i", str(source)]
    argv += ["-filter_complex", filter_graph(plan)]
    for i, rung in enumerate(plan.rungs):
        argv += ["-map", f"[v{i}]", "-an", "-sn", "-dn", "-frames:v", str(end - start)]
        argv += video_encoder_args(
            rung, gop=layout.gop_frames, preset=layout.preset, threads=threads
        )
        argv += ["-force_key_frames", keyframes]
        if layout.sdr_tags:
            argv += ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
        argv += ["-movflags", CMAF_FLAGS, "-map_metadata", "-1"]
        argv += [str(out_dir / f"{rung.track_id}.mp4")]
    return argv


def split_video_output(
    layout: Layout, track_id: str, raw: bytes, first_window: int, window_count: int
) -> list[Chunk]:
    """Cut one FFmpeg output (several windows of one rung) into re-timed per-window chunks."""
    first, _ = layout.fragments_of(first_window, "video")
    last_window = min(first_window + window_count, layout.window_count) - 1
    try:
        index = read_track_index_bytes(raw)
    except BoxParseError as exc:
        raise TranscodeError(
            f"track {track_id}, windows {first_window}–{last_window}: FFmpeg wrote no frames "
            "(the master ends early or is damaged there)"
        ) from exc
    last_first, last_count = layout.fragments_of(last_window, "video")
    expected = last_first + last_count - first
    if len(index.fragments) != expected:
        raise TranscodeError(
            f"track {track_id}, windows {first_window}–{last_window}: expected {expected} "
            f"fragments, FFmpeg wrote {len(index.fragments)} (the source ends early or has "
            "damaged frames there)"
        )
    start_frame = layout.video_starts[first]
    tick = frame_ticks(layout.fps, index.timescale)
    if tick.denominator != 1:
        raise TranscodeError(f"{layout.fps} fps frames do not fall on ticks of {index.timescale}")
    body_start = index.fragments[0].offset
    body = retime_fragments(raw[body_start:], int(start_frame * tick), first + 1)
    init = raw[: index.init_size]
    chunks = []
    at = 0
    for window in range(first_window, last_window + 1):
        _, count = layout.fragments_of(window, "video")
        frags = index.fragments[at : at + count]
        lo = frags[0].offset - body_start
        hi = frags[-1].offset + frags[-1].size - body_start
        chunks.append(Chunk(track_id, window, body[lo:hi], init))
        at += count
    return chunks


def encode_video_windows(
    ffmpeg: str,
    source: Path,
    layout: Layout,
    rungs: Sequence[Rung],
    first_window: int,
    window_count: int = 1,
    *,
    run: Runner | None = None,
    threads: int = 0,
) -> list[Chunk]:
    with tempfile.TemporaryDirectory(prefix="vodstack-window-") as tmp:
        out = Path(tmp)
        argv = video_window_command(
            ffmpeg, source, out, layout, rungs, first_window, window_count, threads=threads
        )
        (run or run_ffmpeg)(argv)
        chunks: list[Chunk] = []
        for rung in rungs:
            path = out / f"{rung.track_id}.mp4"
            if not path.is_file():
                raise TranscodeError(f"FFmpeg produced no output for track {rung.track_id}")
            raw = path.read_bytes()
            chunks += split_video_output(layout, rung.track_id, raw, first_window, window_count)
        return chunks


# -- audio ---------------------------------------------------------------------------------------
def audio_window_command(
    ffmpeg: str, source: Path, out: Path, audio: AudioRendition, start_frame: int, frames: int
) -> list[str]:
    """AAC frames ``start_frame - pre-roll`` … as ADTS, padded with silence past the end.

    Before the first frame of the track the pre-roll is silence, as a single-pass encode
    starts from silence: the first kept frame decodes against it, not against nothing.
    """
    first = start_frame - _AUDIO_PREROLL
    length = Fraction((_AUDIO_PREROLL + frames + 2) * AAC_FRAME, AUDIO_RATE)
    argv = ffmpeg_argv(ffmpeg)
    if first > 0:
        argv += ["-ss", f"{float(Fraction(first * AAC_FRAME, AUDIO_RATE)):.6f}"]
    argv += ["-i", str(source), "-map", f"0:a:{audio.stream}", "-vn", "-sn", "-dn"]
    # resample first, so the silence is counted in output samples
    filters = [f"aresample={AUDIO_RATE}"]
    if first < 0:
        filters.append(f"adelay=delays={-first * AAC_FRAME}S:all=1")
    filters.append("apad")
    argv += ["-af", ",".join(filters), "-t", f"{float(length):.6f}"]
    argv += ["-c:a", "aac", "-b:a", f"{audio.kbps}k", "-ac", str(audio.channels)]
    argv += ["-ar", str(AUDIO_RATE), "-f", "adts", str(out)]
    return argv


def audio_init(ffmpeg: str, adts: Path, audio: AudioRendition, run: Runner) -> bytes:
    """The track header (ftyp+moov) for ADTS frames: FFmpeg writes it from a stream copy,
    with no priming edit list (the windows drop the priming frame themselves)."""
    out = adts.with_suffix(".init.mp4")
    argv = [*ffmpeg_argv(ffmpeg), "-f", "aac"]
    argv += ["-i", str(adts), "-c", "copy", "-bsf:a", "aac_adtstoasc", "-map_metadata", "-1"]
    if audio.language:
        argv += ["-metadata:s:a:0", f"language={iso639_2(audio.language)}"]
    argv += ["-f", "mp4", "-movflags", CMAF_FLAGS + "+delay_moov", str(out)]
    run(argv)
    raw = out.read_bytes()
    return raw[: read_track_index_bytes(raw).init_size]


def encode_audio_windows(
    ffmpeg: str,
    source: Path,
    layout: Layout,
    audio: AudioRendition,
    first_window: int,
    window_count: int = 1,
    *,
    run: Runner,
) -> list[Chunk]:
    """Windows ``first_window`` … ``+window_count-1`` of an audio track from one encode."""
    starts = layout.audio_starts
    last_window = min(first_window + window_count, layout.window_count) - 1
    first, _ = layout.fragments_of(first_window, "audio")
    last_first, last_count = layout.fragments_of(last_window, "audio")
    start, _ = fragment_bounds(starts, layout.audio_frames, first, 1)
    _, end = fragment_bounds(starts, layout.audio_frames, last_first, last_count)
    label = f"audio {audio.track_id}, windows {first_window}–{last_window}"
    with tempfile.TemporaryDirectory(prefix="vodstack-audio-") as tmp:
        adts = Path(tmp) / "window.aac"
        run(audio_window_command(ffmpeg, source, adts, audio, start, end - start))
        try:
            frames = adts_frames(adts.read_bytes())
        except BoxParseError as exc:
            raise TranscodeError(f"{label}: {exc}") from exc
        skip = 1 + _AUDIO_PREROLL  # the encoder's priming frame, then the pre-roll
        kept = frames[skip : skip + end - start]
        if len(kept) != end - start:
            raise TranscodeError(f"{label}: {len(kept)} of {end - start} frames")
        init = audio_init(ffmpeg, adts, audio, run)
    chunks = []
    for window in range(first_window, last_window + 1):
        w_first, w_count = layout.fragments_of(window, "audio")
        parts = []
        for k in range(w_first, w_first + w_count):
            lo, hi = fragment_bounds(starts, layout.audio_frames, k, 1)
            parts.append(
                audio_fragment(
                    kept[lo - start : hi - start], sequence=k + 1, decode_time=lo * AAC_FRAME
                )
            )
        chunks.append(Chunk(audio.track_id, window, b"".join(parts), init))
    return chunks


def join_track(init: bytes, chunks: Iterable[bytes], out: Path) -> TrackIndex:
    """The whole track: header and every window's fragments, in order (already re-timed).
    ``chunks`` is consumed one at a time, so a long title is never held in memory."""
    with open(out, "wb") as fh:
        fh.write(init)
        for data in chunks:
            fh.write(data)
    with open(out, "rb") as fh:
        return read_track_index(fh)


def audio_of(layout: Layout, track_id: str) -> AudioRendition:
    return next(a for a in layout.audios if a.track_id == track_id)
