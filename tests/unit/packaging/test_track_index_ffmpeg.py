"""read_track_index on real FFmpeg output, checked against the file's own sidx and PyAV."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from vodstack.errors import BoxParseError
from vodstack.packaging import track_index
from vodstack.packaging.track_index import TrackIndex, read_track_index, read_track_index_bytes

Clip = Callable[[str], Path]


def parse_sidx(data: bytes) -> tuple[int, int, int, list[tuple[int, int, int]]]:
    """(timescale, earliest_presentation_time, first byte, [(size, duration, sap word)]).

    Written from ISO/IEC 14496-12 §8.16.3 independently of the code under test; offsets start
    at the first byte after the sidx box.
    """
    at = data.index(b"sidx") - 4
    size, version = struct.unpack_from(">I4xB", data, at)
    timescale, pos = struct.unpack_from(">I", data, at + 16)[0], at + 20
    fmt = ">II" if version == 0 else ">QQ"
    ept, first_offset = struct.unpack_from(fmt, data, pos)
    pos += struct.calcsize(fmt)
    (count,) = struct.unpack_from(">2xH", data, pos)
    refs = [struct.unpack_from(">III", data, pos + 4 + 12 * i) for i in range(count)]
    assert all(r[0] >> 31 == 0 for r in refs)  # media references only
    return timescale, ept, at + size + first_offset, [(r[0], r[1], r[2]) for r in refs]


def index_of(clip: Clip, name: str) -> TrackIndex:
    with clip(name).open("rb") as f:
        return read_track_index(f)


def test_video_as_the_transcoder_writes_it(clip: Clip) -> None:
    index = index_of(clip, "video")
    assert (index.track_id, index.kind, index.sample_entry) == (1, "video", "avc1")
    assert (index.width, index.height, index.timescale, index.media_time) == (640, 360, 15360, 0)
    assert (index.sample_rate, index.channels, index.language) == (None, None, None)
    assert [f.decode_time for f in index.fragments] == [0, 30720, 61440]
    assert [f.sample_count for f in index.fragments] == [60, 60, 60]
    assert all(f.starts_with_sap for f in index.fragments)
    assert index.duration == 92160
    assert index.duration_seconds == 6.0
    assert index.file_size == clip("video").stat().st_size


def test_audio_as_the_transcoder_writes_it(clip: Clip) -> None:
    index = index_of(clip, "audio")
    assert (index.kind, index.sample_entry, index.codec) == ("audio", "mp4a", "mp4a.40.2")
    assert (index.timescale, index.sample_rate, index.channels) == (48000, 48000, 2)
    assert index.media_time == 1024  # AAC encoder priming, as an edit list
    assert [f.sample_count for f in index.fragments] == [94, 94, 94, 1]
    # FFmpeg shortens the last AAC frame so that duration - priming is exactly 6 s
    assert index.fragments[-1].duration == 256
    assert index.duration - index.media_time == 6 * 48000


@pytest.mark.parametrize("name", ["video", "audio", "bframes", "tiny"])
def test_fragments_match_the_global_sidx(clip: Clip, name: str) -> None:
    data = clip(name).read_bytes()
    index = read_track_index_bytes(data)
    timescale, ept, first_byte, refs = parse_sidx(data)
    assert timescale == index.timescale
    assert index.init_size == data.index(b"sidx") - 4
    assert index.fragments[0].offset == first_byte
    assert [f.size for f in index.fragments] == [size for size, _, _ in refs]
    assert all(
        sap >> 31 == f.starts_with_sap for (_, _, sap), f in zip(refs, index.fragments, strict=True)
    )
    # sidx times are on the presentation timeline with the edit applied (FFmpeg clamps at 0),
    # so subsegment k starts at the fragment's earliest presentation time minus media_time.
    start = ept
    for (_, duration, _), fragment in zip(refs, index.fragments, strict=True):
        assert start == max(fragment.presentation_time - index.media_time, 0)
        start += duration
    assert start == index.duration - index.media_time


@pytest.mark.parametrize(
    "name", ["video", "audio", "bframes", "bframes_nosidx", "hevc", "av1", "opus"]
)
def test_fragments_match_pyav_packets(clip: Clip, name: str) -> None:
    index = index_of(clip, name)
    with av.open(str(clip(name))) as container:
        packets = [p for p in container.demux(container.streams[0]) if p.size]
    assert sum(f.sample_count for f in index.fragments) == len(packets)
    for fragment in index.fragments:
        inside = [p for p in packets if fragment.offset <= p.pos < fragment.offset + fragment.size]
        assert len(inside) == fragment.sample_count
        first = min(inside, key=lambda p: p.pos)
        assert first.pos + first.size == fragment.key_sample_end
        assert first.is_keyframe == fragment.starts_with_sap
        # FFmpeg's demuxer applies the edit to timestamps; undo it to compare decode times
        assert min(p.dts for p in inside) + index.media_time == fragment.decode_time
        assert sum(p.duration for p in inside) == fragment.duration


def test_bframes_have_negative_composition_offsets_and_no_edit_list(clip: Clip) -> None:
    """+cmaf makes FFmpeg write trun v1 with negative offsets instead of an elst: the first
    frame shows at its decode time. (PyAV reports every pts shifted by the largest negative
    offset, its "dts_shift", so it is not the oracle here.)"""
    index = index_of(clip, "bframes_nosidx")
    assert index.media_time == 0
    assert index.codec.startswith("avc1.64")
    assert [(f.decode_time, f.presentation_time) for f in index.fragments] == [
        (0, 0),
        (30720, 30720),
        (61440, 61440),
    ]
    assert index.init_size == index.fragments[0].offset  # no sidx: init runs to the first moof


def test_fragments_tile_the_file_after_the_init_segment(clip: Clip) -> None:
    index = index_of(clip, "bframes_nosidx")
    position = index.init_size
    for fragment in index.fragments:
        assert fragment.offset == position
        assert fragment.offset < fragment.key_sample_end <= fragment.offset + fragment.size
        position += fragment.size
    assert index.file_size - position == 105  # only the mfra FFmpeg appends


def test_text_track(clip: Clip) -> None:
    index = index_of(clip, "text")
    assert (index.kind, index.codec, index.language) == ("text", "tx3g", "eng")
    assert index.timescale == 1_000_000


class CountingFile(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, n: int | None = -1) -> bytes:
        chunk = super().read(n)
        self.bytes_read += len(chunk)
        return chunk


def test_mdat_payloads_are_not_read(clip: Clip) -> None:
    f = CountingFile(clip("video").read_bytes())
    index = read_track_index(f)
    boxes_read = index.init_size + sum(348 for _ in index.fragments)  # moov + the moofs
    assert f.bytes_read < boxes_read + 32 * 12
    assert f.bytes_read < index.file_size / 300


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("plain", "not a fragmented MP4: moov has no mvex box"),
        ("two_tracks", "expected exactly one trak"),
    ],
)
def test_unsupported_files(clip: Clip, name: str, message: str) -> None:
    with pytest.raises(BoxParseError, match=message):
        index_of(clip, name)


def test_moov_size_beyond_the_file(clip: Clip) -> None:
    data = bytearray(clip("video").read_bytes()[:1200])
    struct.pack_into(">I", data, 28, 0xFFFFFFFF)
    with pytest.raises(BoxParseError) as info:
        read_track_index_bytes(bytes(data))
    assert str(info.value) == (
        "the file (1200 bytes) cannot hold box 'moov' of 4294967295 bytes starting at byte 28"
    )


def test_truncated_inside_the_last_mdat(clip: Clip) -> None:
    data = clip("bframes_nosidx").read_bytes()
    with pytest.raises(BoxParseError, match="cannot hold box 'mdat'"):
        read_track_index_bytes(data[:-500])


def test_init_segment_alone_has_no_fragments(clip: Clip) -> None:
    data = clip("video").read_bytes()
    index = read_track_index_bytes(data)
    with pytest.raises(BoxParseError, match="not a fragmented MP4: no moof boxes"):
        read_track_index_bytes(data[: index.fragments[0].offset])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"GIF89a" + b"\0" * 100, "cannot hold box"),
        (struct.pack(">I4s", 16, b"moov") + b"\0" * 8, "first box is 'moov', not 'ftyp'"),
        (struct.pack(">I4s", 12, b"ftyp") + b"isom", "no moov box"),
    ],
)
def test_garbage(data: bytes, message: str) -> None:
    with pytest.raises(BoxParseError, match=message):
        read_track_index_bytes(data)


def test_public_surface_is_pinned() -> None:
    assert sorted(track_index.__all__) == [
        "Fragment",
        "MOOF_LIMIT",
        "MOOV_LIMIT",
        "TrackIndex",
        "presentation_end_s",
        "read_track_index",
        "read_track_index_bytes",
    ]
    assert list(TrackIndex.__dataclass_fields__) == [
        "track_id",
        "kind",
        "sample_entry",
        "codec",
        "timescale",
        "media_time",
        "init_size",
        "width",
        "height",
        "sample_rate",
        "channels",
        "language",
        "file_size",
        "fragments",
    ]
