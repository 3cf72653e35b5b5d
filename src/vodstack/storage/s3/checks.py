"""The start-up check: refuse a bucket that is unreachable, public, or not encrypting.

Run once before serving (``open_s3_store``); the policy and ACL verdicts come from the pure
analysis in ``policy.py``.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from vodstack.errors import ConfigError, NotFound, StorageError
from vodstack.storage.base import MASTERS, PACKAGED
from vodstack.storage.s3.errors import error_code, s3_errors, translate_error
from vodstack.storage.s3.policy import public_acl_grants, public_read_statements

if TYPE_CHECKING:
    from vodstack.storage.s3.store import S3Store


def check_bucket(store: S3Store) -> None:
    """Raises ConfigError naming what to change."""
    try:
        _check_reachable(store)
        _check_policy(store)
        _check_acl(store)
        _check_encryption(store)
    except (StorageError, NotFound) as exc:
        message = f"S3 bucket {store.bucket!r} failed the start-up check: {exc.message}"
        raise ConfigError(message) from exc


def _check_reachable(store: S3Store) -> None:
    with s3_errors(f"bucket {store.bucket!r}"):
        store.client.head_bucket(Bucket=store.bucket)


def _check_policy(store: S3Store) -> None:
    try:
        text = store.client.get_bucket_policy(Bucket=store.bucket)["Policy"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucketPolicy":
            return
        raise translate_error(exc, "reading the bucket policy (s3:GetBucketPolicy)") from exc
    except BotoCoreError as exc:
        raise translate_error(exc, "reading the bucket policy") from exc
    policy = json.loads(text)
    public = sorted(
        {
            sid
            for top in (MASTERS, PACKAGED)
            for sid in public_read_statements(policy, f"{store.bucket}/{store.root}{top}/x")
        }
    )
    if public:
        raise ConfigError(
            f"the policy of bucket {store.bucket!r} lets anyone read vodstack's objects "
            f"(statements {', '.join(public)}); remove them: viewers must get media only "
            "through the origin, which checks entitlements"
        )


def _check_acl(store: S3Store) -> None:
    with s3_errors("reading the bucket ACL (s3:GetBucketAcl)"):
        grants = store.client.get_bucket_acl(Bucket=store.bucket).get("Grants", [])
    public = public_acl_grants(grants)
    if public:
        raise ConfigError(
            f"the ACL of bucket {store.bucket!r} grants {', '.join(public)}; make it private "
            "(aws s3api put-bucket-acl --acl private) or enforce bucket-owner object ownership"
        )


def _check_encryption(store: S3Store) -> None:
    """Write, HEAD and delete a probe: proves our SSE header is honoured end to end."""
    probe = f"{store.root}.vodstack-check-{secrets.token_hex(8)}"
    try:
        with s3_errors("writing a probe object (s3:PutObject)"):
            store.client.put_object(
                Bucket=store.bucket, Key=probe, Body=b"vodstack", **store.sse_args
            )
            r = store.client.head_object(Bucket=store.bucket, Key=probe)
    finally:
        with s3_errors("deleting the probe object (s3:DeleteObject)"):
            store.client.delete_object(Bucket=store.bucket, Key=probe)
    got = r.get("ServerSideEncryption")
    if got != store.sse:
        raise ConfigError(
            f"objects written to bucket {store.bucket!r} are stored with encryption {got!r}, "
            f"not {store.sse!r}: the endpoint ignores the SSE header"
        )
    wanted = store.kms_key_id or ""
    got_key = str(r.get("SSEKMSKeyId") or "").rsplit("/", 1)[-1]
    # An alias cannot be compared with the key ARN S3 answers with; ids and ARNs can.
    if wanted and not wanted.startswith("alias/") and got_key != wanted.rsplit("/", 1)[-1]:
        raise ConfigError(f"objects are encrypted with KMS key {got_key!r}, not {wanted!r}")
