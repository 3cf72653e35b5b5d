"""Admin authentication: a bearer token compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import Request

from vodstack.errors import AuthError
from vodstack.web.state import services_of

#: Every route under this prefix is an admin route (its router depends on require_admin)...
ADMIN_PREFIX = "/api/"
#: ...except these, which viewers' players call with their own credentials.
PUBLIC_API_PATHS = frozenset({"/api/beacons"})


def is_admin_path(path: str) -> bool:
    """Whether ``path`` is an admin route (tests/reliability/test_security.py checks every
    route of the OpenAPI document against this rule)."""
    return path.startswith(ADMIN_PREFIX) and path not in PUBLIC_API_PATHS


def admin_auth_error(authorization: str, expected: str) -> AuthError | None:
    """Why an ``Authorization`` header value is not the admin token, or None if it is.

    Shared by the route dependency and the raw body-limit layer (web/bodylimit.py), which
    refuses a bad token before any body is read."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return AuthError("admin bearer token required")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return AuthError("invalid admin token")
    return None


def require_admin(request: Request) -> None:
    error = admin_auth_error(
        request.headers.get("authorization", ""), services_of(request).admin_token
    )
    if error is not None:
        raise error


def require_metrics_reader(request: Request) -> None:
    """``/metrics`` on the viewer port: the admin token or ``metrics_token``, never anonymous
    (the metrics name assets, error reasons and traffic; a viewer has no business with them)."""
    services = services_of(request)
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
