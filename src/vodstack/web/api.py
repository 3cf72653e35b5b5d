"""Admin API: upload masters, inspect and manage assets (``Authorization: Bearer <admin>``).

Why one module: the asset resource's routes (upload, list, show, publish, delete, retranscode,
policy) share its response model and its one view (assets/view.py); the other resources
have modules of their own (api_media, api_labels, api_entitlement, api_keys, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from vodstack.assets.view import RenditionView, asset_view
from vodstack.catalogue import Asset
from vodstack.catalogue import labels as asset_labels
from vodstack.catalogue.listing import ASSETS
from vodstack.compose import Services
from vodstack.errors import InvalidInput, NotFound, UploadRejected
from vodstack.ingest import Ingestor, Upload
from vodstack.protection import admin as protection_admin
from vodstack.web import listing
from vodstack.web.api_ingest import URL_INGEST_SCHEMA, ingest_from_url
from vodstack.web.api_media import router as media_router
from vodstack.web.embed import EmbedOut, embed_snippet
from vodstack.web.play import picture_urls
from vodstack.web.scopes import require_scope
from vodstack.web.state import delivery_of, services_of
from vodstack.web.uploads import receive_multipart, receive_raw

router = APIRouter(prefix="/api", tags=["assets"])

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
    metadata: dict[str, str] = Field(
        default_factory=dict, description="Free key/values (PATCH /api/assets/{id})"
    )
    tags: list[str] = Field(default_factory=list)
    classification: str | None = Field(default=None, description="Governance label")
    owner: str | None = Field(default=None, description="Governance label")
    cost_center: str | None = Field(default=None, description="Governance label")


def _window_progress(
    services: Services, asset: Asset, renditions: Sequence[RenditionView]
) -> dict[str, WindowProgress]:
    """Per-track window counts of a progressive revision (empty for complete ones)."""
    if not any(r.layout == "windowed" for r in renditions):
        return {}
    windows = services.pipeline.stage.windows
    total = windows.layout(asset.id, asset.revision).window_count
    done: dict[str, list[bool]] = {}
    for part in windows.parts(asset.id, asset.revision):
        done.setdefault(part.track_id, []).append(part.on_demand)
    return {
        r.track: WindowProgress(
            done=len(done.get(r.track, [])),
            total=total,
            on_demand=sum(done.get(r.track, [])),
        )
        for r in renditions
    }


def _signed_pictures(services: Services, asset: Asset) -> SignedPictures:
    base, expires = services.entitlement.picture_base(asset.id)
    found = picture_urls(services, asset, base)
    return SignedPictures(
        poster=found["poster"],
        thumbnail=f"{base}/thumbnail.jpg",
        storyboard=found["storyboard"],
        expires=expires,
    )


def asset_out(
    request: Request,
    asset: Asset,
    *,
    detail: bool = True,
    labels: asset_labels.Labels | None = None,
) -> AssetOut:
    services = services_of(request)
    if labels is None:
        labels = asset_labels.LabelStore(services.db).of([asset])[asset.id]
    # The configured base, never the request's Host header: a forged Host must not reach any
    # URL this API hands out (links an admin tool may follow or pass on).
    base = services.settings.base_url()
    view = asset_view(services.catalogue, base, asset, detail=detail)
    renditions = view.renditions if view.playable else ()
    progress = _window_progress(services, asset, renditions) if detail else {}
    return AssetOut(
        id=asset.id,
        title=asset.title,
        status=asset.status,
        error=asset.error,
        duration=asset.duration,
        renditions=[RenditionOut(**asdict(r), windows=progress.get(r.track)) for r in renditions],
        playback=Playback(**view.playback.to_dict())
        if view.playback
        else Playback(hls=None, dash=None),
        drm=asset.drm,
        published=asset.published,
        job=view.job.to_dict() if view.job else None,
        extras=view.extras,
        created_at=asset.created_at.isoformat(),
        ladder=asset.ladder_info if detail else None,
        allow_download=asset.allow_download,
        poster_time=asset.poster_time,
        pictures=_signed_pictures(services, asset) if view.playable else None,
        playback_policy=asset.playback,
        embed=embed_snippet(base, asset.id, asset.title),
        **asset_labels.as_json(labels),
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
            "application/json": {"schema": URL_INGEST_SCHEMA},  # ingest from a URL
        },
    }
}


@router.post(
    "/assets",
    dependencies=[require_scope("upload")],
    status_code=202,
    response_model=AssetCreated,
    openapi_extra=_UPLOAD_BODY,
    summary="Upload a master (streamed to private storage; transcoding starts on arrival), or "
    "ingest one from a URL (JSON body: docs/uploads.md)",
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
    services = services_of(request)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        return await ingest_from_url(request)
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
    dependencies=[require_scope("read")],
    response_model=list[AssetOut],
    summary="List assets, newest first; filter, search and page",
    description="A JSON array; the next page is in the `Link` (rel=next) and "
    "`X-Next-Cursor` headers.",
    **listing.listing_openapi(ASSETS, "assets"),
)
def list_assets(request: Request, response: Response) -> list[AssetOut]:
    def render(rows: list[Asset]) -> list[AssetOut]:
        found = asset_labels.LabelStore(services_of(request).db).of(rows)
        return [asset_out(request, a, detail=False, labels=found[a.id]) for a in rows]

    return listing.respond(request, response, ASSETS, render)


def _get(request: Request, asset_id: str) -> Asset:
    from vodstack.catalogue import is_valid_id

    if not is_valid_id(asset_id):
        raise NotFound(f"no asset {asset_id!r}")
    return services_of(request).catalogue.get_asset(asset_id)


@router.get(
    "/assets/{asset_id}",
    dependencies=[require_scope("read")],
    response_model=AssetOut,
    summary="One asset and its job",
)
def get_asset(request: Request, asset_id: str) -> AssetOut:
    return asset_out(request, _get(request, asset_id))


@router.post(
    "/assets/{asset_id}/publish",
    dependencies=[require_scope("publish")],
    response_model=AssetOut,
    summary="Allow playback",
)
def publish(request: Request, asset_id: str) -> AssetOut:
    return asset_out(request, services_of(request).assets.set_published(asset_id, True))


@router.post(
    "/assets/{asset_id}/unpublish",
    dependencies=[require_scope("publish")],
    response_model=AssetOut,
    summary="Stop playback (takedown): manifests and segments answer 404 at once",
)
def unpublish(request: Request, asset_id: str) -> AssetOut:
    return asset_out(request, services_of(request).assets.set_published(asset_id, False))


@router.post(
    "/assets/{asset_id}/retranscode",
    dependencies=[require_scope("publish")],
    status_code=202,
    summary="Re-run the ladder from the retained master; the current revision keeps serving",
)
def retranscode(request: Request, asset_id: str) -> dict[str, str]:
    job_id = services_of(request).assets.retranscode(asset_id)
    return {"id": asset_id, "job": job_id}


@router.delete(
    "/assets/{asset_id}",
    dependencies=[require_scope("publish")],
    status_code=204,
    summary="Delete packaged media and catalogue rows (the master is retained)",
)
def delete(request: Request, asset_id: str) -> None:
    services_of(request).assets.delete(asset_id)


class PlaybackIn(BaseModel):
    policy: Literal["signed", "public"] = Field(
        description="`signed` (default): viewers need a grant from POST /play; `public`: "
        "free or marketing titles anyone may play, still cached and rate-limited."
    )


@router.put(
    "/assets/{asset_id}/playback",
    dependencies=[require_scope("publish")],
    response_model=AssetOut,
    summary="Playback policy: signed (a grant is needed) or public (caches purged)",
    description="Takes effect at once on this server and within about a second on every "
    "other edge; the edge caches of the asset are purged.",
)
def set_playback(request: Request, asset_id: str, body: PlaybackIn) -> AssetOut:
    return asset_out(request, services_of(request).assets.set_playback(asset_id, body.policy))


class ProtectionIn(BaseModel):
    schemes: list[str] = Field(
        min_length=1,
        max_length=4,
        description="Any of clear, aes-128 (HLS), cbcs (HLS SAMPLE-AES and DASH), cenc (DASH)",
    )


@router.put(
    "/assets/{asset_id}/protection",
    dependencies=[require_scope("publish")],
    response_model=AssetOut,
    summary="Serve the asset clear, AES-128, cbcs and/or cenc (no re-transcode; caches purged)",
)
def set_protection(request: Request, asset_id: str, body: ProtectionIn) -> AssetOut:
    assets = services_of(request).assets
    protection_admin.set_protection(assets, delivery_of(request).protection, asset_id, body.schemes)
    return asset_out(request, assets.get(asset_id))


@router.post(
    "/assets/{asset_id}/rekey",
    dependencies=[require_scope("publish")],
    status_code=200,
    summary="New content keys for every protected scheme (no re-transcode; caches purged)",
)
def rekey(request: Request, asset_id: str) -> dict[str, object]:
    assets = services_of(request).assets
    generations = protection_admin.rekey(assets, delivery_of(request).protection, asset_id)
    return {"id": asset_id, "generations": generations}


# Captions, audio tracks, poster and downloads (issue #8), under the same prefix and token.
router.include_router(media_router)
