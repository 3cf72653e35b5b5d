"""Sidecar captions: validate an upload, store it as normalised WebVTT, list and delete.

Stored under ``packaged/{asset}/captions/{track}.vtt`` (so deleting an asset removes them) and
recorded in the catalogue; each upload gets a new random track id, so every caption URL is
immutable. Every change publishes ``asset.updated``: edges purge and the next manifest lists
the new set of text tracks.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from vodstack.base import ASSET_UPDATED, EventBus
from vodstack.captions.webvtt import CaptionInvalid, Cue, parse_captions, write_webvtt
from vodstack.catalogue import Caption, MediaCatalogue, PurgeScope, Scope
from vodstack.packaging import is_language_tag, language_name, language_tag
from vodstack.storage import PACKAGED, ObjectStore, validate_key

CAPTION_KINDS = ("subtitles", "captions")
_ALPHABET = string.ascii_lowercase + string.digits


def new_text_track_id() -> str:
    """``t`` + 7 random characters: a delivery-layout track name never used before."""
    return "t" + "".join(secrets.choice(_ALPHABET) for _ in range(7))


def caption_key(asset_id: str, track_id: str) -> str:
    return validate_key(f"{PACKAGED}/{asset_id}/captions/{track_id}.vtt")


@dataclass(frozen=True, slots=True)
class CaptionRequest:
    """What the uploader says about a caption file."""

    language: str
    label: str | None = None
    default: bool = False
    forced: bool = False
    kind: str = "subtitles"  # "captions" = for the deaf and hard of hearing (CEA/SDH)

    def validated(self) -> CaptionRequest:
        if not is_language_tag(self.language):
            raise CaptionInvalid(
                f"language {self.language!r} is not a language tag; use e.g. 'en', 'fr' or "
                "'pt-BR' (RFC 5646)"
            )
        if self.kind not in CAPTION_KINDS:
            raise CaptionInvalid(f"kind must be one of {', '.join(CAPTION_KINDS)}")
        tag = language_tag(self.language) or self.language
        label = (self.label or "").strip() or language_name(tag) or tag
        if len(label) > 100 or any(c in label for c in '"\r\n'):
            raise CaptionInvalid("the label must be at most 100 characters, without quotes")
        return CaptionRequest(tag, label, self.default, self.forced, self.kind)


class CaptionService:
    def __init__(
        self, media: MediaCatalogue, store: ObjectStore, bus: EventBus, max_bytes: int
    ) -> None:
        self.media = media
        self.store = store
        self.bus = bus
        self.max_bytes = max_bytes

    def add(
        self,
        asset_id: str,
        data: bytes,
        request: CaptionRequest,
        *,
        filename: str = "",
        content_type: str = "",
    ) -> Caption:
        if len(data) > self.max_bytes:
            raise CaptionInvalid(f"the caption file exceeds {self.max_bytes} bytes")
        if not data.strip():
            raise CaptionInvalid("the caption file is empty")
        request = request.validated()
        cues = parse_captions(data, filename, content_type)
        track_id = new_text_track_id()
        key = caption_key(asset_id, track_id)
        self._store(key, cues)
        caption = self.media.add_caption(
            Caption(
                asset_id=asset_id,
                track_id=track_id,
                revision=None,
                source="upload",
                language=request.language,
                label=request.label or request.language,
                is_default=request.default,
                forced=request.forced,
                kind=request.kind,
                file_key=key,
                cue_count=len(cues),
            )
        )
        self.bus.publish(
            ASSET_UPDATED, asset_id, action="captions", track=track_id, purge=_track(track_id)
        )
        return caption

    def _store(self, key: str, cues: list[Cue]) -> None:
        with self.store.writer(key) as fh:
            fh.write(write_webvtt(cues).encode())

    def delete(self, asset_id: str, track_id: str) -> None:
        caption = self.media.delete_caption(asset_id, track_id)
        self.store.delete_prefix(caption.file_key)
        self.bus.publish(
            ASSET_UPDATED, asset_id, action="captions", track=track_id, purge=_track(track_id)
        )


def _track(track_id: str) -> dict[str, object]:
    """Edges forget the manifests and this track's objects in every tag; nothing else."""
    return PurgeScope(Scope.TRACK, track=track_id).to_payload()


def read_cues(store: ObjectStore, key: str) -> list[Cue]:
    """Cues of a stored (already validated) WebVTT file."""
    from vodstack.captions.webvtt import parse_webvtt

    path = store.local_path(key)
    if path is not None:
        text = path.read_text("utf-8")
    else:
        with store.open(key) as fh:
            text = fh.read().decode("utf-8")
    try:
        return parse_webvtt(text)
    except CaptionInvalid:
        return []  # an embedded track that had no cue at all
