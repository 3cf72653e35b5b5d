"""The HTTP interface (FastAPI): API routes, delivery under ``/v1/``, the player page and the
ASGI app assembly."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.web.hosts import is_loopback_host

__all__ = ["is_loopback_host"]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "hosts": ["is_loopback_host"],
    },
)
