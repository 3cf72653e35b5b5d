"""Resolve ``/v1/{assetId}/{path}`` to a resource: JIT manifests or slices of the CMAF copy.

Nothing packaged is stored: manifests are written per request from the catalogue's fragment
index (cached per revision), segments are byte ranges of the one stored track file.

Beside the media (issue #8): subtitle playlists and WebVTT segments cut from one stored
WebVTT file per text track, I-frame playlists from the keyframe index, the poster, frames
cut on the fly (``thumbnail.jpg``), the storyboard, and the MP4 download. Text tracks and
pictures are served unencrypted under any tag of a served revision (subtitles and previews
are not the protected content; the signed gate still covers them); I-frame playlists only
in the clear.

:meth:`Origin.resolve` parses the path and hands it to the resolver of its kind (the table
in ``Origin.__init__``); each resolver checks what its kind requires (served tag, pictures
allowed, protection) and builds the answer:

    multivariant, mpd                    manifests.Manifests
    playlist, iframes                    playlists.Playlists
    init, segment, keyframe              segments.Segments (windowed.WindowedSlices)
    text_file, text_segment              texts.Texts
    poster, thumbnail, storyboard, sheet pictures.Pictures
    download                             downloads.Downloads
    key, license                         keys.Keys

What is made at request time on the prepare side (window chunks, frame cuts) comes through
the ``WindowSource`` and ``FrameSource`` protocols (``origin.sources``).
"""

from __future__ import annotations

from collections.abc import Callable

from vodstack.catalogue import Asset, Catalogue
from vodstack.config import Settings
from vodstack.errors import NotFound
from vodstack.origin.downloads import Downloads
from vodstack.origin.keys import Keys
from vodstack.origin.manifests import Manifests
from vodstack.origin.pictures import Pictures
from vodstack.origin.playlists import Playlists
from vodstack.origin.presentations import Presentations
from vodstack.origin.protect import ProtectedPackager
from vodstack.origin.rules import ServingRules
from vodstack.origin.segments import Segments
from vodstack.origin.sources import FrameSource, WindowSource
from vodstack.origin.texts import Texts
from vodstack.origin.windowed import WindowedSlices
from vodstack.packaging import (
    DeliveryPath,
    Presentation,
    Segment,
    Track,
    VariantTag,
    parse_delivery_path,
)
from vodstack.storage import ObjectStore
from vodstack.storage.slices import Resource

#: Answers one kind of delivery path for a playable asset.
Resolver = Callable[[Asset, DeliveryPath], Resource]


class Origin:
    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        store: ObjectStore,
        protection: ProtectedPackager | None = None,
        *,
        windows: WindowSource | None,
        frames: FrameSource,
    ) -> None:
        """``windows`` makes missing windows of progressive revisions on request (None: this
        process serves no title still being encoded); ``frames`` cuts pictures on request."""
        self.settings = settings
        self.catalogue = catalogue
        self.store = store
        self.protection = protection
        self.presentations = Presentations(catalogue)
        self.rules = ServingRules(settings, protection)
        self.texts = Texts(store, self.presentations, self.rules)
        self.manifests = Manifests(
            settings, store, self.presentations, self.rules, self.texts, protection
        )
        playlists = Playlists(self.presentations, self.rules, self.texts)
        windowed = WindowedSlices(store, self.presentations, windows)
        segments = Segments(store, self.presentations, self.rules, windowed)
        pictures = Pictures(settings, store, self.presentations, self.rules, frames)
        downloads = Downloads(store, self.presentations)
        keys = Keys(self.rules)
        self._resolvers: dict[str, Resolver] = {
            "multivariant": self.manifests.resolve,
            "mpd": self.manifests.resolve,
            "playlist": playlists.playlist,
            "iframes": playlists.iframes,
            "init": segments.resolve,
            "segment": segments.resolve,
            "keyframe": segments.keyframe,
            "text_file": self.texts.resolve,
            "text_segment": self.texts.resolve,
            "poster": pictures.poster,
            "thumbnail": pictures.thumbnail,
            "storyboard": pictures.storyboard,
            "sheet": pictures.sheet,
            "download": downloads.download,
            "key": keys.key,
            "license": keys.licence,
        }

    def resolve(self, asset_id: str, path: str) -> Resource:
        parsed = parse_delivery_path(path)
        if parsed is None:
            raise NotFound(f"no such resource {path!r}")
        asset = self.playable_asset(asset_id)
        return self._resolvers[parsed.kind](asset, parsed)

    def forget(self, asset_id: str) -> None:
        """Drop cached packaging state of an asset (after re-transcode, delete, …)."""
        if self.protection is not None:
            self.protection.forget(asset_id)
        self.presentations.forget(asset_id)

    def current_tag(self, asset: Asset) -> VariantTag:
        return self.rules.current_tag(asset)

    def playable_asset(self, asset_id: str) -> Asset:
        """The asset if it can be delivered: exists, ready, published."""
        asset = self.catalogue.get_asset(asset_id)
        if asset.status != "ready" or asset.revision == 0 or not asset.published:
            raise NotFound(f"asset {asset_id} is not available for playback")
        return asset

    def presentation(self, asset_id: str, revision: int) -> Presentation:
        return self.presentations.get(asset_id, revision)

    def segments(self, p: Presentation, track: Track, segment_s: int) -> tuple[Segment, ...]:
        return self.presentations.segments(p, track, segment_s)

    def with_texts(self, p: Presentation) -> Presentation:
        return self.presentations.with_texts(p)

    def text_rates(self, p: Presentation, tag: VariantTag) -> tuple[int, int]:
        """(peak, average) bit rate of the largest subtitle rendition as served in HLS."""
        return self.texts.rates(p, tag)
