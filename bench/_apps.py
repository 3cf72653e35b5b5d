"""Benchmark-only ASGI factories (never part of the product)."""

from __future__ import annotations

from fastapi import FastAPI

from vodstack.config import Settings
from vodstack.services import build_services
from vodstack.web.app import OpenGate, create_app


def open_gate_factory() -> FastAPI:
    """The same app with signature verification switched off: the baseline that shows what
    verification costs per request."""
    return create_app(build_services(Settings()), gate=OpenGate(), run_workers=False)
