"""Pages for people: the web player (``/watch/{assetId}``), the admin page (``/admin``), their
static files (``/static``) and the development sign-in (``POST /dev/token``).

The player's engines (hls.js, dash.js, Shaka Player) are npm packages copied into
``static/vendor`` by ``scripts/vendor-player`` (see ``vendor/VERSIONS.json``), so the page
works after a plain ``pip install`` and offline: no CDN.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
from functools import cache
from pathlib import Path
from string import Template

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from vodstack import __version__
from vodstack.catalogue import is_valid_id
from vodstack.errors import ConfigError, Forbidden, NotFound
from vodstack.web.state import app_state, services_of

STATIC_DIR = Path(__file__).with_name("static")
TEMPLATES_DIR = Path(__file__).with_name("templates")
VENDOR_MANIFEST = STATIC_DIR / "vendor" / "VERSIONS.json"
# Which vendored file each engine loads (paths under static/vendor/).
ENGINE_FILES = {
    "hls": "hls.js/hls.min.mjs",
    "dash": "dashjs/dash.all.min.js",
    "shaka": "shaka-player/shaka-player.compiled.js",
}
DEV_TOKEN_TTL_S = 3600

log = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])
dev_router = APIRouter(tags=["development"])


class StaticAssets(StaticFiles):
    """Static files; a URL with ``?v=`` names one version of the file forever (immutable),
    anything else is revalidated (ETag) on each use."""

    def file_response(
        self,
        full_path: os.PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        versioned = b"v=" in scope.get("query_string", b"")
        response.headers["cache-control"] = (
            "public, max-age=31536000, immutable" if versioned else "no-cache"
        )
        response.headers["x-content-type-options"] = "nosniff"
        return response


def static_app() -> StaticAssets:
    return StaticAssets(directory=STATIC_DIR)


@cache
def engine_urls() -> dict[str, str]:
    """Engine → versioned URL of its vendored build (``?v=`` = the file's sha256 prefix)."""
    try:
        manifest = json.loads(VENDOR_MANIFEST.read_text())
    except FileNotFoundError:
        raise ConfigError(
            "the player's vendored engines are missing: run scripts/vendor-player"
        ) from None
    digests = {f["path"]: f["sha256"] for f in manifest["files"]}
    return {
        engine: f"/static/vendor/{path}?v={digests[path][:12]}"
        for engine, path in ENGINE_FILES.items()
    }


@cache
def player_version() -> str:
    """A digest of our own player code, for cache-busting its entry module."""
    h = hashlib.sha256(__version__.encode())
    for path in sorted((STATIC_DIR / "player").glob("*")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


@cache
def template(name: str) -> Template:
    return Template((TEMPLATES_DIR / name).read_text())


def _json_for_script(value: object) -> str:
    # Inside <script type="application/json">, "</" would end the element (HTML §4.12.1.3).
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def _csp(media_origin: str | None, frame_ancestors: str | None = None) -> str:
    extra = f" {media_origin}" if media_origin else ""
    ancestors = f"; frame-ancestors {frame_ancestors}" if frame_ancestors else ""
    return (
        "default-src 'self'; "
        "script-src 'self'; "
        "style-src 'self'; "
        f"img-src 'self' data: blob:{extra}; "
        f"media-src 'self' blob:{extra}; "
        f"connect-src 'self'{extra}; "
        "worker-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'"
        f"{ancestors}"
    )


def _page(
    body: str, media_origin: str | None = None, frame_ancestors: str | None = None
) -> HTMLResponse:
    return HTMLResponse(
        body,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": _csp(media_origin, frame_ancestors),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get(
    "/watch/{asset_id}",
    response_class=HTMLResponse,
    summary="The web player page",
    description=(
        "Plays the asset with hls.js (default where Media Source Extensions exist), the "
        "browser's own HLS (Safari), dash.js or Shaka Player: `?engine=hls|native|dash|shaka`. "
        "The viewer token comes from `#token=…` or `?token=…` (an embedding app), or from the "
        "page's sign-in box when the development identity provider is active. "
        "`?autoplay=1` starts without a click (muted where the browser requires it); "
        "`?buffer=S` caps the forward buffer in seconds."
    ),
    responses={404: {}},
)
def watch(request: Request, asset_id: str) -> HTMLResponse:
    return player_page(request, asset_id)


def player_page(
    request: Request, asset_id: str, *, embed: bool = False, frame_ancestors: str | None = None
) -> HTMLResponse:
    """The player page; ``embed``: the iframe variant (``/embed/{assetId}``, see embed.py)."""
    if not is_valid_id(asset_id):
        raise NotFound(f"no asset {asset_id!r}")
    services = services_of(request)
    settings = services.settings
    config = {
        "assetId": asset_id,
        "devSignIn": app_state(request).dev_signin and not embed,
        "engines": engine_urls(),
        # Without a configured public URL the media live on this server: the player then uses
        # the page's own origin, so opening the page as localhost or 127.0.0.1 both work.
        "sameOriginMedia": settings.public_url is None,
        "embed": embed,
        # a public title plays without signing in (POST /play without a token)
        "public": _is_public(services, asset_id),
    }
    body = template("watch.html").substitute(
        asset_id=asset_id,
        config=_json_for_script(config),
        player_version=player_version(),
        page_class="embed" if embed else "watch",
    )
    media_origin = settings.base_url() if settings.public_url else None
    return _page(body, media_origin, frame_ancestors)


def _is_public(services: object, asset_id: str) -> bool:
    try:
        asset = services.catalogue.get_asset(asset_id)  # type: ignore[attr-defined]
    except NotFound:
        return False
    return bool(asset.playback == "public" and asset.published)


@router.get(
    "/admin",
    response_class=HTMLResponse,
    summary="The admin page: assets, uploads, actions, viewing quality (asks for the admin token)",
    description="See docs/admin.md. The page holds no data until the admin token is entered; "
    "everything it shows and does goes through the admin API.",
)
def admin_page(request: Request) -> HTMLResponse:
    settings = services_of(request).settings
    # Posters and thumbnails: on this server unless a public URL names another (as /watch).
    config = {"sameOriginMedia": settings.public_url is None}
    body = template("admin.html").substitute(
        player_version=player_version(), config=_json_for_script(config)
    )
    return _page(body, settings.base_url() if settings.public_url else None)


class DevTokenIn(BaseModel):
    subject: str = Field(min_length=1, max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$")


class DevTokenOut(BaseModel):
    token: str
    expires_in: int


def _is_loopback_direct(request: Request) -> bool:
    """A browser on this very machine, not a request relayed by a local reverse proxy."""
    if request.client is None:
        return False
    if any(h in request.headers for h in ("x-forwarded-for", "forwarded", "x-real-ip")):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


@dev_router.post(
    "/dev/token",
    response_model=DevTokenOut,
    summary="Development sign-in: a viewer JWT for any subject (loopback clients only)",
    description=(
        "Exists only when turned on (`VODSTACK_DEV_IDP=true`, `serve --dev-idp`, or `demo`) "
        "with the built-in development identity provider (no `VODSTACK_JWT_ISSUER`) on a "
        "loopback bind, and answers only browsers on this machine: it is the player page's "
        "sign-in box, like `vodstack token SUBJECT`."
    ),
    responses={403: {"description": "not a direct loopback client"}},
)
def dev_token(request: Request, body: DevTokenIn) -> DevTokenOut:
    idp = services_of(request).dev_idp
    if idp is None:
        raise NotFound("the development identity provider is off")
    if not _is_loopback_direct(request):
        raise Forbidden(
            "development sign-in is only available on this machine (loopback)", rule="loopback"
        )
    log.warning("development sign-in: viewer token issued for subject %r", body.subject)
    return DevTokenOut(
        token=idp.mint(body.subject, ttl=DEV_TOKEN_TTL_S), expires_in=DEV_TOKEN_TTL_S
    )
