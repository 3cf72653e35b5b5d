"""ASGI app assembly: admin API, delivery (gate → origin), health. One factory, no globals."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vodstack import __version__
from vodstack.config import Settings
from vodstack.edge.gate import SignatureGate
from vodstack.jobs.bus import ASSET_READY, ASSET_UPDATED, DomainEvent
from vodstack.origin.origin import Origin
from vodstack.services import Services, build_services
from vodstack.web import api, api_entitlement, delivery, errors, play
from vodstack.web.delivery import Gate

log = logging.getLogger(__name__)


class OpenGate:
    """Lets every request through. Only for tests of the origin alone."""

    def check(self, request: Request, asset_id: str) -> None:
        return None


def create_app(
    services: Services, *, gate: Gate | None = None, run_workers: bool = True
) -> FastAPI:
    origin = Origin(services.settings, services.catalogue, services.store)

    def forget(event: DomainEvent) -> None:
        if event.asset_id:
            origin.forget(event.asset_id)

    services.bus.subscribe(ASSET_UPDATED, forget)
    services.bus.subscribe(ASSET_READY, forget)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = services.pipeline.pool() if run_workers else None
        if pool is not None:
            pool.start()
        try:
            yield
        finally:
            if pool is not None:
                pool.stop()

    app = FastAPI(
        title="vodstack",
        version=__version__,
        summary="Upload once; adaptive HLS/DASH for every entitled viewer.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.origin = origin
    app.state.gate = gate or SignatureGate(
        services.settings, services.signature_verifier, services.locator, services.metrics
    )
    errors.install(app)
    app.include_router(api.router)
    app.include_router(api_entitlement.router)
    app.include_router(play.router)
    app.include_router(delivery.router)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    def metrics() -> Response:
        for state, count in services.catalogue.job_counts().items():
            services.metrics.jobs.labels(state).set(count)
        return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["ops"], summary="Liveness and catalogue reachability")
    def healthz() -> dict[str, str]:
        services.catalogue.job_counts()
        return {"status": "ok", "version": __version__}

    return app


def app_factory() -> FastAPI:
    """Entry point for the ASGI server (``vodstack serve``): settings from the environment."""
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return create_app(build_services(settings))
