"""Admin API for an asset's media beyond the master (issue #8): sidecar captions, separately
uploaded audio tracks, the poster time and whether viewers may download an MP4.

Mounted under ``/api`` by ``vodstack.web.api`` (same admin bearer token). Every change
publishes ``asset.updated``, so edges purge and the next manifest shows it at once; an
uploaded audio track needs a new revision, so it queues a re-transcode (the current one keeps
serving meanwhile).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from vodstack.base import ASSET_UPDATED
from vodstack.captions import CaptionInvalid, CaptionRequest, CaptionService
from vodstack.catalogue import AudioUpload, Caption, MediaCatalogue, PurgeScope, Scope, is_valid_id
from vodstack.compose import Services
from vodstack.errors import InvalidInput, NotFound, UploadRejected
from vodstack.ingest import probe_audio, storage_extension
from vodstack.packaging import is_language_tag, language_tag
from vodstack.storage import MASTERS, validate_key
from vodstack.web.state import services_of

router = APIRouter(tags=["media"])
_AUDIO_EXTENSIONS = {".m4a", ".mp4", ".aac", ".wav", ".flac", ".mp3", ".ogg", ".opus", ".mka"}
_CHUNK = 1024 * 1024


class CaptionOut(BaseModel):
    track: str
    language: str
    label: str
    default: bool
    forced: bool
    kind: str
    source: str = Field(description="upload (sidecar file) or embedded (from the master)")
    cues: int


class AudioUploadOut(BaseModel):
    id: int
    language: str
    label: str
    default: bool
    job: str | None = None


class PosterIn(BaseModel):
    time: float | None = Field(
        default=None, ge=0, description="Seconds into the title; null = chosen automatically"
    )


class DownloadsIn(BaseModel):
    allow: bool


def caption_out(c: Caption) -> CaptionOut:
    return CaptionOut(
        track=c.track_id,
        language=c.language,
        label=c.label,
        default=c.is_default,
        forced=c.forced,
        kind=c.kind,
        source=c.source,
        cues=c.cue_count,
    )


def _services(request: Request, asset_id: str) -> Any:
    services = services_of(request)
    if not is_valid_id(asset_id):
        raise NotFound(f"no asset {asset_id!r}")
    services.catalogue.get_asset(asset_id)
    return services


def _media(services: Services) -> MediaCatalogue:
    return MediaCatalogue(services.db)


async def _body(request: Request, limit: int) -> tuple[bytes, str, str]:
    """(bytes, filename, content type) of a small upload: multipart ``file`` or a raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        form = await request.form(max_files=1, max_fields=10)
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise UploadRejected("the form has no 'file' part")
        data = await part.read(limit + 1)
        filename, content_type = part.filename or "", part.content_type or ""
    else:
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                break
        data, filename = bytes(data), request.query_params.get("filename", "")
    if len(data) > limit:
        raise UploadRejected(f"the file exceeds the limit of {limit} bytes", status=413)
    return bytes(data), filename, content_type


@router.post(
    "/assets/{asset_id}/captions",
    status_code=201,
    response_model=CaptionOut,
    summary="Add a sidecar caption file (WebVTT or SRT); it plays at once in HLS and DASH",
    responses={400: {"description": "the file or a parameter is not valid; says where"}},
)
async def add_caption(
    request: Request,
    asset_id: str,
    language: Annotated[str, Query(max_length=35, description="RFC 5646, e.g. en, pt-BR")],
    label: Annotated[str | None, Query(max_length=100)] = None,
    default: bool = False,
    forced: bool = False,
    kind: Annotated[str, Query(pattern="^(subtitles|captions)$")] = "subtitles",
) -> CaptionOut:
    services = _services(request, asset_id)
    limit = services.settings.caption_max_bytes
    data, filename, content_type = await _body(request, limit)
    captions = CaptionService(_media(services), services.store, services.bus, limit)
    caption = await anyio.to_thread.run_sync(
        lambda: captions.add(
            asset_id,
            data,
            CaptionRequest(language, label, default, forced, kind),
            filename=filename,
            content_type=content_type,
        )
    )
    return caption_out(caption)


@router.get(
    "/assets/{asset_id}/captions",
    response_model=list[CaptionOut],
    summary="Text tracks of the asset: sidecar uploads and those embedded in the master",
)
def list_captions(request: Request, asset_id: str) -> list[CaptionOut]:
    services = _services(request, asset_id)
    revision = services.catalogue.get_asset(asset_id).revision
    return [caption_out(c) for c in _media(services).captions(asset_id, revision or None)]


@router.delete(
    "/assets/{asset_id}/captions/{track}", status_code=204, summary="Remove a sidecar caption"
)
def delete_caption(request: Request, asset_id: str, track: str) -> Response:
    services = _services(request, asset_id)
    captions = CaptionService(
        _media(services), services.store, services.bus, services.settings.caption_max_bytes
    )
    captions.delete(asset_id, track)
    return Response(status_code=204)


@router.post(
    "/assets/{asset_id}/audio",
    status_code=202,
    response_model=AudioUploadOut,
    summary="Add an audio track (another language, audio description); re-transcodes",
    responses={400: {}, 413: {}, 422: {"description": "not a usable audio file"}},
)
async def add_audio(
    request: Request,
    asset_id: str,
    language: Annotated[str, Query(max_length=35)],
    label: Annotated[str | None, Query(max_length=100)] = None,
    default: bool = False,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> JSONResponse:
    services = _services(request, asset_id)
    if not is_language_tag(language):
        raise CaptionInvalid(f"language {language!r} is not a language tag (e.g. en, fr, pt-BR)")
    label = (label or "").strip() or language
    if any(c in label for c in '"\r\n'):
        raise InvalidInput("the label may not contain quotes or line breaks")
    limit = services.settings.audio_upload_max_bytes
    media = _media(services)
    staged, name = await _stage_upload(request, services.settings.work_dir, limit, filename)
    ext = os.path.splitext(name)[1].lower()
    ext = ext if ext in _AUDIO_EXTENSIONS else storage_extension(name)
    key = validate_key(f"{MASTERS}/{asset_id}/audio/{secrets.token_hex(6)}{ext}")
    try:
        await anyio.to_thread.run_sync(
            lambda: probe_audio(staged, max_duration_s=services.settings.max_source_duration_s)
        )

        def store() -> None:
            with open(staged, "rb") as src, services.store.writer(key) as dst:
                shutil.copyfileobj(src, dst, 8 * _CHUNK)

        await anyio.to_thread.run_sync(store)
    finally:
        staged.unlink(missing_ok=True)
    upload = media.add_audio_upload(
        AudioUpload(
            asset_id=asset_id,
            source_key=key,
            language=language_tag(language) or language,
            label=label,
            is_default=default,
        )
    )
    job = services.assets.retranscode(asset_id)
    out = AudioUploadOut(
        id=upload.id, language=upload.language, label=upload.label, default=default, job=job
    )
    return JSONResponse(out.model_dump(), status_code=202)


async def _stage_upload(
    request: Request, work_dir: Path, limit: int, filename: str | None
) -> tuple[Path, str]:
    """Stream a (possibly large) raw or multipart body to a private temp file."""
    work_dir.mkdir(parents=True, exist_ok=True)
    fd, raw = tempfile.mkstemp(prefix="audio-", dir=work_dir)
    path = Path(raw)
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            if request.headers.get("content-type", "").startswith("multipart/"):
                form = await request.form(max_files=1, max_fields=10)
                part = form.get("file")
                if not isinstance(part, UploadFile):
                    raise UploadRejected("the form has no 'file' part")
                filename = filename or part.filename
                while chunk := await part.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise UploadRejected(f"the file exceeds {limit} bytes", status=413)
                    fh.write(chunk)
            else:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise UploadRejected(f"the file exceeds {limit} bytes", status=413)
                    fh.write(chunk)
        if size == 0:
            raise UploadRejected("the uploaded audio file is empty")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, filename or "audio"


@router.get(
    "/assets/{asset_id}/audio",
    response_model=list[AudioUploadOut],
    summary="Separately uploaded audio tracks",
)
def list_audio(request: Request, asset_id: str) -> list[AudioUploadOut]:
    services = _services(request, asset_id)
    return [
        AudioUploadOut(id=u.id, language=u.language, label=u.label, default=u.is_default)
        for u in _media(services).audio_uploads(asset_id)
    ]


@router.put(
    "/assets/{asset_id}/poster",
    summary="Choose the poster frame by time (null: back to the automatic choice)",
)
def set_poster(request: Request, asset_id: str, body: PosterIn) -> dict[str, Any]:
    services = _services(request, asset_id)
    asset = services.catalogue.get_asset(asset_id)
    if body.time is not None and asset.duration and body.time > asset.duration:
        raise InvalidInput(f"the poster time is after the end ({asset.duration:.3f} s)")
    _media(services).set_asset_options(asset_id, poster_time=body.time)
    services.bus.publish(
        ASSET_UPDATED,
        asset_id,
        action="poster",
        time=body.time,
        purge=PurgeScope(Scope.PICTURES).to_payload(),
    )
    return {"id": asset_id, "poster_time": body.time}


@router.put(
    "/assets/{asset_id}/downloads",
    summary="Allow or refuse MP4 downloads (POST /play/{id}?download=1)",
)
def set_downloads(request: Request, asset_id: str, body: DownloadsIn) -> dict[str, Any]:
    services = _services(request, asset_id)
    _media(services).set_asset_options(asset_id, allow_download=body.allow)
    services.bus.publish(
        ASSET_UPDATED,
        asset_id,
        action="downloads",
        allow=body.allow,
        purge=PurgeScope(Scope.DOWNLOAD).to_payload(),
    )
    return {"id": asset_id, "allow_download": body.allow}
