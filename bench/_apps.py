"""Benchmark-only ASGI factories (never part of the product)."""

from __future__ import annotations

import functools
import os
import timeit
from time import perf_counter_ns

from fastapi import FastAPI
from starlette.requests import Request

from vodstack.compose.delivery import Gate, OpenGate
from vodstack.compose.server import build_server
from vodstack.compose.services import build_services, private_umask
from vodstack.config import Settings
from vodstack.telemetry import logs
from vodstack.web.app import create_app
from vodstack.web.state import state_of


def gated_factory() -> FastAPI:
    """``vodstack.web.app:app_factory`` (what ``vodstack serve`` runs in its worker), with
    the gate's check timed (:func:`_timed`)."""
    return _app_with(None)


def open_gate_factory() -> FastAPI:
    """:func:`gated_factory` with signature verification switched off and nothing else
    changed — background workers, logging, metrics and the timing included — so the
    difference between the two is the gate alone."""
    return _app_with(OpenGate())


def _app_with(gate: Gate | None) -> FastAPI:
    """``app_factory``'s steps, with ``gate`` in place of the signature gate (None: the
    signature gate), its check timed."""
    private_umask()
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format, settings.role, settings.instance_id)
    return _timed(create_app(build_server(build_services(settings), gate=gate)))


def _timed(app: FastAPI) -> FastAPI:
    """The gate's check timed where it runs, in the loaded server (its caches shared with
    everything else the server does): ``GET /_bench/gate`` answers the nanoseconds and the
    calls so far. The timer itself costs every server the same (~0.2 µs a call)."""
    gate = state_of(app).server.delivery.gate
    check = gate.check
    totals = [0, 0]

    def timed(
        request: Request,
        asset_id: str,
        token: str | None = None,
        picture: bool = False,
        raw_rest: str | None = None,
    ) -> None:
        start = perf_counter_ns()
        try:
            check(request, asset_id, token, picture, raw_rest)
        finally:
            totals[0] += perf_counter_ns() - start
            totals[1] += 1

    gate.check = timed  # type: ignore[method-assign]
    app.add_api_route("/_bench/gate", lambda: {"ns": totals[0], "calls": totals[1]})
    return app


class SpinGate:
    """A gate that lets everything through after spinning ``us`` microseconds of pure Python:
    the control of bench/entitlement.py. Served like the real gate, it shows what any Python
    of the gate's in-process cost does to a saturated server, whatever that Python is."""

    def __init__(self, us: float) -> None:
        # calibrated on this machine: time 100,000 iterations, then scale to ``us``
        self.loops = 100_000
        check = functools.partial(self.check, None, "")  # type: ignore[arg-type]
        took = min(timeit.repeat(check, number=20, repeat=5)) / 20
        self.loops = max(0, round(us * 1e-6 / took * 100_000))

    def check(
        self,
        request: Request,
        asset_id: str,
        token: str | None = None,
        picture: bool = False,
        raw_rest: str | None = None,
    ) -> None:
        total = 0
        for i in range(self.loops):
            total += i

    def flush_counts(self) -> None:
        return None


def spin_gate_factory() -> FastAPI:
    """:func:`open_gate_factory` with a :class:`SpinGate` of ``BENCH_SPIN_US`` microseconds."""
    return _app_with(SpinGate(float(os.environ["BENCH_SPIN_US"])))
