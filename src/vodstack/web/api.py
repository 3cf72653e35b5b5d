"""Admin API: upload masters, inspect and manage assets (``Authorization: Bearer <admin>``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from vodstack.catalogue.asset_pages import DEFAULT_LIMIT, MAX_LIMIT
from vodstack.catalogue.models import Asset
from vodstack.errors import InvalidInput, NotFound, UploadRejected
from vodstack.ingest.upload import Ingestor, Upload
from vodstack.protection import admin as protection_admin
from vodstack.transcode.extras_job import extras_status
from vodstack.web import asset_list
from vodstack.web.api_media import router as media_router
from vodstack.web.auth import require_admin
from vodstack.web.embed import EmbedOut, embed_snippet
from vodstack.web.play import picture_urls
from vodstack.web.uploads import receive_multipart, receive_raw

router = APIRouter(prefix="/api", tags=["assets"], dependencies=[Depends(require_admin)])

# Multipart framing overhead allowed on top of the master's size limit.
_FORM_OVERHEAD = 64 * 1024


class AssetCreated(BaseModel):
    id: str
    status: str


class Playback(BaseModel):
    hls: str | None
    dash: str | None


class WindowProgress(BaseModel):
    done: int
    total: int
    on_demand: int = Field(description="windows made for a viewer who asked before the job")


class RenditionOut(BaseModel):
    track: str
    kind: str
    codec: str
    width: int | None = None
    height: int | None = None
    frame_rate: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bitrate: int
    peak_bitrate: int
    language: str | None = None
    label: str | None = None
    default: bool = False
    vmaf: float | None = Field(default=None, description="sampled VMAF against the source")
    layout: str = Field(
        default="file",
        description="file: complete CMAF track; windowed: a progressive revision still being "
        "encoded window by window (see `windows`)",
    )
    windows: WindowProgress | None = Field(
        default=None, description="windowed tracks: how many windows exist so far"
    )


class SignedPictures(BaseModel):
    poster: str | None
    thumbnail: str = Field(description="Add `?time=S&width=W` for another frame.")
    storyboard: str | None
    expires: int


class AssetOut(BaseModel):
    id: str
    title: str
    status: str
    error: str | None
    duration: float | None
    renditions: list[RenditionOut]
    playback: Playback
    drm: str
    published: bool
    job: dict[str, Any] | None = Field(
        default=None,
        description="the latest transcode job: id, state, attempts, progress, error, and "
        "`stages`: wall and CPU seconds per stage (probe, per_title, first_window, ladder, "
        "join, commit), `ready_s` (job start to playable), `media_s`, `cpu_s_per_media_min`",
    )
    extras: dict[str, Any] | None = Field(
        default=None,
        description="poster/storyboard (`pictures`), `download` and `quality` (VMAF) of the "
        "served revision, made in the background after the asset is ready: `state` (pending, "
        "queued, running, ready, failed), per-extra `items` (ready, skipped, failed + error), "
        "`timings`. A failed extra never fails the asset.",
    )
    created_at: str
    ladder: dict[str, Any] | None = Field(
        default=None, description="template, version, mode, codecs and per-title decision"
    )
    allow_download: bool = False
    poster_time: float | None = None
    pictures: SignedPictures | None = Field(
        default=None,
        description="Signed poster, thumbnail and storyboard URLs for catalogue pages (no "
        "POST /play needed): valid until `expires` (VODSTACK_PICTURE_URL_TTL_S), pictures only.",
    )
    playback_policy: str = Field(
        default="signed",
        description="`signed`: a grant is needed (POST /play); `public`: anyone may play "
        "(still cached and rate-limited). Set with PUT /api/assets/{id}/playback.",
    )
    embed: EmbedOut | None = Field(
        default=None,
        description="The iframe player and a snippet to paste (`/embed/{assetId}`); the "
        "embedding page adds the viewer's JWT as `#token=…`.",
    )


def _window_progress(services: Any, asset: Asset, renditions: list[Any]) -> dict[str, Any]:
    """Per-track window counts of a progressive revision (empty for complete ones)."""
    if not any(r.layout == "windowed" for r in renditions):
        return {}
    windows = services.pipeline.stage.windows
    total = windows.layout(asset.id, asset.revision).window_count
    done: dict[str, list[bool]] = {}
    for part in windows.parts(asset.id, asset.revision):
        done.setdefault(part.track_id, []).append(part.on_demand)
    return {
        r.track_id: WindowProgress(
            done=len(done.get(r.track_id, [])),
            total=total,
            on_demand=sum(done.get(r.track_id, [])),
        )
        for r in renditions
    }


def _signed_pictures(services: Any, asset: Asset) -> SignedPictures:
    base, expires = services.entitlement.picture_base(asset.id)
    found = picture_urls(services, asset, base)
    return SignedPictures(
        poster=found["poster"],
        thumbnail=f"{base}/thumbnail.jpg",
        storyboard=found["storyboard"],
        expires=expires,
    )


def asset_out(request: Request, asset: Asset, *, detail: bool = True) -> AssetOut:
    services = request.app.state.services
    # The configured base, never the request's Host header: a forged Host must not reach any
    # URL this API hands out (links an admin tool may follow or pass on).
    base = services.settings.base_url()
    ready = asset.status == "ready" and asset.revision > 0
    renditions = services.catalogue.renditions(asset.id, asset.revision) if ready else []
    job = services.catalogue.latest_job(asset.id) if detail else None
    progress = _window_progress(services, asset, renditions) if detail else {}
    return AssetOut(
        id=asset.id,
        title=asset.title,
        status=asset.status,
        error=asset.error,
        duration=asset.duration,
        renditions=[
            RenditionOut(
                track=r.track_id,
                kind=r.kind,
                codec=r.codec,
                width=r.width,
                height=r.height,
                frame_rate=r.frame_rate,
                sample_rate=r.sample_rate,
                channels=r.channels,
                bitrate=r.bitrate_avg,
                peak_bitrate=r.bitrate_peak,
                language=r.language,
                label=r.label,
                default=r.is_default,
                vmaf=r.vmaf,
                layout=r.layout,
                windows=progress.get(r.track_id),
            )
            for r in renditions
        ],
        playback=Playback(
            hls=f"{base}/v1/{asset.id}/index.m3u8" if ready else None,
            dash=f"{base}/v1/{asset.id}/index.mpd" if ready else None,
        ),
        drm=asset.drm,
        published=asset.published,
        job=None
        if job is None
        else {
            "id": job.id,
            "state": job.state,
            "attempts": job.attempts,
            "progress": round(job.progress, 4),
            "error": job.error,
            "stages": job.stages,
        },
        extras=extras_status(services.catalogue, asset) if detail else None,
        created_at=asset.created_at.isoformat(),
        ladder=asset.ladder_info if detail else None,
        allow_download=asset.allow_download,
        poster_time=asset.poster_time,
        pictures=_signed_pictures(services, asset) if ready else None,
        playback_policy=asset.playback,
        embed=embed_snippet(base, asset.id, asset.title),
    )


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "title": {"type": "string", "maxLength": 500},
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/assets",
    status_code=202,
    response_model=AssetCreated,
    openapi_extra=_UPLOAD_BODY,
    summary="Upload a master (streamed to private storage; transcoding starts on arrival)",
    responses={400: {}, 401: {}, 413: {}, 415: {}},
)
async def upload_asset(
    request: Request,
    filename: Annotated[str | None, Query(max_length=255)] = None,
    title: Annotated[str | None, Query(max_length=500)] = None,
    ladder: Annotated[
        str | None, Query(max_length=20, description="Ladder template (VODSTACK_LADDERS)")
    ] = None,
) -> JSONResponse:
    services = request.app.state.services
    if ladder is not None and ladder not in services.settings.ladder_profiles:
        known = ", ".join(services.settings.ladder_profiles)
        raise InvalidInput(f"no ladder named {ladder!r}; known: {known}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit():
        if int(declared) > services.settings.max_upload_bytes + _FORM_OVERHEAD:
            raise UploadRejected(
                f"the upload exceeds the size limit of {services.settings.max_upload_bytes} bytes",
                status=413,
            )
        if int(declared) == 0:
            raise UploadRejected("the uploaded file is empty")
    content_type = request.headers.get("content-type", "")
    ingestor = _LadderChoice(services.ingestor, ladder) if ladder else services.ingestor
    if content_type.startswith("multipart/"):
        asset_id = await receive_multipart(request, ingestor)  # type: ignore[arg-type]
    elif content_type.split(";")[0].strip() in ("application/octet-stream", "") or (
        content_type.startswith(("video/", "application/mp4"))
    ):
        asset_id = await receive_raw(request, ingestor, filename, title)  # type: ignore[arg-type]
    else:
        raise UploadRejected(
            f"unsupported Content-Type {content_type.split(';')[0]!r}; send multipart/form-data",
            status=415,
        )
    asset = services.catalogue.get_asset(asset_id)
    return JSONResponse(
        {"id": asset_id, "status": asset.status},
        status_code=202,
        headers={"Location": f"/api/assets/{asset_id}"},
    )


class _LadderChoice:
    """The ingestor, starting every upload with a chosen ladder template."""

    def __init__(self, ingestor: Ingestor, ladder: str) -> None:
        self._ingestor = ingestor
        self._ladder = ladder

    def start(self, filename: str | None, title: str | None = None) -> Upload:
        return self._ingestor.start(filename, title, ladder=self._ladder)


@router.get(
    "/assets",
    response_model=list[AssetOut],
    summary="List assets, newest first, a page at a time",
    description='The next page is in `Link: <…>; rel="next"` (and its cursor in '
    "`X-Next-Cursor`); no such header on the last page.",
)
def list_assets(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Title substring or exact asset id")
    ] = None,
    status: Annotated[list[str] | None, Query(description="ready, failed, … (repeatable)")] = None,
    sort: Annotated[Literal["created", "-created"], Query()] = "-created",
) -> list[AssetOut]:
    return asset_list.list_page(  # type: ignore[return-value]
        request, response, limit=limit, cursor=cursor, q=q, status=status, sort=sort
    )


def _get(request: Request, asset_id: str) -> Asset:
    from vodstack.catalogue.repository import is_valid_id

    if not is_valid_id(asset_id):
        raise NotFound(f"no asset {asset_id!r}")
    return request.app.state.services.catalogue.get_asset(asset_id)


@router.get("/assets/{asset_id}", response_model=AssetOut, summary="One asset and its job")
def get_asset(request: Request, asset_id: str) -> AssetOut:
    return asset_out(request, _get(request, asset_id))


@router.post("/assets/{asset_id}/publish", response_model=AssetOut, summary="Allow playback")
def publish(request: Request, asset_id: str) -> AssetOut:
    return asset_out(request, request.app.state.services.assets.set_published(asset_id, True))


@router.post(
    "/assets/{asset_id}/unpublish",
    response_model=AssetOut,
    summary="Stop playback (takedown): manifests and segments answer 404 at once",
)
def unpublish(request: Request, asset_id: str) -> AssetOut:
    return asset_out(request, request.app.state.services.assets.set_published(asset_id, False))


@router.post(
    "/assets/{asset_id}/retranscode",
    status_code=202,
    summary="Re-run the ladder from the retained master; the current revision keeps serving",
)
def retranscode(request: Request, asset_id: str) -> dict[str, str]:
    job_id = request.app.state.services.assets.retranscode(asset_id)
    return {"id": asset_id, "job": job_id}


@router.delete(
    "/assets/{asset_id}",
    status_code=204,
    summary="Delete packaged media and catalogue rows (the master is retained)",
)
def delete(request: Request, asset_id: str) -> None:
    request.app.state.services.assets.delete(asset_id)


class PlaybackIn(BaseModel):
    policy: Literal["signed", "public"] = Field(
        description="`signed` (default): viewers need a grant from POST /play; `public`: "
        "free or marketing titles anyone may play, still cached and rate-limited."
    )


@router.put(
    "/assets/{asset_id}/playback",
    response_model=AssetOut,
    summary="Playback policy: signed (a grant is needed) or public (caches purged)",
    description="Takes effect on every edge within about a second; the edge caches of the "
    "asset are purged.",
)
def set_playback(request: Request, asset_id: str, body: PlaybackIn) -> AssetOut:
    return asset_out(request, request.app.state.services.assets.set_playback(asset_id, body.policy))


class ProtectionIn(BaseModel):
    schemes: list[str] = Field(
        min_length=1,
        max_length=4,
        description="Any of clear, aes-128 (HLS), cbcs (HLS SAMPLE-AES and DASH), cenc (DASH)",
    )


@router.put(
    "/assets/{asset_id}/protection",
    response_model=AssetOut,
    summary="Serve the asset clear, AES-128, cbcs and/or cenc (no re-transcode; caches purged)",
)
def set_protection(request: Request, asset_id: str, body: ProtectionIn) -> AssetOut:
    services = request.app.state.services
    protection_admin.set_protection(services, request.app.state.protection, asset_id, body.schemes)
    return asset_out(request, services.assets.get(asset_id))


@router.post(
    "/assets/{asset_id}/rekey",
    status_code=200,
    summary="New content keys for every protected scheme (no re-transcode; caches purged)",
)
def rekey(request: Request, asset_id: str) -> dict[str, object]:
    services = request.app.state.services
    generations = protection_admin.rekey(services, request.app.state.protection, asset_id)
    return {"id": asset_id, "generations": generations}


# Captions, audio tracks, poster and downloads (issue #8), under the same prefix and token.
router.include_router(media_router)
