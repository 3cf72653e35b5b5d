"""The pure public-access analysis behind ``S3Store.check`` (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest

from vodstack.storage.s3 import public_acl_grants, public_read_statements

OURS = "vod-bucket/vod/packaged/x"


def _policy(**statement: Any) -> dict[str, Any]:
    base = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}
    merged = {**base, "Resource": "arn:aws:s3:::vod-bucket/*", **statement}
    return {"Statement": [{k: v for k, v in merged.items() if v is not None}]}  # None: drop key


@pytest.mark.parametrize(
    "statement",
    [
        {},
        {"Action": "S3:getobject"},  # actions are case-insensitive
        {"Action": ["s3:List*", "s3:Get*"]},
        {"Action": "s3:*"},
        {"Principal": {"AWS": ["arn:aws:iam::1:root", "*"]}},
        {"NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Principal": None},
        {"NotAction": "s3:PutObject"},
        {"Resource": "arn:aws:s3:::vod-bucket/vod/*"},
        {"NotResource": "arn:aws:s3:::vod-bucket/private/*"},
        {"Resource": "arn:aws-us-gov:s3:::vod-bucket/?od/*"},
    ],
)
def test_statements_open_to_everyone_are_found(statement: dict[str, Any]) -> None:
    assert public_read_statements(_policy(**statement), OURS) == ["#0"]


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Deny"},
        {"Principal": {"AWS": "arn:aws:iam::123456789012:role/origin"}},
        {"Principal": {"Service": "cloudfront.amazonaws.com"}},
        {"Action": "s3:PutObject"},
        {"Action": "s3:ListBucket"},
        {"NotAction": "s3:Get*"},
        {"Resource": "arn:aws:s3:::vod-bucket/site/*"},
        {"Resource": "arn:aws:s3:::other-bucket/*"},
        {"Resource": "arn:aws:s3:::VOD-BUCKET/*"},  # resource ARNs are case-sensitive
        {"NotResource": "arn:aws:s3:::vod-bucket/vod/*"},
    ],
)
def test_private_statements_pass(statement: dict[str, Any]) -> None:
    assert public_read_statements(_policy(**statement), OURS) == []


def test_statements_are_named_by_sid() -> None:
    policy = _policy(Sid="PublicRead")
    policy["Statement"].append({"Sid": "Mine", "Effect": "Allow", "Principal": {"AWS": "x"}})
    assert public_read_statements(policy, OURS) == ["PublicRead"]


def test_acl_grants_to_public_groups_are_found() -> None:
    owner = {"Grantee": {"Type": "CanonicalUser", "ID": "abc"}, "Permission": "FULL_CONTROL"}
    group = "http://acs.amazonaws.com/groups/global/"
    grants = [
        owner,
        {"Grantee": {"Type": "Group", "URI": group + "AllUsers"}, "Permission": "READ"},
        {"Grantee": {"Type": "Group", "URI": group + "AuthenticatedUsers"}, "Permission": "WRITE"},
        {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/s3/LogDelivery"}},
    ]
    assert public_acl_grants(grants) == ["AllUsers:READ", "AuthenticatedUsers:WRITE"]
    assert public_acl_grants([owner]) == []
