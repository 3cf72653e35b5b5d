"""Benchmark-only ASGI factories (never part of the product)."""

from __future__ import annotations

from fastapi import FastAPI

from vodstack.compose.delivery import OpenGate
from vodstack.compose.server import build_server
from vodstack.compose.services import build_services
from vodstack.config import Settings
from vodstack.web.app import create_app


def open_gate_factory() -> FastAPI:
    """The same app with signature verification switched off: the baseline that shows what
    verification costs per request."""
    return create_app(build_server(build_services(Settings()), gate=OpenGate(), run_workers=False))
