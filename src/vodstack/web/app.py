"""ASGI app assembly: admin API, playback, delivery (gate → edge → origin), ops endpoints.

One factory, no globals. ``settings.role`` picks what this process is: ``all`` (edge and
origin together, the default), ``edge`` (gate + cache in front of remote origins) or
``origin`` (packager behind edges, answering only requests with the shared secret).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vodstack import __version__
from vodstack.config import Settings
from vodstack.edge.cache import EdgeCache
from vodstack.edge.gate import SignatureGate
from vodstack.edge.hot import HotCopies
from vodstack.edge.loaders import HttpOrigins, InProcessOrigin
from vodstack.edge.policy import PlaybackPolicies
from vodstack.edge.service import PURGING_EVENTS, Edge, PurgeFollower, TtlPolicy
from vodstack.jobs.bus import DomainEvent
from vodstack.origin.origin import Origin
from vodstack.origin.protect import ProtectedPackager
from vodstack.protection.service import build_protection
from vodstack.services import Services, build_services, private_umask
from vodstack.telemetry.metrics import register_cache_collector
from vodstack.telemetry.service import PlaybackTelemetry
from vodstack.web import (
    accesslog,
    api,
    api_entitlement,
    api_uploads,
    delivery,
    embed,
    errors,
    license,
    pages,
    play,
    telemetry,
)
from vodstack.web.bodylimit import BodyLimits
from vodstack.web.cors import ViewerCors
from vodstack.web.delivery import Gate
from vodstack.web.hosts import is_loopback_host

log = logging.getLogger(__name__)


class OpenGate:
    """Lets every request through. Only for tests and benchmarks of what lies behind."""

    def check(
        self, request: Request, asset_id: str, token: str | None = None, picture: bool = False
    ) -> None:
        return None


def origin_secrets(services: Services) -> tuple[str, ...]:
    """Configured secrets, else the one generated on first run (shared through ``home``)."""
    configured = services.settings.origin_secrets
    if configured:
        return configured
    raw = services.secrets.get_or_create(
        "origin-secret", lambda: secrets.token_urlsafe(32).encode()
    )
    return (raw.decode().strip(),)


def build_edge(services: Services, origin: Origin | None) -> Edge:
    settings = services.settings
    disk_dir = settings.effective_edge_disk_dir
    # The memory budget is shared: half for small objects, half for copies of the disk tier's
    # popular files (edge/hot.py), which are sent from memory faster than from disk.
    hot_bytes = settings.edge_memory_bytes // 2 if settings.edge_disk_bytes else 0
    cache = EdgeCache(
        memory_bytes=settings.edge_memory_bytes - hot_bytes,
        disk_dir=disk_dir if settings.edge_disk_bytes else None,
        disk_bytes=settings.edge_disk_bytes,
        disk_threshold=settings.edge_disk_threshold,
        origin_timeout_s=settings.origin_timeout_s,
    )
    staging = disk_dir / "incoming"
    if origin is not None:
        loader = InProcessOrigin(
            origin, services.store, staging, services.metrics, settings.edge_disk_threshold
        ).load
    else:
        loader = HttpOrigins(
            settings.origin_urls,
            settings.origin_secret_header,
            origin_secrets(services)[0],
            staging,
            services.metrics,
            memory_threshold=settings.edge_disk_threshold,
            timeout_s=settings.origin_timeout_s,
            verify=settings.origin_tls_verify,
        ).load
    policy = TtlPolicy(
        manifest_ttl_s=settings.manifest_max_age_s, immutable_stale_s=settings.edge_stale_if_error_s
    )
    hot = HotCopies(hot_bytes) if hot_bytes else None
    return Edge(cache, loader, policy, services.metrics, hot)


def create_app(
    services: Services, *, gate: Gate | None = None, run_workers: bool = True
) -> FastAPI:
    settings = services.settings
    role = settings.role
    remote = role in ("edge", "shield")
    protection = build_protection(settings, services.db, services.secrets)
    packager = ProtectedPackager(protection, f"{settings.base_url()}/v1/{{asset}}/license")
    origin = (
        None
        if remote
        else Origin(
            settings,
            services.catalogue,
            services.store,
            packager,
            windows=services.pipeline.stage.windows,
        )
    )
    edge = build_edge(services, origin) if role != "origin" else None
    follower = PurgeFollower(services.catalogue, edge) if edge is not None else None

    def forget(event: DomainEvent) -> None:  # events of this process: purge at once, once
        if event.asset_id is None:
            return
        if origin is not None:
            origin.forget(event.asset_id)
        if follower is not None:
            follower.apply_threadsafe(event)

    for event_type in PURGING_EVENTS:
        services.bus.subscribe(event_type, forget)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not remote:  # uploads cut off by a crash (kill -9): in the background
            threading.Thread(
                target=_clean_partial, args=(services,), name="vodstack-clean", daemon=True
            ).start()
        pool = services.pipeline.pool() if run_workers and not remote else None
        if pool is not None:
            pool.start()
        if follower is not None:
            follower.start()
        try:
            yield
        finally:
            if follower is not None:
                await follower.stop()
            if pool is not None:
                pool.stop()
            if edge is not None:
                edge.cache.close()

    app = VodstackApp(
        title="vodstack",
        version=__version__,
        summary="Upload once; adaptive HLS/DASH for every entitled viewer.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.protection = protection
    app.state.role = role
    app.state.origin = origin
    app.state.edge = edge
    app.state.origin_secret_header = settings.origin_secret_header.lower()
    app.state.origin_secrets = origin_secrets(services) if role in ("origin", "shield") else ()
    app.state.gate = gate or SignatureGate(
        settings,
        services.signature_verifier,
        services.locator,
        services.metrics,
        PlaybackPolicies(services.catalogue),
    )
    if edge is not None:
        register_cache_collector(services.metrics, edge.cache)
    errors.install(app)
    app.include_router(api.router)
    app.include_router(api_uploads.router)
    app.include_router(api_entitlement.router)
    app.include_router(play.router)
    app.include_router(license.router)
    app.include_router(delivery.router)
    # Viewer side (issue #5): player/admin pages, static assets, QoE beacons.
    app.state.playback = PlaybackTelemetry.build(
        services.db, services.catalogue, services.secrets, services.metrics
    )
    app.include_router(pages.router)
    app.include_router(embed.router)
    app.state.dev_signin = dev_signin_enabled(settings, services)
    if app.state.dev_signin:
        log.warning(
            "DEVELOPMENT SIGN-IN IS ON (VODSTACK_DEV_IDP): POST /dev/token gives a viewer "
            "token for any subject to any client on this machine, including one relayed by a "
            "local proxy or tunnel. Never on a server others can reach."
        )
        app.include_router(pages.dev_router)
    app.include_router(telemetry.router)
    app.include_router(telemetry.admin_router)
    app.mount("/static", pages.static_app(), name="static")

    @app.get("/healthz", tags=["ops"], summary="Liveness and catalogue reachability")
    def healthz() -> dict[str, str]:
        services.catalogue.job_counts()
        return {"status": "ok", "version": __version__, "role": role}

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    def metrics() -> Response:
        # Gauges of the catalogue's jobs (all processes); every state and queue is set, so
        # one that emptied reads 0 instead of its last count.
        m, pipeline = services.metrics, services.pipeline
        for state, count in pipeline.job_counts().items():
            m.jobs.labels(state).set(count)
        for queue, count in pipeline.queue_depths().items():
            m.jobs_queued.labels(queue).set(count)
        # The pipeline's own registry: durations of the jobs that ended in this process.
        body = generate_latest(m.registry) + generate_latest(pipeline.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    # Raw ASGI layers outside FastAPI, outermost last: bodies are limited (and admin routes
    # authenticated) before FastAPI reads them, the access log sees every response, security
    # headers are added to every response, and delivery requests never enter FastAPI/Starlette.
    layers: list[Callable[[ASGIApp], ASGIApp]] = [
        lambda inner: BodyLimits(inner, settings, lambda: services.admin_token),
        delivery.DeliveryFastPath,
    ]
    if settings.cors_origins:
        layers.append(lambda inner: ViewerCors(inner, settings.cors_origins))
    # nosniff: a browser must never take a segment, a JSON error or an upload for HTML/script.
    security_headers = [(b"x-content-type-options", b"nosniff")]
    if settings.tls_cert and settings.hsts:
        security_headers.append((b"strict-transport-security", b"max-age=31536000"))  # RFC 6797
    layers.append(lambda inner: ResponseHeaders(inner, security_headers))
    sink = accesslog.open_sink(settings.access_log)
    layers.append(lambda inner: accesslog.AccessLog(inner, metrics=services.metrics, sink=sink))
    app.wrap_outside(layers)
    return app


class VodstackApp(FastAPI):
    """FastAPI with raw ASGI layers *outside* it, not inside its middleware stack.

    Why: a delivery request answered by :class:`~vodstack.web.delivery.DeliveryFastPath` as a
    user middleware still paid for FastAPI's own per-request work before reaching it (its
    telemetry switch reads the environment three times per request) and for three more
    middleware layers (error, telemetry, body limit): about a third of the Python time of a
    cached segment (profiled: bench/origin.py, pyinstrument/py-spy). Layers wrapped here see
    every request first; whatever they pass on enters FastAPI exactly as before.
    """

    _outer: ASGIApp | None = None

    def wrap_outside(self, layers: list[Callable[[ASGIApp], ASGIApp]]) -> None:
        """Wrap FastAPI in ``layers``, innermost first."""

        async def fastapi_app(scope: Scope, receive: Receive, send: Send) -> None:
            await FastAPI.__call__(self, scope, receive, send)

        outer: ASGIApp = fastapi_app
        for layer in layers:
            outer = layer(outer)
        self._outer = outer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._outer is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # what Starlette would set: the fast path reads app.state
        await self._outer(scope, receive, send)


def _clean_partial(services: Services) -> None:
    clean = getattr(services.store, "clean_partial", None)
    try:
        removed = clean() if clean is not None else 0
    except OSError:
        log.warning("could not look for partial objects", exc_info=True)
        return
    if removed:
        log.warning("removed %d partial object(s) left by an interrupted write", removed)


def dev_signin_enabled(settings: Settings, services: Services) -> bool:
    """Whether ``POST /dev/token`` is served: opted in (``VODSTACK_DEV_IDP``, which ``demo``
    sets), the development identity provider active (no external issuer), and a loopback bind.

    Why opt-in and not "loopback peers only": behind a same-host proxy or tunnel (nginx with a
    bare ``proxy_pass``, ``ssh -L``, ``kubectl port-forward``) every remote client is a
    loopback peer without forwarding headers, and could sign in as anyone."""
    if not settings.dev_idp or services.dev_idp is None:
        return False
    if not is_loopback_host(settings.host):
        log.warning(
            "VODSTACK_DEV_IDP ignored: %s is not a loopback address (development sign-in is "
            "only for a server on 127.0.0.1/::1)",
            settings.host,
        )
        return False
    return True


class ResponseHeaders:
    """Adds fixed headers to every response unless the response set them, as raw ASGI."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", ()),
                        *((n, v) for n, v in self.headers if n not in present),
                    ],
                }
            await send(message)

        await self.app(scope, receive, with_headers)


def redirect_app(https_base: str) -> FastAPI:
    """Plain-HTTP listener that sends every request to HTTPS (``serve --https-redirect``)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "DELETE"])
    def redirect(request: Request, path: str) -> RedirectResponse:
        # the path as the client sent it: decoding it would turn %3F into a query, %2F into /
        raw = request.scope.get("raw_path") or b"/"
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{https_base}{raw.decode('latin-1')}{query}", status_code=308)

    return app


def redirect_factory() -> FastAPI:
    import os

    return redirect_app(os.environ["VODSTACK_REDIRECT_TO"].rstrip("/"))


def app_factory() -> FastAPI:
    """Entry point for the ASGI server (``vodstack serve``): settings from the environment."""
    private_umask()
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return create_app(build_services(settings))
