"""``POST /play/{assetId}``: the viewer's door — JWT in, signed playback cookies out."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from vodstack.catalogue import Asset, MediaCatalogue, is_valid_id
from vodstack.compose import Services
from vodstack.entitlement import EntitlementService
from vodstack.errors import AuthError, Forbidden, NotFound, RateLimited, VodstackError
from vodstack.packaging.layout import asset_url, playback_urls
from vodstack.protection import dash_scheme, hls_scheme, parse_schemes
from vodstack.web.state import server_of, services_of

router = APIRouter(tags=["playback"])


def playback_protection(setting: str | None, base: str) -> dict[str, str | None]:
    """What the player must know about protection: scheme per protocol ("clear",
    "aes-128", "cbcs", "cenc" or "unavailable") and the ClearKey licence URL."""
    schemes = parse_schemes(setting or "clear")

    def pick(choose: Callable[[Sequence[str]], str | None]) -> str:
        try:
            return choose(schemes) or "clear"
        except NotFound:
            return "unavailable"

    hls, dash = pick(hls_scheme), pick(dash_scheme)
    needs_licence = hls == "cbcs" or dash in ("cenc", "cbcs")
    return {"hls": hls, "dash": dash, "license": f"{base}/license" if needs_licence else None}


class PlaySession(BaseModel):
    """The playback session the player reports QoE/completion beacons for."""

    id: str
    token: str = Field(description="Send as `session` in each `POST /api/beacons` batch.")
    beacons: str = Field(description="Where to send beacons.")
    heartbeat_s: int = Field(description="How often to report the playhead while playing.")


class PlayDrm(BaseModel):
    hls: str
    dash: str
    license: str | None


class PlayToken(BaseModel):
    """The same grant as the cookies, carried in the URL path (cookie-less playback)."""

    base: str = Field(description="`{public_url}/v1/{assetId}/t/{token}`: append any path.")
    hls: str | None
    dash: str | None
    license: str | None = Field(description="ClearKey licence URL, when the title needs one.")
    poster: str | None = None
    storyboard: str | None = None
    expires: int


class PlayOut(BaseModel):
    hls: str | None
    dash: str | None
    expires: int
    drm: PlayDrm
    session: PlaySession
    token: PlayToken = Field(
        description="Token URLs for players without cookies (third-party iframes, casting "
        "receivers, apps): every relative URI in the manifests carries the token on."
    )
    duration: float | None = Field(
        default=None, description="The title's length in seconds (what the player shows)."
    )
    poster: str | None = Field(default=None, description="Poster image (under the cookie).")
    storyboard: str | None = Field(
        default=None, description="WebVTT thumbnails track (`#xywh=` sprites) for seek previews."
    )


def picture_urls(services: Services, asset: Asset, base: str) -> dict[str, str | None]:
    """Poster and storyboard URLs when the revision has them (a title still being encoded
    window by window has neither yet)."""
    files = MediaCatalogue(services.db).files(asset.id, asset.revision)
    # a chosen poster time is cut from the tracks on request: any complete revision has files
    has_poster = "poster" in files or (asset.poster_time is not None and bool(files))
    return {
        "poster": f"{base}/poster.jpg" if has_poster else None,
        "storyboard": f"{base}/storyboard.vtt" if "storyboard" in files else None,
    }


class SignedFileOut(BaseModel):
    url: str
    expires: int


def _download_url(
    services: Services, entitlement: EntitlementService, asset: Asset, client_ip: str
) -> tuple[str, int]:
    """A signed URL of ``download.mp4`` (canned, or IP-bound): one file, so no cookies; valid
    long enough to start a large download (the signature is checked when the request starts)."""
    if not asset.allow_download:
        raise Forbidden("downloads are not allowed for this video", rule="download")
    if "download" not in MediaCatalogue(services.db).files(asset.id, asset.revision):
        raise NotFound("this video has no download rendition")
    return entitlement.signed_file_url(
        asset.id, "download.mp4", ttl_s=services.settings.download_url_ttl_s, client_ip=client_ip
    )


def _public_asset(services: Services, asset_id: str) -> Asset | None:
    """The asset when anyone may play it (``playback`` policy ``public``, published, ready)."""
    if not is_valid_id(asset_id):
        return None
    try:
        asset = services.catalogue.get_asset(asset_id)
    except NotFound:
        return None
    if asset.playback != "public" or not asset.published or asset.status != "ready":
        return None
    return asset


async def _public_grant(request: Request, services: Services, asset: Asset) -> JSONResponse:
    """``/play`` of a public title without a viewer token: the plain URLs (no grant is
    needed), the same shape as a signed grant so one player handles both."""
    services.metrics.play.labels("public").inc()
    session = server_of(request).playback.start("anonymous", asset.id)
    base = asset_url(services.settings.base_url(), asset.id)
    drm = playback_protection(asset.drm, base)
    pictures = await anyio.to_thread.run_sync(picture_urls, services, asset, base)
    urls = playback_urls(base)
    hls = urls.hls if drm["hls"] != "unavailable" else None
    dash = urls.dash if drm["dash"] != "unavailable" else None
    expires = int(time.time()) + services.settings.cookie_ttl_s
    return JSONResponse(
        {
            **pictures,
            "hls": hls,
            "dash": dash,
            "expires": expires,
            "drm": drm,
            "duration": asset.duration,
            "token": {
                "base": base,
                "hls": hls,
                "dash": dash,
                "license": drm["license"],
                **pictures,
                "expires": expires,
            },
            "session": {
                "id": session.id,
                "token": session.token,
                "beacons": session.beacons,
                "heartbeat_s": session.heartbeat_s,
            },
        },
        headers={"Cache-Control": "no-store"},
    )


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing bearer token")
    return token.strip()


@router.post(
    "/play/{asset_id}",
    response_model=PlayOut | SignedFileOut,
    summary="Verify the viewer's JWT and entitlement; set CloudFront-style signed cookies",
    description=(
        "Returns the HLS and DASH URLs and sets `CloudFront-Policy`, `CloudFront-Signature` and "
        "`CloudFront-Key-Pair-Id` cookies scoped to `/v1/{assetId}/` (HttpOnly, Secure over "
        "TLS). `token` carries the same grant in the URL path (`/v1/{assetId}/t/{token}/…`) "
        "for players that cannot keep cookies (iframes on other sites, casting receivers, "
        "apps); treat those URLs as secrets until `expires`. Call again before `expires` to "
        "refresh while still entitled. `session` "
        "authenticates the player's QoE beacons (`POST /api/beacons`). With `file`, returns "
        "a signed URL for that single file instead (never for manifests): canned policy, or a "
        "custom policy bound to the viewer's IP when cookies are IP-bound. With "
        "`download=1`, a signed URL of the progressive MP4 download, when the asset allows "
        "downloads (`403` rule `download` otherwise). A title whose playback policy is "
        "`public` needs no token: without `Authorization` the answer carries its plain URLs."
    ),
    responses={
        401: {},
        403: {"description": "not entitled; `rule` says which rule"},
        404: {},
        409: {},
        429: {},
    },
)
async def play(
    request: Request,
    asset_id: str,
    file: Annotated[
        str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    ] = None,
    download: bool = False,
) -> JSONResponse:
    services = services_of(request)
    entitlement = services.entitlement
    metrics = services.metrics
    peer = request.client.host if request.client else None
    if "authorization" not in request.headers and file is None and not download:
        public = await anyio.to_thread.run_sync(_public_asset, services, asset_id)
        if public is not None:
            return await _public_grant(request, services, public)
    try:
        with metrics.play_latency.time():
            token = bearer_token(request)
            viewer, asset, client_ip = await anyio.to_thread.run_sync(
                entitlement.authorize, token, asset_id, peer, request.headers
            )
            if download:
                url, expires = _download_url(services, entitlement, asset, client_ip)
                return JSONResponse(
                    {"url": url, "expires": expires}, headers={"Cache-Control": "no-store"}
                )
            if file is not None:
                url, expires = entitlement.signed_file_url(asset.id, file, client_ip=client_ip)
                return JSONResponse(
                    {"url": url, "expires": expires}, headers={"Cache-Control": "no-store"}
                )
            grant = entitlement.mint(viewer, asset, client_ip)
    except VodstackError as exc:
        outcome = (
            exc.rule
            if isinstance(exc, Forbidden)
            else "unauthenticated"
            if isinstance(exc, AuthError)
            else "rate_limited"
            if isinstance(exc, RateLimited)
            else type(exc).__name__
        )
        metrics.play.labels(outcome).inc()
        raise
    metrics.play.labels("ok").inc()
    session = server_of(request).playback.start(grant.subject, asset.id)
    base = grant.hls.rsplit("/", 1)[0]
    drm = playback_protection(asset.drm, base)
    pictures = await anyio.to_thread.run_sync(picture_urls, services, asset, base)
    tbase = grant.token_base
    turls = playback_urls(tbase)
    response = JSONResponse(
        {
            **pictures,
            "hls": grant.hls if drm["hls"] != "unavailable" else None,
            "dash": grant.dash if drm["dash"] != "unavailable" else None,
            "expires": grant.expires,
            "drm": drm,
            "duration": asset.duration,
            "token": {
                "base": tbase,
                "hls": turls.hls if drm["hls"] != "unavailable" else None,
                "dash": turls.dash if drm["dash"] != "unavailable" else None,
                "license": f"{tbase}/license" if drm["license"] else None,
                **{k: v and v.replace(base, tbase, 1) for k, v in pictures.items()},
                "expires": grant.expires,
            },
            "session": {
                "id": session.id,
                "token": session.token,
                "beacons": session.beacons,
                "heartbeat_s": session.heartbeat_s,
            },
        },
        headers={"Cache-Control": "no-store"},
    )
    secure = services.settings.base_url().startswith("https://")
    for name, value in grant.cookies.items():
        # Session cookies (no Expires/Max-Age), as AWS recommends: the policy carries expiry.
        response.set_cookie(
            name,
            value,
            path=grant.cookie_path,
            httponly=True,
            secure=secure,
            samesite=services.settings.cookie_samesite,
        )
    return response
