"""The boto3 client every S3 request goes through: one credential chain, one retry policy."""

from __future__ import annotations

from typing import Any


def make_client(endpoint_url: str | None) -> Any:
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
