"""Benchmark-only ASGI factories (never part of the product)."""

from __future__ import annotations

import os
import timeit

from fastapi import FastAPI
from starlette.requests import Request

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


class SpinGate:
    """A gate that lets everything through after spinning ``us`` microseconds of pure Python:
    the control of bench/entitlement.py. Served like the real gate, it shows what any Python
    of the gate's in-process cost does to a saturated server, whatever that Python is."""

    def __init__(self, us: float) -> None:
        self.loops = _loops_for(us)

    def check(
        self, request: Request, asset_id: str, token: str | None = None, picture: bool = False
    ) -> None:
        total = 0
        for i in range(self.loops):
            total += i

    def flush_counts(self) -> None:
        return None


def _loops_for(us: float) -> int:
    """Iterations of :meth:`SpinGate.check`'s loop that take ``us`` on this machine."""
    gate, n = SpinGate.__new__(SpinGate), 100_000
    gate.loops = n
    took = min(timeit.repeat(lambda: gate.check(None, ""), number=20, repeat=5)) / 20  # type: ignore[arg-type]
    return max(0, round(us * 1e-6 / took * n))


def spin_gate_factory() -> FastAPI:
    """:func:`open_gate_factory` with a :class:`SpinGate` of ``BENCH_SPIN_US`` microseconds."""
    private_umask()
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format, settings.role, settings.instance_id)
    gate = SpinGate(float(os.environ["BENCH_SPIN_US"]))
    return create_app(build_server(build_services(settings), gate=gate))
