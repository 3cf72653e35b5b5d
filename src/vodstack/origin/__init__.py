"""The origin: resolves delivery paths to manifests (packaged just in time) or stored bytes."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.origin.origin import Origin
    from vodstack.origin.protect import ProtectedPackager
    from vodstack.origin.ranges import ByteRange, parse_range
    from vodstack.origin.resources import MANIFEST_TYPES

__all__ = [
    "MANIFEST_TYPES",
    "ByteRange",
    "Origin",
    "ProtectedPackager",
    "parse_range",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "origin": ["Origin"],
        "protect": ["ProtectedPackager"],
        "ranges": ["ByteRange", "parse_range"],
        "resources": ["MANIFEST_TYPES"],
    },
)
