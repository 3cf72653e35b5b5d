"""Content protection at the packager: per-asset schemes, content keys, key providers.

The same stored clear CMAF copy is served clear, HLS AES-128, CMAF ``cbcs`` (HLS SAMPLE-AES and
DASH) or ``cenc`` (DASH), just in time; switching or re-keying needs no re-transcode.
"""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.protection.service import (
        CLEAR_KEY_REFUSED,
        SCHEMES,
        ActiveKey,
        Protection,
        build_protection,
        dash_scheme,
        hls_scheme,
        parse_schemes,
        refuse_external_in_clear,
    )

__all__ = [
    "CLEAR_KEY_REFUSED",
    "SCHEMES",
    "ActiveKey",
    "Protection",
    "build_protection",
    "dash_scheme",
    "hls_scheme",
    "parse_schemes",
    "refuse_external_in_clear",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "service": [
            "ActiveKey",
            "CLEAR_KEY_REFUSED",
            "Protection",
            "SCHEMES",
            "build_protection",
            "dash_scheme",
            "hls_scheme",
            "parse_schemes",
            "refuse_external_in_clear",
        ],
    },
)
