"""Keys: the HLS key under a protected tag (``{tag}/key``, no-store); the ClearKey licence
is answered by the licence route (POST), never by the origin."""

from __future__ import annotations

from typing import NoReturn

from vodstack.catalogue import Asset
from vodstack.errors import NotFound
from vodstack.origin.rules import ServingRules
from vodstack.packaging import DeliveryPath
from vodstack.storage.slices import BytesResource


class Keys:
    def __init__(self, rules: ServingRules) -> None:
        self.rules = rules

    def key(self, asset: Asset, parsed: DeliveryPath) -> BytesResource:
        tag = self.rules.served_tag(asset, parsed)
        packager = self.rules.packager(asset, tag)
        assert packager is not None  # only protected tags have a key path
        return packager.key_resource(asset.id, tag)

    @staticmethod
    def licence(asset: Asset, parsed: DeliveryPath) -> NoReturn:
        raise NotFound("the licence server answers POST")
