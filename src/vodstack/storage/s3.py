"""S3 object store: masters and packaged media in a private, encrypted bucket.

Why boto3 and not obstore: the startup checks need bucket-level control-plane calls
(HeadBucket, GetBucketPolicy, GetBucketAcl) and cleanup needs ListMultipartUploads and
AbortMultipartUpload; obstore is an object-level API (get/put/list/delete/head/multipart), so
boto3 would be a dependency anyway, and one client means one credential chain, one retry
policy and one place that sees every request (tests count GETs through botocore's event
hooks). obstore's edge — fast concurrent bulk transfer in Rust — matters little here: the hot
path is one ranged GET per segment miss, then a local cache. (s3fs is out: it pins botocore.)

Atomic publishing: S3 has no atomic multi-object rename, so ``publish_directory`` uploads file
by file into a revision prefix that nothing references yet. Viewers reach objects only through
the origin, which resolves them from the catalogue, and the catalogue commit that points an
asset at the new revision happens after this returns, in one transaction. So a viewer sees the
old revision or the complete new one, never half of one; S3's strong read-after-write
consistency (since December 2020) means every origin can read every object once we return. A
crash mid-publish leaves unreferenced objects under an uncommitted prefix, which the retried
stage removes with ``delete_prefix`` before publishing again.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from vodstack.errors import ConfigError, InvalidInput, NotFound, StorageError, VodstackError
from vodstack.storage.base import MASTERS, PACKAGED, validate_key

log = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's floor for every part but the last
SSE_MODES = ("AES256", "aws:kms")
_DELETE_BATCH = 1000  # DeleteObjects accepts at most this many keys
_META_ENTRIES = 4096
_PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CHUNK_NAME = re.compile(r"^[0-9a-f]{32}-[0-9]+$")

# ----------------------------------------------------------------------------- errors

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_HINTS = {
    "403": "access denied: the credentials lack a permission for this request",
    "AccessDenied": "access denied: the credentials lack a permission for this request",
    "NoSuchBucket": "the bucket does not exist: create it or fix VODSTACK_STORAGE_URL",
    "InvalidAccessKeyId": "the access key is unknown to this endpoint: check the credentials "
    "and VODSTACK_S3_ENDPOINT_URL",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "ExpiredToken": "the session token expired: refresh the credentials",
    "PreconditionFailed": "the object changed while it was being read: retry",
    "SlowDown": "S3 is throttling requests: retry later",
    "KMS.NotFoundException": "the configured KMS key does not exist",
}


def translate_error(exc: Exception, what: str) -> VodstackError:
    """A botocore error as NotFound or a StorageError a person can act on.

    Messages name the operation and S3's error code, never request headers or credentials.
    """
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "unknown"))
        if code in _NOT_FOUND:
            return NotFound(f"{what} not found")
        hint = _HINTS.get(code, "see this error code in the S3 provider's documentation")
        return StorageError(f"S3 refused {what} ({code}): {hint}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return StorageError(
            f"no usable AWS credentials for {what}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an instance role"
        )
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return StorageError(
            f"cannot reach the S3 endpoint for {what}: check VODSTACK_S3_ENDPOINT_URL and "
            "the network"
        )
    return StorageError(f"S3 request for {what} failed: {type(exc).__name__}: {exc}")


@contextmanager
def _s3_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate_error(exc, what) from exc


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# ------------------------------------------------------------ public-access analysis (pure)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(patterns: Any, value: str, *, fold: bool) -> bool:
    """IAM matching: ``*`` and ``?`` wildcards; actions are case-insensitive, ARNs are not."""
    for pattern in _as_list(patterns):
        p, v = (str(pattern).lower(), value.lower()) if fold else (str(pattern), value)
        if fnmatch.fnmatchcase(v, p.replace("[", "[[]")):
            return True
    return False


def _resource_matches(patterns: Any, bucket_path: str) -> bool:
    """Match ``bucket/key`` against S3 ARNs of any partition (aws, aws-cn, aws-us-gov)."""
    for pattern in _as_list(patterns):
        text = str(pattern)
        resource = (
            text.split(":", 5)[5] if text.startswith("arn:") and text.count(":") >= 5 else text
        )
        if _wildcard(resource, bucket_path, fold=False):
            return True
    return False


def _open_to_everyone(statement: dict[str, Any]) -> bool:
    if "NotPrincipal" in statement:  # Allow + NotPrincipal = everyone except a few
        return True
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, dict) and any("*" in _as_list(v) for v in principal.values())


def public_read_statements(policy: dict[str, Any], bucket_path: str) -> list[str]:
    """Statements (Sid or ``#index``) that let anyone ``s3:GetObject`` ``bucket/key``.

    Conditions are deliberately not evaluated: a statement open to ``*`` is refused even when
    a Condition narrows it, because proving a condition private needs the whole IAM engine;
    grant to named principals (e.g. CloudFront's service principal) instead.
    """
    found: list[str] = []
    for index, st in enumerate(_as_list(policy.get("Statement", []))):
        if not isinstance(st, dict) or st.get("Effect") != "Allow" or not _open_to_everyone(st):
            continue
        if "NotAction" in st:
            grants = not _wildcard(st["NotAction"], "s3:GetObject", fold=True)
        else:
            grants = _wildcard(st.get("Action", []), "s3:GetObject", fold=True)
        if "NotResource" in st:
            covers = not _resource_matches(st["NotResource"], bucket_path)
        else:
            covers = _resource_matches(st.get("Resource", []), bucket_path)
        if grants and covers:
            found.append(str(st.get("Sid") or f"#{index}"))
    return found


def public_acl_grants(grants: list[dict[str, Any]]) -> list[str]:
    """ACL grants to the AllUsers/AuthenticatedUsers groups, as ``Group:PERMISSION``."""
    return [
        f"{g['Grantee']['URI'].rsplit('/', 1)[-1]}:{g.get('Permission')}"
        for g in grants
        if g.get("Grantee", {}).get("URI") in _PUBLIC_GROUPS
    ]


# ------------------------------------------------------------------------ chunk cache


class ChunkCache:
    """Byte-bounded LRU of object chunks, in memory or as files in ``directory``.

    A directory cache survives restarts, so an origin comes back with a warm working set;
    files are written to a temp name and renamed, so readers never see a partial chunk.
    Chunk names embed the object's ETag: a changed object can never be served stale bytes.
    The byte bound is kept per process: give each process its own directory to keep it exact.
    Caching is an optimisation only, so a full or read-only disk never fails a read.
    """

    def __init__(self, max_bytes: int, directory: Path | None = None) -> None:
        self.max_bytes = max_bytes
        self.directory = directory
        self._sizes: OrderedDict[str, int] = OrderedDict()
        self._data: dict[str, bytes] = {}
        self._total = 0
        self._lock = threading.Lock()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
            self._adopt(directory)

    def _adopt(self, directory: Path) -> None:
        stats = [(p, p.stat()) for p in directory.iterdir() if p.is_file()]
        for path, st in sorted(stats, key=lambda item: item[1].st_mtime):
            if _CHUNK_NAME.fullmatch(path.name):
                self._sizes[path.name] = st.st_size
                self._total += st.st_size
            elif st.st_mtime < time.time() - 3600:
                path.unlink(missing_ok=True)  # a temp file of a crashed write, not a live one
        self._drop(self._evict_locked())

    def has(self, name: str) -> bool:
        with self._lock:
            return name in self._sizes

    def get(self, name: str) -> bytes | None:
        with self._lock:
            if name not in self._sizes:
                return None
            self._sizes.move_to_end(name)
            if self.directory is None:
                return self._data[name]
        try:
            return (self.directory / name).read_bytes()
        except FileNotFoundError:  # evicted by another process sharing the directory
            with self._lock:
                self._total -= self._sizes.pop(name, 0)
            return None

    def put(self, name: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        if self.directory is not None and not self._write_file(self.directory, name, data):
            return
        with self._lock:
            self._total -= self._sizes.pop(name, 0)
            self._sizes[name] = len(data)
            self._total += len(data)
            if self.directory is None:
                self._data[name] = data
            evicted = self._evict_locked()
        self._drop(evicted)

    @staticmethod
    def _write_file(directory: Path, name: str, data: bytes) -> bool:
        tmp = directory / f".{name}.{secrets.token_hex(4)}"
        try:
            tmp.write_bytes(data)
            os.replace(tmp, directory / name)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            log.warning("chunk cache in %s not written: %s", directory, exc.strerror)
            return False
        return True

    def _evict_locked(self) -> list[str]:
        evicted: list[str] = []
        while self._total > self.max_bytes and self._sizes:
            name, size = self._sizes.popitem(last=False)
            self._data.pop(name, None)
            self._total -= size
            evicted.append(name)
        return evicted

    def _drop(self, names: list[str]) -> None:
        if self.directory is not None:
            for name in names:
                (self.directory / name).unlink(missing_ok=True)


# ------------------------------------------------------------------- reader and writer


@dataclass(frozen=True, slots=True)
class ObjectMeta:
    """What a HEAD tells us; cached so reopening a segment's track file costs no request."""

    size: int
    etag: str


class _S3Reader(io.RawIOBase):
    """A seekable read-only view of one object version (reads are pinned to its ETag).

    Small reads (the origin's 256 KiB pumps) go through the store's chunk cache; large
    sequential reads (staging a master for FFmpeg) stream from one open GET instead, so a
    multi-GB copy neither issues a GET per read nor evicts the origin's hot segments.
    """

    def __init__(self, store: S3Store, key: str, meta: ObjectMeta) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._meta = meta
        self._pos = 0
        self._stream: Any = None
        self._stream_pos = -1

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._meta.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(buffer).cast("B")
        n = min(len(view), max(0, self._meta.size - self._pos))
        if n == 0:
            return 0
        if n >= self._store.bulk_read_bytes:
            data = self._read_stream(n)
        else:
            data = self._store.read_range(self._key, self._meta, self._pos, n)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        return self.read(max(0, self._meta.size - self._pos)) or b""

    def _read_stream(self, n: int) -> bytes:
        if self._stream is None or self._stream_pos != self._pos:
            self._close_stream()
            self._stream = self._store.open_stream(self._key, self._meta, self._pos)
            self._stream_pos = self._pos
        with _s3_errors(f"reading object {self._key!r}"):
            data = self._stream.read(n)
        if len(data) != n:
            raise StorageError(f"object {self._key!r} ended early: its stored size changed")
        self._stream_pos += n
        return data

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        self._close_stream()
        super().close()


class _S3Writer(io.RawIOBase):
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
        with _s3_errors(f"uploading object {self._key!r}"):
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
            with _s3_errors(f"writing object {self._key!r}"):
                client.put_object(
                    Bucket=bucket, Key=self._full, Body=bytes(self._buf), **self._store.sse_args
                )
        else:
            if self._buf:
                self._upload_part(bytes(self._buf))
            with _s3_errors(f"completing upload of {self._key!r}"):
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


# ------------------------------------------------------------------------------- store


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
        self._root = f"{validate_key(prefix)}/" if prefix else ""
        self.client = client if client is not None else _make_client(endpoint_url)
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
        self._meta: OrderedDict[str, ObjectMeta] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Store(s3://{self.bucket}/{self._root})"

    def full_key(self, key: str) -> str:
        return self._root + validate_key(key)

    # --- writing

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        out = _S3Writer(self, validate_key(key))
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
        return cast(BinaryIO, _S3Reader(self, key, self.meta(key)))

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
            if cached is not None:
                self._meta.move_to_end(key)
                return cached
        return self._head(key)

    def _head(self, key: str) -> ObjectMeta:
        with _s3_errors(f"object {key!r}"):
            r = self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        meta = ObjectMeta(size=int(r["ContentLength"]), etag=str(r["ETag"]))
        with self._lock:
            self._meta[key] = meta
            if len(self._meta) > _META_ENTRIES:
                self._meta.popitem(last=False)
        return meta

    def forget(self, key: str) -> None:
        """Drop cached metadata of ``key`` (it was rewritten, deleted or changed)."""
        with self._lock:
            self._meta.pop(key, None)

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
            with _s3_errors(f"reading {key!r}"):
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
            if _code(exc) in ("PreconditionFailed", "NoSuchKey", "404"):
                self.forget(key)
            raise translate_error(exc, f"reading {key!r}") from exc
        except BotoCoreError as exc:
            raise translate_error(exc, f"reading {key!r}") from exc
        return r["Body"]

    # --- listing and deleting

    def list(self, prefix: str) -> Iterator[str]:
        root = self._root
        for full in self._list_full(self.full_key(prefix) + "/"):
            key = full[len(root) :]
            try:
                yield validate_key(key)
            except VodstackError:
                continue  # not written by vodstack (e.g. a console upload): never hand it out

    def _list_full(self, full_prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        with _s3_errors(f"listing {full_prefix!r}"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
                for obj in page.get("Contents", []):
                    yield str(obj["Key"])

    def _has_objects(self, prefix: str) -> bool:
        with _s3_errors(f"listing {prefix!r}"):
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
            for key in [k for k in self._meta if k == prefix or k.startswith(prefix + "/")]:
                del self._meta[key]
        return len(keys)

    def _delete_full_keys(self, keys: list[str], *, quiet: bool = False) -> None:
        try:
            for i in range(0, len(keys), _DELETE_BATCH):
                batch = [{"Key": k} for k in keys[i : i + _DELETE_BATCH]]
                with _s3_errors(f"deleting {len(batch)} objects"):
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
        with _s3_errors(f"listing uploads under {full_prefix!r}"):
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
        try:
            self._check_reachable()
            self._check_policy()
            self._check_acl()
            self._check_encryption()
        except (StorageError, NotFound) as exc:
            message = f"S3 bucket {self.bucket!r} failed the start-up check: {exc.message}"
            raise ConfigError(message) from exc

    def _check_reachable(self) -> None:
        with _s3_errors(f"bucket {self.bucket!r}"):
            self.client.head_bucket(Bucket=self.bucket)

    def _check_policy(self) -> None:
        try:
            text = self.client.get_bucket_policy(Bucket=self.bucket)["Policy"]
        except ClientError as exc:
            if _code(exc) == "NoSuchBucketPolicy":
                return
            raise translate_error(exc, "reading the bucket policy (s3:GetBucketPolicy)") from exc
        except BotoCoreError as exc:
            raise translate_error(exc, "reading the bucket policy") from exc
        policy = json.loads(text)
        public = sorted(
            {
                sid
                for top in (MASTERS, PACKAGED)
                for sid in public_read_statements(policy, f"{self.bucket}/{self._root}{top}/x")
            }
        )
        if public:
            raise ConfigError(
                f"the policy of bucket {self.bucket!r} lets anyone read vodstack's objects "
                f"(statements {', '.join(public)}); remove them: viewers must get media only "
                "through the origin, which checks entitlements"
            )

    def _check_acl(self) -> None:
        with _s3_errors("reading the bucket ACL (s3:GetBucketAcl)"):
            grants = self.client.get_bucket_acl(Bucket=self.bucket).get("Grants", [])
        public = public_acl_grants(grants)
        if public:
            raise ConfigError(
                f"the ACL of bucket {self.bucket!r} grants {', '.join(public)}; make it private "
                "(aws s3api put-bucket-acl --acl private) or enforce bucket-owner object ownership"
            )

    def _check_encryption(self) -> None:
        """Write, HEAD and delete a probe: proves our SSE header is honoured end to end."""
        probe = f"{self._root}.vodstack-check-{secrets.token_hex(8)}"
        try:
            with _s3_errors("writing a probe object (s3:PutObject)"):
                self.client.put_object(
                    Bucket=self.bucket, Key=probe, Body=b"vodstack", **self.sse_args
                )
                r = self.client.head_object(Bucket=self.bucket, Key=probe)
        finally:
            with _s3_errors("deleting the probe object (s3:DeleteObject)"):
                self.client.delete_object(Bucket=self.bucket, Key=probe)
        got = r.get("ServerSideEncryption")
        if got != self.sse:
            raise ConfigError(
                f"objects written to bucket {self.bucket!r} are stored with encryption {got!r}, "
                f"not {self.sse!r}: the endpoint ignores the SSE header"
            )
        wanted = self.kms_key_id or ""
        got_key = str(r.get("SSEKMSKeyId") or "").rsplit("/", 1)[-1]
        # An alias cannot be compared with the key ARN S3 answers with; ids and ARNs can.
        if wanted and not wanted.startswith("alias/") and got_key != wanted.rsplit("/", 1)[-1]:
            raise ConfigError(f"objects are encrypted with KMS key {got_key!r}, not {wanted!r}")


# ------------------------------------------------------------------------- construction


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


def _make_client(endpoint_url: str | None) -> Any:
    """A client on the standard AWS credential chain (env, profile, instance role)."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=32,  # the origin reads from many threads at once
        # A custom endpoint (MinIO, moto, Ceph) rarely has wildcard DNS for virtual hosts.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)


def _setting(settings: object, name: str, default: Any = None) -> Any:
    """A settings field, else its ``VODSTACK_*`` variable (until the fields exist in Settings)."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(f"VODSTACK_{name.upper()}")
    return default if value is None or value == "" else value


def open_s3_store(url: str, settings: object, *, client: Any = None) -> S3Store:
    """The store for ``s3://bucket/prefix``, checked before it is handed out."""
    parts = urlsplit(url)
    shown = f"s3://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"  # never echo user:password
    if parts.scheme != "s3" or parts.query or parts.fragment or "@" in parts.netloc:
        raise ConfigError(
            f"expected s3://bucket/prefix, got {shown!r} (credentials come from the standard "
            "AWS variables, never from the URL)"
        )
    cache_dir = _setting(settings, "s3_cache_dir")
    try:
        store = S3Store(
            parts.netloc,
            parts.path,
            client=client,
            endpoint_url=_setting(settings, "s3_endpoint_url"),
            sse=str(_setting(settings, "s3_sse", "AES256")),
            kms_key_id=_setting(settings, "s3_kms_key_id"),
            cache_dir=Path(cache_dir) if cache_dir else None,
            cache_bytes=int(_setting(settings, "s3_cache_bytes", 256 * MiB)),
        )
    except InvalidInput as exc:
        raise ConfigError(f"invalid prefix in storage URL {shown!r}: {exc.message}") from exc
    store.check()
    log.info("object store: %r, SSE %s", store, store.sse)
    return store
