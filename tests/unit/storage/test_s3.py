"""S3-only behaviour, observed on the wire: request counts, headers, multipart bookkeeping.

Requests are counted with botocore's ``before-send`` hook, i.e. what actually leaves the
process; objects are inspected with a separate client call, not through the store under test.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.unit.storage.support import (
    ClientWentAway,
    KiB,
    MakeS3Store,
    MiB,
    RequestLog,
    all_bucket_keys,
    pending_uploads,
    write_then_fail,
)

from vodstack.errors import StorageError
from vodstack.origin.resources import IMMUTABLE
from vodstack.storage.slices import FileSlice
from vodstack.web.responses import ResourceResponse

SSE_HEADER = "x-amz-server-side-encryption"


def _bytes(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def _put(store: Any, key: str, data: bytes) -> None:
    with store.writer(key) as fh:
        fh.write(data)


def _read_like_the_origin(store: Any, key: str, offset: int, length: int) -> bytes:
    """What ``ResourceResponse._pump`` does: a fresh handle, 256 KiB reads at offsets."""
    out = bytearray()
    with store.open(key) as fh:
        while len(out) < length:
            fh.seek(offset + len(out))
            out += fh.read(min(256 * KiB, length - len(out)))
    return bytes(out)


def _serve(store: Any, segment: FileSlice, range_: str | None = None) -> tuple[int, bytes]:
    """Drive the origin's ASGI response directly; returns (status, body)."""
    sent: list[dict[str, Any]] = []
    headers = [(b"range", range_.encode())] if range_ else []
    scope = {"type": "http", "method": "GET", "headers": headers, "extensions": {}}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(ResourceResponse(segment, store, {}), scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_segment_miss_costs_one_ranged_get_and_a_repeat_none(
    make_s3_store: MakeS3Store, requests_log: RequestLog
) -> None:
    store = make_s3_store(chunk_size=256 * KiB, readahead=MiB, cache_bytes=4 * MiB)
    data = _bytes(3 * MiB)
    with store.writer("packaged/a/1/v0.mp4") as fh:
        fh.write(data)
    requests_log.reset()
    offset, length = 300 * KiB, 700 * KiB  # crosses two chunk boundaries
    assert (
        _read_like_the_origin(store, "packaged/a/1/v0.mp4", offset, length)
        == data[offset : offset + length]
    )
    assert requests_log.count("GetObject") == 1
    ranges = [h.get("range") for op, h in requests_log.calls if op == "GetObject"]
    assert ranges == [f"bytes={256 * KiB}-{256 * KiB + MiB - 1}"]  # aligned chunk + read-ahead
    requests_log.reset()
    assert (
        _read_like_the_origin(store, "packaged/a/1/v0.mp4", offset, length)
        == data[offset : offset + length]
    )
    assert _read_like_the_origin(store, "packaged/a/1/v0.mp4", MiB, 200 * KiB)  # read-ahead
    assert requests_log.calls == []  # no GET and no HEAD: chunks and size/ETag are cached


def test_origin_serves_s3_segments_with_one_get_per_miss(
    make_s3_store: MakeS3Store, requests_log: RequestLog
) -> None:
    """Through the real ASGI response (library defaults: 1 MiB chunks, 4 MiB read-ahead)."""
    store = make_s3_store(chunk_size=MiB, readahead=4 * MiB, cache_bytes=64 * MiB)
    data = _bytes(6 * MiB, 1)
    with store.writer("packaged/a/1/v0.mp4") as fh:
        fh.write(data)
    offset, length = 1536 * KiB, 2560 * KiB
    segment = FileSlice("packaged/a/1/v0.mp4", None, offset, length, "video/mp4", IMMUTABLE, '"e"')

    requests_log.reset()
    first = _serve(store, segment)
    assert first == (200, data[offset : offset + length])
    assert [op for op, _ in requests_log.calls] == ["HeadObject", "GetObject"]  # first sight
    requests_log.reset()
    assert _serve(store, segment) == first
    assert _serve(store, segment, "bytes=1000-299999") == (206, first[1][1000:300000])
    assert requests_log.count("GetObject") == 0


def test_memory_cache_is_bounded(make_s3_store: MakeS3Store, requests_log: RequestLog) -> None:
    store = make_s3_store(chunk_size=64 * KiB, readahead=64 * KiB, cache_bytes=128 * KiB)
    with store.writer("k.bin") as fh:
        fh.write(_bytes(256 * KiB, 2))
    for chunk in (0, 1, 2):
        _read_like_the_origin(store, "k.bin", chunk * 64 * KiB, 10)
    requests_log.reset()
    _read_like_the_origin(store, "k.bin", 2 * 64 * KiB, 10)
    assert requests_log.count("GetObject") == 0  # recent: still cached
    _read_like_the_origin(store, "k.bin", 0, 10)
    assert requests_log.count("GetObject") == 1  # oldest: evicted to stay within 128 KiB


def test_disk_cache_survives_a_restart(
    make_s3_store: MakeS3Store, requests_log: RequestLog, tmp_path: Path
) -> None:
    data = _bytes(500 * KiB, 3)
    first = make_s3_store(cache_dir=tmp_path / "cache", cache_bytes=256 * KiB)
    with first.writer("k.bin") as fh:
        fh.write(data)
    assert _read_like_the_origin(first, "k.bin", 10, 100 * KiB) == data[10 : 10 + 100 * KiB]
    cached = sum(p.stat().st_size for p in (tmp_path / "cache").iterdir())
    assert 0 < cached <= 256 * KiB
    requests_log.reset()
    second = make_s3_store(cache_dir=tmp_path / "cache", cache_bytes=256 * KiB)
    assert _read_like_the_origin(second, "k.bin", 10, 100 * KiB) == data[10 : 10 + 100 * KiB]
    assert (requests_log.count("HeadObject"), requests_log.count("GetObject")) == (1, 0)


def test_reader_never_mixes_two_versions(make_s3_store: MakeS3Store) -> None:
    """Reads are pinned to the ETag seen at open (If-Match); a replaced object is re-opened."""
    reader_store, writer_store = make_s3_store(), make_s3_store()
    _put(writer_store, "k.bin", b"a" * MiB)
    with reader_store.open("k.bin") as fh:
        assert fh.read(10) == b"a" * 10  # caches the first 256 KiB (chunk + read-ahead)
        _put(writer_store, "k.bin", b"b" * MiB)
        assert fh.read(10) == b"a" * 10  # cached bytes are of the version we opened
        fh.seek(900 * KiB)
        with pytest.raises(StorageError, match="changed"):
            fh.read(10)
    with reader_store.open("k.bin") as fh:
        assert fh.read(10) == b"b" * 10


def test_large_writes_are_streamed_in_parts(
    make_s3_store: MakeS3Store, requests_log: RequestLog, s3_client: Any, bucket: str
) -> None:
    store = make_s3_store()
    with store.writer("masters/big/source.mp4") as fh:
        for i in range(20):
            fh.write(_bytes(MiB, i))
    bodies = [int(h["content-length"]) for op, h in requests_log.calls if op == "UploadPart"]
    assert bodies == [8 * MiB, 8 * MiB, 4 * MiB]  # never more than one part held in memory
    head = s3_client.head_object(Bucket=bucket, Key="vod/masters/big/source.mp4")
    assert head["ETag"].endswith('-3"') and head["ContentLength"] == 20 * MiB


def test_failed_writes_leave_no_pending_multipart_upload(
    make_s3_store: MakeS3Store, s3_client: Any, bucket: str
) -> None:
    store = make_s3_store()

    def a_part_is_in_flight() -> None:  # so the assertion below can fail
        assert pending_uploads(s3_client, bucket)

    with pytest.raises(ClientWentAway):
        write_then_fail(store, "masters/a/source.mp4", _bytes(9 * MiB), a_part_is_in_flight)
    assert pending_uploads(s3_client, bucket) == []

    def fail_complete(**_: Any) -> None:
        raise ConnectionResetError("network dropped while completing")

    s3_client.meta.events.register("before-send.s3.CompleteMultipartUpload", fail_complete)
    with pytest.raises(ConnectionResetError):
        _put(store, "masters/b/source.mp4", _bytes(9 * MiB))
    assert pending_uploads(s3_client, bucket) == []
    assert all_bucket_keys(s3_client, bucket) == []


def test_delete_prefix_aborts_uploads_a_crashed_writer_left(
    make_s3_store: MakeS3Store, s3_client: Any, bucket: str
) -> None:
    s3_client.create_multipart_upload(Bucket=bucket, Key="vod/packaged/x/2/v0.mp4")
    s3_client.create_multipart_upload(Bucket=bucket, Key="vod/packaged/x/20/v0.mp4")
    make_s3_store().delete_prefix("packaged/x/2")
    assert pending_uploads(s3_client, bucket) == ["vod/packaged/x/20/v0.mp4"]


def test_failed_publish_removes_what_it_uploaded(
    make_s3_store: MakeS3Store,
    requests_log: RequestLog,
    s3_client: Any,
    bucket: str,
    tmp_path: Path,
) -> None:
    for name in ("a.mp4", "b.mp4", "bad.mp4", "c.mp4"):
        (tmp_path / name).write_bytes(name.encode())

    def fail_bad(request: Any, **_: Any) -> None:
        if request.url.endswith("/bad.mp4"):
            raise ConnectionResetError("upload of bad.mp4 failed")

    s3_client.meta.events.register("before-send.s3.PutObject", fail_bad)
    store = make_s3_store(upload_workers=1)
    with pytest.raises(ConnectionResetError):
        store.publish_directory(tmp_path, "packaged/x/1")
    assert requests_log.count("PutObject") >= 3  # a.mp4 and b.mp4 did land before the failure
    assert all_bucket_keys(s3_client, bucket) == []


def test_every_write_carries_sse_and_every_object_is_encrypted(
    make_s3_store: MakeS3Store,
    requests_log: RequestLog,
    s3_client: Any,
    bucket: str,
    tmp_path: Path,
) -> None:
    store = make_s3_store()
    store.check()
    with store.writer("masters/small/source.mp4") as fh:
        fh.write(b"small")
    with store.writer("masters/big/source.mp4") as fh:
        fh.write(_bytes(9 * MiB))
    (tmp_path / "v0.mp4").write_bytes(b"track")
    store.publish_directory(tmp_path, "packaged/small/1")
    writes = [h for op, h in requests_log.calls if op in ("PutObject", "CreateMultipartUpload")]
    assert len(writes) == 4 and all(h.get(SSE_HEADER) == "AES256" for h in writes)
    keys = all_bucket_keys(s3_client, bucket)
    assert len(keys) == 3
    for key in keys:
        assert s3_client.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256"


def test_sse_kms_sends_the_configured_key(
    make_s3_store: MakeS3Store, s3_client: Any, bucket: str
) -> None:
    store = make_s3_store(sse="aws:kms", kms_key_id="key-0123")
    store.check()
    with store.writer("k.bin") as fh:
        fh.write(b"x")
    head = s3_client.head_object(Bucket=bucket, Key="vod/k.bin")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", "key-0123")
