"""Who is calling the admin API: a bearer credential checked against the admin token and the
scoped API keys (catalogue/apikeys.py). The scopes each route requires: web/scopes.py."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from vodstack.catalogue.apikeys import ADMIN, ApiKeys, Principal, key_id_of
from vodstack.errors import AuthError


class Authenticator:
    """Bearer credential → principal: the admin token (every scope), else an API key."""

    def __init__(self, admin_token: Callable[[], str], keys: ApiKeys) -> None:
        self.admin_token = admin_token
        self.keys = keys

    def authenticate(self, authorization: str) -> Principal:
        """The principal of an ``Authorization`` header value, or AuthError (→ 401).
        May read the catalogue (API keys): call it off the event loop."""
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("bearer token required (an API key or the admin token)")
        # Compared whatever the token looks like: the time never tells what it resembled.
        if hmac.compare_digest(token.encode("utf-8", "replace"), self.admin_token().encode()):
            return ADMIN
        principal = self.keys.verify(token) if key_id_of(token) is not None else None
        if principal is None:
            raise AuthError("invalid API key or admin token")
        return principal
