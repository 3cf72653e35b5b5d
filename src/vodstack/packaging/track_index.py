"""Per-track fragment index of a one-track fragmented MP4 (CMAF track file, as FFmpeg writes it).

The just-in-time packager answers every HLS/DASH request from this index: the init segment is
``[0, init_size)`` and each fragment is one byte range. Reading it touches only box headers, the
moov and the moofs; mdat payloads are seeked over, so indexing a long title costs a few
kilobytes of reads per fragment.

Why one module: one pass over the box headers reads the ``moov`` and every ``moof``; the
ISO/IEC 14496-12 defaulting rules (a ``trun`` value, else the ``tfhd`` default, else the
``trex`` default) span all of them, so the parser keeps them together.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from itertools import accumulate, repeat
from typing import BinaryIO

from vodstack.errors import BoxParseError
from vodstack.packaging.codecs import SampleEntry, parse_sample_entry
from vodstack.packaging.isobmff import Box, Region, parse_box_header

__all__ = [
    "MOOF_LIMIT",
    "MOOV_LIMIT",
    "Fragment",
    "TrackIndex",
    "presentation_end_s",
    "read_track_index",
    "read_track_index_bytes",
]

MOOV_LIMIT = 64 << 20
MOOF_LIMIT = 16 << 20
_HEADER_PEEK = 32  # size, type, largesize, uuid usertype
_MAX_TOP_LEVEL = 1_000_000  # ~a year of 2 s fragments; bounds the work a hostile file can cause
_PREFIX_BOXES = ("styp", "prft", "emsg")  # CMAF (ISO/IEC 23000-19) lets these lead a fragment
_KINDS = {"vide": "video", "soun": "audio", "text": "text", "subt": "text", "sbtl": "text"}
_NON_SYNC = 0x00010000  # sample_is_non_sync_sample, ISO/IEC 14496-12 §8.8.3.1


@dataclass(frozen=True, slots=True)
class Fragment:
    """One moof+mdat (plus any styp/prft/emsg right before it) as a byte range and a time span."""

    offset: int  # first byte: the moof, or a styp/prft/emsg right before it
    size: int  # up to and including the end of its mdat
    decode_time: int  # tfdt baseMediaDecodeTime (§8.8.12), track timescale
    duration: int  # sum of sample durations
    presentation_time: int  # min(decode time + composition offset); edit list NOT applied
    sample_count: int
    starts_with_sap: bool  # first sample is a sync sample
    key_sample_end: int  # just after the first sample's data: moof..here is an I-frame range


@dataclass(frozen=True, slots=True)
class TrackIndex:
    """Everything the HLS/DASH writers need about one track file; times in ``timescale``."""

    track_id: int
    kind: str  # "video" | "audio" | "text", from the hdlr handler_type
    sample_entry: str  # real coding name ("avc1", "mp4a"), frma's for encv/enca
    codec: str  # RFC 6381
    timescale: int  # mdhd timescale
    media_time: int  # first non-empty elst entry's media_time, 0 without an edit list
    init_size: int  # [0, init_size) = ftyp + moov (+ anything before the first sidx/moof)
    width: int | None
    height: int | None
    sample_rate: int | None
    channels: int | None  # AudioSpecificConfig channelConfiguration, else the sample entry
    language: str | None  # mdhd ISO-639-2/T, None for "und"
    file_size: int
    fragments: tuple[Fragment, ...]

    @property
    def duration(self) -> int:
        return sum(f.duration for f in self.fragments)

    @property
    def duration_seconds(self) -> float:
        return self.duration / self.timescale

    @property
    def presentation_end_seconds(self) -> float:
        return presentation_end_s(self.fragments, self.media_time, self.timescale)


def presentation_end_s(fragments: tuple[Fragment, ...], media_time: int, timescale: int) -> float:
    """Where a track's media ends on the presentation timeline: the last fragment's end less
    the edit list's media_time, the offset DASH signals as presentationTimeOffset and HLS
    players apply from the init segment [ISO/IEC 14496-12 §8.6.6; 23009-1 §5.3.9.2]: AAC's
    priming samples (media_time 1024 at 48 kHz) are not played."""
    if not fragments:
        return 0.0
    last = fragments[-1]
    return max(0, last.presentation_time + last.duration - media_time) / timescale


@dataclass(frozen=True, slots=True)
class _Defaults:
    """Per-sample fallbacks: trun value → tfhd default → trex default (§8.8.3, §8.8.7)."""

    duration: int
    size: int
    flags: int


@dataclass(frozen=True, slots=True)
class _Track:
    track_id: int
    kind: str
    entry: SampleEntry
    timescale: int
    media_time: int
    language: str | None
    trex: _Defaults


@dataclass(frozen=True, slots=True)
class _Run:
    """One trun, summarised; ``data_start`` is absolute, ``min_cto`` relative to its start DTS."""

    count: int
    duration: int
    data_start: int
    data_size: int
    first_size: int
    first_flags: int
    min_cto: int


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    f.seek(offset)
    data = f.read(n) or b""
    if len(data) != n:
        raise BoxParseError(f"file ended early: read {len(data)} of {n} bytes", offset)
    return data


def _read_box(f: BinaryIO, box: Box, limit: int) -> bytes:
    if box.size > limit:
        raise BoxParseError(
            f"box {box.type!r} of {box.size} bytes exceeds the {limit} limit", box.offset
        )
    return _read_at(f, box.offset, box.size)


def _top_level(f: BinaryIO, file_size: int) -> list[Box]:
    """Headers of the top-level boxes, read with small seeks (§4.2: walk by ``offset += size``)."""
    boxes: list[Box] = []
    pos = 0
    container = f"the file ({file_size} bytes)"
    while pos < file_size:
        if len(boxes) == _MAX_TOP_LEVEL:
            raise BoxParseError(f"more than {_MAX_TOP_LEVEL} top-level boxes", pos)
        head = _read_at(f, pos, min(_HEADER_PEEK, file_size - pos))
        box = parse_box_header(head, 0, file_size, base_offset=pos, container=container)
        if not boxes and box.type != "ftyp":
            raise BoxParseError(f"not an ISO-BMFF file: first box is {box.type!r}, not 'ftyp'", 0)
        boxes.append(box)
        pos = box.end
    return boxes


def _language(code: int) -> str | None:
    """mdhd packs ISO-639-2/T as three 5-bit letters, each + 0x60 (§8.4.2.3)."""
    lang = "".join(chr(((code >> shift) & 0x1F) + 0x60) for shift in (10, 5, 0))
    return None if lang == "und" or not lang.isalpha() or not lang.islower() else lang


def _media_time(moov: Region, trak: Box) -> int:
    """media_time of the first non-empty edit (§8.6.6); -1 marks an empty edit (a gap)."""
    edts = moov.child(trak, "edts")
    elst = moov.child(edts, "elst") if edts is not None else None
    if elst is None:
        return 0
    r = moov.reader(elst)
    version, _ = r.full_box_header()
    for _ in range(r.u32()):
        r.uint(version)  # segment_duration, movie timescale
        media_time = r.s64() if version == 1 else r.s32()
        r.skip(4)  # media_rate_integer, media_rate_fraction
        if media_time != -1:
            return media_time
    return 0


def _check_empty_stbl(moov: Region, stbl: Box) -> None:
    """An "empty moov" keeps no samples in stbl; otherwise moofs would miss the first ones."""
    stsz = moov.child(stbl, "stsz")
    if stsz is not None:
        r = moov.reader(stsz)
        r.skip(8)  # FullBox header, sample_size
        if count := r.u32():
            raise BoxParseError(
                f"moov holds {count} samples in stbl: only fragmented MP4 with an empty moov "
                "(FFmpeg -movflags empty_moov) is supported",
                stsz.offset,
            )


def _trex(moov: Region, mvex: Box, track_id: int) -> _Defaults:
    for box in moov.children(mvex):
        if box.type == "trex":
            r = moov.reader(box)
            r.skip(4)
            if r.u32() == track_id:
                r.skip(4)  # default_sample_description_index
                return _Defaults(r.u32(), r.u32(), r.u32())
    raise BoxParseError(f"mvex has no trex for track {track_id}", mvex.offset)


def _parse_moov(moov: Region, box: Box) -> _Track:
    traks = [b for b in moov.children(box) if b.type == "trak"]
    if len(traks) != 1:
        raise BoxParseError(
            f"expected exactly one trak (a CMAF track file), found {len(traks)}", box.offset
        )
    trak = traks[0]
    mvex = moov.child(box, "mvex")
    if mvex is None:
        raise BoxParseError("not a fragmented MP4: moov has no mvex box", box.offset)
    r = moov.reader(moov.require(trak, "tkhd"))
    version, _ = r.full_box_header()
    r.skip(16 if version == 1 else 8)  # creation_time, modification_time (§8.3.2)
    track_id = r.u32()
    mdia = moov.require(trak, "mdia")
    r = moov.reader(moov.require(mdia, "mdhd"))
    version, _ = r.full_box_header()
    r.skip(16 if version == 1 else 8)
    timescale = r.u32()
    r.uint(version)  # duration
    language = _language(r.u16())
    if timescale == 0:
        raise BoxParseError("mdhd timescale is 0", r.base_offset + r.pos)
    r = moov.reader(moov.require(mdia, "hdlr"))
    r.skip(8)  # FullBox header, pre_defined (§8.4.3)
    handler = r.fourcc()
    if handler not in _KINDS:
        raise BoxParseError(f"unsupported track handler {handler!r}", r.base_offset + r.pos - 4)
    stbl = moov.require(moov.require(mdia, "minf"), "stbl")
    _check_empty_stbl(moov, stbl)
    stsd = moov.require(stbl, "stsd")
    entry = next(moov.children(stsd, skip=8), None)  # FullBox header, entry_count (§8.5.2)
    if entry is None:
        raise BoxParseError("stsd has no sample entry", stsd.offset)
    described = parse_sample_entry(moov.data, entry, handler, base_offset=moov.base)
    trex = _trex(moov, mvex, track_id)
    return _Track(
        track_id, _KINDS[handler], described, timescale, _media_time(moov, trak), language, trex
    )


def _tfhd(moof: Region, box: Box, track: _Track) -> tuple[int | None, bool, _Defaults]:
    """(explicit base-data-offset, default-base-is-moof, sample defaults), §8.8.7."""
    r = moof.reader(box)
    _, flags = r.full_box_header()
    track_id = r.u32()
    if track_id != track.track_id:
        raise BoxParseError(
            f"traf for track {track_id}, but moov has track {track.track_id}", box.offset
        )
    base = r.u64() if flags & 0x01 else None
    if flags & 0x02:
        r.skip(4)  # sample_description_index
    trex = track.trex
    duration = r.u32() if flags & 0x08 else trex.duration
    size = r.u32() if flags & 0x10 else trex.size
    sample_flags = r.u32() if flags & 0x20 else trex.flags
    return base, bool(flags & 0x020000), _Defaults(duration, size, sample_flags)


# trun per-sample fields in table order (§8.8.8); the offset is signed only in version 1.
_TRUN_FIELDS = ((0x100, "I"), (0x200, "I"), (0x400, "I"), (0x800, "i"))


def _trun(moof: Region, box: Box, defaults: _Defaults, base: int, follow_on: int) -> _Run:
    """Summarise one run. Without data_offset its data follows the previous run's (§8.8.8)."""
    r = moof.reader(box)
    version, flags = r.full_box_header()
    count = r.u32()
    data_start = base + r.s32() if flags & 0x001 else follow_on
    first_flags = r.u32() if flags & 0x004 else None
    present = [(bit, code) for bit, code in _TRUN_FIELDS if flags & bit]
    fmt = ">" + "".join(code for _, code in present)
    if version == 0:
        fmt = fmt.replace("i", "I")
    record = struct.calcsize(fmt)
    if count * record > r.remaining:
        raise BoxParseError(
            f"trun claims {count} samples but has room for {r.remaining // record}", box.offset
        )
    columns: dict[int, tuple[int, ...]] = {}
    if present and count:
        rows = struct.iter_unpack(fmt, r.view(count * record))
        columns = dict(zip((bit for bit, _ in present), zip(*rows, strict=True), strict=True))
    durations, sizes = columns.get(0x100), columns.get(0x200)
    flag_col, ctos = columns.get(0x400), columns.get(0x800)
    duration = sum(durations) if durations else count * defaults.duration
    data_size = sum(sizes) if sizes else count * defaults.size
    if first_flags is None:
        first_flags = flag_col[0] if flag_col else defaults.flags
    min_cto = 0
    if ctos:
        starts = accumulate(durations or repeat(defaults.duration, count), initial=0)
        min_cto = min(t + c for t, c in zip(starts, ctos, strict=False))
    first_size = sizes[0] if sizes else defaults.size
    return _Run(count, duration, data_start, data_size, first_size, first_flags, min_cto)


def _parse_moof(moof: Region, box: Box, track: _Track) -> list[tuple[int | None, list[_Run]]]:
    """Per traf: its tfdt baseMediaDecodeTime (if any) and its runs (§8.8.4-8.8.12)."""
    trafs: list[tuple[int | None, list[_Run]]] = []
    follow_on = box.offset  # legacy base of the first traf: the moof itself (§8.8.7.1)
    for traf in (b for b in moof.children(box) if b.type == "traf"):
        explicit, base_is_moof, defaults = _tfhd(moof, moof.require(traf, "tfhd"), track)
        base = explicit if explicit is not None else box.offset if base_is_moof else follow_on
        decode_time = None
        if (tfdt := moof.child(traf, "tfdt")) is not None:
            r = moof.reader(tfdt)
            decode_time = r.uint(r.full_box_header()[0])
        runs: list[_Run] = []
        follow_on = base
        for trun in (b for b in moof.children(traf) if b.type == "trun"):
            runs.append(_trun(moof, trun, defaults, base, follow_on))
            follow_on = runs[-1].data_start + runs[-1].data_size
        trafs.append((decode_time, runs))
    if not trafs:
        raise BoxParseError("moof has no traf", box.offset)
    return trafs


def _fragment(
    offset: int, mdat: Box, trafs: list[tuple[int | None, list[_Run]]], next_decode: int
) -> Fragment:
    """Combine a moof's runs; a traf without tfdt continues from the previous one's end."""
    decode = first_decode = next_decode
    presentation: list[int] = []
    duration = count = 0
    first: _Run | None = None
    for index, (decode_time, runs) in enumerate(trafs):
        decode = decode if decode_time is None else decode_time
        first_decode = decode if index == 0 else first_decode
        for run in (run for run in runs if run.count):
            if run.data_start < mdat.payload_offset or run.data_start + run.data_size > mdat.end:
                raise BoxParseError(
                    f"trun data {run.data_start}..{run.data_start + run.data_size} lies outside "
                    f"the mdat payload {mdat.payload_offset}..{mdat.end}",
                    offset,
                )
            first = first or run
            presentation.append(decode + run.min_cto)
            decode += run.duration
            duration += run.duration
            count += run.count
    if first is None:
        raise BoxParseError("fragment has no samples", offset)
    return Fragment(
        offset=offset,
        size=mdat.end - offset,
        decode_time=first_decode,
        duration=duration,
        presentation_time=min(presentation),
        sample_count=count,
        starts_with_sap=not first.first_flags & _NON_SYNC,
        key_sample_end=first.data_start + first.first_size,
    )


def _fragments(f: BinaryIO, boxes: list[Box], track: _Track) -> list[Fragment]:
    fragments: list[Fragment] = []
    prefix: int | None = None  # start of a styp/prft/emsg run right before a moof
    pending: tuple[int, Box, list[tuple[int | None, list[_Run]]]] | None = None
    for box in boxes:
        if box.type == "moof":
            if pending is not None:
                raise BoxParseError("moof is not followed by an mdat", pending[1].offset)
            moof = Region(_read_box(f, box, MOOF_LIMIT), box.offset)
            start = box.offset if prefix is None else prefix
            pending = (start, box, _parse_moof(moof, box, track))
        elif box.type == "mdat" and pending is not None:
            next_decode = fragments[-1].decode_time + fragments[-1].duration if fragments else 0
            fragments.append(_fragment(pending[0], box, pending[2], next_decode))
            pending = None
        is_prefix = box.type in _PREFIX_BOXES
        prefix = (box.offset if prefix is None else prefix) if is_prefix else None
    if pending is not None:
        raise BoxParseError("moof is not followed by an mdat", pending[1].offset)
    return fragments


def read_track_index(f: BinaryIO) -> TrackIndex:
    """Index a one-track fragmented MP4 from a seekable binary file, reading only headers,
    the moov (up to 64 MiB) and each moof (up to 16 MiB)."""
    file_size = f.seek(0, io.SEEK_END)
    if file_size == 0:
        raise BoxParseError("empty file")
    boxes = _top_level(f, file_size)
    moov_box = next((b for b in boxes if b.type == "moov"), None)
    if moov_box is None:
        raise BoxParseError("no moov box")
    track = _parse_moov(Region(_read_box(f, moov_box, MOOV_LIMIT), moov_box.offset), moov_box)
    fragments = _fragments(f, boxes, track)
    if not fragments:
        raise BoxParseError("not a fragmented MP4: no moof boxes")
    init_size = min([fragments[0].offset] + [b.offset for b in boxes if b.type == "sidx"])
    if moov_box.end > init_size:
        raise BoxParseError("moov comes after the first sidx or fragment", moov_box.offset)
    entry = track.entry
    return TrackIndex(
        track_id=track.track_id,
        kind=track.kind,
        sample_entry=entry.format,
        codec=entry.codec,
        timescale=track.timescale,
        media_time=track.media_time,
        init_size=init_size,
        width=entry.width,
        height=entry.height,
        sample_rate=entry.sample_rate,
        channels=entry.channels,
        language=track.language,
        file_size=file_size,
        fragments=tuple(fragments),
    )


def read_track_index_bytes(data: bytes) -> TrackIndex:
    """:func:`read_track_index` over an in-memory file (tests, fuzzing, small uploads)."""
    return read_track_index(io.BytesIO(data))
