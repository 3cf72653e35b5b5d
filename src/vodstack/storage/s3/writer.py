"""Writing one object: a multipart upload, or one PutObject when it is small."""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from vodstack.storage.s3.errors import s3_errors, translate_error

if TYPE_CHECKING:
    from vodstack.storage.s3.store import S3Store

log = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last


class S3Writer(io.RawIOBase):
    """Streams an object as a multipart upload, holding one part in memory at a time.

    Objects smaller than one part go up in a single PutObject at the end. The context manager
    in ``S3Store.writer`` calls ``complete`` on success and ``abort`` on any error, so a
    failed upload leaves neither an object nor orphaned parts.
    """

    def __init__(self, store: S3Store, key: str) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._full = store.full_key(key)
        self._buf = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self._written = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(data).cast("B")
        self._buf += view
        self._written += len(view)
        while len(self._buf) >= self._next_part_size():
            size = self._next_part_size()
            self._upload_part(bytes(self._buf[:size]))
            del self._buf[:size]
        return len(view)

    def _next_part_size(self) -> int:
        """Doubles every 1000 parts, so the 10 000-part limit allows objects past 5 TiB."""
        return self._store.part_size * 2 ** (len(self._parts) // 1000)

    def _upload_part(self, body: bytes) -> None:
        client, bucket = self._store.client, self._store.bucket
        with s3_errors(f"uploading object {self._key!r}"):
            if self._upload_id is None:
                created = client.create_multipart_upload(
                    Bucket=bucket, Key=self._full, ChecksumAlgorithm="CRC32", **self._store.sse_args
                )
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            part = client.upload_part(
                Bucket=bucket,
                Key=self._full,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm="CRC32",
            )
        self._parts.append(
            {"PartNumber": number, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]}
        )

    def complete(self) -> None:
        client, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            with s3_errors(f"writing object {self._key!r}"):
                client.put_object(
                    Bucket=bucket, Key=self._full, Body=bytes(self._buf), **self._store.sse_args
                )
        else:
            if self._buf:
                self._upload_part(bytes(self._buf))
            with s3_errors(f"completing upload of {self._key!r}"):
                client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self._full,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        self._buf = bytearray()
        self._store.forget(self._key)
        self.close()

    def abort(self) -> None:
        """Best effort: the caller's error matters more than a failed abort (logged)."""
        self._buf = bytearray()
        if self._upload_id is not None:
            try:
                self._store.client.abort_multipart_upload(
                    Bucket=self._store.bucket, Key=self._full, UploadId=self._upload_id
                )
            except (ClientError, BotoCoreError) as exc:
                log.warning(
                    "could not abort upload of %r: %s", self._key, translate_error(exc, "abort")
                )
        self.close()
