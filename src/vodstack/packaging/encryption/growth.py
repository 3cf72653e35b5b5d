"""What ``cenc``/``cbcs`` add to each stored fragment, recorded beside the track file.

Protected segments are longer than the clear ones by the saiz/saio/senc boxes of each
fragment (ISO/IEC 23001-7 §7.2), whose size depends on every sample's subsample count, so the
bit rates a protected manifest advertises need one pass over the media (RFC 8216 §4.3.4.2:
BANDWIDTH ≥ the peak segment bit rate of the bytes served). The transcoder makes that pass
once per revision and stores the result as ``{track}.protection.json`` next to
``{track}.mp4``; origins read that small file instead of the media. A file the catalogue
does not know about, so older versions of vodstack ignore it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from vodstack.packaging.encryption.fragment import protected_size
from vodstack.packaging.encryption.track import TrackCrypto

__all__ = ["SCHEMES", "decode_growth", "encode_growth", "growth_key", "measure_growth"]

SCHEMES = ("cenc", "cbcs")
_SUFFIX = ".protection.json"


def growth_key(track_key: str) -> str:
    """``…/v360.mp4`` → ``…/v360.protection.json`` (works for file names too)."""
    stem = track_key[: -len(".mp4")] if track_key.endswith(".mp4") else track_key
    return stem + _SUFFIX


def measure_growth(
    fragments: Iterable[bytes], track: TrackCrypto, schemes: Iterable[str] = SCHEMES
) -> dict[str, list[int]]:
    """Bytes each scheme adds to each fragment (moof+mdat bytes, in track order), measured
    by the encryption code without the cipher (the parser's state restarts per fragment, so
    each value depends on its fragment alone)."""
    growth: dict[str, list[int]] = {scheme: [] for scheme in schemes}
    for data in fragments:
        for scheme, sizes in growth.items():
            sizes.append(protected_size(data, scheme, track) - len(data))  # type: ignore[arg-type]
    return growth


def encode_growth(growth: Mapping[str, list[int]]) -> bytes:
    return json.dumps({"version": 1, "growth": dict(growth)}, separators=(",", ":")).encode()


def decode_growth(data: bytes, fragment_count: int) -> dict[str, tuple[int, ...]]:
    """The recorded growth per scheme, only where it fits the track's fragment index (a
    record that does not is ignored: the caller measures instead)."""
    try:
        found = json.loads(data)
        growth = found["growth"] if found.get("version") == 1 else {}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}
    out: dict[str, tuple[int, ...]] = {}
    for scheme in SCHEMES:
        sizes = growth.get(scheme) if isinstance(growth, dict) else None
        if (
            isinstance(sizes, list)
            and len(sizes) == fragment_count
            and all(type(v) is int and 0 <= v < 1 << 31 for v in sizes)
        ):
            out[scheme] = tuple(sizes)
    return out
