"""WebVTT and SubRip: parse, validate, write, and cut into HLS subtitle segments (pure).

Vocabulary of the W3C WebVTT spec (§4): a file is a header then blocks; a *cue* block is an
optional identifier line, a timing line ``start --> end [settings]`` and payload lines. SRT
(SubRip) is the same idea with numbered cues and ``,`` before the milliseconds; it becomes
WebVTT here, with its HTML-ish tags reduced to the ones WebVTT knows (``<i> <b> <u>``).

Errors name the line and say what is wrong, because an uploader has to fix the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vodstack.errors import InvalidInput
from vodstack.packaging import format_timestamp

__all__ = [
    "CaptionInvalid",
    "Cue",
    "cues_between",
    "decode_text",
    "format_timestamp",
    "hls_segment",
    "parse_captions",
    "parse_srt",
    "parse_webvtt",
    "write_webvtt",
]

_MAX_CUES = 100_000
_MAX_HOURS = 100  # longer than any master we accept
# WebVTT §4.2 timestamp: [hh:]mm:ss.ttt ; SRT uses a comma and always has hours.
_TS = r"(?:(\d{1,3}):)?([0-5]\d):([0-5]\d)[.,](\d{3})"
_TIMING = re.compile(rf"^\s*{_TS}\s+-->\s+{_TS}(?:\s+(.*))?$")
_SRT_INDEX = re.compile(r"^\s*\d+\s*$")
_LOOKS_LIKE_TIMING = re.compile(r"^\s*\d+:\d+[.,:\d]*\s*-")
_ALLOWED_TAG = re.compile(r"</?(?:i|b|u)>", re.I)
_ANY_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


class CaptionInvalid(InvalidInput):
    """A caption file that cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Cue:
    """One cue; times in milliseconds (exact, no float drift across segments)."""

    start_ms: int
    end_ms: int
    text: str  # WebVTT cue payload, lines joined by "\n"
    settings: str = ""  # WebVTT cue settings (position, line, align, …), kept as written
    identifier: str = ""


def decode_text(data: bytes) -> str:
    """Caption files come in UTF-8 (with or without BOM), UTF-16 from Windows tools, or an old
    8-bit code page; anything else is refused (WebVTT itself is UTF-8 only, §4.1)."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CaptionInvalid("the file is binary, not a text caption file (.vtt or .srt)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CaptionInvalid("the file claims UTF-16 but is not valid UTF-16") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        if text.count("\ufffd") > 10:
            raise CaptionInvalid(
                "the file is not UTF-8 text; save it as UTF-8 and upload it again"
            ) from None
        return text


def _ms(groups: tuple[str | None, ...]) -> int:
    hours, minutes, seconds, millis = groups
    return ((int(hours or 0) * 60 + int(minutes or 0)) * 60 + int(seconds or 0)) * 1000 + int(
        millis or 0
    )


def _timing(line: str, lineno: int) -> tuple[int, int, str]:
    m = _TIMING.match(line)
    if m is None:
        raise CaptionInvalid(
            f"line {lineno}: {line.strip()[:60]!r} is not a cue timing "
            "('00:00:01.000 --> 00:00:03.500')"
        )
    start, end = _ms(m.groups()[0:4]), _ms(m.groups()[4:8])
    if end <= start:
        raise CaptionInvalid(
            f"line {lineno}: the cue ends ({format_timestamp(end)}) before it starts "
            f"({format_timestamp(start)})"
        )
    if end > _MAX_HOURS * 3_600_000:
        raise CaptionInvalid(f"line {lineno}: the cue ends after {_MAX_HOURS} hours")
    return start, end, (m.group(9) or "").strip()


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks with the line number of their first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if line.strip():
            if not current:
                start = number
            current.append(line.rstrip())
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _check_count(cues: list[Cue]) -> list[Cue]:
    if not cues:
        raise CaptionInvalid("the file has no cues")
    if len(cues) > _MAX_CUES:
        raise CaptionInvalid(f"the file has more than {_MAX_CUES} cues")
    return sorted(cues, key=lambda c: (c.start_ms, c.end_ms))


def parse_webvtt(text: str) -> list[Cue]:
    """Cues of a WebVTT file; NOTE, STYLE and REGION blocks are dropped (§4.1)."""
    blocks = _blocks(text.lstrip("\ufeff"))
    if not blocks or not re.match(r"^WEBVTT(?:[ \t].*)?$", blocks[0][1][0]):
        raise CaptionInvalid("line 1: a WebVTT file must start with 'WEBVTT'")
    cues: list[Cue] = []
    header = blocks[0][1][1:]
    if any("-->" in line for line in header):
        raise CaptionInvalid("line 2: put a blank line between 'WEBVTT' and the first cue")
    for lineno, lines in blocks[1:]:
        first = lines[0]
        if first.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in first:
            continue
        cues.append(_webvtt_cue(lineno, lines))
    return _check_count(cues)


def _webvtt_cue(lineno: int, block: list[str]) -> Cue:
    identifier = ""
    if _LOOKS_LIKE_TIMING.match(block[0]) and "-->" not in block[0]:
        _timing(block[0], lineno)  # a mistyped timing, not an identifier: say so
    if "-->" not in block[0]:
        identifier, block = block[0].strip(), block[1:]
        if not block:
            raise CaptionInvalid(f"line {lineno}: a cue identifier without a timing")
        lineno += 1
    start, end, settings = _timing(block[0], lineno)
    payload = block[1:]
    if any("-->" in line for line in payload):
        raise CaptionInvalid(
            f"line {lineno + 1}: '-->' inside a cue; separate cues with a blank line"
        )
    return Cue(start, end, "\n".join(payload), settings, identifier)


def _srt_text(lines: list[str]) -> str:
    """SubRip payload as WebVTT payload: ASS overrides and unknown tags go, ``&``/``<`` that
    are not markup are escaped (WebVTT §4.2.2 cue text)."""
    out = []
    for raw in lines:
        line = _ASS_OVERRIDE.sub("", raw)
        kept: list[str] = []
        pos = 0
        for m in _ANY_TAG.finditer(line):
            kept.append(_escape(line[pos : m.start()]))
            if _ALLOWED_TAG.fullmatch(m.group(0)):
                kept.append(m.group(0).lower())
            pos = m.end()
        kept.append(_escape(line[pos:]))
        out.append("".join(kept).rstrip())
    return "\n".join(out)


def _escape(text: str) -> str:
    parts = []
    pos = 0
    for m in _ENTITY.finditer(text):
        parts.append(text[pos : m.start()].replace("&", "&amp;"))
        parts.append(m.group(0))
        pos = m.end()
    parts.append(text[pos:].replace("&", "&amp;"))
    return "".join(parts).replace("<", "&lt;").replace(">", "&gt;")


def parse_srt(text: str) -> list[Cue]:
    cues: list[Cue] = []
    for lineno, block in _blocks(text.lstrip("\ufeff")):
        numbered = bool(_SRT_INDEX.match(block[0]))
        lines = block[1:] if numbered else block
        if not lines:
            raise CaptionInvalid(f"line {lineno}: a cue number without a timing")
        if lineno == 1 and lines[0].startswith("WEBVTT"):
            raise CaptionInvalid("line 1: this is a WebVTT file; upload it as .vtt")
        start, end, _ = _timing(lines[0], lineno + numbered)
        for offset, line in enumerate(lines[1:], start=lineno + numbered + 1):
            if "-->" in line:
                raise CaptionInvalid(
                    f"line {offset}: a cue timing inside a cue; separate cues with a blank line"
                )
        cues.append(Cue(start, end, _srt_text(lines[1:])))
    return _check_count(cues)


def parse_captions(data: bytes, filename: str = "", content_type: str = "") -> list[Cue]:
    """Decode and parse an uploaded caption file, WebVTT or SRT, by name, type or content."""
    text = decode_text(data)
    name = filename.lower()
    is_vtt = text.lstrip("\ufeff \n\r\t").startswith("WEBVTT")
    if is_vtt or name.endswith(".vtt") or "vtt" in content_type:
        return parse_webvtt(text)
    if name.endswith(".srt") or "subrip" in content_type or "-->" in text:
        return parse_srt(text)
    raise CaptionInvalid("not a caption file: upload WebVTT (.vtt) or SubRip (.srt)")


def write_webvtt(cues: list[Cue], header: tuple[str, ...] = ()) -> str:
    """A complete WebVTT file; ``header`` lines go right after ``WEBVTT`` (§4.1)."""
    lines = ["WEBVTT", *header, ""]
    for cue in cues:
        if cue.identifier:
            lines.append(cue.identifier)
        timing = f"{format_timestamp(cue.start_ms)} --> {format_timestamp(cue.end_ms)}"
        lines.append(f"{timing} {cue.settings}".rstrip())
        lines.extend(cue.text.split("\n") if cue.text else [])
        lines.append("")
    return "\n".join(lines) + "\n"


def cues_between(cues: list[Cue], start_ms: int, end_ms: int) -> list[Cue]:
    """Cues showing at any time in ``[start_ms, end_ms)``: a cue that spans a segment boundary
    belongs to both segments, unchanged, so a player that joins in either segment shows it and
    one that plays both sees the same cue twice and keeps one [RFC 8216 §3.5]."""
    return [c for c in cues if c.start_ms < end_ms and c.end_ms > start_ms]


def hls_segment_rates(
    cues: list[Cue], windows: list[tuple[int, int]], mpegts: int = 0
) -> tuple[int, int]:
    """(peak, average) bit rate of the HLS WebVTT segments cut on ``windows``: a subtitle
    rendition is part of every playable combination it can join, so the variant's
    BANDWIDTH and AVERAGE-BANDWIDTH count it [RFC 8216 §4.3.4.2]."""
    sizes = [len(hls_segment(cues, s, e, mpegts).encode()) * 8 for s, e in windows]
    spans = [(e - s) / 1000 for s, e in windows]
    peak = max(
        (math.ceil(bits / span) for bits, span in zip(sizes, spans, strict=True) if span > 0),
        default=0,
    )
    total = sum(spans)
    return peak, math.ceil(sum(sizes) / total) if total > 0 else 0


def hls_segment(cues: list[Cue], start_ms: int, end_ms: int, mpegts: int = 0) -> str:
    """One HLS WebVTT segment: a standalone WebVTT file whose ``X-TIMESTAMP-MAP`` ties cue time
    0 (LOCAL) to media time ``mpegts`` (90 kHz), the first video fragment's decode time
    [RFC 8216 §3.5]. Cue times stay absolute presentation times."""
    header = (f"X-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000",)
    return write_webvtt(cues_between(cues, start_ms, end_ms), header)
