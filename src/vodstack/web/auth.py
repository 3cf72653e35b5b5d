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


def require_metrics_reader(request: Request) -> None:
    """``/metrics`` on the viewer port: the admin token or ``metrics_token``, never anonymous
    (the metrics name assets, error reasons and traffic; a viewer has no business with them)."""
    services = request.app.state.services
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise AuthError("bearer token required (admin token or metrics_token)")
    presented = token.strip().encode()
    configured = services.settings.metrics_token
    valid = hmac.compare_digest(presented, services.admin_token.encode())
    if configured is not None:  # both compared: the time does not tell which one matched
        valid |= hmac.compare_digest(presented, configured.get_secret_value().encode())
    if not valid:
        raise AuthError("invalid metrics token")
