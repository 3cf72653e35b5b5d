"""``download.mp4``: the progressive MP4 of the current revision, when the asset allows it."""

from __future__ import annotations

from vodstack.catalogue import Asset
from vodstack.errors import NotFound
from vodstack.origin.presentations import Presentations
from vodstack.origin.resources import PICTURE_CACHE_CONTROL, stored_file
from vodstack.packaging import DeliveryPath
from vodstack.storage import ObjectStore
from vodstack.storage.slices import FileSlice


class Downloads:
    def __init__(self, store: ObjectStore, presentations: Presentations) -> None:
        self.store = store
        self.presentations = presentations

    def download(self, asset: Asset, parsed: DeliveryPath) -> FileSlice:
        p = self.presentations.finished(asset, parsed.kind)
        download = p.file("download")
        if not asset.allow_download or download is None:
            raise NotFound("downloads are not enabled for this asset")
        return stored_file(self.store, download.file_key, "video/mp4", PICTURE_CACHE_CONTROL)
