from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from vodstack.config import DEFAULT_LADDER
from vodstack.media import parse_progress_line
from vodstack.transcode.command import filter_graph, ladder_command
from vodstack.transcode.ladder import plan_ladder


def _plan(audio: bool = True):
    return plan_ladder(
        width=1280,
        height=720,
        fps=Fraction(30),
        has_audio=audio,
        template=DEFAULT_LADDER,
        fragment_s=2,
        audio_kbps=128,
    )


def test_one_decode_cascades_through_every_rung() -> None:
    graph = filter_graph(_plan())
    assert graph.startswith("[0:v]fps=30/1,format=yuv420p,scale=1280:720")
    assert graph.count("scale=") == 4 and graph.count("split=2") == 3
    # each smaller rung is scaled from the next larger one, not from the source
    assert "[c0]scale=854:480" in graph and "[c2]scale=426:240:flags=bicubic,setsar=1[v0]" in graph
    assert sorted(label for label in ("[v0]", "[v1]", "[v2]", "[v3]") if label in graph) == [
        "[v0]",
        "[v1]",
        "[v2]",
        "[v3]",
    ]


def test_encoder_threads_follow_rung_size() -> None:
    from vodstack.transcode.command import encoder_threads

    assert encoder_threads(_plan(), 2) == [1, 1, 1, 2]
    assert encoder_threads(_plan(), 8)[-1] > encoder_threads(_plan(), 8)[0]


def test_single_rung_needs_no_split() -> None:
    plan = plan_ladder(
        width=160,
        height=90,
        fps=Fraction(25),
        has_audio=False,
        template=DEFAULT_LADDER,
        fragment_s=2,
        audio_kbps=128,
    )
    assert "split" not in filter_graph(plan)


def test_every_rung_has_the_same_keyframe_grid_and_cmaf_output() -> None:
    argv = ladder_command(
        "ffmpeg", Path("in.mp4"), Path("/out"), _plan(), fragment_s=2, preset="veryfast"
    )
    assert argv.count("-i") == 1  # decoded once
    assert argv.count("-force_key_frames") == 4
    assert all(
        argv[i + 1] == "expr:gte(t,n_forced*2)"
        for i, a in enumerate(argv)
        if a == "-force_key_frames"
    )
    assert argv.count("-sc_threshold") == 4
    outputs = [a for a in argv if a.startswith("/out/")]
    assert outputs == [
        "/out/v240.mp4",
        "/out/v360.mp4",
        "/out/v480.mp4",
        "/out/v720.mp4",
        "/out/a0.mp4",
    ]
    movflags = [argv[i + 1] for i, a in enumerate(argv) if a == "-movflags"]
    assert all("+cmaf" in m and "+global_sidx" in m for m in movflags)
    assert "-frag_duration" in argv and argv[argv.index("-frag_duration") + 1] == "2000000"
    assert "-progress" in argv


def test_no_audio_output_without_source_audio() -> None:
    argv = ladder_command(
        "ffmpeg", Path("in.mp4"), Path("/out"), _plan(audio=False), fragment_s=2, preset="veryfast"
    )
    assert "/out/a0.mp4" not in argv and "aac" not in argv


def test_capped_vbr_settings_per_rung() -> None:
    argv = ladder_command(
        "ffmpeg", Path("in.mp4"), Path("/out"), _plan(), fragment_s=2, preset="veryfast"
    )
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-maxrate"] == [
        "400k",
        "800k",
        "1400k",
        "3000k",
    ]
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-bufsize"] == [
        "800k",
        "1600k",
        "2800k",
        "6000k",
    ]


def test_progress_lines() -> None:
    assert parse_progress_line("out_time_us=2500000\n") == 2.5
    assert parse_progress_line("out_time_ms=1000000") == 1.0
    assert parse_progress_line("out_time_us=N/A") is None
    assert parse_progress_line("progress=continue") is None
    assert parse_progress_line("out_time_us=-5") == 0.0
