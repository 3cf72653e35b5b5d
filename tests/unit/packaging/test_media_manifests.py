"""Manifests for media breadth (issue #8), from synthetic presentations: audio languages and
5.1 in one HLS group and separate DASH sets, WebVTT subtitles, I-frame playlists from the
keyframe index, AV1/HEVC variants with their CODECS, and the extended URL layout."""

from __future__ import annotations

from dataclasses import replace

import m3u8
import mpegdash.parser
import pytest
from tests.unit.packaging.test_writers import TAG, audio, fragments, video

from vodstack.errors import InvalidInput
from vodstack.packaging import dash, hls
from vodstack.packaging.layout import (
    DeliveryPath,
    VariantTag,
    cache_path,
    iframes_uri,
    parse_delivery_path,
    sheet_uri,
    text_file_uri,
    text_segment_uri,
)
from vodstack.packaging.model import Presentation, TextTrack


def _audio(track_id: str, language: str, label: str, channels: int, default: bool):
    return replace(
        audio(), track_id=track_id, language=language, label=label, channels=channels,
        is_default=default,
    )  # fmt: skip


def rich() -> Presentation:
    av1 = replace(video(360), track_id="v360av1", codec="av01.0.04M.08")
    hevc = replace(video(360), track_id="v360hevc", codec="hvc1.1.6.L90.90")
    tracks = (
        av1,
        video(720),
        hevc,
        video(360),
        _audio("a1", "fr", "Français", 2, False),
        _audio("a0", "en", "English", 2, True),
        _audio("a1s", "fr", "Français (5.1)", 6, False),
    )
    texts = (
        TextTrack("e0", "fr", "Français", "k/e0.vtt", forced=True),
        TextTrack("tabc1234", "en", "English", "k/t.vtt", is_default=True, kind="captions"),
    )
    return Presentation("assetid", 3, 10.0, tracks, texts)


def test_hls_audio_group_lists_languages_with_one_default() -> None:
    master = m3u8.loads(hls.multivariant_playlist(rich(), TAG))
    renditions = [m for m in master.media if m.type == "AUDIO"]
    assert [(m.uri, m.language, m.name, m.default, m.channels) for m in renditions] == [
        ("r3-4s/a0.m3u8", "en", "English", "YES", "2"),
        ("r3-4s/a1.m3u8", "fr", "Français", "NO", "2"),
        ("r3-4s/a1s.m3u8", "fr", "Français (5.1)", "NO", "6"),
    ]
    # BANDWIDTH counts the most demanding audio rendition of the group [RFC 8216 §4.3.4.2]
    one = m3u8.loads(
        hls.multivariant_playlist(Presentation("a", 3, 10.0, (video(360), audio())), TAG)
    )
    assert master.playlists[0].stream_info.bandwidth == one.playlists[0].stream_info.bandwidth


def test_hls_subtitles_group_and_attributes() -> None:
    text = hls.multivariant_playlist(rich(), TAG)
    master = m3u8.loads(text)
    subs = [m for m in master.media if m.type == "SUBTITLES"]
    assert [(m.uri, m.language, m.default, m.forced, m.autoselect) for m in subs] == [
        ("r3-4s/e0.m3u8", "fr", "NO", "YES", "YES"),
        ("r3-4s/tabc1234.m3u8", "en", "YES", "NO", "YES"),
    ]
    assert 'CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog' in text
    assert all(p.stream_info.subtitles == "subs" for p in master.playlists)


def test_codecs_order_and_strings() -> None:
    master = m3u8.loads(hls.multivariant_playlist(rich(), TAG))
    assert [p.stream_info.codecs for p in master.playlists] == [
        "avc1.64001f,mp4a.40.2",
        "avc1.64001f,mp4a.40.2",
        "hvc1.1.6.L90.90,mp4a.40.2",
        "av01.0.04M.08,mp4a.40.2",
    ]
    assert [p.uri for p in master.playlists][:2] == ["r3-4s/v360.m3u8", "r3-4s/v720.m3u8"]


def test_iframe_playlists_cover_each_keyframe_inside_its_segment() -> None:
    p = rich()
    master = m3u8.loads(hls.multivariant_playlist(p, TAG))
    assert master.iframe_playlists[0].uri == "r3-4s/v360/iframes.m3u8"
    assert all(i.iframe_stream_info.codecs for i in master.iframe_playlists)
    track = video(360)
    playlist = m3u8.loads(hls.iframe_playlist(track, TAG))
    assert playlist.is_i_frames_only and playlist.segment_map[0].uri == "init.mp4"
    # fragments: 5 × 2 s with keyframes of 200 bytes; 4 s segments hold 2 fragments
    assert [(s.uri, s.byterange) for s in playlist.segments] == [
        ("1.m4s", "200@0"),
        ("1.m4s", f"200@{track.fragments[1].offset - track.fragments[0].offset}"),
        ("2.m4s", "200@0"),
        ("2.m4s", f"200@{track.fragments[3].offset - track.fragments[2].offset}"),
        ("3.m4s", "200@0"),
    ]
    assert [s.duration for s in playlist.segments] == [2.0] * 5
    # protected variants get no I-frame playlists (ranges would not survive encryption)
    protected = hls.multivariant_playlist(p, VariantTag(3, 4, "cbcs", 1))
    assert "I-FRAME" not in protected


def test_iframes_skip_fragments_that_do_not_start_with_a_keyframe() -> None:
    track = video(360)
    frags = list(track.fragments)
    frags[1] = replace(frags[1], starts_with_sap=False)
    assert len(hls.iframe_ranges(replace(track, fragments=tuple(frags)), 4)) == 4


def test_subtitle_playlist_segments() -> None:
    playlist = m3u8.loads(hls.subtitle_playlist(rich().texts[1], TAG, 10.0))
    assert [(s.uri, s.duration) for s in playlist.segments] == [
        ("tabc1234/1.vtt", 4.0),
        ("tabc1234/2.vtt", 4.0),
        ("tabc1234/3.vtt", 2.0),
    ]
    assert playlist.is_endlist and playlist.target_duration == 4


def test_mpd_sets_per_codec_per_audio_track_and_per_text_track() -> None:
    mpd = mpegdash.parser.MPEGDASHParser.parse(dash.mpd(rich(), TAG))
    sets = mpd.periods[0].adaptation_sets
    assert [(s.id, s.content_type) for s in sets] == [
        (0, "video"), (1, "video"), (2, "video"),
        (3, "audio"), (4, "audio"), (5, "audio"),
        (6, "text"), (7, "text"),
    ]  # fmt: skip
    assert [r.codecs for r in sets[0].representations] == ["avc1.64001f", "avc1.64001f"]
    assert sets[1].representations[0].codecs.startswith("hvc1")
    assert sets[2].representations[0].codecs.startswith("av01")
    assert [
        (s.lang, s.roles[0].value, s.audio_channel_configurations[0].value) for s in sets[3:6]
    ] == [
        ("en", "main", "2"),
        ("fr", "alternate", "2"),
        ("fr", "alternate", "6"),
    ]
    fr, en = sets[6], sets[7]
    assert (fr.lang, fr.mime_type, fr.roles[0].value) == ("fr", "text/vtt", "forced-subtitle")
    assert (en.lang, en.roles[0].value) == ("en", "caption")
    (url,) = en.representations[0].segment_lists[0].segment_urls
    assert url.media == "r3-4s/tabc1234.vtt"


def test_layout_new_paths_round_trip() -> None:
    cases = {
        text_segment_uri(TAG, "e0", 2): DeliveryPath("text_segment", TAG, "e0", 2),
        text_file_uri(TAG, "tabc1234"): DeliveryPath("text_file", TAG, "tabc1234"),
        iframes_uri(TAG, "v720av1"): DeliveryPath("iframes", TAG, "v720av1"),
        sheet_uri(TAG, 3): DeliveryPath("sheet", TAG, number=3),
        "poster.jpg": DeliveryPath("poster"),
        "storyboard.vtt": DeliveryPath("storyboard"),
        "download.mp4": DeliveryPath("download"),
        "thumbnail.jpg?time=2.5&width=200": DeliveryPath("thumbnail", time_s=2.0, width=240),
        "thumbnail.jpg": DeliveryPath("thumbnail", time_s=0.0, width=320),
    }
    for path, parsed in cases.items():
        assert parse_delivery_path(path) == parsed, path
    for bad in ("r3-4s/sb/0.jpg", "r3-4s/e0/0.vtt", "thumbnail.png", "r3-4s/e0/1.srt"):
        assert parse_delivery_path(bad) is None, bad


def test_thumbnail_cache_path_is_canonical() -> None:
    a = cache_path("thumbnail.jpg", {"width": "200", "time": "2.50", "Signature": "x"})
    b = cache_path("thumbnail.jpg", {"time": "2.5", "width": "200", "Expires": "1"})
    assert a == b == "thumbnail.jpg?time=2&width=240"  # quantised (issue 20)
    assert cache_path("r3-4s/v720/1.m4s", {"time": "1"}) == "r3-4s/v720/1.m4s"
    for params in (
        {"time": "x"},
        {"width": "5"},
        {"width": "99999"},
        {"time": "-1"},
        {"time": "nan"},
    ):
        with pytest.raises(InvalidInput):
            cache_path("thumbnail.jpg", params)


def test_fragments_helper_is_shared() -> None:  # keeps the synthetic fixtures honest
    assert len(fragments(3, 100)) == 3


def test_language_tags_are_rfc5646() -> None:
    from vodstack.packaging.language import is_language_tag, iso639_2, language_tag

    assert [language_tag(c) for c in ("eng", "fre", "fra", "ger", "und", "", None)] == [
        "en", "fr", "fr", "de", None, None, None,
    ]  # fmt: skip
    assert language_tag("pt_BR") == "pt-BR" and language_tag("tlh") == "tlh"
    assert [iso639_2(t) for t in ("fr", "de", "zh-Hant", "tlh", None)] == [
        "fra", "deu", "zho", "tlh", "und",
    ]  # fmt: skip
    assert (
        is_language_tag("en-GB") and not is_language_tag("english!") and not is_language_tag("und")
    )


def test_untitled_renditions_are_named_in_their_language() -> None:
    """NAME "in that language" [RFC 8216 §4.3.4.1]: "English", not "en"; unknown codes stay
    as they are."""
    from vodstack.packaging.language import language_name

    assert [language_name(c) for c in ("en", "eng", "fre", "pt-BR", "tlh", "und", None)] == [
        "English", "English", "Français", "Português (BR)", "tlh", None, None,
    ]  # fmt: skip
    untitled = replace(audio(), language="de", label=None)
    master = m3u8.loads(
        hls.multivariant_playlist(Presentation("a", 1, 10.0, (video(360), untitled)), TAG)
    )
    assert [m.name for m in master.media] == ["Deutsch"]
    mpd = dash.mpd(Presentation("a", 1, 10.0, (video(360), untitled)), TAG)
    assert "<Label>Deutsch</Label>" in mpd


def test_thumbnail_picks_the_fragment_showing_the_time() -> None:
    from vodstack.thumbnails.frames import fragment_at, pick_track

    plain = video(360)  # with B-frames the first frame shows at media_time (an edit list)
    shifted = tuple(
        replace(f, presentation_time=f.presentation_time + 1024) for f in plain.fragments
    )
    track = replace(plain, media_time=1024, fragments=shifted)
    assert fragment_at(track, 0.0) == (0, 0.0)
    index, offset = fragment_at(track, 4.5)
    assert index == 2 and offset == pytest.approx(0.5, abs=1e-3)
    assert fragment_at(track, 99)[0] == 4  # past the end: the last fragment
    p = rich()
    assert pick_track(p, 320).track_id == "v360" and pick_track(p, 1920).track_id == "v720"
