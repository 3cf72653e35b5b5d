"""Build the FFmpeg argv for a ladder (pure: no I/O, unit-tested).

One FFmpeg process decodes the source once: source filters (deinterlace, tone map) → ``fps``
(constant frame rate for a regular keyframe grid) → one ``scale`` per picture size, cascaded
→ one encoder and one CMAF muxer per rung (H.264, and AV1/HEVC twins sharing the scaled
picture), one AAC track per audio rendition, and one WebVTT file per embedded text stream.
Every rung gets the same forced keyframe instants (``-force_key_frames`` every fragment,
scene-cut keyframes off, ``-g`` = ``-keyint_min``), closed GOPs, so all rungs — whatever the
codec — can switch at the same fragment boundaries [CMAF §7].
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vodstack.media import ffmpeg_argv
from vodstack.packaging import iso639_2
from vodstack.transcode.ladder import AudioRendition, LadderPlan, Rung

# CMAF fragmented MP4: ftyp+moov up front, one moof+mdat per fragment, moof-relative offsets,
# and a sidx describing every fragment [ISO/IEC 23000-19; 14496-12 §8.16.3].
MOVFLAGS = "+cmaf+frag_keyframe+empty_moov+default_base_moof+global_sidx"
AUDIO_TRACK_ID = "a0"


def _input_label(plan: LadderPlan) -> str:
    return "[0:v]" if plan.video_stream == 0 else f"[0:v:{plan.video_stream}]"


def filter_graph(plan: LadderPlan) -> str:
    """Decode once, then scale in a cascade: 1080p → 720p → 480p → … .

    Each picture size is scaled from the next larger one rather than from the source, so the
    work of scaling shrinks with every step (measured: bench/transcode.py); rungs of another
    codec at the same size share that scaled picture. Output ``[v{i}]`` is rung ``i`` of
    ``plan.rungs``.
    """
    fps = f"{plan.fps.numerator}/{plan.fps.denominator}"
    sizes: dict[tuple[int, int], list[int]] = {}
    for i, rung in enumerate(plan.rungs):
        sizes.setdefault((rung.width, rung.height), []).append(i)
    order = sorted(sizes, key=lambda size: -size[0] * size[1])
    parts: list[str] = []
    source = _input_label(plan)
    filters = [*plan.source_filters, f"fps={fps}", "format=yuv420p"]
    for step, (width, height) in enumerate(order):
        members = sizes[(width, height)]
        filters.append(f"scale={width}:{height}:flags=bicubic,setsar=1")
        last = step == len(order) - 1
        labels = "".join(f"[v{i}]" for i in members) + ("" if last else f"[c{step}]")
        count = len(members) + (0 if last else 1)
        tail = labels if count == 1 else f"split={count}{labels}"
        parts.append(source + ",".join(filters) + ("" if count == 1 else ",") + tail)
        source, filters = f"[c{step}]", []
    return ";".join(parts)


def encoder_threads(plan: LadderPlan, cpus: int) -> list[int]:
    """Threads per rung, in proportion to its pixels, so 5 encoders do not each start
    1.5 × cores threads and fight over 2 cores. A single rung keeps FFmpeg's default (0)."""
    if len(plan.rungs) == 1:
        return [0]
    pixels = [r.width * r.height for r in plan.rungs]
    budget = 2 * max(1, cpus)
    return [max(1, round(budget * p / sum(pixels))) for p in pixels]


def _rate(rung: Rung) -> list[str]:
    """Capped CRF (quality-targeted VBR with a VBV cap, the QVBR analogue) or, for a classic
    fixed ladder, the cap as the target bitrate."""
    vbv = ["-maxrate", f"{rung.maxrate_kbps}k", "-bufsize", f"{rung.bufsize_kbps}k"]
    if rung.rate_control == "fixed":
        return ["-b:v", f"{rung.maxrate_kbps}k", *vbv]
    return ["-crf", str(rung.crf), *vbv]


def video_encoder_args(
    rung: Rung,
    *,
    gop: int,
    preset: str,
    threads: int,
    av1_preset: int = 10,
    hevc_preset: str = "veryfast",
) -> list[str]:
    """Encoder options of one rung (keyframe grid included)."""
    keyframes = ["-g", str(gop), "-keyint_min", str(gop)]
    if rung.codec == "av1":
        # SVT-AV1: closed GOP by default (key frames, not forward frames); lp = threads.
        params = f"lp={max(1, threads)}:scd=0"
        args = ["-c:v", "libsvtav1", "-preset", str(av1_preset)]
        if rung.rate_control == "fixed":
            args += ["-b:v", f"{rung.maxrate_kbps}k"]
        else:
            args += ["-crf", str(rung.crf), "-maxrate", f"{rung.maxrate_kbps}k"]
        return [*args, "-g", str(gop), "-svtav1-params", params]
    if rung.codec == "hevc":
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:log-level=error"
        if threads:
            params += f":pools={threads}"
        # hvc1: parameter sets in the sample entry, as Apple's HLS spec requires for fMP4.
        args = ["-c:v", "libx265", "-preset", hevc_preset, "-profile:v", "main", "-tag:v", "hvc1"]
        return [*args, *_rate(rung), *keyframes, "-x265-params", params]
    args = ["-c:v", "libx264", "-preset", preset, "-profile:v", "high", *_rate(rung)]
    args += [*keyframes, "-sc_threshold", "0"]
    if threads:
        args += ["-threads", str(threads)]
    return args


def _audio_args(audio: AudioRendition, fragment_s: int, out_dir: Path) -> list[str]:
    argv = ["-map", f"{audio.input}:a:{audio.stream}", "-vn", "-sn", "-dn", "-c:a", "aac"]
    argv += ["-b:a", f"{audio.kbps}k", "-ac", str(audio.channels), "-ar", "48000"]
    # Audio has no keyframes to cut at: fragment by duration instead (TOOLCHAIN.md).
    argv += ["-frag_duration", str(fragment_s * 1_000_000)]
    argv += ["-movflags", MOVFLAGS + "+delay_moov", "-map_metadata", "-1"]
    if audio.language:  # mdhd language (ISO 639-2/T), read back by the track index
        argv += ["-metadata:s:a:0", f"language={iso639_2(audio.language)}"]
    return [*argv, str(out_dir / f"{audio.track_id}.mp4")]


def ladder_command(
    ffmpeg: str,
    source: Path,
    out_dir: Path,
    plan: LadderPlan,
    *,
    fragment_s: int,
    preset: str,
    cpus: int = 2,
    audio_inputs: Sequence[Path] = (),
    av1_preset: int = 10,
    hevc_preset: str = "veryfast",
    input_args: Sequence[str] = (),
) -> list[str]:
    """The full argv: progress on stdout (``-progress pipe:1``), errors only on stderr.

    ``audio_inputs`` are separately uploaded audio files: inputs 1, 2, … of the command.
    ``input_args`` go before every ``-i`` (the time bound, see ``bounds.py``).
    """
    argv = ffmpeg_argv(ffmpeg)
    argv += ["-progress", "pipe:1", *input_args, "-i", str(source)]
    for extra in audio_inputs:
        argv += [*input_args, "-i", str(extra)]
    argv += ["-filter_complex", filter_graph(plan)]
    keyframes = f"expr:gte(t,n_forced*{fragment_s})"
    threads = encoder_threads(plan, cpus)
    for i, rung in enumerate(plan.rungs):
        argv += ["-map", f"[v{i}]", "-an", "-sn", "-dn"]
        argv += video_encoder_args(
            rung,
            gop=plan.gop_frames,
            preset=preset,
            threads=threads[i],
            av1_preset=av1_preset,
            hevc_preset=hevc_preset,
        )
        argv += ["-force_key_frames", keyframes]
        if plan.sdr_tags:
            argv += ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]
        argv += ["-movflags", MOVFLAGS, "-map_metadata", "-1"]
        argv += [str(out_dir / f"{rung.track_id}.mp4")]
    for audio in plan.audio_outputs:
        argv += _audio_args(audio, fragment_s, out_dir)
    return argv + _text_args(plan, out_dir)


def _text_args(plan: LadderPlan, out_dir: Path) -> list[str]:
    argv: list[str] = []
    for text in plan.texts:
        # Text subtitles (mov_text, SubRip, ASS) → WebVTT; bitmap ones were left out by the probe.
        argv += ["-map", f"0:s:{text.stream}", "-vn", "-an", "-dn", "-c:s", "webvtt"]
        argv += ["-f", "webvtt", str(out_dir / f"{text.track_id}.vtt")]
    return argv


def subtitles_command(
    ffmpeg: str, source: Path, out_dir: Path, plan: LadderPlan, input_args: Sequence[str] = ()
) -> list[str]:
    """The embedded text streams alone, as WebVTT (windowed jobs: no ladder run carries them)."""
    argv = [*ffmpeg_argv(ffmpeg), *input_args]
    return [*argv, "-i", str(source), *_text_args(plan, out_dir)]
