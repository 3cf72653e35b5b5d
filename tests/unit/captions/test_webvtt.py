"""WebVTT/SRT parsing, validation messages and HLS segmentation (pure; issue #8)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vodstack.captions.webvtt import (
    CaptionInvalid,
    Cue,
    cues_between,
    format_timestamp,
    hls_segment,
    parse_captions,
    parse_srt,
    parse_webvtt,
    write_webvtt,
)
from vodstack.packaging.hls import text_segments

SRT = b"""1
00:00:01,000 --> 00:00:02,500
Hello <i>there</i> & <font color="red">you</font> {\\an8}

2
00:00:03,500 --> 00:00:04,500
Across the boundary
"""


def test_srt_becomes_webvtt_with_webvtt_markup_only() -> None:
    cues = parse_captions(SRT, "subs.srt")
    assert cues == [
        Cue(1000, 2500, "Hello <i>there</i> &amp; you"),
        Cue(3500, 4500, "Across the boundary"),
    ]
    text = write_webvtt(cues)
    assert text.startswith("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n")
    assert parse_webvtt(text) == cues  # round trip


def test_webvtt_keeps_identifiers_and_settings_and_skips_notes() -> None:
    text = (
        "\ufeffWEBVTT - a title\n\nNOTE made by hand\n\nSTYLE\n::cue { color: red }\n\n"
        "intro\n01:02.000 --> 01:03.500 line:0 align:start\n<v Anna>Hi\nthere\n"
    )
    (cue,) = parse_webvtt(text)
    assert (cue.identifier, cue.start_ms, cue.end_ms) == ("intro", 62000, 63500)
    assert cue.settings == "line:0 align:start" and cue.text == "<v Anna>Hi\nthere"
    assert "intro\n00:01:02.000 --> 00:01:03.500 line:0 align:start" in write_webvtt([cue])


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"WEBVTT\n\n00:00:05.000 --> 00:00:04.000\nx\n", "a.vtt", "line 3: the cue ends"),
        (b"WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nx\n", "a.vtt", "line 3: '00:00:01.000"),
        (b"WEBVTT\n00:00:01.000 --> 00:00:02.000\nx\n", "a.vtt", "line 2: put a blank line"),
        (
            b"1\n00:00:01,000 --> 00:00:02,000\na\n00:00:03,000 --> 00:00:04,000\n",
            "a.srt",
            "line 4",
        ),
        (b"Title\n\n00:00:01.000 --> 00:00:02.000\nx\n", "a.vtt", "line 1: a WebVTT file"),
        (b"WEBVTT\n", "a.vtt", "no cues"),
        (b"hello world", "notes.txt", "not a caption file"),
        (b"\x00\x01binary\x00", "a.srt", "binary"),
        (b"\xff\xfe\x00", "a.srt", "UTF-16"),
    ],
)
def test_invalid_files_say_where_and_why(data: bytes, name: str, message: str) -> None:
    with pytest.raises(CaptionInvalid, match=message):
        parse_captions(data, name)


def test_encodings_utf16_and_latin1_are_accepted() -> None:
    vtt = "WEBVTT\n\n00:00.000 --> 00:01.000\nÉté\n"
    assert parse_captions(vtt.encode("utf-16"), "a.vtt")[0].text == "Été"
    srt = "1\n00:00:00,000 --> 00:00:01,000\nÉté\n"
    assert parse_captions(srt.encode("cp1252"), "a.srt")[0].text == "Été"


def test_cue_spanning_a_boundary_is_in_both_segments_unchanged() -> None:
    cues = parse_srt(SRT.decode())
    first, second = cues_between(cues, 0, 4000), cues_between(cues, 4000, 8000)
    assert [c.text for c in first] == ["Hello <i>there</i> &amp; you", "Across the boundary"]
    assert second == [cues[1]]
    segment = hls_segment(cues, 4000, 8000, mpegts=900000)
    assert segment.splitlines()[:2] == [
        "WEBVTT",
        "X-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000",
    ]
    assert "00:00:03.500 --> 00:00:04.500" in segment  # absolute times, not clipped


def test_text_segments_follow_the_delivered_segment_grid() -> None:
    assert text_segments(10.04, 4) == [(0, 4000), (4000, 8000), (8000, 10040)]
    assert text_segments(0.5, 4) == [(0, 500)]


@given(
    st.lists(st.tuples(st.integers(0, 50_000), st.integers(1, 10_000)), min_size=1, max_size=30),
    st.integers(1, 10),
)
def test_every_cue_lands_in_every_segment_it_overlaps(
    spans: list[tuple[int, int]], segment_s: int
) -> None:
    cues = [Cue(start, start + length, f"c{i}") for i, (start, length) in enumerate(spans)]
    duration = max(c.end_ms for c in cues) / 1000
    windows = text_segments(duration, segment_s)
    for cue in cues:
        holders = [w for w in windows if cue in cues_between(cues, *w)]
        assert holders, cue
        assert holders[0][0] <= cue.start_ms and holders[-1][1] >= min(cue.end_ms, windows[-1][1])


def test_timestamps_format_with_hours() -> None:
    assert format_timestamp(0) == "00:00:00.000"
    assert format_timestamp(3_723_004) == "01:02:03.004"


def test_an_unlabelled_caption_is_named_in_its_language() -> None:
    """A player shows the label: "Español", not "es" (RFC 8216 §4.3.4.1: NAME in that
    language); an uploader's label wins; an unknown language keeps its tag."""
    from vodstack.captions.service import CaptionRequest

    assert CaptionRequest("es").validated().label == "Español"
    assert CaptionRequest("spa").validated().label == "Español"
    assert CaptionRequest("es", label="Forced narrative").validated().label == "Forced narrative"
    assert CaptionRequest("tlh").validated().label == "tlh"
