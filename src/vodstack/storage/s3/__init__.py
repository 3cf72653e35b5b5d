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

The package, along its seams: ``store`` (:class:`S3Store`, the ObjectStore), ``writer``
(multipart uploads), ``reader`` (one pinned object version), ``chunks`` (the read cache),
``checks`` (the start-up check) over ``policy`` (the pure public-access analysis, testable
without S3), ``errors`` (botocore errors as vodstack errors), ``client`` (the boto3 client) and
``url`` (``s3://bucket/prefix`` plus the settings → a checked store).
"""

from __future__ import annotations

from vodstack.storage.s3.chunks import ChunkCache
from vodstack.storage.s3.errors import translate_error
from vodstack.storage.s3.policy import public_acl_grants, public_read_statements
from vodstack.storage.s3.reader import ObjectMeta
from vodstack.storage.s3.store import SSE_MODES, S3Store
from vodstack.storage.s3.url import open_s3_store
from vodstack.storage.s3.writer import MIN_PART_SIZE, MiB

__all__ = [
    "MIN_PART_SIZE",
    "SSE_MODES",
    "ChunkCache",
    "MiB",
    "ObjectMeta",
    "S3Store",
    "open_s3_store",
    "public_acl_grants",
    "public_read_statements",
    "translate_error",
]
