from __future__ import annotations

from fractions import Fraction

import pytest

from vodstack.config import DEFAULT_LADDER
from vodstack.transcode.ladder import plan_ladder


def plan(w: int, h: int, fps: Fraction = Fraction(30), audio: bool = True):
    return plan_ladder(
        width=w,
        height=h,
        fps=fps,
        has_audio=audio,
        template=DEFAULT_LADDER,
        fragment_s=2,
        audio_kbps=128,
    )


def heights(p) -> list[int]:
    return [r.height for r in p.rungs]


def test_1080p_source_gets_the_full_default_ladder() -> None:
    p = plan(1920, 1080)
    assert heights(p) == [240, 360, 480, 720, 1080]
    assert [r.width for r in p.rungs] == [426, 640, 854, 1280, 1920]
    assert p.gop_frames == 60
    assert p.audio_kbps == 128


def test_never_upscales() -> None:
    assert heights(plan(1280, 720)) == [240, 360, 480, 720]
    assert max(heights(plan(640, 360))) == 360


def test_tiny_source_still_gets_one_rung_at_its_own_size() -> None:
    p = plan(160, 90)
    assert heights(p) == [90]
    assert p.rungs[0].width == 160


def test_source_between_rungs_keeps_its_native_height() -> None:
    p = plan(1120, 630)
    assert heights(p) == [240, 360, 480, 630]
    top = p.rungs[-1]
    assert 3000 * (630 / 720) ** 2 * 0.95 < top.maxrate_kbps < 3000


def test_source_just_above_a_rung_does_not_get_an_extra_rung() -> None:
    assert heights(plan(1920, 1088)) == [240, 360, 480, 720, 1080]


def test_odd_dimensions_are_made_even() -> None:
    p = plan(853, 481)
    assert all(r.width % 2 == 0 and r.height % 2 == 0 for r in p.rungs)


def test_portrait_keeps_aspect_ratio() -> None:
    # Portrait video is planned on its short side (issue #8): a 1080×1920 phone video keeps
    # a full 1080×1920 top rung instead of being shrunk to 608×1080.
    p = plan(1080, 1920)
    assert (p.rungs[0].width, p.rungs[0].height) == (240, 426)
    assert (p.rungs[-1].width, p.rungs[-1].height) == (1080, 1920)
    assert [r.track_id for r in p.rungs] == ["v240", "v360", "v480", "v720", "v1080"]


def test_gop_follows_frame_rate_and_fragment() -> None:
    assert plan(1280, 720, Fraction(30000, 1001)).gop_frames == 60
    assert plan(1280, 720, Fraction(25)).gop_frames == 50
    assert plan(1280, 720, Fraction(60)).gop_frames == 120


def test_video_only_source_has_no_audio_rendition() -> None:
    assert plan(1280, 720, audio=False).audio_kbps is None


def test_capped_vbr_buffer_is_twice_the_cap() -> None:
    for rung in plan(1920, 1080).rungs:
        assert rung.bufsize_kbps == 2 * rung.maxrate_kbps


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        plan(0, 720)
