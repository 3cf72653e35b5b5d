"""Who may call an ``/api`` operation: a bearer credential (the admin token or an API key)
holding the scope the operation declares.

Every admin operation declares its scope with ``dependencies=[require_scope("publish")]``
(or ``Depends(require_admin)``: scope ``admin``). FastAPI then lists the ``bearer`` scheme
and the scope in the operation's OpenAPI ``security`` (OpenAPI 3.1 allows role names for
non-OAuth schemes), and :func:`check_declared` refuses to build an app in which an ``/api``
route declares none: a route added without one would otherwise be open.

The credential is checked once per request: the body-limit layer (web/bodylimit.py) checks
it before reading a body and leaves the principal in the ASGI scope; bodyless requests are
checked here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request, Security
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.routing import APIRoute
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase

from vodstack.catalogue.apikeys import SCOPES, Principal
from vodstack.errors import ConfigError, ScopeMissing
from vodstack.web.credentials import Authenticator
from vodstack.web.state import authenticator_of

#: ASGI scope key of the authenticated principal.
PRINCIPAL = "vodstack.principal"


def principal_of(request: Request) -> Principal:
    """The request's principal, authenticating it on first use."""
    principal = request.scope.get(PRINCIPAL)
    if principal is None:
        authenticator: Authenticator = authenticator_of(request)
        principal = authenticator.authenticate(request.headers.get("authorization", ""))
        request.scope[PRINCIPAL] = principal
    return principal


class ApiCredential(SecurityBase):
    """The ``bearer`` security scheme, checking the scopes the operation declares."""

    def __init__(self) -> None:
        self.model = HTTPBearerModel(
            bearerFormat="vsk_… API key, or the admin token",
            description="`Authorization: Bearer <API key or admin token>`. Each operation "
            "needs one scope, listed in its `security` requirement: "
            + "; ".join(f"`{name}`: {text}" for name, text in SCOPES.items())
            + ". Create keys with `POST /api/api-keys` or `vodstack api-keys create`.",
        )
        self.scheme_name = "bearer"

    def __call__(self, request: Request, security_scopes: SecurityScopes) -> Principal:
        principal = principal_of(request)
        for scope in security_scopes.scopes:
            if not principal.allows(scope):
                held = ", ".join(sorted(principal.scopes)) or "none"
                raise ScopeMissing(
                    f"{principal.describe()} lacks the scope {scope!r} this operation needs "
                    f"(it holds: {held})",
                    scope,
                )
        return principal


CREDENTIAL = ApiCredential()


def require_scope(scope: str) -> Any:
    """The dependency an operation declares its scope with: ``dependencies=[require_scope(
    "read")]``, or a parameter ``principal: Annotated[Principal, require_scope("keys")]``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    return Security(CREDENTIAL, scopes=[scope])


def _declared(dependant: Any) -> Iterator[str]:
    for sub in getattr(dependant, "dependencies", ()):
        if sub.call is CREDENTIAL:
            yield from sub.own_oauth_scopes or ()
        yield from _declared(sub)


def _operations(app: FastAPI) -> Iterator[tuple[str, set[str], Any]]:
    """(path, methods, dependant) of every API operation, included routers' too (FastAPI
    ≥ 0.16x keeps included routers lazily: ``app.routes`` no longer lists their routes)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, set(route.methods or ()), route.dependant
        return
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if dependant is not None and context.path:
            yield context.path, set(context.methods or ()), dependant


def check_declared(app: FastAPI, is_admin_path: Callable[[str], bool]) -> None:
    """Every admin route declares a scope, else the app is not built (ConfigError)."""
    seen = 0
    bare = []
    for path, methods, dependant in _operations(app):
        if is_admin_path(path):
            seen += 1
            if not set(_declared(dependant)):
                bare.append(f"{','.join(sorted(methods))} {path}")
    if bare:
        raise ConfigError(
            "admin routes without a scope (add dependencies=[require_scope(...)]): "
            + "; ".join(bare)
        )
    if not seen:  # the walk itself broke (a FastAPI change): fail loudly, not open
        raise ConfigError("no admin routes found to check for scopes")
