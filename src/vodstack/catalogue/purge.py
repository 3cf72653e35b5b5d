"""Purge scopes: what an asset event changed, so that edges forget exactly that (pure).

Why not "purge the whole asset" on every event: media playlists, init and media segments are
immutable — their URLs carry the revision, segment duration, protection scheme and key
generation (``packaging.layout``) — so a caption upload, a new poster or a publish changes
none of their bytes. Dropping them sends every edge back to the origin for every segment of
a hot title. The publisher of an event knows what changed and says it in the event's
``purge`` payload; every edge and shield applies the same rule to its cached paths:

==============  =========================================================================
``asset``       everything: takedown (unpublish, delete); an event without a scope
``manifests``   ``index.m3u8``, ``index.mpd`` (publish, protection change, re-key)
``track``       manifests and every object of one track in every tag (caption edits)
``pictures``    ``poster.jpg`` (poster choice)
``download``    ``download.mp4`` (downloads allowed or refused)
``revision``    everything outside a tag and every playlist (a new revision is ready)
``none``        nothing (access rules: the gate and ``/play`` decide per request)
==============  =========================================================================

Any scope can also *retire* tags the origin stops serving, as a takedown of those URLs:
``revision`` (tags older than the previous revision, origin.Origin.resolve), ``schemes``
(tags of a protection scheme no longer served, ``"clear"`` for clear tags) and
``generations`` (tags of a key generation older than the previous one). And every purge
drops the asset's cached 404s: an event may turn a "not found" into an answer.

The scopes live in the catalogue because they are data the catalogue keeps: publishers (caption,
protection and asset commands, the job pipeline) write them into the event log, and every edge
reads them back from it. So the prepare and operations code that says what changed need not
import the edge that acts on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from vodstack.packaging import parse_delivery_path

MANIFESTS = frozenset({"index.m3u8", "index.mpd"})


class Scope(StrEnum):
    ASSET = "asset"
    MANIFESTS = "manifests"
    TRACK = "track"
    PICTURES = "pictures"
    DOWNLOAD = "download"
    REVISION = "revision"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PurgeScope:
    """What of one asset an event changed (see the module docstring)."""

    scope: Scope = Scope.ASSET
    track: str | None = None  # Scope.TRACK
    revision: int | None = None  # tags older than revision - 1 go
    schemes: tuple[str, ...] | None = None  # tags of other schemes go ("clear" = clear tags)
    generations: tuple[tuple[str, int], ...] = ()  # (scheme, current generation)

    def to_payload(self) -> dict[str, Any]:
        """The ``purge`` value of an event payload (JSON)."""
        out: dict[str, Any] = {"scope": self.scope.value}
        if self.track is not None:
            out["track"] = self.track
        if self.revision is not None:
            out["revision"] = self.revision
        if self.schemes is not None:
            out["schemes"] = list(self.schemes)
        if self.generations:
            out["generations"] = dict(self.generations)
        return out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> PurgeScope:
        """The scope an event asks for. Events without one, and any scope this version does
        not understand (a newer publisher), purge the whole asset: forgetting too much costs
        origin fetches, forgetting too little serves what was taken down."""
        raw = (payload or {}).get("purge")
        if not isinstance(raw, Mapping):
            return cls()
        try:
            scope = Scope(str(raw.get("scope")))
            track = raw.get("track")
            revision = raw.get("revision")
            schemes = raw.get("schemes")
            generations = raw.get("generations") or {}
            made = cls(
                scope,
                str(track) if track is not None else None,
                int(revision) if revision is not None else None,
                tuple(str(s) for s in schemes) if schemes is not None else None,
                tuple(sorted((str(k), int(v)) for k, v in dict(generations).items())),
            )
        except (TypeError, ValueError):
            return cls()
        if made.scope is Scope.TRACK and not made.track:
            return cls()
        return made

    @property
    def everything(self) -> bool:
        return self.scope is Scope.ASSET

    @property
    def nothing(self) -> bool:
        return self.scope is Scope.NONE and not self._retires

    @property
    def _retires(self) -> bool:
        return self.revision is not None or self.schemes is not None or bool(self.generations)

    def covers(self, path: str) -> bool:
        """Whether the cached object at ``path`` (after ``/v1/{assetId}/``) must go."""
        if self.scope is Scope.ASSET:
            return True
        parsed = parse_delivery_path(path)
        if parsed is None:  # not in the layout: nothing an edge keeps for long
            return True
        tag = parsed.tag
        if tag is not None and self._retired(tag.revision, tag.scheme, tag.key_generation):
            return True
        match self.scope:
            case Scope.MANIFESTS:
                return path in MANIFESTS
            case Scope.TRACK:
                return path in MANIFESTS or (tag is not None and parsed.track_id == self.track)
            case Scope.PICTURES:
                return parsed.kind == "poster"
            case Scope.DOWNLOAD:
                return parsed.kind == "download"
            case Scope.REVISION:
                return tag is None or path.endswith(".m3u8")
        return False

    def _retired(self, revision: int, scheme: str | None, generation: int) -> bool:
        if self.revision is not None and revision < self.revision - 1:
            return True
        if self.schemes is not None and (scheme or "clear") not in self.schemes:
            return True
        current = dict(self.generations).get(scheme or "")
        return current is not None and generation < current - 1


ASSET = PurgeScope()
