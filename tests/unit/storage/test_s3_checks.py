"""Start-up checks and configuration of the S3 store, against moto_server.

A bucket that is public, missing, unreachable or silently unencrypted must stop vodstack from
starting, with a message that says what to change — and never echo credentials.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from tests.fixtures.moto import MotoS3
from tests.unit.storage.support import MakeS3Store, all_bucket_keys

from vodstack.config import Settings
from vodstack.errors import ConfigError, StorageError
from vodstack.storage import open_store
from vodstack.storage.s3 import S3Store

SECRET = "wJalrXUtnFEMI-never-print-me"


def _policy(bucket: str, **statement: Any) -> str:
    base = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
    base["Resource"] = f"arn:aws:s3:::{bucket}/*"
    return json.dumps({"Version": "2012-10-17", "Statement": [{**base, **statement}]})


def test_private_encrypted_bucket_passes_and_leaves_no_probe(
    make_s3_store: MakeS3Store, s3_client: Any, bucket: str
) -> None:
    make_s3_store().check()
    assert all_bucket_keys(s3_client, bucket) == []


@pytest.mark.parametrize(
    "statement",
    [
        {},
        {"Principal": {"AWS": "*"}, "Action": ["s3:ListBucket", "s3:Get*"]},
        {"Action": "*", "Resource": "*"},
        {"Sid": "VpcOnly", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}},
        {"Resource": "arn:aws-cn:s3:::{bucket}/vod/*"},
    ],
    ids=["get-object", "aws-star-get-star", "everything", "conditioned", "other-partition"],
)
def test_public_bucket_policy_is_refused(
    make_s3_store: MakeS3Store, s3_client: Any, bucket: str, statement: dict[str, Any]
) -> None:
    if "Resource" in statement:
        statement["Resource"] = statement["Resource"].replace("{bucket}", bucket)
    s3_client.put_bucket_policy(Bucket=bucket, Policy=_policy(bucket, **statement))
    with pytest.raises(ConfigError, match="lets anyone read"):
        make_s3_store().check()


def test_policy_public_elsewhere_in_the_bucket_is_accepted(
    make_s3_store: MakeS3Store, s3_client: Any, bucket: str
) -> None:
    """A public ``site/`` prefix does not expose ``vod/``: only our prefix matters."""
    policy = _policy(bucket, Resource=f"arn:aws:s3:::{bucket}/site/*")
    s3_client.put_bucket_policy(Bucket=bucket, Policy=policy)
    make_s3_store().check()
    with pytest.raises(ConfigError, match="lets anyone read"):
        make_s3_store(prefix="site/vod").check()


@pytest.mark.parametrize("acl", ["public-read", "public-read-write", "authenticated-read"])
def test_public_acl_is_refused(
    make_s3_store: MakeS3Store, s3_client: Any, bucket: str, acl: str
) -> None:
    s3_client.put_bucket_acl(Bucket=bucket, ACL=acl)
    with pytest.raises(ConfigError, match=r"ACL of bucket .* grants .*Users:"):
        make_s3_store().check()


def test_missing_bucket_is_refused(s3_client: Any) -> None:
    with pytest.raises(ConfigError, match="vod-no-such-bucket"):
        S3Store("vod-no-such-bucket", "vod", client=s3_client).check()


def test_endpoint_ignoring_the_sse_header_is_refused(
    make_s3_store: MakeS3Store, s3_client: Any
) -> None:
    """Emulates an S3-compatible store that drops the header: objects would sit in clear."""

    def drop_sse(request: Any, **_: Any) -> None:
        del request.headers["x-amz-server-side-encryption"]

    s3_client.meta.events.register("before-send.s3.PutObject", drop_sse)
    with pytest.raises(ConfigError, match="stored with encryption None, not 'AES256'"):
        make_s3_store().check()


def test_invalid_options_are_config_errors(s3_client: Any) -> None:
    for options in (
        {"sse": "none"},
        {"kms_key_id": "k"},  # a KMS key with SSE-S3
        {"part_size": 1024},
        {"chunk_size": 4096, "readahead": 1024},
    ):
        with pytest.raises(ConfigError):
            S3Store("vod-bucket", client=s3_client, **options)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint_is_actionable_and_quiet_about_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="vodstack")
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1),
    )
    store = S3Store("vod-bucket", "vod", client=client)
    with pytest.raises(StorageError, match="cannot reach the S3 endpoint") as raised:
        store.size("masters/a/source.mp4")
    with pytest.raises(ConfigError, match="cannot reach") as at_start:
        store.check()
    for text in (str(raised.value), str(at_start.value), caplog.text):
        assert SECRET not in text


def _isolate_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_missing_credentials_are_actionable(
    moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _isolate_aws_env(monkeypatch, tmp_path)
    store = S3Store("vod-bucket", "vod", endpoint_url=moto_s3.endpoint_url)
    with pytest.raises(StorageError, match="no usable AWS credentials"):
        store.exists("masters/a/source.mp4")


@pytest.fixture
def s3_env(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Standard AWS variables plus VODSTACK_S3_ENDPOINT_URL, as an operator would set them."""
    _isolate_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret_access_key)
    monkeypatch.setenv("VODSTACK_S3_ENDPOINT_URL", moto_s3.endpoint_url)


@pytest.mark.usefixtures("s3_env")
def test_open_store_opens_a_checked_s3_store(bucket: str, tmp_path: Path) -> None:
    store = open_store(Settings(home=tmp_path, storage_url=f"s3://{bucket}/tenant/vod"))
    assert isinstance(store, S3Store)
    with store.writer("masters/a/source.mp4") as fh:
        fh.write(b"master")
    assert list(store.list("masters")) == ["masters/a/source.mp4"]
    assert store.size("masters/a/source.mp4") == 6


@pytest.mark.usefixtures("s3_env")
def test_open_store_refuses_a_public_bucket(s3_client: Any, bucket: str, tmp_path: Path) -> None:
    s3_client.put_bucket_acl(Bucket=bucket, ACL="public-read")
    with pytest.raises(ConfigError, match="AllUsers"):
        open_store(Settings(home=tmp_path, storage_url=f"s3://{bucket}/vod"))


@pytest.mark.parametrize(
    "url",
    [
        "s3://Bad_Bucket/vod",
        "s3://vod-bucket/../etc",
        "s3://vod-bucket/a//b",
        "s3://key:secret@b/x",
    ],
)
def test_open_store_rejects_malformed_urls(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        open_store(Settings(home=tmp_path, storage_url=url))
    assert "secret" not in raised.value.message
