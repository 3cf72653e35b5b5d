"""ASGI app assembly: admin API, playback, delivery (gate → edge → origin), ops endpoints.

One factory, no globals. ``settings.role`` picks what this process is: ``all`` (edge and
origin together, the default), ``edge`` (gate + cache in front of remote origins) or
``origin`` (packager behind edges, answering only requests with the shared secret).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vodstack import __version__
from vodstack.config import Settings
from vodstack.costs.flusher import LedgerFlusher, hot_class
from vodstack.costs.ledger import UsageLedger
from vodstack.costs.prices import Prices
from vodstack.edge.cache import EdgeCache
from vodstack.edge.gate import SignatureGate
from vodstack.edge.hot import HotCopies
from vodstack.edge.loaders import HttpOrigins, InProcessOrigin
from vodstack.edge.policy import PlaybackPolicies
from vodstack.edge.service import PURGING_EVENTS, Edge, PurgeFollower, TtlPolicy
from vodstack.edge.shared import SharedTier
from vodstack.errors import NotFound
from vodstack.jobs.bus import DomainEvent
from vodstack.jobs.leader import Leader
from vodstack.origin.origin import Origin
from vodstack.origin.protect import ProtectedPackager
from vodstack.protection.service import build_protection
from vodstack.secretstore import LiveSecret, random_token
from vodstack.services import Services, build_services, private_umask
from vodstack.telemetry import logs
from vodstack.telemetry.metrics import Exposition, register_cache_collector, start_listener
from vodstack.telemetry.operations_metrics import register_operations_collector
from vodstack.telemetry.service import PlaybackTelemetry
from vodstack.thumbnails.guard import ThumbnailAdmission
from vodstack.web import (
    accesslog,
    api,
    api_costs,
    api_entitlement,
    api_operations,
    api_uploads,
    delivery,
    embed,
    errors,
    license,
    pages,
    play,
    telemetry,
)
from vodstack.web.auth import require_metrics_reader
from vodstack.web.bodylimit import BodyLimits
from vodstack.web.cors import ViewerCors
from vodstack.web.delivery import Gate
from vodstack.web.hosts import is_loopback_host
from vodstack.web.requestid import RequestId

log = logging.getLogger(__name__)


class OpenGate:
    """Lets every request through. Only for tests and benchmarks of what lies behind."""

    def check(
        self, request: Request, asset_id: str, token: str | None = None, picture: bool = False
    ) -> None:
        return None


def origin_secrets(services: Services) -> Callable[[], tuple[str, ...]]:
    """The origin secrets, current first: the configured ones, else the generated one from
    the secret store, read again every few seconds (``vodstack secrets rotate
    origin-secret`` reaches every node without a restart; the previous value stays valid)."""
    configured = services.settings.origin_secrets
    if configured:
        return lambda: configured
    live = LiveSecret(services.secrets, "origin-secret", random_token)
    return lambda: tuple(v.decode() for v in live.values())


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
        secrets_now = origin_secrets(services)
        loader = HttpOrigins(
            settings.origin_urls,
            settings.origin_secret_header,
            lambda: secrets_now()[0],  # read again every few seconds: rotations reach it
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
    shared = None
    if settings.worker_shared_dir is not None and settings.edge_disk_bytes:
        # The other workers of this `serve --workers N`: one origin load per segment for all.
        shared = SharedTier(settings.worker_shared_dir, staging, wait_s=settings.origin_timeout_s)
    return Edge(cache, loader, policy, services.metrics, hot, shared)


def _duration_of(services: Services) -> Callable[[str], float | None]:
    def duration(asset_id: str) -> float | None:
        try:
            return services.catalogue.get_asset(asset_id).duration
        except NotFound:
            return None  # the origin answers 404

    return duration


def create_app(
    services: Services, *, gate: Gate | None = None, run_workers: bool = True
) -> FastAPI:
    settings = services.settings
    role = settings.role
    remote = role in ("edge", "shield")
    protection = build_protection(settings, services.db, services.secrets)
    packager = ProtectedPackager(
        protection,
        f"{settings.base_url()}/v1/{{asset}}/license",
        clear_external_keys=settings.clearkey_external_keys,
    )
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
    # Usage ledger (issue #21): viewer-facing roles only, so bytes an origin or shield sends
    # to edges are not counted again as egress.
    ledger = UsageLedger() if settings.costs_ledger and role in ("all", "edge") else None
    flusher = (
        LedgerFlusher(
            ledger,
            services.db,
            interval_s=settings.costs_flush_s,
            retention_days=settings.costs_retention_days,
            prices=Prices.from_settings(settings),
            hot_class=hot_class(services.store),
            registry=services.metrics.registry,
        )
        if ledger is not None
        else None
    )
    if flusher is not None:  # a multi-worker /metrics shows it per worker (Exposition.own)
        services.metrics.own.append(flusher.collector)

    def forget(event: DomainEvent) -> None:  # events of this process: purge at once, once
        if event.asset_id is None:
            return
        if origin is not None:
            origin.forget(event.asset_id)
        if follower is not None:
            follower.apply_threadsafe(event)

    for event_type in PURGING_EVENTS:
        services.bus.subscribe(event_type, forget)

    def refresh_job_gauges() -> None:
        # Gauges of the catalogue's jobs (all processes); every state and queue is set, so
        # one that emptied reads 0 instead of its last count.
        m, pipeline = services.metrics, services.pipeline
        for state, count in pipeline.job_counts().items():
            m.jobs.labels(state).set(count)
        for queue, count in pipeline.queue_depths().items():
            m.jobs_queued.labels(queue).set(count)

    # The pipeline's own registry: durations of the jobs that ended in this process.
    exposition = Exposition(
        (services.metrics.registry, services.pipeline.metrics.registry),
        {
            "role": role,
            "instance": logs.instance_name(settings.instance_id),
            "version": __version__,
        },
        refresh_job_gauges,
        services.metrics.own,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        listener = (
            start_listener(exposition, settings.metrics_host, settings.metrics_port)
            if settings.metrics_port
            else None
        )
        if not remote:  # uploads cut off by a crash (kill -9): in the background
            threading.Thread(
                target=_clean_partial, args=(services,), name="vodstack-clean", daemon=True
            ).start()
        pool = services.pipeline.pool() if run_workers and not remote else None
        leader = None
        if pool is not None and settings.worker_shared_dir is not None:
            # One of the server's worker processes runs the jobs (jobs/leader.py says why).
            leader = Leader(settings.worker_shared_dir / "jobs.lock", pool.start, pool.stop)
            leader.begin()
        elif pool is not None:
            pool.start()
        if follower is not None:
            follower.start()
        if flusher is not None:
            flusher.start()
        try:
            yield
        finally:
            if flusher is not None:
                await flusher.stop()
            if follower is not None:
                await follower.stop()
            if leader is not None:
                leader.end()
            elif pool is not None:
                pool.stop()
            if edge is not None:
                edge.cache.close()
            if listener is not None:
                listener.shutdown()
                listener.server_close()

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
    app.state.ledger_flusher = flusher
    app.state.origin_secret_header = settings.origin_secret_header.lower()
    app.state.origin_secrets = (
        origin_secrets(services) if role in ("origin", "shield") else lambda: ()
    )
    app.state.gate = gate or SignatureGate(
        settings,
        services.signature_verifier,
        services.locator,
        services.metrics,
        PlaybackPolicies(services.catalogue),
    )
    app.state.thumbnails = ThumbnailAdmission(
        settings.thumbnail_rate_per_s, settings.thumbnail_burst, _duration_of(services)
    )
    if edge is not None:
        register_cache_collector(services.metrics, edge.cache)
    register_operations_collector(services.metrics, services.db)
    errors.install(app)
    app.include_router(api.router)
    app.include_router(api_uploads.router)
    app.include_router(api_entitlement.router)
    app.include_router(api_costs.router)
    app.include_router(api_operations.router)
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
        services.catalogue.last_event_id()  # reachable; one index lookup, not a count of jobs
        return {"status": "ok", "version": __version__, "role": role}

    @app.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics",
        description="Needs `Authorization: Bearer` with the admin token or `metrics_token`; "
        "`metrics_port` serves it without a token on a separate (loopback) listener.",
        dependencies=[Depends(require_metrics_reader)],
    )
    def metrics() -> Response:
        return Response(generate_latest(exposition), media_type=CONTENT_TYPE_LATEST)  # type: ignore[arg-type]

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
    process = {"role": role, "instance": logs.instance_name(settings.instance_id)}
    layers.append(lambda inner: accesslog.AccessLog(inner, services.metrics, sink, process, ledger))
    layers.append(RequestId)  # outermost: the access log and every layer see the id
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
    logs.configure(settings.log_level, settings.log_format, settings.role, settings.instance_id)
    return create_app(build_services(settings))
