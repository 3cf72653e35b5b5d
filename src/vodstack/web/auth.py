"""Admin authentication: a bearer token compared in constant time. API keys and their
scopes: web/scopes.py."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Request

from vodstack.catalogue.apikeys import Principal
from vodstack.errors import AuthError
from vodstack.web.scopes import require_scope
from vodstack.web.state import services_of

#: Every route under this prefix is an admin route (each declares a scope: web/scopes.py)...
ADMIN_PREFIX = "/api/"
#: ...except these, which viewers' players call with their own credentials.
PUBLIC_API_PATHS = frozenset({"/api/beacons"})


def is_admin_path(path: str) -> bool:
    """Whether ``path`` is an admin route (tests/reliability/test_security.py checks every
    route of the OpenAPI document against this rule)."""
    return path.startswith(ADMIN_PREFIX) and path not in PUBLIC_API_PATHS


def require_admin(principal: Annotated[Principal, require_scope("admin")]) -> Principal:
    """The ``admin`` scope (the admin token, or a key holding ``admin``): for operations
    without a narrower scope."""
    return principal


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
