"""Protection System Specific Header boxes (ISO/IEC 23001-7 §8.1).

We build the W3C "common" PSSH ourselves: a version-1 box with SystemID 1077efec…, the KID list
and no data, from which every browser's ClearKey CDM forms its licence request (W3C EME "cenc"
Initialization Data Format). PSSH boxes for Widevine, PlayReady or other DRMs are opaque to us:
an external key service (SPEKE v2 / CPIX ``PSSH`` element) hands over whole boxes in base64,
which we check for well-formedness and then insert verbatim.
"""

from __future__ import annotations

import base64
import binascii
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from vodstack.errors import BoxParseError
from vodstack.packaging.isobmff import ByteReader, make_full_box, parse_box_header

__all__ = [
    "COMMON_SYSTEM_ID",
    "DASHIF_CLEARKEY_SCHEME",
    "FAIRPLAY_SYSTEM_ID",
    "PLAYREADY_SYSTEM_ID",
    "WIDEVINE_SYSTEM_ID",
    "Pssh",
    "check_pssh",
    "clearkey_pssh",
    "make_pssh",
    "parse_pssh",
    "pssh_from_base64",
]

# dashif.org/identifiers/content_protection; the W3C one is also the EME "common" format.
COMMON_SYSTEM_ID = uuid.UUID("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b")
WIDEVINE_SYSTEM_ID = uuid.UUID("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed")
PLAYREADY_SYSTEM_ID = uuid.UUID("9a04f079-9840-4286-ab92-e65be0885f95")
FAIRPLAY_SYSTEM_ID = uuid.UUID("94ce86fb-07ff-4f43-adb8-93d2fa968ca2")
# Not a PSSH SystemID: the DASH-IF ClearKey ContentProtection schemeIdUri (urn:uuid:e2719d58…).
DASHIF_CLEARKEY_SCHEME = uuid.UUID("e2719d58-a985-b3c9-781a-b030af78d30e")


@dataclass(frozen=True, slots=True)
class Pssh:
    """The fields of one parsed ``pssh`` box."""

    system_id: uuid.UUID
    version: int
    kids: tuple[bytes, ...]
    data: bytes


def _system_id_bytes(system_id: uuid.UUID | bytes) -> bytes:
    raw = system_id.bytes if isinstance(system_id, uuid.UUID) else bytes(system_id)
    if len(raw) != 16:
        raise ValueError(f"a PSSH SystemID is 16 bytes, got {len(raw)}")
    return raw


def make_pssh(
    system_id: uuid.UUID | bytes,
    data: bytes = b"",
    kids: Sequence[bytes] = (),
    *,
    version: int | None = None,
) -> bytes:
    """Serialise a ``pssh`` box: version 1 when KIDs are listed (the KID list only exists in
    v1), else version 0 (ISO/IEC 23001-7 §8.1.2)."""
    if version is None:
        version = 1 if kids else 0
    if version not in (0, 1):
        raise ValueError(f"pssh version must be 0 or 1, got {version}")
    if kids and version == 0:
        raise ValueError("a version-0 pssh cannot carry a KID list")
    body = _system_id_bytes(system_id)
    if version == 1:
        for kid in kids:
            if len(kid) != 16:
                raise ValueError(f"a KID is 16 bytes, got {len(kid)}")
        body += struct.pack(">I", len(kids)) + b"".join(bytes(k) for k in kids)
    body += struct.pack(">I", len(data)) + bytes(data)
    return make_full_box("pssh", version, 0, body)


def clearkey_pssh(kids: Sequence[bytes]) -> bytes:
    """The W3C common PSSH: v1, the KIDs, DataSize 0 (W3C EME "cenc" Initialization Data)."""
    if not kids:
        raise ValueError("the common PSSH needs at least one KID")
    return make_pssh(COMMON_SYSTEM_ID, b"", kids, version=1)


def parse_pssh(box: bytes) -> Pssh:
    """Parse exactly one ``pssh`` box; anything else raises BoxParseError."""
    header = parse_box_header(box, 0, len(box), container="the PSSH bytes")
    if header.type != "pssh":
        raise BoxParseError(f"expected a 'pssh' box, found {header.type!r}", 0)
    if header.size != len(box):
        raise BoxParseError(f"pssh box claims {header.size} bytes but {len(box)} were given", 0)
    r = ByteReader.of(box, header)
    version, _ = r.full_box_header()
    if version > 1:
        raise BoxParseError(f"unsupported pssh version {version}", 0)
    system_id = uuid.UUID(bytes=r.read(16))
    kids: tuple[bytes, ...] = ()
    if version == 1:
        count = r.u32()
        if count * 16 > r.remaining:
            raise BoxParseError(f"pssh claims {count} KIDs but has room for fewer", 0)
        kids = tuple(r.read(16) for _ in range(count))
    data = r.read(r.u32())
    if r.remaining:
        raise BoxParseError(f"pssh has {r.remaining} bytes after its data", 0)
    return Pssh(system_id, version, kids, data)


def check_pssh(box: bytes) -> bytes:
    """Return ``box`` unchanged if it is one well-formed ``pssh`` box (for opaque DRM boxes)."""
    parse_pssh(box)
    return bytes(box)


def pssh_from_base64(text: str) -> bytes:
    """A whole ``pssh`` box from its base64 text (CPIX ``DRMSystem/PSSH``, SPEKE v2)."""
    try:
        box = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BoxParseError("PSSH from the key service is not valid base64") from None
    return check_pssh(box)
