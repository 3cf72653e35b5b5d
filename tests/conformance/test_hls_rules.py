"""The RFC 8216 rule checker itself: each rule catches the violation it is named after (a
checker that cannot fail proves nothing) and accepts the conforming form."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conformance import hls_rules as rules
from vodstack.media import ffmpeg_exe
from vodstack.packaging.track_index import read_track_index_bytes


def media(text: str, sizes: list[int] | None = None) -> rules.MediaPlaylist:
    p = rules.parse_media_playlist("m.m3u8", text)
    if sizes is not None:
        p.segments = [
            rules.Segment(s.uri, s.duration, s.extinf, s.key, s.byterange, n)
            for s, n in zip(p.segments, sizes, strict=True)
        ]
    return p


def playlist(*durations: str, version: int = 6, target: int = 4, extra: str = "") -> str:
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{version}", f"#EXT-X-TARGETDURATION:{target}", extra]
    lines.append('#EXT-X-MAP:URI="init.mp4"')
    for n, d in enumerate(durations):
        lines += [f"#EXTINF:{d},", f"{n}.m4s"]
    return "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"


def test_target_duration_rounds_half_up() -> None:
    assert rules.target_duration_rule(media(playlist("4.000", "4.499"))) == []
    bad = rules.target_duration_rule(media(playlist("4.000", "4.500")))
    assert len(bad) == 1 and "rounds to 5 > TARGETDURATION 4" in bad[0]


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        (playlist("4", version=1).replace('#EXT-X-MAP:URI="init.mp4"\n', ""), 1),
        (playlist("4.000").replace('#EXT-X-MAP:URI="init.mp4"\n', ""), 3),
        (playlist("4.000"), 6),
        (playlist("4.000", extra="#EXT-X-I-FRAMES-ONLY\n#EXT-X-BYTERANGE:10@0"), 5),
        (playlist("4", extra='#EXT-X-KEY:METHOD=AES-128,URI="k",IV=0x01'), 6),
        (
            playlist(
                "4", extra='#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k",KEYFORMAT="identity"'
            ).replace('#EXT-X-MAP:URI="init.mp4"\n', ""),
            5,
        ),
    ],
)
def test_required_version_follows_section_7(text: str, needed: int) -> None:
    assert rules.required_version(text)[0] == needed
    assert (
        rules.version_rule("p", text.replace("#EXT-X-VERSION:6", f"#EXT-X-VERSION:{needed}")) == []
    )
    if needed > 1:
        lower = text.replace("#EXT-X-VERSION:6", f"#EXT-X-VERSION:{needed - 1}")
        lower = lower.replace("#EXT-X-VERSION:1", f"#EXT-X-VERSION:{needed - 1}")
        assert rules.version_rule("p", lower), lower


def test_peak_segment_bit_rate_is_over_windows_of_half_to_one_and_a_half_targets() -> None:
    # 2 s segments, target 4: windows of 1 (2 s), 2 (4 s) and 3 (6 s) segments count
    p = media(playlist("2.0", "2.0", "2.0", "2.0", target=4), [1000, 1000, 4000, 1000])
    assert rules.peak_segment_bit_rate(p) == 4000 * 8 / 2
    p = media(playlist("4.0", "1.0", target=4), [4000, 1000])  # 1 s alone is < 0.5 target
    assert rules.peak_segment_bit_rate(p) == 5000 * 8 / 5
    assert rules.average_segment_bit_rate(p) == 5000 * 8 / 5


MASTER = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",URI="a.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",URI="s.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH={bw},AVERAGE-BANDWIDTH={avg},CODECS="avc1.64001f,mp4a.40.2",\
RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO="aud",SUBTITLES="subs"
v.m3u8
"""


def presentation(bw: int, avg: int) -> tuple[rules.Multivariant, dict[str, rules.MediaPlaylist]]:
    m = rules.parse_multivariant(MASTER.format(bw=bw, avg=avg))
    lists = {
        "v.m3u8": media(playlist("4.0", "4.0"), [100_000, 50_000]),  # peak 200 kb/s
        "a.m3u8": media(playlist("4.0", "4.0"), [10_000, 10_000]),  # 20 kb/s
        "s.m3u8": media(playlist("4.0", "4.0"), [500, 0]),  # peak 1 kb/s
    }
    return m, lists


def test_bandwidth_counts_the_peak_of_every_rendition_played_with_the_variant() -> None:
    assert rules.bandwidth_rule(*presentation(221_000, 171_000)) == []
    bad = rules.bandwidth_rule(*presentation(220_999, 171_000))
    assert len(bad) == 1 and "measured peak 221000" in bad[0] and "subtitles 1000" in bad[0]
    assert rules.bandwidth_rule(*presentation(220_000, 171_000), groups=("AUDIO",)) == []


def test_average_bandwidth_within_ten_percent() -> None:
    # measured: 150 kb/s video + 20 kb/s audio + 0.5 kb/s subtitles
    assert rules.average_bandwidth_rule(*presentation(221_000, 170_500)) == []
    assert rules.average_bandwidth_rule(*presentation(221_000, 187_000)) == []
    assert rules.average_bandwidth_rule(*presentation(221_000, 190_000))
    assert rules.average_bandwidth_rule(*presentation(221_000, 150_000))


def test_stream_inf_needs_codecs_resolution_frame_rate_and_the_audio_codec() -> None:
    m = rules.parse_multivariant(MASTER.format(bw=1, avg=1))
    assert rules.stream_inf_rule(m) == []
    for broken, expected in [
        (("RESOLUTION=640x360,", ""), "without RESOLUTION"),
        (("FRAME-RATE=30.000,", ""), "without a FRAME-RATE"),
        (("avc1.64001f,mp4a.40.2", "avc1.64001f"), "lists no audio codec"),
        (('CODECS="avc1.64001f,mp4a.40.2",', ""), "no CODECS"),
    ]:
        text = MASTER.format(bw=1, avg=1).replace(*broken)
        found = rules.stream_inf_rule(rules.parse_multivariant(text))
        assert len(found) == 1 and expected in found[0], (broken, found)


def test_segments_must_align_across_renditions() -> None:
    ref = media(playlist("4.0", "4.0", "2.0"))
    audio = media(playlist("4.010", "3.990", "2.0"))
    assert rules.alignment_rule([ref, audio]) == []
    assert rules.alignment_rule([ref, media(playlist("4.0", "4.5", "1.5"))])
    assert rules.alignment_rule([ref, media(playlist("4.0", "6.0"))])


def _fragmented(tmp_path: Path, *, keyframe_fragments: bool) -> bytes:
    out = tmp_path / f"v{keyframe_fragments}.mp4"
    # one fragment per 2 s GOP, or a fragment every 0.7 s wherever that falls
    cut = ["-movflags", "+frag_keyframe+empty_moov+default_base_moof"]
    if not keyframe_fragments:
        cut = ["-frag_duration", "700000", "-movflags", "+empty_moov+default_base_moof"]
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=160x90:rate=30:duration=4", "-c:v", "libx264", "-preset",
         "ultrafast", "-g", "60", *cut, str(out)],
        check=True,
    )  # fmt: skip
    return out.read_bytes()


@pytest.mark.slow
def test_key_frame_rule_reads_the_first_sample_flags(tmp_path: Path) -> None:
    for keyframes in (True, False):
        data = _fragmented(tmp_path, keyframe_fragments=keyframes)
        index = read_track_index_bytes(data)
        p = media(playlist(*["1.0"] * len(index.fragments)))
        p.init = data[: index.init_size]
        p.bodies = [data[f.offset : f.offset + f.size] for f in index.fragments]
        found = rules.keyframe_rule(p)
        if keyframes:
            assert found == []
        else:  # 0.7 s fragments of 2 s GOPs: most start mid-GOP
            assert len(found) >= 2 and "does not start with a key frame" in found[0]
