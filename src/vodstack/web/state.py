"""Typed access to what the composition root built, for the routes.

``create_app`` binds one :class:`AppState` to the app; a route reads the part it needs
through these functions (never ``app.state.<name>`` typed ``Any``), so a reader and mypy can
follow a request by names: ``delivery_of(request).gate`` → ``.edge`` → ``.origin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from starlette.applications import Starlette
from starlette.requests import Request

from vodstack.compose import Delivery, Server, Services

_KEY = "vodstack"


@dataclass(frozen=True)
class AppState:
    server: Server
    dev_signin: bool  # POST /dev/token is mounted (web/app.py: dev_signin_enabled)


def bind(app: Starlette, state: AppState) -> None:
    setattr(app.state, _KEY, state)


def state_of(app: Starlette) -> AppState:
    return cast(AppState, getattr(app.state, _KEY))


def app_state(request: Request) -> AppState:
    return state_of(request.app)


def server_of(request: Request) -> Server:
    return app_state(request).server


def services_of(request: Request) -> Services:
    return app_state(request).server.services


def delivery_of(request: Request) -> Delivery:
    return app_state(request).server.delivery
