"""Embedding: the iframe player ``/embed/{assetId}``, its snippet, and oEmbed ``/oembed``.

The embed page is the ``/watch`` player (same code, same messages) made for another site's
iframe, where browsers block third-party cookies (Safari ITP, Firefox Total Cookie Protection,
Chrome's third-party cookie controls) and often storage: it plays with the path token from
``POST /play`` and keeps nothing in storage it needs. Which sites may frame it is the CSP
``frame-ancestors`` directive (CSP Level 3 §6.4.2), from ``VODSTACK_EMBED_ORIGINS``; a browser
refuses to render it in any other site's frame. The embedding app hands the viewer's JWT in
the fragment (``#token=…``: fragments never reach servers or logs).

oEmbed 1.0 (https://oembed.com, §2.2-2.3): ``GET /oembed?url={watch or embed URL}`` answers a
``video`` response whose ``html`` is the iframe snippet; ``format=xml`` is ``501`` as §2.2
allows, an unknown or unpublished title ``404``.
"""

from __future__ import annotations

import html
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from vodstack.catalogue import is_valid_id
from vodstack.errors import NotFound
from vodstack.web.pages import player_page
from vodstack.web.state import services_of

router = APIRouter(tags=["embedding"])

DEFAULT_WIDTH, DEFAULT_HEIGHT = 640, 360
#: What the framed player needs from its parent (Permissions Policy): EME for protected
#: titles (``encrypted-media`` defaults to the parent's own origin only), autoplay, fullscreen.
IFRAME_ALLOW = "autoplay; fullscreen; encrypted-media; picture-in-picture"


class EmbedOut(BaseModel):
    url: str = Field(description="The iframe player; add `#token={viewer JWT}`.")
    html: str = Field(description="An iframe snippet to paste into a page.")


def frame_ancestors(origins: tuple[str, ...]) -> str:
    return " ".join(("'self'", *origins))


def embed_snippet(
    base: str, asset_id: str, title: str, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT
) -> EmbedOut:
    url = f"{base}/embed/{asset_id}"
    snippet = (
        f'<iframe src="{html.escape(url)}" width="{width}" height="{height}" '
        f'title="{html.escape(title)}" allow="{IFRAME_ALLOW}" allowfullscreen '
        'style="border:0"></iframe>'
    )
    return EmbedOut(url=url, html=snippet)


@router.get(
    "/embed/{asset_id}",
    response_class=HTMLResponse,
    summary="The player for another site's iframe (cookie-less, storage-less)",
    description=(
        "The /watch player for an iframe: plays with path-token URLs, so it works where the "
        "browser blocks third-party cookies and storage. The embedding page passes the "
        "viewer's JWT as `#token=…`. Framing is allowed to this server and the origins in "
        "`VODSTACK_EMBED_ORIGINS` (CSP `frame-ancestors`). Same query options as /watch."
    ),
    responses={404: {}},
)
def embed_page(request: Request, asset_id: str) -> HTMLResponse:
    origins = services_of(request).settings.embed_origins
    return player_page(request, asset_id, embed=True, frame_ancestors=frame_ancestors(origins))


class OEmbedOut(BaseModel):
    version: str = "1.0"
    type: str = "video"
    provider_name: str = "vodstack"
    provider_url: str
    title: str
    html: str
    width: int
    height: int


def _asset_of(url: str, base: str) -> str:
    """The asset id of a /watch or /embed URL of this server (404 for anything else)."""
    parts = urlsplit(url)
    ours = urlsplit(base)
    page, _, asset_id = parts.path.strip("/").partition("/")
    if (
        (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc)
        or page not in ("watch", "embed")
        or not is_valid_id(asset_id)
    ):
        raise NotFound("no embeddable video at that URL on this server")
    return asset_id


@router.get(
    "/oembed",
    response_model=OEmbedOut,
    summary="oEmbed 1.0 (video type) for a /watch or /embed URL of this server",
    description="`maxwidth`/`maxheight` shrink the 16:9 player to fit. Only `format=json`; "
    "`xml` answers 501 (oEmbed §2.2). Unpublished or unknown titles are 404.",
    responses={404: {}, 501: {}},
)
def oembed(
    request: Request,
    url: Annotated[str, Query(max_length=2000)],
    format: Annotated[str, Query(pattern="^(json|xml)$")] = "json",
    maxwidth: Annotated[int | None, Query(ge=16, le=8192)] = None,
    maxheight: Annotated[int | None, Query(ge=9, le=8192)] = None,
) -> JSONResponse:
    if format != "json":  # oEmbed §2.2: a format the provider does not offer is 501
        return JSONResponse({"error": "only format=json is offered"}, status_code=501)
    services = services_of(request)
    base = services.settings.base_url()
    asset = services.catalogue.get_asset(_asset_of(url, base))
    if not asset.published:
        raise NotFound("no embeddable video at that URL on this server")
    width, height = DEFAULT_WIDTH, DEFAULT_HEIGHT
    if maxwidth and maxwidth < width:
        width, height = maxwidth, maxwidth * 9 // 16
    if maxheight and maxheight < height:
        width, height = maxheight * 16 // 9, maxheight
    snippet = embed_snippet(base, asset.id, asset.title, width, height)
    body: dict[str, Any] = OEmbedOut(
        provider_url=base, title=asset.title, html=snippet.html, width=width, height=height
    ).model_dump()
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})
