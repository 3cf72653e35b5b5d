"""Fuzz targets shared by the hypothesis tests (CI) and the coverage-guided run (bench/fuzz.py).

Each target takes raw bytes (what atheris mutates; hypothesis generates them too), turns them
into the input of one parser or writer, and checks the properties callers rely on. The rule
for every target: only vodstack's own errors (``VodstackError`` and subclasses) may escape a
parser; anything else — ``ValueError``, ``IndexError``, ``struct.error``, a wrong answer — is a
bug and surfaces as an exception or a failed assertion.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime

import m3u8
import mpegdash.parser

from vodstack.entitlement import cfbase64
from vodstack.entitlement.keygroup import KeyGroup, TrustedKey
from vodstack.entitlement.keys import PrivateKey, generate_private_key, public_key_pem
from vodstack.entitlement.policy import Policy, PolicyError, evaluate, parse_policy
from vodstack.entitlement.requestparts import (
    has_unsafe_path,
    parse_cookie_header,
    parse_query,
    strip_signing_params,
)
from vodstack.entitlement.signing import signed_cookies, signed_url
from vodstack.entitlement.verify import REASONS, SignatureVerifier
from vodstack.errors import BoxParseError, RangeNotSatisfiable, VodstackError
from vodstack.origin.ranges import parse_range
from vodstack.packaging import dash, hls
from vodstack.packaging.isobmff import iter_boxes
from vodstack.packaging.layout import VariantTag, parse_delivery_path
from vodstack.packaging.model import Presentation, Track
from vodstack.packaging.segments import segment_track
from vodstack.packaging.track_index import Fragment, read_track_index_bytes

__all__ = ["TARGETS", "Bytes"]

HOST = "https://vod.example.com"
ASSET = "a1b2c3d4e5f6"
NOW = 1_800_000_000
KEY_ID = "KFUZZ00000001"


class Bytes:
    """Deterministic decoding of fuzz bytes into values (a tiny FuzzedDataProvider that works
    the same under atheris and hypothesis). Past the end, everything reads as zero."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk.ljust(n, b"\0")

    def int(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        span = hi - lo + 1
        width = max(1, (span.bit_length() + 7) // 8)
        return lo + int.from_bytes(self.take(width), "big") % span

    def pick(self, options: tuple | list):  # type: ignore[no-untyped-def]
        return options[self.int(0, len(options) - 1)]

    def text(self, max_len: int) -> str:
        return self.take(self.int(0, max_len)).decode("latin-1")

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk


# ----------------------------------------------------------------------------- ISO-BMFF


def isobmff(data: bytes) -> None:
    """The track-file reader and the box walker: BoxParseError or a consistent index."""
    try:
        for _ in iter_boxes(data):
            pass
    except BoxParseError:
        pass
    try:
        index = read_track_index_bytes(data)
    except BoxParseError:
        return
    assert index.timescale > 0
    assert 0 < index.init_size <= index.file_size == len(data)
    position = index.init_size
    for fragment in index.fragments:
        assert fragment.offset >= position
        assert fragment.offset < fragment.key_sample_end <= fragment.offset + fragment.size
        assert fragment.duration >= 0 and fragment.sample_count > 0
        position = fragment.offset + fragment.size
    assert position <= index.file_size


# ----------------------------------------------------------------------------- Range


def _reference_range(header: str, size: int) -> tuple[int, int] | str | None:
    """RFC 9110 §14.1.2 single byte-range, ASCII digits only: (start, end), None, or "416"."""
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash_, last = spec.strip().partition("-")
    ascii_digits = lambda s: s.isascii() and s.isdigit()  # noqa: E731
    if (
        not dash_
        or not (first == "" or ascii_digits(first))
        or not (last == "" or ascii_digits(last))
    ):
        return None
    if first == "":
        if last == "":
            return None
        if int(last) == 0:
            return "416"
        return (max(0, size - int(last)), size - 1) if size else None
    if last and int(last) < int(first):
        return None
    if int(first) >= size:
        return "416"
    return int(first), min(int(last) if last else size - 1, size - 1)


def ranges(data: bytes) -> None:
    """parse_range against an independent reference on any header and resource size."""
    b = Bytes(data)
    size = b.pick((0, 1, 2, 100, 1 << 20, b.int(0, 1 << 40)))
    header = b.rest().decode("latin-1")
    try:
        got = parse_range(header, size)
    except RangeNotSatisfiable as exc:
        refused_size = exc.size
        answer: tuple[int, int] | str | None = "416"
        assert refused_size == size
    else:
        answer = None if got is None else (got.start, got.end)
        if got is not None:
            assert 0 <= got.start <= got.end < size and got.length == got.end - got.start + 1
    if len(header) <= 200:  # longer headers are ignored on purpose (MAX_HEADER)
        assert answer == _reference_range(header, size), (header, size, answer)


# ----------------------------------------------------------------------------- cookies / policy


@dataclasses.dataclass(frozen=True)
class _Grant:
    key: PrivateKey
    verifier: SignatureVerifier
    cookie_header: str
    signed_url: str
    signatures: frozenset[bytes]


@functools.cache
def _grant() -> _Grant:
    key = generate_private_key("rsa")
    created = datetime(2026, 1, 1, tzinfo=UTC)
    group = KeyGroup([TrustedKey(KEY_ID, public_key_pem(key), "active", created)])
    verifier = SignatureVerifier(lambda: group, lambda: NOW)
    policy = Policy(f"{HOST}/v1/{ASSET}/*", NOW + 600)
    cookies = signed_cookies(policy, KEY_ID, key)
    url = signed_url(f"{HOST}/v1/{ASSET}/r1-4s/v720/3.m4s", KEY_ID, key, expires=NOW + 60)
    sigs = {cfbase64.decode(cookies["CloudFront-Signature"])}
    sigs.add(cfbase64.decode(url.rsplit("Signature=", 1)[1].split("&", 1)[0]))
    header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return _Grant(key, verifier, header, url, frozenset(sigs))


def seed_cookie_inputs() -> list[bytes]:
    """Valid grants to start mutating from: the verifier's deep paths are behind them."""
    g = _grant()
    good_url = f"{HOST}/v1/{ASSET}/r1-4s/v720/3.m4s"
    return [
        f"{good_url}\n{g.cookie_header}\n198.51.100.7".encode(),
        f"{g.signed_url}\n\n::1".encode(),
        f"{HOST}/v1/{ASSET}/../other/x\n{g.cookie_header}\n1.2.3.4".encode(),
    ]


def cookies(data: bytes) -> None:
    """Request parts and the verifier: never an exception, never ``ok`` without our signature."""
    text = data.decode("latin-1")
    url, _, rest = text.partition("\n")
    cookie_header, _, client_ip = rest.partition("\n")
    parsed = parse_cookie_header(cookie_header)
    assert all(isinstance(v, list) and v for v in parsed.values())
    parse_query(url)
    stripped = strip_signing_params(url)
    assert len(stripped) <= len(url)
    has_unsafe_path(url)
    g = _grant()
    verdict = g.verifier.verify(url, parsed, None, client_ip)
    assert verdict.reason in (None, *REASONS)
    if verdict.ok:
        # Allowed only with a signature we issued, within its policy, on a clean path.
        assert verdict.policy is not None
        found = parse_query(url).get("Signature") or parsed.get("CloudFront-Signature") or []
        assert any(cfbase64.decode(s) in g.signatures for s in found), text
        assert evaluate(verdict.policy, stripped, NOW, client_ip) is None
        assert not has_unsafe_path(stripped)


def policy(data: bytes) -> None:
    """Custom policies: PolicyError or a policy that serialises and parses back to itself."""
    try:
        parsed = parse_policy(data)
    except PolicyError:
        return
    assert parse_policy(parsed.to_json()) == parsed
    json.loads(parsed.to_json())


def seed_policy_inputs() -> list[bytes]:
    return [
        Policy(f"{HOST}/v1/{ASSET}/*", NOW).to_json(),
        Policy(f"{HOST}/v1/*", NOW, NOW - 5, "192.0.2.0/24").to_json(),
        b'{"Statement":[{"Resource":"x","Condition":{"DateLessThan":{"AWS:EpochTime":1}}}]}',
    ]


# ----------------------------------------------------------------------------- manifests

_CODECS = ("avc1.64001f", "mp4a.40.2", "hvc1.1.6.L93.B0", "av01.0.04M.08", 'x"y,z\n#EXT', "&<>")


def _fragments(b: Bytes, count: int) -> tuple[Fragment, ...]:
    out: list[Fragment] = []
    offset = b.int(8, 5000)
    t = b.int(0, 1 << 20)
    base = b.int(1, 1 << 20)
    for _ in range(count):
        duration = base if b.int(0, 7) else b.int(0, 1 << 21)
        size = b.int(1, 1 << 22)
        gap = b.int(0, 3) * b.int(0, 100)
        cto = b.int(0, 4000) if b.int(0, 3) == 0 else 0
        out.append(
            Fragment(
                offset=offset,
                size=size,
                decode_time=t,
                duration=duration,
                presentation_time=t + cto,
                sample_count=b.int(1, 300),
                starts_with_sap=bool(b.int(0, 8)),
                key_sample_end=offset + min(size, b.int(1, 4000)),
            )
        )
        offset += size
        t += duration + gap
    return tuple(out)


def presentation_from(data: bytes) -> tuple[Presentation, VariantTag]:
    """A presentation shaped like what the track index can produce (timescale > 0, ≥ 1
    fragment per track, monotonic offsets), with fuzzed values everywhere else."""
    b = Bytes(data)
    tracks: list[Track] = []
    n_video, n_audio = b.int(0, 4), b.int(0, 2)
    if n_video + n_audio == 0:
        n_video = 1
    for i in range(n_video + n_audio):
        is_video = i < n_video
        timescale = b.pick((90000, 15360, 48000, 1000, 1, b.int(1, 1 << 31)))
        frags = _fragments(b, b.int(1, 40))
        height = b.int(2, 4320)
        tracks.append(
            Track(
                track_id=f"v{height}x{i}" if is_video else f"a{i}",
                kind="video" if is_video else "audio",
                codec=b.pick(_CODECS),
                timescale=timescale,
                media_time=b.int(0, 5000),
                init_size=frags[0].offset,
                file_key=f"k/{i}.mp4",
                file_size=frags[-1].offset + frags[-1].size,
                fragments=frags,
                width=b.int(2, 7680) if is_video else None,
                height=height if is_video else None,
                frame_rate=b.pick((None, "30", "30000/1001", "25", "1/3")) if is_video else None,
                sample_rate=None if is_video else b.pick((None, 48000, 44100, 8000)),
                channels=None if is_video else b.pick((None, 1, 2, 6)),
                language=None if is_video else b.pick((None, "eng", "fra")),
            )
        )
    tag = VariantTag(b.int(1, 999), b.pick((2, 4, 6, 10)), b.pick((None, None, "cbcs")), 1)
    duration = max(sum(f.duration for f in t.fragments) / t.timescale for t in tracks)
    return Presentation(ASSET, tag.revision, duration, tuple(tracks)), tag


def _close(a: float, b: float, timescale: int, count: int) -> bool:
    # EXTINF has 6 decimals; each segment may be off by 5e-7 s, plus a tick of rounding.
    return abs(a - b) <= count * 1e-6 + 2 / timescale + 1e-9


def manifests(data: bytes) -> None:
    """Writers → independent parsers (m3u8, mpegdash): same segments, durations and URLs."""
    p, tag = presentation_from(data)
    variants = m3u8.loads(hls.multivariant_playlist(p, tag))
    assert len(variants.playlists) == len(p.videos)
    for playlist in variants.playlists:
        assert playlist.stream_info.bandwidth >= 0
        assert parse_delivery_path(playlist.uri) is not None, playlist.uri
    for track in p.tracks:
        segments = segment_track(track, tag.segment_s)
        media = m3u8.loads(hls.media_playlist(track, tag))
        assert media.is_endlist and media.playlist_type == "vod"
        assert len(media.segments) == len(segments)
        total = sum(s.duration for s in media.segments)
        expected = sum(s.duration for s in segments) / track.timescale
        assert _close(total, expected, track.timescale, len(segments)), (total, expected)
        assert media.target_duration >= max(round(s.duration) for s in media.segments)
        for seg, ours in zip(media.segments, segments, strict=True):
            assert parse_delivery_path(f"{tag}/{seg.uri}") is not None, seg.uri
            assert seg.uri.endswith(f"/{ours.number}.m4s")
    mpd = mpegdash.parser.MPEGDASHParser.parse(dash.mpd(p, tag))
    reps = {rep.id: rep for aset in mpd.periods[0].adaptation_sets for rep in aset.representations}
    assert set(reps) == {t.track_id for t in p.tracks}
    for track in p.tracks:
        template = reps[track.track_id].segment_templates[0]
        timeline = template.segment_timelines[0].Ss
        count = sum(1 + (s.r or 0) for s in timeline)
        segments = segment_track(track, tag.segment_s)
        assert count == len(segments)
        assert sum(s.d * (1 + (s.r or 0)) for s in timeline) == sum(s.duration for s in segments)
        assert int(template.timescale) == track.timescale


TARGETS: dict[str, Callable[[bytes], None]] = {
    "isobmff": isobmff,
    "ranges": ranges,
    "cookies": cookies,
    "policy": policy,
    "manifests": manifests,
}

#: Exceptions a target may raise that are still "our own": a parser refusing input.
OWN_ERRORS: tuple[type[BaseException], ...] = (VodstackError,)


def run_one(target: Callable[[bytes], None], data: bytes) -> None:
    """Call a target; our own error types are an accepted outcome, nothing else is."""
    with contextlib.suppress(*OWN_ERRORS):
        target(data)
