"""S3 errors as vodstack errors: NotFound, or a StorageError a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from vodstack.errors import NotFound, StorageError, VodstackError

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
def s3_errors(what: str) -> Iterator[None]:
    """Raise botocore's errors inside the block as :func:`translate_error` names them."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate_error(exc, what) from exc


def error_code(exc: ClientError) -> str:
    """S3's error code (``NoSuchKey``, ``PreconditionFailed``…), or ``""``."""
    return str(exc.response.get("Error", {}).get("Code", ""))
