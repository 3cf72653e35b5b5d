"""Hand-built moof/mdat after a real FFmpeg init segment: the tfhd/trun/trex paths FFmpeg
itself does not exercise (ISO/IEC 14496-12 §8.8.7, §8.8.8)."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from vodstack.errors import BoxParseError
from vodstack.packaging.isobmff import make_box, make_full_box
from vodstack.packaging.track_index import Fragment, TrackIndex, read_track_index_bytes

BASE_DATA_OFFSET = 0x000001
DEFAULT_DURATION, DEFAULT_SIZE, DEFAULT_FLAGS = 0x000008, 0x000010, 0x000020
DEFAULT_BASE_IS_MOOF = 0x020000
DATA_OFFSET, FIRST_FLAGS = 0x001, 0x004
DURATIONS, SIZES, FLAGS, CTOS = 0x100, 0x200, 0x400, 0x800
SYNC, NON_SYNC = 0x02000000, 0x01010000


@dataclass
class Run:
    rows: list[tuple[int, ...]]  # present per-sample fields, in table order
    flags: int = DATA_OFFSET
    version: int = 0
    first_flags: int = 0
    at: int = 0  # where its data starts in the mdat payload
    count: int | None = None

    def box(self, base_to_payload: int) -> bytes:
        body = struct.pack(">I", len(self.rows) if self.count is None else self.count)
        if self.flags & DATA_OFFSET:
            body += struct.pack(">i", base_to_payload + self.at)
        if self.flags & FIRST_FLAGS:
            body += struct.pack(">I", self.first_flags)
        cto = "i" if self.version else "I"
        fmt = ">" + "".join(
            c
            for bit, c in ((DURATIONS, "I"), (SIZES, "I"), (FLAGS, "I"), (CTOS, cto))
            if self.flags & bit
        )
        body += b"".join(struct.pack(fmt, *row) for row in self.rows)
        return make_full_box("trun", self.version, self.flags, body)


def fragment(
    runs: list[Run],
    payload: bytes,
    *,
    at: int,
    tfhd_flags: int = DEFAULT_BASE_IS_MOOF,
    defaults: tuple[int, ...] = (),
    tfdt: int | None = 0,
    track_id: int = 1,
) -> bytes:
    """moof+mdat to be placed at file offset ``at``; data offsets are filled in."""

    def build(moof_size: int) -> bytes:
        fields = struct.pack(">I", track_id)
        base_to_payload = moof_size + 8
        if tfhd_flags & BASE_DATA_OFFSET:
            fields += struct.pack(">Q", at + moof_size + 8)
            base_to_payload = 0
        fields += b"".join(struct.pack(">I", v) for v in defaults)
        traf = make_full_box("tfhd", 0, tfhd_flags, fields)
        if tfdt is not None:
            traf += make_full_box("tfdt", 1, 0, struct.pack(">Q", tfdt))
        traf += b"".join(run.box(base_to_payload) for run in runs)
        mfhd = make_full_box("mfhd", 0, 0, struct.pack(">I", 1))
        return make_box("moof", mfhd + make_box("traf", traf))

    moof = build(len(build(0)))
    return moof + make_box("mdat", payload)


@pytest.fixture(scope="module")
def init(clip_bytes: Callable[[str], bytes]) -> bytes:
    """ftyp+moov of the AAC clip (track 1, timescale 48000, elst media_time 1024)."""
    data = clip_bytes("audio")
    return data[: data.index(b"sidx") - 4]


def with_trex(init: bytes, duration: int, size: int, flags: int) -> bytes:
    patched = bytearray(init)
    struct.pack_into(">III", patched, init.index(b"trex") + 16, duration, size, flags)
    return bytes(patched)


def index_of(init: bytes, *fragments: Callable[[int], bytes]) -> TrackIndex:
    data = init
    for make in fragments:
        data += make(len(data))
    return read_track_index_bytes(data)


def test_trex_defaults_fill_everything_the_moof_leaves_out(init: bytes) -> None:
    index = index_of(
        with_trex(init, 1024, 10, SYNC),
        lambda at: fragment([Run([(), (), ()])], b"a" * 30, at=at, tfhd_flags=DEFAULT_BASE_IS_MOOF),
    )
    (frag,) = index.fragments
    data_start = len(init) + frag.size - 30
    assert frag == Fragment(len(init), frag.size, 0, 3072, 0, 3, True, data_start + 10)
    assert index.init_size == len(init)


def test_tfhd_defaults_win_over_trex(init: bytes) -> None:
    flags = DEFAULT_BASE_IS_MOOF | DEFAULT_DURATION | DEFAULT_SIZE | DEFAULT_FLAGS

    def make(at: int) -> bytes:
        return fragment(
            [Run([(), ()])], b"b" * 8, at=at, tfhd_flags=flags, defaults=(960, 4, NON_SYNC)
        )

    (frag,) = index_of(with_trex(init, 1024, 10, SYNC), make).fragments
    assert (frag.duration, frag.sample_count, frag.starts_with_sap) == (1920, 2, False)


def test_first_sample_flags_override_only_sample_zero(init: bytes) -> None:
    run = Run([(100,), (100,)], flags=DATA_OFFSET | FIRST_FLAGS | DURATIONS, first_flags=SYNC)
    flags = DEFAULT_BASE_IS_MOOF | DEFAULT_FLAGS

    def make(at: int) -> bytes:
        return fragment([run], b"", at=at, tfhd_flags=flags, defaults=(NON_SYNC,))

    assert index_of(init, make).fragments[0].starts_with_sap


def test_per_sample_flags_without_first_sample_flags(init: bytes) -> None:
    run = Run([(100, 1, NON_SYNC), (100, 1, SYNC)], flags=DATA_OFFSET | DURATIONS | SIZES | FLAGS)
    (frag,) = index_of(init, lambda at: fragment([run], b"xy", at=at)).fragments
    assert not frag.starts_with_sap


def test_version_1_composition_offsets_are_signed(init: bytes) -> None:
    rows = [(512, 1, -256), (512, 1, 1024), (512, 1, -512)]  # pts 9744, 11264, 10512
    run = Run(rows, flags=DATA_OFFSET | DURATIONS | SIZES | CTOS, version=1)
    (frag,) = index_of(init, lambda at: fragment([run], b"abc", at=at, tfdt=10000)).fragments
    assert (frag.decode_time, frag.presentation_time, frag.duration) == (10000, 9744, 1536)


def test_version_0_composition_offsets_are_unsigned(init: bytes) -> None:
    rows = [(512, 1, 1024), (512, 1, 0xFFFFFF00)]
    run = Run(rows, flags=DATA_OFFSET | DURATIONS | SIZES | CTOS, version=0)
    (frag,) = index_of(init, lambda at: fragment([run], b"ab", at=at, tfdt=0)).fragments
    assert frag.presentation_time == 1024


def test_explicit_base_data_offset_and_run_without_data_offset(init: bytes) -> None:
    first = Run([(10, 3), (10, 4)], flags=DURATIONS | SIZES)  # data at the base itself
    second = Run([(10, 5)], flags=DURATIONS | SIZES)  # continues after the first run
    make = lambda at: fragment([first, second], b"k" * 12, at=at, tfhd_flags=BASE_DATA_OFFSET)  # noqa: E731
    (frag,) = index_of(init, make).fragments
    assert (frag.sample_count, frag.duration) == (3, 30)
    assert frag.key_sample_end == frag.offset + frag.size - 12 + 3


def test_legacy_base_is_the_moof(init: bytes) -> None:
    run = Run([(10, 6)], flags=DATA_OFFSET | DURATIONS | SIZES, at=2)
    (frag,) = index_of(init, lambda at: fragment([run], b"..sixsix", at=at, tfhd_flags=0)).fragments
    assert frag.key_sample_end == frag.offset + frag.size


def test_missing_tfdt_continues_from_the_previous_fragment(init: bytes) -> None:
    run = Run([(700, 1)], flags=DATA_OFFSET | DURATIONS | SIZES)
    index = index_of(
        init,
        lambda at: fragment([run], b"1", at=at, tfdt=5000),
        lambda at: fragment([run], b"2", at=at, tfdt=None),
    )
    assert [f.decode_time for f in index.fragments] == [5000, 5700]
    assert index.duration == 1400


def test_styp_prft_emsg_belong_to_the_next_fragment_and_sidx_to_the_init(init: bytes) -> None:
    run = Run([(700, 1)], flags=DATA_OFFSET | DURATIONS | SIZES)
    sidx = make_full_box("sidx", 0, 0, struct.pack(">IIIIHH", 1, 48000, 0, 0, 0, 0))
    styp = make_box("styp", b"msdhcmfs")
    emsg = make_full_box("emsg", 0, 0, b"urn:x\0\0" + b"\0" * 16)
    index = index_of(
        init,
        lambda at: sidx,
        lambda at: styp + fragment([run], b"1", at=at + len(styp)),
        lambda at: styp + emsg + fragment([run], b"2", at=at + len(styp + emsg)),
        lambda at: make_box("mfra", b""),
    )
    first, second = index.fragments
    assert index.init_size == len(init)
    assert first.offset == len(init + sidx)  # the styp, not the moof
    assert first.key_sample_end == first.offset + first.size  # its only sample ends the mdat
    assert second.offset == first.offset + first.size
    assert index.file_size == second.offset + second.size + 8


def test_largesize_and_size_zero_mdat(init: bytes) -> None:
    def moof_only(at: int) -> bytes:  # moof whose run starts ``at`` bytes after an 8-byte header
        run = Run([(700, 4)], flags=DATA_OFFSET | DURATIONS | SIZES, at=at)
        return fragment([run], b"", at=0)[:-8]

    large = moof_only(8) + struct.pack(">I4sQ", 1, b"mdat", 20) + b"abcd"
    to_end = moof_only(0) + struct.pack(">I4s", 0, b"mdat") + b"abcd"
    for tail in (large, to_end):
        (frag,) = read_track_index_bytes(init + tail).fragments
        assert (frag.size, frag.key_sample_end) == (len(tail), len(init + tail))


def test_huge_sample_count_with_defaults_is_arithmetic_not_a_loop(init: bytes) -> None:
    run = Run([], flags=DATA_OFFSET, count=0xFFFFFFFF)
    started = time.perf_counter()
    (frag,) = index_of(
        with_trex(init, 1, 0, SYNC), lambda at: fragment([run], b"", at=at)
    ).fragments
    assert frag.sample_count == 0xFFFFFFFF
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda at: fragment([Run([(5,)], flags=DATA_OFFSET | SIZES, at=1)], b"abcd", at=at),
            "lies outside the mdat",
        ),
        (
            lambda at: fragment([Run([(1,)], flags=DATA_OFFSET | SIZES, count=1000)], b"a", at=at),
            "trun claims 1000 samples",
        ),
        (
            lambda at: fragment([Run([(1,)], flags=DATA_OFFSET | SIZES)], b"a", at=at, track_id=2),
            "traf for track 2",
        ),
        (lambda at: fragment([], b"", at=at), "fragment has no samples"),
        (
            lambda at: fragment([Run([(1,)], flags=DATA_OFFSET | SIZES)], b"a", at=at)[:-9],
            "moof is not followed by an mdat",
        ),
        (
            lambda at: make_box("moof", make_box("mfhd", b"")) + make_box("mdat", b""),
            "moof has no traf",
        ),
    ],
)
def test_inconsistent_fragments(init: bytes, make: Callable[[int], bytes], message: str) -> None:
    with pytest.raises(BoxParseError, match=message):
        index_of(init, make)
