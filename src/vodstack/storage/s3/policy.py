"""Whether a bucket policy or ACL lets anyone read objects: pure analysis, no S3 needed.

The start-up check (``checks.py``) feeds it the bucket's policy and ACL; tests feed it
documents (tests/unit/storage/test_s3_policy.py).
"""

from __future__ import annotations

import fnmatch
from typing import Any

_PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}


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
