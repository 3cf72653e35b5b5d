"""Streaming ``multipart/form-data`` upload of a master, straight into the object store.

Why not FastAPI's ``UploadFile``: it spools the whole file to a temporary file first (a
second full copy of a multi-GB master on disk, and the time to write it). Here each chunk of
the ``file`` part goes to the store as it arrives, through python-multipart's push parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from python_multipart import MultipartParser
from python_multipart.exceptions import ParseError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from vodstack.errors import UploadRejected
from vodstack.ingest import Ingestor, Upload

_FLUSH = 1024 * 1024
_MAX_FIELD = 4096


@dataclass
class _PartState:
    headers: dict[str, str] = field(default_factory=dict)
    header_field: bytes = b""
    header_value: bytes = b""
    name: str = ""
    filename: str | None = None
    text: bytearray = field(default_factory=bytearray)


class _Receiver:
    """Collects form fields and feeds the first file part into an Upload."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self.part = _PartState()
        self.fields: dict[str, str] = {}
        self.upload: Upload | None = None
        self.pending = bytearray()
        self.file_parts = 0
        self.error: UploadRejected | None = None

    def on_part_begin(self) -> None:
        self.part = _PartState()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def on_header_end(self) -> None:
        # Kept as latin-1 (one char per byte): parse_options_header encodes it back to bytes,
        # and browsers send UTF-8 filenames raw, which on_headers_finished decodes as UTF-8.
        self.part.headers[self.part.header_field.decode("latin-1").lower()] = (
            self.part.header_value.decode("latin-1")
        )
        self.part.header_field = self.part.header_value = b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self.part.headers.get("content-disposition", ""))
        self.part.name = params.get(b"name", b"").decode("utf-8", "replace")
        raw = params.get(b"filename")
        self.part.filename = raw.decode("utf-8", "replace") if raw is not None else None
        if self.part.name == "file":
            self.file_parts += 1
            if self.file_parts > 1:
                raise UploadRejected("send exactly one file per upload")
            self.upload = self.ingestor.start(self.part.filename, None)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.name == "file":
            self.pending += data[start:end]
        else:
            self.part.text += data[start:end]
            if len(self.part.text) > _MAX_FIELD:
                raise UploadRejected(f"form field {self.part.name!r} is too long")

    def on_part_end(self) -> None:
        if self.part.name != "file":
            self.fields[self.part.name] = self.part.text.decode("utf-8", "replace")


async def receive_multipart(request: Request, ingestor: Ingestor) -> str:
    """Stream the request into the store; returns the new asset id."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRejected("send the master as multipart/form-data with a 'file' part", 415)
    receiver = _Receiver(ingestor)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": receiver.on_part_begin,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            try:
                parser.write(chunk)
            except ParseError as exc:  # a part header over python-multipart's limit, bad framing
                raise UploadRejected(f"malformed multipart/form-data body: {exc}") from None
            if receiver.upload is not None and len(receiver.pending) >= _FLUSH:
                data, receiver.pending = bytes(receiver.pending), bytearray()
                await anyio.to_thread.run_sync(receiver.upload.write, data)
        try:
            parser.finalize()
        except ParseError as exc:
            raise UploadRejected(f"malformed multipart/form-data body: {exc}") from None
        if receiver.upload is None:
            raise UploadRejected("the form has no 'file' part")
        if receiver.pending:
            await anyio.to_thread.run_sync(receiver.upload.write, bytes(receiver.pending))
        if receiver.fields.get("title"):
            receiver.upload.title = receiver.fields["title"].strip()[:500]
        return await anyio.to_thread.run_sync(receiver.upload.finish)
    except BaseException:
        if receiver.upload is not None:
            receiver.upload.abort()
        raise


async def receive_raw(
    request: Request, ingestor: Ingestor, filename: str | None, title: str | None
) -> str:
    """The body itself is the master (``curl --data-binary @master.mp4``)."""
    upload = ingestor.start(filename, title)
    pending = bytearray()
    try:
        async for chunk in request.stream():
            pending += chunk
            if len(pending) >= _FLUSH:
                data, pending = bytes(pending), bytearray()
                await anyio.to_thread.run_sync(upload.write, data)
        if pending:
            await anyio.to_thread.run_sync(upload.write, bytes(pending))
        return await anyio.to_thread.run_sync(upload.finish)
    except BaseException:
        upload.abort()
        raise
