"""ASGI app: routes and ASGI layers mounted over what the composition root built.

One factory, no globals. :func:`vodstack.compose.server.build_server` makes the parts of this
process for ``settings.role`` (``all``, ``edge``, ``shield`` or ``origin``: see
compose/delivery.py); :func:`create_app` mounts the admin API, playback, delivery and ops
endpoints over them and binds them to the app as typed state (web/state.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vodstack import __version__
from vodstack.catalogue.apikeys import ApiKeys
from vodstack.compose import Server, Services, build_server, build_services, private_umask
from vodstack.config import Settings
from vodstack.telemetry import logs
from vodstack.telemetry.operations_metrics import register_operations_collector
from vodstack.web import (
    accesslog,
    api,
    api_access,
    api_activity,
    api_costs,
    api_direct,
    api_entitlement,
    api_jobs,
    api_keys,
    api_labels,
    api_masters,
    api_operations,
    api_qoe,
    api_uploads,
    delivery,
    docs,
    embed,
    errors,
    license,
    pages,
    play,
    telemetry,
)
from vodstack.web.auth import is_admin_path, require_metrics_reader
from vodstack.web.bodylimit import BodyLimits
from vodstack.web.cors import ViewerCors
from vodstack.web.credentials import Authenticator
from vodstack.web.hosts import is_loopback_host
from vodstack.web.requestid import RequestId
from vodstack.web.scopes import check_declared
from vodstack.web.state import AppState, bind

log = logging.getLogger(__name__)


def create_app(server: Server) -> FastAPI:
    services, settings, role = server.services, server.settings, server.role

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server.start()
        try:
            yield
        finally:
            await server.stop()

    app = VodstackApp(
        title="vodstack",
        version=__version__,
        summary="Upload once; adaptive HLS/DASH for every entitled viewer.",
        lifespan=lifespan,
        docs_url=None,  # served from vendored files by web/docs.py (no CDN)
        redoc_url=None,
    )
    dev_signin = dev_signin_enabled(settings, services)
    authenticator = Authenticator(lambda: services.admin_token, ApiKeys(services.db))
    bind(app, AppState(server, dev_signin, authenticator))
    register_operations_collector(services.metrics, services.db)
    errors.install(app)
    app.include_router(api.router)
    app.include_router(api_direct.admin_router)  # before /api/uploads/{id} (issue #18)
    app.include_router(api_masters.router)
    app.include_router(api_uploads.router)
    app.include_router(api_direct.public_router)
    app.include_router(api_entitlement.router)
    app.include_router(api_costs.router)
    app.include_router(api_labels.router)
    app.include_router(api_activity.router)
    app.include_router(api_jobs.router)
    app.include_router(api_keys.router)
    app.include_router(api_access.router)
    app.include_router(api_qoe.router)
    app.include_router(api_operations.router)
    app.include_router(play.router)
    app.include_router(license.router)
    app.include_router(delivery.router)
    # Viewer side (issue #5): player/admin pages, static assets, QoE beacons.
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.include_router(embed.router)
    if dev_signin:
        log.warning(
            "DEVELOPMENT SIGN-IN IS ON (VODSTACK_DEV_IDP): POST /dev/token gives a viewer "
            "token for any subject to any client on this machine, including one relayed by a "
            "local proxy or tunnel. Never on a server others can reach."
        )
        app.include_router(pages.dev_router)
    app.include_router(telemetry.router)
    app.include_router(telemetry.admin_router)
    app.mount("/static", pages.static_app(), name="static")
    check_declared(app, is_admin_path)  # every /api operation names its scope

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
        return Response(generate_latest(server.exposition), media_type=CONTENT_TYPE_LATEST)  # type: ignore[arg-type]

    # Raw ASGI layers outside FastAPI, outermost last: bodies are limited (and admin routes
    # authenticated) before FastAPI reads them, the access log sees every response, security
    # headers are added to every response, and delivery requests never enter FastAPI/Starlette.
    layers: list[Callable[[ASGIApp], ASGIApp]] = [
        lambda inner: BodyLimits(inner, settings, authenticator.authenticate),
        lambda inner: delivery.DeliveryFastPath(inner, server.delivery),
    ]
    if settings.cors_origins:
        layers.append(lambda inner: ViewerCors(inner, settings.cors_origins))
    if settings.direct_upload_cors_origins:
        origins = settings.direct_upload_cors_origins
        layers.append(lambda inner: api_direct.DirectUploadCors(inner, origins))
    # nosniff: a browser must never take a segment, a JSON error or an upload for HTML/script.
    security_headers = [(b"x-content-type-options", b"nosniff")]
    if settings.tls_cert and settings.hsts:
        security_headers.append((b"strict-transport-security", b"max-age=31536000"))  # RFC 6797
    layers.append(lambda inner: ResponseHeaders(inner, security_headers))
    sink = accesslog.open_sink(settings.access_log)
    process = {"role": role, "instance": logs.instance_name(settings.instance_id)}
    ledger = server.ledger
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
        scope["app"] = self  # what Starlette would set: routes reach their state through it
        await self._outer(scope, receive, send)


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
    return create_app(build_server(build_services(settings)))
