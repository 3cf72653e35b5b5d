"""Benchmark-only ASGI factories (never part of the product)."""

from __future__ import annotations

from fastapi import FastAPI

from vodstack.compose.delivery import OpenGate
from vodstack.compose.server import build_server
from vodstack.compose.services import build_services, private_umask
from vodstack.config import Settings
from vodstack.telemetry import logs
from vodstack.web.app import create_app


def open_gate_factory() -> FastAPI:
    """``vodstack.web.app:app_factory`` (what ``vodstack serve`` runs in its worker) with
    signature verification switched off and nothing else changed — background workers,
    logging and metrics included — so the difference between the two is the gate alone."""
    private_umask()
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format, settings.role, settings.instance_id)
    return create_app(build_server(build_services(settings), gate=OpenGate()))
