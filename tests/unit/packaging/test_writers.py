"""HLS/DASH writers and segmenting, from synthetic presentations (no files, no FFmpeg)."""

from __future__ import annotations

import dataclasses

import m3u8
import mpegdash.parser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vodstack.packaging import dash, hls
from vodstack.packaging.layout import (
    DeliveryPath,
    VariantTag,
    init_uri,
    media_playlist_uri,
    parse_delivery_path,
    segment_uri,
)
from vodstack.packaging.model import Presentation, Track
from vodstack.packaging.segments import average_bitrate, peak_bitrate, segment_track
from vodstack.packaging.track_index import Fragment

TAG = VariantTag(3, 4)


def fragments(count: int, duration: int, size: int = 1000, start_offset: int = 800):
    out, offset, t = [], start_offset, 0
    for i in range(count):
        out.append(
            Fragment(
                offset=offset,
                size=size + i,
                decode_time=t,
                duration=duration,
                presentation_time=t,
                sample_count=60,
                starts_with_sap=True,
                key_sample_end=offset + 200,
            )
        )
        offset += size + i
        t += duration
    return tuple(out)


def video(height: int, n: int = 5) -> Track:
    return Track(
        track_id=f"v{height}",
        kind="video",
        codec="avc1.64001f",
        timescale=15360,
        media_time=0,
        init_size=800,
        file_key=f"k/v{height}.mp4",
        file_size=10**6,
        fragments=fragments(n, 30720, size=height * 10),
        width=height * 16 // 9,
        height=height,
        frame_rate="30000/1001",
    )


def audio(n: int = 5) -> Track:
    return Track(
        track_id="a0",
        kind="audio",
        codec="mp4a.40.2",
        timescale=48000,
        media_time=1024,
        init_size=700,
        file_key="k/a0.mp4",
        file_size=10**5,
        fragments=fragments(n, 96256, size=500),
        sample_rate=48000,
        channels=2,
    )


def presentation(with_audio: bool = True) -> Presentation:
    tracks = (video(360), video(720), *((audio(),) if with_audio else ()))
    return Presentation("assetid", 3, 10.0, tracks)


def test_segments_pair_two_second_fragments_into_four_second_segments() -> None:
    segs = segment_track(video(360), 4)
    assert [s.fragment_count for s in segs] == [2, 2, 1]
    assert [s.number for s in segs] == [1, 2, 3]
    first = video(360).fragments
    assert segs[0].offset == first[0].offset
    assert segs[0].size == first[0].size + first[1].size
    assert segs[1].start == 2 * 30720


def test_audio_fragments_of_2_005_s_still_make_4_s_segments() -> None:
    assert [s.fragment_count for s in segment_track(audio(), 4)] == [2, 2, 1]


def test_segment_duration_equal_to_fragment() -> None:
    assert all(s.fragment_count == 1 for s in segment_track(video(360), 2))


def test_bitrates_peak_at_least_average() -> None:
    track = video(720)
    segs = segment_track(track, 4)
    assert peak_bitrate(track, segs) >= average_bitrate(track) > 0


def test_multivariant_playlist_parses_and_declares_audio() -> None:
    text = hls.multivariant_playlist(presentation(), TAG)
    parsed = m3u8.loads(text)
    assert parsed.is_variant and len(parsed.playlists) == 2
    assert [p.uri for p in parsed.playlists] == ["r3-4s/v360.m3u8", "r3-4s/v720.m3u8"]
    media = parsed.media[0]
    assert (media.type, media.group_id, media.uri) == ("AUDIO", "aud", "r3-4s/a0.m3u8")
    for variant in parsed.playlists:
        assert variant.stream_info.codecs == "avc1.64001f,mp4a.40.2"
        assert variant.stream_info.frame_rate == pytest.approx(29.97, abs=0.001)
    assert "#EXT-X-VERSION:6" in text


def test_video_only_presentation_has_no_audio_group() -> None:
    text = hls.multivariant_playlist(presentation(with_audio=False), TAG)
    assert "EXT-X-MEDIA" not in text and "AUDIO=" not in text
    assert 'CODECS="avc1.64001f"' in text


def test_media_playlist() -> None:
    text = hls.media_playlist(video(360), TAG)
    parsed = m3u8.loads(text)
    assert parsed.is_endlist and parsed.playlist_type == "vod"
    assert parsed.target_duration == 4
    assert [s.uri for s in parsed.segments] == ["v360/1.m4s", "v360/2.m4s", "v360/3.m4s"]
    assert parsed.segment_map[0].uri == "v360/init.mp4"
    assert sum(s.duration for s in parsed.segments) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("durations", "target"), [([4.0, 4.0], 4), ([6.4], 6), ([6.5], 7), ([0.2], 1), ([], 1)]
)
def test_target_duration_rounds_to_nearest(durations: list[float], target: int) -> None:
    assert hls.target_duration(durations) == target


def test_mpd_parses_and_timelines_cover_the_duration() -> None:
    text = dash.mpd(presentation(), TAG)
    mpd = mpegdash.parser.MPEGDASHParser.parse(text)
    assert mpd.type == "static" and mpd.media_presentation_duration == "PT10.000S"
    video_set, audio_set = mpd.periods[0].adaptation_sets
    assert video_set.content_type == "video" and audio_set.content_type == "audio"
    rep = video_set.representations[0]
    template = rep.segment_templates[0]
    assert template.media == "r3-4s/$RepresentationID$/$Number$.m4s"
    s = template.segment_timelines[0].Ss
    assert (s[0].t, s[0].d, s[0].r) == (0, 61440, 1)
    assert s[1].d == 30720 and s[1].t is None
    audio_template = audio_set.representations[0].segment_templates[0]
    assert audio_template.presentation_time_offset == 1024
    assert audio_set.audio_channel_configurations[0].value == "2"


def test_layout_round_trip() -> None:
    assert parse_delivery_path("index.m3u8") == DeliveryPath("multivariant")
    assert parse_delivery_path("index.mpd") == DeliveryPath("mpd")
    assert parse_delivery_path(media_playlist_uri(TAG, "v720")) == DeliveryPath(
        "playlist", TAG, "v720"
    )
    assert parse_delivery_path(init_uri(TAG, "a0")) == DeliveryPath("init", TAG, "a0")
    assert parse_delivery_path(segment_uri(TAG, "v720", 12)) == DeliveryPath(
        "segment", TAG, "v720", 12
    )


@pytest.mark.parametrize(
    "path",
    [
        "",
        "index.m3u",
        "r0-4s/v1/1.m4s",
        "r1-0s/v1/1.m4s",
        "r1-4s/v1/0.m4s",
        "r1-4s/../1.m4s",
        "r1-4s/V1/1.m4s",
        "r1-4s/v1/1.m4s/",
        "/index.m3u8",
        "r1-4s/v1/01.m4s",
        "r01-4s/v1/1.m4s",
    ],
)
def test_layout_rejects(path: str) -> None:
    assert parse_delivery_path(path) is None


@given(st.text(max_size=80))
def test_layout_parser_total(path: str) -> None:
    parsed = parse_delivery_path(path)
    if parsed is not None and parsed.track_id is not None:
        assert parsed.track_id.isalnum()


def test_sample_aes_names_identity_and_clearkey_for_the_same_key() -> None:
    key = hls.HlsKey("SAMPLE-AES", bytes(range(16)), 1)
    text = hls.media_playlist(video(360), TAG, key)
    lines = [x for x in text.splitlines() if x.startswith("#EXT-X-KEY")]
    assert len(lines) == 2
    assert 'KEYFORMAT="identity"' in lines[0] and 'KEYFORMAT="org.w3.clearkey"' in lines[1]
    assert lines[0].split(",KEYFORMAT")[0] == lines[1].split(",KEYFORMAT")[0]  # same key, IV
    parsed = m3u8.loads(text)
    assert {k.keyformat for k in parsed.keys if k} == {"identity", "org.w3.clearkey"}
    assert text.index("#EXT-X-KEY") < text.index("#EXT-X-MAP")  # keys apply to the header too


def test_manifest_work_is_remembered_per_fragment_index() -> None:
    from vodstack.packaging.segments import index_memo

    track = video(720)
    first = segment_track(track, 4)
    assert segment_track(track, 4) is first  # the same index: computed once
    assert hls.iframe_ranges(track, 4) is hls.iframe_ranges(track, 4)
    other = dataclasses.replace(track, fragments=track.fragments[:-1])
    assert segment_track(other, 4) != first  # a new index is never served stale results
    assert index_memo.get(track.fragments, "x", lambda: 1) == 1


def test_aes128_encrypts_the_init_section_with_its_own_explicit_iv() -> None:
    """Issue 14 item 5: a KEY with an IV precedes the EXT-X-MAP, so the header is served
    encrypted [RFC 8216 §4.3.2.4, §4.3.2.5] and clients that apply the segment key to the
    header (GStreamer, GPAC) are not fed a clear header they would decrypt into garbage."""
    from vodstack.packaging.encryption import aes128_init_iv, aes128_segment_iv, hls_iv

    base = bytes(range(16))
    text = hls.media_playlist(video(360), TAG, hls.HlsKey("AES-128", base, 2))
    lines = text.splitlines()
    first_key = next(i for i, x in enumerate(lines) if x.startswith("#EXT-X-KEY"))
    map_at = next(i for i, x in enumerate(lines) if x.startswith("#EXT-X-MAP"))
    assert first_key == map_at - 1
    assert lines[first_key].endswith(f"IV={hls_iv(aes128_init_iv(base, 2))}")
    ivs = [x.rsplit("IV=", 1)[1] for x in lines if x.startswith("#EXT-X-KEY")]
    assert len(ivs) == len(set(ivs)) == 1 + len(segment_track(video(360), TAG.segment_s))
    assert ivs[1] == hls_iv(aes128_segment_iv(base, 1, 2))  # segments are numbered from 1
    parsed = m3u8.loads(text)
    assert parsed.segment_map[0].uri.endswith("init.mp4")
    assert all(k.method == "AES-128" and k.iv for k in parsed.keys)


def test_presentation_ends_where_the_media_ends() -> None:
    """The edit list's media_time (AAC priming, B-frame delay) is not presented: a track's
    end on the presentation timeline is its last fragment's end less media_time."""
    a = audio(n=3)  # 3 × 96256 at 48 kHz, media_time 1024
    assert a.duration_s == pytest.approx(3 * 96256 / 48000)
    assert a.presentation_end_s == pytest.approx((3 * 96256 - 1024) / 48000)
    v = dataclasses.replace(video(360, n=3), media_time=1024)  # 2 frames at 15360 Hz
    assert v.presentation_end_s == pytest.approx(v.duration_s - 1024 / 15360)
    assert dataclasses.replace(v, fragments=()).presentation_end_s == 0.0


def test_min_buffer_time_covers_the_longest_segment() -> None:
    """§5.3.5.2 holds with @bandwidth at the peak segment rate only if no segment is longer
    than minBufferTime: 4.011 s AAC segments need PT4.011S, not PT4.000S."""
    text = dash.mpd(presentation(), TAG)
    parsed = mpegdash.parser.MPEGDASHParser.parse(text)
    assert parsed.min_buffer_time == "PT4.011S"  # 2 × 96256 / 48000 = 4.0107 s, rounded up
    assert (
        mpegdash.parser.MPEGDASHParser.parse(
            dash.mpd(presentation(with_audio=False), TAG)
        ).min_buffer_time
        == "PT4.000S"
    )
