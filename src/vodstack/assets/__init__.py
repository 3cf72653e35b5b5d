"""Asset operations (the operations layer): lifecycle commands shared by the CLI and the admin
API — publish, policy, delete and retranscode (``manager``), restore and purge of retained
masters (``masters``), titles and labels (``labelling``), and the one asset view (``view``)."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.assets.manager import AssetManager

__all__ = ["AssetManager"]

__getattr__, __dir__ = lazy_face(__name__, {"manager": ["AssetManager"]})
