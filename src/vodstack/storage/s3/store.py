"""The S3 object store: objects under ``s3://bucket/prefix/``, written and read through the
multipart writer, the pinned reader and the chunk cache of this package."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

from botocore.exceptions import BotoCoreError, ClientError

from vodstack.base.lru import Lru
from vodstack.errors import ConfigError, NotFound, StorageError, VodstackError
from vodstack.storage.base import validate_key
from vodstack.storage.s3.checks import check_bucket
from vodstack.storage.s3.chunks import ChunkCache
from vodstack.storage.s3.client import make_client
from vodstack.storage.s3.errors import error_code, s3_errors, translate_error
from vodstack.storage.s3.reader import ObjectMeta, S3Reader
from vodstack.storage.s3.writer import MIN_PART_SIZE, MiB, S3Writer

log = logging.getLogger(__name__)

SSE_MODES = ("AES256", "aws:kms")
_DELETE_BATCH = 1000  # DeleteObjects accepts at most this many keys
_META_ENTRIES = 4096
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _check_options(
    bucket: str, sse: str, kms_key_id: str | None, chunk_size: int, readahead: int, part: int
) -> None:
    if not _BUCKET.fullmatch(bucket):
        raise ConfigError(f"invalid S3 bucket name {bucket!r}")
    if sse not in SSE_MODES:
        raise ConfigError(f"S3 server-side encryption must be one of {SSE_MODES}, not {sse!r}")
    if kms_key_id and sse != "aws:kms":
        raise ConfigError("a KMS key id needs server-side encryption 'aws:kms'")
    if chunk_size <= 0 or readahead < chunk_size:
        raise ConfigError("the S3 read-ahead must be at least one cache chunk")
    if part < MIN_PART_SIZE:
        raise ConfigError(f"S3 multipart parts must be at least {MIN_PART_SIZE} bytes")


class S3Store:
    """Objects under ``s3://bucket/prefix/``; never public, every write server-side encrypted.

    ``chunk_size`` is the unit of the read cache and ``readahead`` how much one GET fetches on
    a miss: with the defaults a segment of up to ~3 MiB (4 s of 1080p) costs one ranged GET,
    and the next segment of a sequential viewer is usually already cached.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        sse: str = "AES256",
        kms_key_id: str | None = None,
        cache_dir: Path | None = None,
        cache_bytes: int = 256 * MiB,
        chunk_size: int = MiB,
        readahead: int = 4 * MiB,
        part_size: int = 8 * MiB,
        upload_workers: int = 4,
    ) -> None:
        _check_options(bucket, sse, kms_key_id, chunk_size, readahead, part_size)
        prefix = prefix.strip("/")
        self.bucket = bucket
        self.root = f"{validate_key(prefix)}/" if prefix else ""  # key prefix in the bucket
        self.client = client if client is not None else make_client(endpoint_url)
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.sse_args: dict[str, str] = {"ServerSideEncryption": sse}
        if kms_key_id:
            self.sse_args["SSEKMSKeyId"] = kms_key_id
        self.cache = ChunkCache(cache_bytes, cache_dir)
        self.chunk_size = chunk_size
        self.readahead_chunks = max(1, readahead // chunk_size)
        self.bulk_read_bytes = readahead
        self.part_size = part_size
        self.upload_workers = upload_workers
        self._meta: Lru[str, ObjectMeta] = Lru(_META_ENTRIES)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Store(s3://{self.bucket}/{self.root})"

    def full_key(self, key: str) -> str:
        return self.root + validate_key(key)

    # --- writing

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        out = S3Writer(self, validate_key(key))
        try:
            yield cast(BinaryIO, out)
            out.complete()
        except BaseException:
            out.abort()  # also when completing failed: no orphaned parts either way
            raise

    def publish_directory(self, local_dir: Path, prefix: str) -> None:
        """Upload every file of ``local_dir`` under ``prefix``; all or nothing is left.

        ``local_dir`` is left in place (the caller's work directory is removed anyway).
        """
        validate_key(prefix)
        files = sorted(p for p in local_dir.rglob("*") if p.is_file())
        keys = [validate_key(f"{prefix}/{p.relative_to(local_dir).as_posix()}") for p in files]
        if self._has_objects(prefix):
            raise StorageError(f"{prefix!r} already exists; revisions are never overwritten")
        try:
            self._upload_all(list(zip(files, keys, strict=True)))
        except BaseException:
            self._delete_full_keys([self.full_key(k) for k in keys], quiet=True)
            raise

    def _upload_all(self, pairs: list[tuple[Path, str]]) -> None:
        with ThreadPoolExecutor(max_workers=self.upload_workers) as pool:
            futures = [pool.submit(self._upload_file, path, key) for path, key in pairs]
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                future.cancel()  # stop queued uploads; running ones finish before we clean up
        for future in futures:
            if not future.cancelled() and future.exception() is not None:
                raise cast(BaseException, future.exception())

    def _upload_file(self, path: Path, key: str) -> None:
        with open(path, "rb") as src, self.writer(key) as dst:
            shutil.copyfileobj(src, dst, MiB)

    # --- reading

    def open(self, key: str) -> BinaryIO:
        return cast(BinaryIO, S3Reader(self, key, self.meta(key)))

    def local_path(self, key: str) -> Path | None:
        return None  # nothing local: the origin streams through ``open``

    def size(self, key: str) -> int:
        return self.meta(key).size

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except NotFound:
            return False
        return True

    def meta(self, key: str) -> ObjectMeta:
        """Size and ETag, from the cache or one HEAD."""
        with self._lock:
            cached = self._meta.get(key)
        return cached if cached is not None else self._head(key)

    def _head(self, key: str) -> ObjectMeta:
        with s3_errors(f"object {key!r}"):
            r = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        meta = ObjectMeta(size=int(r["ContentLength"]), etag=str(r["ETag"]))
        with self._lock:
            self._meta.put(key, meta)
        return meta

    def forget(self, key: str) -> None:
        """Drop cached metadata of ``key`` (it was rewritten, deleted or changed)."""
        with self._lock:
            self._meta.pop(key)

    def read_range(self, key: str, meta: ObjectMeta, pos: int, n: int) -> bytes:
        """``n`` bytes at ``pos`` through the chunk cache: at most one GET, none if cached."""
        cs = self.chunk_size
        first, last = pos // cs, (pos + n - 1) // cs
        base = hashlib.blake2b(
            f"{self.bucket}\0{self.full_key(key)}\0{meta.etag}".encode(), digest_size=16
        ).hexdigest()
        chunks = {i: self.cache.get(f"{base}-{i}") for i in range(first, last + 1)}
        missing = [i for i, chunk in chunks.items() if chunk is None]
        if missing:
            chunks.update(self._fetch_chunks(key, meta, base, missing[0], missing[-1]))
        blob = b"".join(cast(bytes, chunks[i]) for i in range(first, last + 1))
        return blob[pos - first * cs : pos - first * cs + n]

    def _fetch_chunks(
        self, key: str, meta: ObjectMeta, base: str, first: int, last: int
    ) -> dict[int, bytes]:
        """Chunks ``first..last`` plus read-ahead up to the next cached chunk, in one GET."""
        n_chunks = -(-meta.size // self.chunk_size)
        limit = min(first + self.readahead_chunks, n_chunks) - 1
        while last < limit and not self.cache.has(f"{base}-{last + 1}"):
            last += 1
        start = first * self.chunk_size
        data = self._get_range(key, meta, start, min((last + 1) * self.chunk_size, meta.size))
        fetched: dict[int, bytes] = {}
        for i in range(first, last + 1):
            offset = (i - first) * self.chunk_size
            fetched[i] = data[offset : offset + self.chunk_size]
            self.cache.put(f"{base}-{i}", fetched[i])
        return fetched

    def _get_range(self, key: str, meta: ObjectMeta, start: int, end: int) -> bytes:
        body = self.open_stream(key, meta, start, end)
        try:
            with s3_errors(f"reading {key!r}"):
                data = body.read()
        finally:
            body.close()
        if len(data) != end - start:
            raise StorageError(f"object {key!r} returned {len(data)} of {end - start} bytes")
        return data

    def open_stream(self, key: str, meta: ObjectMeta, start: int, end: int | None = None) -> Any:
        """A streaming body of bytes ``[start, end)``, only if ``key`` is still ``meta``'s
        version (If-Match): a reader never mixes bytes of two versions."""
        end = meta.size if end is None else end
        try:
            r = self.client.get_object(
                Bucket=self.bucket,
                Key=self.full_key(key),
                Range=f"bytes={start}-{end - 1}",
                IfMatch=meta.etag,
            )
        except ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "NoSuchKey", "404"):
                self.forget(key)
            raise translate_error(exc, f"reading {key!r}") from exc
        except BotoCoreError as exc:
            raise translate_error(exc, f"reading {key!r}") from exc
        return r["Body"]

    # --- listing and deleting

    def list(self, prefix: str) -> Iterator[str]:
        root = self.root
        for full in self._list_full(self.full_key(prefix) + "/"):
            key = full[len(root) :]
            try:
                yield validate_key(key)
            except VodstackError:
                continue  # not written by vodstack (e.g. a console upload): never hand it out

    def _list_full(self, full_prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        with s3_errors(f"listing {full_prefix!r}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for obj in page.get("Contents", []):
                    yield str(obj["Key"])

    def _has_objects(self, prefix: str) -> bool:
        with s3_errors(f"listing {prefix!r}"):
            r = self.client.list_objects_v2(
                Bucket=self.bucket, Prefix=self.full_key(prefix) + "/", MaxKeys=1
            )
        return bool(r.get("KeyCount", 0))

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix`` (and an object named ``prefix``)."""
        full = self.full_key(prefix)
        keys = [k for k in self._list_full(full) if k == full or k.startswith(full + "/")]
        self._delete_full_keys(keys)
        self._abort_uploads(full + "/")
        with self._lock:
            self._meta.pop_where(lambda k, _: k == prefix or k.startswith(prefix + "/"))
        return len(keys)

    def _delete_full_keys(self, keys: Sequence[str], *, quiet: bool = False) -> None:
        try:
            for i in range(0, len(keys), _DELETE_BATCH):
                batch = [{"Key": k} for k in keys[i : i + _DELETE_BATCH]]
                with s3_errors(f"deleting {len(batch)} objects"):
                    r = self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                    )
                if r.get("Errors"):
                    first = r["Errors"][0]
                    raise StorageError(
                        f"S3 kept {len(r['Errors'])} objects, e.g. {first.get('Key')!r} "
                        f"({first.get('Code')}): check s3:DeleteObject permission"
                    )
        except StorageError as exc:
            if not quiet:
                raise
            log.error("could not clean up after a failed publish: %s", exc.message)

    def _abort_uploads(self, full_prefix: str) -> None:
        """Abort multipart uploads a crashed writer left under the prefix (they cost money)."""
        paginator = self.client.get_paginator("list_multipart_uploads")
        with s3_errors(f"listing uploads under {full_prefix!r}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for upload in page.get("Uploads", []):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )

    # --- startup checks

    def check(self) -> None:
        """Refuse to run on a bucket that is unreachable, public, or does not encrypt our writes.

        Raises ConfigError naming what to change; run once at start-up, before serving.
        """
        check_bucket(self)
