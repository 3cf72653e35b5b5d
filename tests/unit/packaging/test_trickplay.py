"""Key-frame-only fragments for DASH trick mode, cut from FFmpeg's CMAF (issue #8), checked by
decoding with PyAV (independent of our box reader) and by re-indexing the result."""

from __future__ import annotations

import io
from collections.abc import Callable

import av
import mpegdash.parser
import pytest
from tests.unit.packaging.test_media_manifests import rich
from tests.unit.packaging.test_writers import TAG

from vodstack.errors import BoxParseError
from vodstack.packaging import dash
from vodstack.packaging.track_index import read_track_index_bytes
from vodstack.packaging.trickplay import keyframe_fragment


@pytest.mark.parametrize("name", ["video", "bframes", "hevc", "av1"])
def test_each_fragment_becomes_its_key_frame_for_the_whole_fragment(
    clip_bytes: Callable[[str], bytes], name: str
) -> None:
    data = clip_bytes(name)
    index = read_track_index_bytes(data)
    trick = data[: index.init_size] + b"".join(
        keyframe_fragment(data[f.offset : f.offset + f.size], f.duration) for f in index.fragments
    )
    with av.open(io.BytesIO(trick)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == len(index.fragments)
    assert all(f.key_frame for f in frames)
    starts = [f.presentation_time / index.timescale for f in index.fragments]
    offset = index.media_time / index.timescale
    # each key frame shows where its fragment starts (open-GOP HEVC: after its leading frames)
    for frame, start in zip(frames, starts, strict=True):
        assert 0 <= frame.time - (start - offset) < 0.07
    again = read_track_index_bytes(trick)
    assert [(f.decode_time, f.duration, f.sample_count) for f in again.fragments] == [
        (f.decode_time, f.duration, 1) for f in index.fragments
    ]


def test_rejects_what_is_not_a_fragment(clip_bytes: Callable[[str], bytes]) -> None:
    index = read_track_index_bytes(clip_bytes("video"))
    with pytest.raises(BoxParseError):
        keyframe_fragment(clip_bytes("video")[: index.init_size], 1)


def test_mpd_trick_mode_set_points_at_its_main_set() -> None:
    mpd = mpegdash.parser.MPEGDASHParser.parse(dash.mpd(rich(), TAG, trick_mode=True))
    sets = mpd.periods[0].adaptation_sets
    trick = sets[3]
    prop = trick.essential_properties[0]
    assert (prop.scheme_id_uri, prop.value) == ("http://dashif.org/guidelines/trickmode", "0")
    reps = trick.representations
    assert [r.id for r in reps] == ["v360k", "v720k"]
    assert reps[0].max_playout_rate == 60
    assert 'codingDependency="false"' in dash.mpd(rich(), TAG, trick_mode=True)
    template = reps[0].segment_templates[0]
    assert template.media == "r3-4s/v360/k$Number$.m4s"
    ss = template.segment_timelines[0].Ss
    assert (ss[0].t, ss[0].d, ss[0].r) == (0, 30720, 4)  # one entry per 2 s fragment
    assert "trickmode" not in dash.mpd(rich(), TAG)  # only when the origin asks
