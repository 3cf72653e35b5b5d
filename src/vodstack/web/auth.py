"""Admin authentication: a bearer token compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import Request

from vodstack.errors import AuthError


def require_admin(request: Request) -> None:
    expected: str = request.app.state.services.admin_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("admin bearer token required")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise AuthError("invalid admin token")
