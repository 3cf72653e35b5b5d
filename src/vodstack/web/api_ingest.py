"""``POST /api/assets`` with a JSON body: ingest from a URL (ingest/url_ingest.py).

The route itself is the upload route of ``web/api.py`` (one URL for every way a master
arrives); a JSON body lands here. Its body class is the upload class (a multi-GB limit), so
the JSON is read here under its own small cap.
"""

from __future__ import annotations

import json

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from vodstack.base.actor import api_actor
from vodstack.errors import InvalidInput, UploadRejected
from vodstack.ingest.url_ingest import UrlIngestor, UrlRequest
from vodstack.web.state import services_of

MAX_JSON_BODY = 64 * 1024


class UrlIngestIn(BaseModel):
    url: str = Field(max_length=2048, description="http(s) URL of the master")
    title: str | None = Field(default=None, max_length=500)
    ladder: str | None = Field(default=None, max_length=20)
    max_bytes: int | None = Field(
        default=None, gt=0, description="Size cap of the download (≤ VODSTACK_MAX_UPLOAD_BYTES)"
    )
    metadata: dict[str, str] | None = Field(
        default=None, description="Free key/values (≤ 50 keys) told in asset.created"
    )


URL_INGEST_SCHEMA = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "maxLength": 2048},
        "title": {"type": "string", "maxLength": 500},
        "ladder": {"type": "string", "maxLength": 20},
        "max_bytes": {"type": "integer", "minimum": 1},
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


async def read_json(request: Request, limit: int = MAX_JSON_BODY) -> object:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise UploadRejected(f"the JSON body is over {limit} bytes", status=413)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body is not valid JSON") from None


async def ingest_from_url(request: Request) -> JSONResponse:
    raw = await read_json(request)
    try:
        body = UrlIngestIn.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {first['msg']}") from None
    services = services_of(request)
    ingestor = UrlIngestor(
        services.settings,
        services.catalogue,
        services.store,
        services.bus,
        dispatch=services.pipeline.dispatch,
    )
    request_ = UrlRequest(body.url, body.title, body.ladder, body.max_bytes, body.metadata)
    actor = api_actor(request)
    asset = await anyio.to_thread.run_sync(lambda: ingestor.accept(request_, actor=actor))
    return JSONResponse(
        {"id": asset.id, "status": asset.status},
        status_code=202,
        headers={"Location": f"/api/assets/{asset.id}"},
    )
