"""Packaging (pure): the one CMAF copy read as ISO BMFF and written as HLS and DASH just in time,
with the delivery URL layout, segment maps and encryption (``packaging.encryption``).
No web framework, database or subprocess here."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.packaging.dash import DashProtection
    from vodstack.packaging.fragment_writer import adts_frames, audio_fragment
    from vodstack.packaging.hls import HlsKey
    from vodstack.packaging.isobmff import iter_boxes
    from vodstack.packaging.language import is_language_tag, iso639_2, language_name, language_tag
    from vodstack.packaging.layout import (
        DeliveryPath,
        VariantTag,
        cache_path,
        parse_delivery_path,
        sheet_uri,
    )
    from vodstack.packaging.model import (
        Presentation,
        StoredFile,
        TextTrack,
        Track,
        fragment_from_row,
        fragment_to_row,
    )
    from vodstack.packaging.retime import retime_fragments
    from vodstack.packaging.segments import (
        Segment,
        ServedSizes,
        index_memo,
        segment_track,
        served_sizes,
    )
    from vodstack.packaging.track_index import (
        Fragment,
        TrackIndex,
        read_track_index,
        read_track_index_bytes,
    )
    from vodstack.packaging.trickplay import keyframe_fragment
    from vodstack.packaging.webvtt_time import format_timestamp

__all__ = [
    "DashProtection",
    "DeliveryPath",
    "Fragment",
    "HlsKey",
    "Presentation",
    "Segment",
    "ServedSizes",
    "StoredFile",
    "TextTrack",
    "Track",
    "TrackIndex",
    "VariantTag",
    "adts_frames",
    "audio_fragment",
    "cache_path",
    "format_timestamp",
    "fragment_from_row",
    "fragment_to_row",
    "index_memo",
    "is_language_tag",
    "iso639_2",
    "iter_boxes",
    "keyframe_fragment",
    "language_name",
    "language_tag",
    "parse_delivery_path",
    "read_track_index",
    "read_track_index_bytes",
    "retime_fragments",
    "segment_track",
    "served_sizes",
    "sheet_uri",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "dash": ["DashProtection"],
        "fragment_writer": ["adts_frames", "audio_fragment"],
        "hls": ["HlsKey"],
        "isobmff": ["iter_boxes"],
        "language": ["is_language_tag", "iso639_2", "language_name", "language_tag"],
        "layout": ["DeliveryPath", "VariantTag", "cache_path", "parse_delivery_path", "sheet_uri"],
        "model": [
            "Presentation",
            "StoredFile",
            "TextTrack",
            "Track",
            "fragment_from_row",
            "fragment_to_row",
        ],
        "retime": ["retime_fragments"],
        "segments": ["Segment", "ServedSizes", "index_memo", "segment_track", "served_sizes"],
        "track_index": ["Fragment", "TrackIndex", "read_track_index", "read_track_index_bytes"],
        "trickplay": ["keyframe_fragment"],
        "webvtt_time": ["format_timestamp"],
    },
)
