"""Protect a CMAF header (ftyp+moov) just in time: the ``sinf`` rewrite of ISO/IEC 23001-7 §4.

Every sample entry of every trak is renamed to ``encv``/``enca`` and gains
``sinf{frma, schm, schi{tenc}}`` (ISO/IEC 14496-12 §8.12); the given ``pssh`` boxes are
appended at the end of ``moov`` (23001-7 §8.1). Boxes are rebuilt from the leaf up, so every
ancestor (stsd, stbl, minf, mdia, trak, moov) gets its new size. The output depends only on
the inputs, so every edge produces the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Literal

from vodstack.errors import BoxParseError, MediaError
from vodstack.packaging.encryption.keys import ContentKey
from vodstack.packaging.encryption.pssh import check_pssh
from vodstack.packaging.encryption.track import entry_fixed_size
from vodstack.packaging.isobmff import (
    Box,
    Region,
    box_header,
    children,
    iter_boxes,
    make_box,
    make_full_box,
)

__all__ = ["CBCS_VIDEO_PATTERN", "CENC_IV_SIZE", "Scheme", "check_scheme", "encrypt_init", "tenc"]

Scheme = Literal["cenc", "cbcs"]
CENC_IV_SIZE = 8  # CMAF wants 8-byte per-sample IVs for 'cenc' (ISO/IEC 23000-19 §8.2.3)
CBCS_VIDEO_PATTERN = (1, 9)  # crypt 1, skip 9 blocks: the 'cbcs' video pattern (23001-7 §10.4)
_NOT_IN_INIT = ("moof", "mdat", "sidx", "mfra", "ssix")
_STSD_FIXED = 8  # FullBox header + entry_count (14496-12 §8.5.2)
_SCHEME_VERSION = 0x00010000  # 23001-7 §4.2: scheme_version 1.0


def check_scheme(scheme: str) -> Scheme:
    if scheme not in ("cenc", "cbcs"):
        raise ValueError(f"unknown protection scheme {scheme!r}: expected 'cenc' or 'cbcs'")
    return scheme  # type: ignore[return-value]


def tenc(scheme: Scheme, key: ContentKey, handler: str) -> bytes:
    """TrackEncryptionBox (23001-7 §8.2). 'cenc': v0, 8-byte per-sample IVs. 'cbcs': v1 with
    the pattern (1:9 for video; 0:0 = whole-block full-sample for audio, §10.4), per-sample IV
    size 0 and the 16-byte constant IV."""
    if scheme == "cenc":
        return make_full_box("tenc", 0, 0, struct.pack(">BBBB", 0, 0, 1, CENC_IV_SIZE) + key.kid)
    crypt, skip = CBCS_VIDEO_PATTERN if handler == "vide" else (0, 0)
    head = struct.pack(">BBBB", 0, (crypt << 4) | skip, 1, 0)
    return make_full_box("tenc", 1, 0, head + key.kid + bytes([len(key.iv)]) + key.iv)


def _sinf(original: str, scheme: Scheme, key: ContentKey, handler: str) -> bytes:
    frma = make_box("frma", original.encode("latin-1"))
    schm = make_full_box("schm", 0, 0, scheme.encode("ascii") + struct.pack(">I", _SCHEME_VERSION))
    schi = make_box("schi", tenc(scheme, key, handler))
    return make_box("sinf", frma + schm + schi)


def _raw(buf: bytes, box: Box) -> bytes:
    return buf[box.offset : box.end]


def _rebuild(buf: bytes, box: Box, path: tuple[str, ...], leaf: Callable[[Box], bytes]) -> bytes:
    """Copy ``box``, rebuilding the children named ``path[0]`` down the path; at the end of the
    path (stsd) every child is a sample entry and goes through ``leaf``."""
    skip = _STSD_FIXED if box.type == "stsd" else 0
    parts = [buf[box.payload_offset : box.payload_offset + skip]]
    found = False
    for child in children(buf, box, skip=skip):
        if not path:
            parts.append(leaf(child))
            found = True
        elif child.type == path[0]:
            parts.append(_rebuild(buf, child, path[1:], leaf))
            found = True
        else:
            parts.append(_raw(buf, child))
    if not found:
        wanted = path[0] if path else "sample entry"
        raise BoxParseError(f"box {box.type!r} has no {wanted!r}", box.offset)
    body = b"".join(parts)
    return box_header(box.type, len(body), box.usertype) + body


def _handler(moov: Region, trak: Box) -> str:
    r = moov.reader(moov.require(moov.require(trak, "mdia"), "hdlr"))
    r.skip(8)  # FullBox header, pre_defined (14496-12 §8.4.3)
    return r.fourcc()


def _protect_entry(buf: bytes, entry: Box, handler: str, scheme: Scheme, key: ContentKey) -> bytes:
    """``avc1{…}`` → ``encv{…, sinf}``: same fixed fields and children, sinf appended before
    any QuickTime-style zero terminator."""
    if entry.type in ("encv", "enca", "enct", "encs"):
        raise MediaError(f"sample entry {entry.type!r} is already protected")
    fixed = entry_fixed_size(buf, entry, handler)
    inner = list(children(buf, entry, skip=fixed, allow_padding=True))
    body_end = inner[-1].end if inner else entry.payload_offset + fixed
    if body_end > entry.end:
        raise BoxParseError(f"sample entry {entry.type!r} too small", entry.offset)
    body = (
        buf[entry.payload_offset : body_end]
        + _sinf(entry.type, scheme, key, handler)
        + buf[body_end : entry.end]
    )
    return box_header("encv" if handler == "vide" else "enca", len(body)) + body


def _protect_moov(
    buf: bytes, moov_box: Box, scheme: Scheme, key: ContentKey, pssh: Sequence[bytes]
) -> bytes:
    moov = Region(buf)
    parts: list[bytes] = []
    traks = 0
    for child in moov.children(moov_box):
        if child.type != "trak":
            parts.append(_raw(buf, child))
            continue
        handler = _handler(moov, child)

        def leaf(entry: Box, handler: str = handler) -> bytes:
            return _protect_entry(buf, entry, handler, scheme, key)

        parts.append(_rebuild(buf, child, ("mdia", "minf", "stbl", "stsd"), leaf))
        traks += 1
    if not traks:
        raise BoxParseError("moov has no trak", moov_box.offset)
    body = b"".join(parts) + b"".join(pssh)
    return box_header("moov", len(body)) + body


def encrypt_init(
    init: bytes, scheme: Scheme, key: ContentKey, pssh_boxes: Sequence[bytes] = ()
) -> bytes:
    """The protected form of a CMAF header ``init`` = bytes [0, init_size) of a track file.

    ``pssh_boxes`` are whole boxes (ours from :func:`~.pssh.clearkey_pssh`, or opaque ones from
    a key service); each is checked to be one well-formed ``pssh`` box and copied verbatim.
    """
    scheme = check_scheme(scheme)
    init = bytes(init)
    boxes = list(iter_boxes(init))
    stray = next((b for b in boxes if b.type in _NOT_IN_INIT), None)
    if stray is not None:
        raise MediaError(
            f"the init segment must end before the first sidx/moof: found {stray.type!r} "
            f"at byte {stray.offset}"
        )
    moovs = [b for b in boxes if b.type == "moov"]
    if len(moovs) != 1:
        raise BoxParseError(f"an init segment has one moov box, found {len(moovs)}")
    checked = [check_pssh(box) for box in pssh_boxes]
    out = [
        _protect_moov(init, b, scheme, key, checked) if b.type == "moov" else _raw(init, b)
        for b in boxes
    ]
    return b"".join(out)
