"""Ladder planning and FFmpeg argv for media breadth (pure; issue #8): codecs, top-rung cap,
source filters, audio renditions, subtitle extraction, per-title decisions, sampled windows,
storyboard geometry, poster/download commands."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from vodstack.config import DEFAULT_LADDER, LadderTemplate, RungTemplate, Settings
from vodstack.ingest.probe import AudioInfo, SourceInfo, SubtitleInfo, VideoInfo
from vodstack.thumbnails.storyboard import plan_storyboard, storyboard_vtt
from vodstack.transcode.command import filter_graph, ladder_command, video_encoder_args
from vodstack.transcode.extras import download_command, pictures_command
from vodstack.transcode.ladder import (
    AudioSource,
    LadderPlan,
    TextExtraction,
    plan_audio,
    plan_ladder,
    source_filters,
)
from vodstack.transcode.pertitle import ProbePoint, apply_decision, candidates, choose, decide
from vodstack.transcode.planning import LadderPlanner, codec_tuning
from vodstack.transcode.quality import Window, sample_windows, vmaf_command

TUNING = codec_tuning(Settings())


def planner() -> LadderPlanner:
    return LadderPlanner(Settings())


def plan(w: int = 1920, h: int = 1080, **kw: object) -> LadderPlan:
    return plan_ladder(
        width=w, height=h, fps=Fraction(30), has_audio=True, template=DEFAULT_LADDER,
        fragment_s=2, audio_kbps=128, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_av1_and_hevc_twins_follow_every_h264_rung() -> None:
    p = plan(1280, 720, codecs=("h264", "av1", "hevc"), tuning=TUNING)
    assert [r.track_id for r in p.rungs] == [
        "v240", "v360", "v480", "v720",
        "v240av1", "v360av1", "v480av1", "v720av1",
        "v240hevc", "v360hevc", "v480hevc", "v720hevc",
    ]  # fmt: skip
    v720, av1, hevc = p.rungs[3], p.rungs[7], p.rungs[11]
    assert (av1.width, av1.height, av1.crf, av1.maxrate_kbps) == (1280, 720, 35, 2100)
    assert (hevc.crf, hevc.maxrate_kbps) == (27, 2250) and v720.maxrate_kbps == 3000


def test_top_rung_is_capped_by_config() -> None:
    template = (*DEFAULT_LADDER, RungTemplate(height=2160, maxrate_kbps=16000))
    four_k = dict(w=3840, h=2160, template=template)  # noqa: C408
    full = plan_ladder(fps=Fraction(30), has_audio=False, fragment_s=2, audio_kbps=128,
                       width=3840, height=2160, template=template)  # fmt: skip
    assert full.rungs[-1].height == 2160
    capped = plan_ladder(fps=Fraction(30), has_audio=False, fragment_s=2, audio_kbps=128,
                         width=3840, height=2160, template=template, max_height=1080)  # fmt: skip
    assert capped.rungs[-1].height == 1080 and four_k


def test_fixed_mode_encodes_to_the_cap() -> None:
    rung = plan(mode="fixed").rungs[-1]
    args = video_encoder_args(rung, gop=60, preset="veryfast", threads=2)
    assert args[args.index("-b:v") + 1] == "6000k" and "-crf" not in args


def test_codec_encoder_arguments_keep_the_keyframe_grid() -> None:
    p = plan(1280, 720, codecs=("h264", "av1", "hevc"), tuning=TUNING)
    av1 = video_encoder_args(p.rungs_for("av1")[-1], gop=60, preset="x", threads=2)
    assert av1[:4] == ["-c:v", "libsvtav1", "-preset", "10"] and "scd=0" in av1[-1]
    assert av1[av1.index("-g") + 1] == "60" and av1[av1.index("-maxrate") + 1] == "2100k"
    hevc = video_encoder_args(p.rungs_for("hevc")[-1], gop=60, preset="x", threads=2)
    assert "hvc1" in hevc and "keyint=60:min-keyint=60:scenecut=0:open-gop=0" in hevc[-1]
    argv = ladder_command("ffmpeg", Path("in"), Path("/o"), p, fragment_s=2, preset="veryfast")
    assert argv.count("-force_key_frames") == len(p.rungs) == 12


def test_codecs_share_one_scaled_picture_per_size() -> None:
    p = plan(1280, 720, codecs=("h264", "av1"), tuning=TUNING)
    graph = filter_graph(p)
    assert graph.count("scale=") == 4
    assert "scale=1280:720:flags=bicubic,setsar=1,split=3[v3][v7][c0]" in graph
    assert graph.endswith("scale=426:240:flags=bicubic,setsar=1,split=2[v0][v4]")


def test_source_filters_deinterlace_and_tone_map() -> None:
    assert source_filters(interlaced=False, transfer=None) == ()
    assert source_filters(interlaced=True, transfer=None)[0].startswith("bwdif=")
    pq = source_filters(interlaced=False, transfer="pq")
    assert pq[0].startswith("zscale=tin=smpte2084") and "tonemap=tonemap=hable:desat=0" in pq
    assert source_filters(interlaced=False, transfer="hlg")[0].startswith("zscale=tin=arib")
    p = plan()
    tagged = LadderPlan(p.rungs, p.fps, p.gop_frames, 128, video_stream=2, source_filters=pq,
                        sdr_tags=True)  # fmt: skip
    graph = filter_graph(tagged)
    assert graph.startswith("[0:v:2]zscale=") and ",fps=30/1,format=yuv420p," in graph
    argv = ladder_command("ffmpeg", Path("in"), Path("/o"), tagged, fragment_s=2, preset="x")
    assert argv.count("-color_trc") == len(p.rungs)


def test_audio_renditions_languages_surround_and_uploads() -> None:
    sources = [
        AudioSource(0, 0, 2, "en", "English", True),
        AudioSource(0, 1, 6, "fr", None, False),
        AudioSource(1, 0, 2, "de", "Deutsch", False),
    ]
    out = plan_audio(sources, kbps=128, surround=True, surround_kbps=384)
    assert [(a.track_id, a.input, a.stream, a.channels, a.label, a.default) for a in out] == [
        ("a0", 0, 0, 2, "English", True),
        ("a1", 0, 1, 2, "Français", False),  # untitled: named in its language
        ("a1s", 0, 1, 6, "Français (5.1)", False),
        ("a2", 1, 0, 2, "Deutsch", False),
    ]
    assert len(plan_audio(sources, kbps=128, surround=False, surround_kbps=384)) == 3
    p = plan()
    full = LadderPlan(p.rungs, p.fps, p.gop_frames, 128, audios=out,
                      texts=(TextExtraction("e0", 1, "fr"),))  # fmt: skip
    argv = ladder_command("ffmpeg", Path("in"), Path("/o"), full, fragment_s=2, preset="x",
                          audio_inputs=[Path("de.wav")])  # fmt: skip
    assert argv.count("-i") == 2 and "de.wav" in argv
    a1, a1s, a2 = (_output_args(argv, f"/o/{t}.mp4") for t in ("a1", "a1s", "a2"))
    assert a1[:2] == ["-map", "0:a:1"] and "language=fra" in a1
    assert a1s[a1s.index("-ac") + 1] == "6" and a1s[a1s.index("-b:a") + 1] == "384k"
    assert a2[:2] == ["-map", "1:a:0"] and "language=deu" in a2
    text = _output_args(argv, "/o/e0.vtt")
    assert text[:2] == ["-map", "0:s:1"] and text[-2:] == ["-f", "webvtt"]


def _output_args(argv: list[str], out: str) -> list[str]:
    """The options of one output: from its first -map up to its path."""
    end = argv.index(out)
    start = max(i for i in range(end) if argv[i] == "-map")
    return argv[start:end]


def _info(**video: object) -> SourceInfo:
    v = VideoInfo("h264", 1920, 1080, "30", "yuv420p", **video)  # type: ignore[arg-type]
    return SourceInfo(
        "mp4", 10.0, v, AudioInfo("aac", 6, 48000, 0, "en", None, True),
        audios=(AudioInfo("aac", 6, 48000, 0, "en", None, True),),
        subtitles=(SubtitleInfo("mov_text", 0, "fr", "Français", False, True),),
    )  # fmt: skip


def test_stage_plan_uses_display_size_default_stream_filters_audio_and_texts() -> None:
    p = planner().plan(
        _info(index=1, rotation=90, display_width=1080, display_height=1920, interlaced=True)
    )
    assert (p.rungs[-1].width, p.rungs[-1].height) == (1080, 1920)  # portrait, upright
    assert p.video_stream == 1 and p.source_filters[0].startswith("bwdif")
    assert [a.track_id for a in p.audios] == ["a0", "a0s"]
    assert p.texts == (TextExtraction("e0", 0, "fr", "Français", False, True),)


def test_per_title_choice_keeps_fixed_quality_within_slack() -> None:
    points = [
        ProbePoint("fixed", None, 800, 97.0),
        ProbePoint("crf19", 19, 500, 97.3),
        ProbePoint("crf23", 23, 300, 96.7),
        ProbePoint("crf27", 27, 200, 95.9),
    ]
    assert choose(points, 0.5) == points[2]
    assert choose(points, 1.5) == points[3]
    assert choose(points, 0.0) == points[1]
    expensive = [ProbePoint("fixed", None, 300, 94.0), ProbePoint("crf23", 23, 900, 98.0)]
    assert choose(expensive, 0.5) is None  # better but dearer: keep the fixed bitrate
    p = plan(640, 360, codecs=("h264", "av1"), tuning=TUNING)
    top = p.rungs_for("h264")[-1]
    decision = decide(top, points, 0.5)
    assert (decision.cap_kbps, decision.estimated_savings) == (600, pytest.approx(0.625))
    adjusted = apply_decision(p, [decision], TUNING)
    by_id = {r.track_id: r for r in adjusted.rungs}
    assert (by_id["v360"].crf, by_id["v360"].maxrate_kbps, by_id["v360"].rate_control) == (
        23, 600, "crf",
    )  # fmt: skip
    assert by_id["v240"].rate_control == "fixed"  # not probed: stays a fixed rung
    assert (by_id["v360av1"].crf, by_id["v360av1"].maxrate_kbps) == (35, 420)


def test_per_title_candidates_are_uncapped_crfs_and_one_fixed_encode() -> None:
    rung = plan(640, 360).rungs[-1]
    found = candidates(rung)
    assert found[0].rate_control == "fixed" and found[0].maxrate_kbps == rung.maxrate_kbps
    assert [c.crf for c in found[1:]] == [11, 14, 17, 20, 23, 26]
    assert all(c.maxrate_kbps >= 100_000 for c in found[1:])


@pytest.mark.parametrize(
    ("duration", "starts"),
    [(0.5, [0.0]), (6, [2]), (60, [10, 28, 48]), (3600, [600, 1800, 2998])],
)
def test_vmaf_windows_sample_at_most_a_third_on_keyframes(
    duration: float, starts: list[float]
) -> None:
    windows = sample_windows(duration, count=3, length_s=2, fragment_s=2)
    assert [w.start for w in windows] == starts
    assert all(w.start % 2 == 0 for w in windows)
    assert sum(w.duration for w in windows) <= max(duration / 3, min(2, duration))


def test_vmaf_command_pairs_frames_by_number() -> None:
    argv = vmaf_command(
        "ffmpeg", Path("src.mp4"), [Path("a.mp4"), Path("b.mp4")], [Path("a:1.json"), Path("b.json")],
        windows=[Window(2, 2), Window(10, 2)], fps=Fraction(30000, 1001), size=(1280, 720),
        source_filters=("bwdif",), video_stream=1, subsample=3,
    )  # fmt: skip
    graph = argv[argv.index("-filter_complex") + 1]
    assert argv.count("-i") == 6 and argv.count("-ss") == 6
    assert graph.startswith("[0:v:1]bwdif,fps=30000/1001,format=yuv420p,scale=1280:720")
    assert graph.count("setpts=N/(30000/1001)/TB") == 3
    assert "log_path=a\\\\:1.json" in graph and graph.count("libvmaf=") == 2


def test_storyboard_geometry_and_track() -> None:
    board = plan_storyboard(duration_s=125.0, keyframes=63, fragment_s=2, width=640, height=360)
    assert (board.interval_s, board.count, board.tile_height, board.sheets) == (2.0, 63, 90, 3)
    assert board.tile(26) == (2, 160, 0, 160, 90)
    long = plan_storyboard(duration_s=7200, keyframes=3600, fragment_s=2, width=1280, height=720)
    assert long.interval_s == 24.0 and long.count == 300 and long.keyframe_step == 12
    text = storyboard_vtt(board, "r1-4s/sb/{n}.jpg")
    assert text.count("-->") == 63
    assert "00:00:52.000 --> 00:00:54.000\nr1-4s/sb/2.jpg#xywh=160,0,160,90" in text
    last = "00:02:04.000 --> 00:02:05.000\nr1-4s/sb/3.jpg#xywh=320,180,160,90"
    assert text.rstrip().endswith(last)


def test_picture_and_download_commands() -> None:
    board = plan_storyboard(duration_s=10, keyframes=5, fragment_s=2, width=640, height=360)
    argv = pictures_command(
        "ffmpeg", poster_source=Path("v720.mp4"), poster_height=720, keyframes=1,
        poster_out=Path("poster.jpg"), storyboard_source=Path("v240.mp4"), board=board,
        sheet_pattern=Path("sb/%d.jpg"),
    )  # fmt: skip
    assert argv.count("-skip_frame") == 2  # keyframes only
    graph = argv[argv.index("-filter_complex") + 1]
    assert "thumbnail=n=2" in graph and "tile=5x5" in graph
    dl = download_command("ffmpeg", Path("v720.mp4"), Path("a0.mp4"), Path("d.mp4"), title="T")
    assert "+faststart" in dl and dl[dl.index("-c") + 1] == "copy"
    assert dl[-3:] == ["-f", "mp4", "d.mp4"]


def test_ladder_templates_are_named_and_versioned() -> None:
    settings = Settings(
        ladders={
            "mobile": [{"height": 360, "maxrate_kbps": 800}],
            "premium": {"version": 4, "mode": "per_title", "codecs": ["av1", "h264"],
                        "max_height": 720, "rungs": [{"height": 720, "maxrate_kbps": 3000}]},
        },
        video_codecs=("h264", "hevc"),
    )  # fmt: skip
    profiles = settings.ladder_profiles
    assert profiles["premium"] == LadderTemplate(
        version=4, mode="per_title", codecs=("h264", "av1"), max_height=720,
        rungs=(RungTemplate(height=720, maxrate_kbps=3000),),
    )  # fmt: skip
    assert profiles["mobile"].codecs == ("h264", "hevc") and profiles["mobile"].version == 1
    assert set(settings.ladder_templates) == {"default", "mobile", "premium"}
