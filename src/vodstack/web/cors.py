"""Credentialed CORS for the viewer-facing routes only, for the origins an operator lists.

Why: an OTT site or an LMS embeds the player in its own pages (``https://www.example.com``)
while vodstack serves from another host. Those pages must call ``POST /play``, then fetch
manifests, segments, keys and licences with the signed cookies, and post beacons — each a
cross-origin request with credentials, which browsers allow only when the response names the
page's origin exactly. The admin API is never opened this way. Starlette's CORSMiddleware does
the protocol (preflight, ``Vary: Origin``); this layer only decides which paths go through it.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

#: Paths a viewer's page calls: entitlement, media (incl. keys and licences), telemetry.
VIEWER_PREFIXES = ("/play/", "/v1/", "/api/beacons")


class ViewerCors:
    """Raw ASGI: viewer paths go through CORSMiddleware, everything else passes untouched."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_credentials=True,
            allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Range"],
            expose_headers=["Content-Length", "Content-Range", "Retry-After"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(VIEWER_PREFIXES):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
