"""The ``vodstack`` command: thin — it builds services, calls them, formats the output.

Rich progress on a terminal, plain lines when piped, ``--json`` for machines.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from vodstack import __version__
from vodstack.cli.access import entitle, keys_app, token
from vodstack.cli.assets import assets_app
from vodstack.cli.common import (
    JsonOpt,
    asset_dict,
    console,
    emit,
    open_services,
    wait_for_asset,
)
from vodstack.cli.costs import costs_app
from vodstack.cli.jobs import events, jobs_app, webhooks_app
from vodstack.cli.report import report_app
from vodstack.cli.stats import stats
from vodstack.config import Settings
from vodstack.errors import VodstackError
from vodstack.services import build_services, private_umask
from vodstack.web.hosts import is_loopback_host

app = typer.Typer(
    help="vodstack: upload a master once; every entitled viewer gets adaptive HLS/DASH.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(assets_app, name="assets")
app.add_typer(jobs_app, name="jobs")
app.add_typer(webhooks_app, name="webhooks")
app.command("events")(events)
app.add_typer(keys_app, name="keys")
app.add_typer(report_app, name="report")
app.add_typer(costs_app, name="costs")
app.command("token")(token)
app.command("entitle")(entitle)
app.command("stats")(stats)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    title: Annotated[str | None, typer.Option(help="Display title (default: file name).")] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Transcode now; exit 0 if ready, 1 if failed.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Submit a master: stored privately, then transcoded by a worker (or here with --wait)."""
    services = open_services()
    asset_id = services.ingestor.ingest_file(file, title)
    if not wait:
        emit({"id": asset_id, "status": "queued"}, as_json, asset_id)
        return
    status = wait_for_asset(services, asset_id, quiet=as_json)
    data = asset_dict(services, asset_id)
    if as_json:
        emit(data, True)
    elif status == "ready":
        typer.echo(asset_id)
    else:
        console.print(f"[red]failed:[/red] {data['error']}")
        typer.echo(asset_id)
    raise typer.Exit(0 if status == "ready" else 1)


@app.command()
def worker(
    queues: Annotated[
        str,
        typer.Option(
            help="With a broker: comma-separated lanes to run (ondemand, backfill, webhooks)."
        ),
    ] = "ondemand,backfill,webhooks",
    lane: Annotated[str | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run background jobs until Ctrl-C: Celery lanes when VODSTACK_BROKER_URL is set, else
    an in-process pool (alongside or instead of `serve`'s own workers)."""
    settings = Settings()
    if settings.broker_url:
        from vodstack.jobs.lanes import LANES, run_lane, supervise

        if lane is not None:  # a lane process started by the supervisor
            raise typer.Exit(run_lane(settings, lane))
        chosen = tuple(q.strip() for q in queues.split(",") if q.strip())
        unknown = set(chosen) - set(LANES)
        if unknown or not chosen:
            raise typer.BadParameter(f"lanes are {', '.join(LANES)}")
        services = build_services(settings)
        console.print(f"worker running lanes {', '.join(chosen)} on {settings.broker_url}")
        raise typer.Exit(supervise(services, chosen))
    services = build_services(settings)
    pool = services.pipeline.pool()
    pool.start()
    console.print(f"worker running ({services.settings.workers} threads); Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pool.stop()


def _serve(
    host: str,
    port: int,
    *,
    target: str = "vodstack.web.app:app_factory",
    tls: tuple[Path, Path] | None = None,
) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    # The server's worker process builds its own Settings from the environment.
    os.environ["VODSTACK_HOST"] = host
    os.environ["VODSTACK_PORT"] = str(port)
    Granian(
        target,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=1,
        log_level="warning",  # type: ignore[arg-type]
        ssl_cert=tls[0] if tls else None,
        ssl_key=tls[1] if tls else None,
        ssl_protocol_min="tls1.2",  # type: ignore[arg-type]
    ).serve()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    role: Annotated[
        str | None,
        typer.Option(
            help="all (default): edge+origin+workers; edge: gate+cache in front of --origin; "
            "shield: cache between edges and the origin; origin: packager behind them (shield "
            "and origin require the origin secret header)."
        ),
    ] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option(
            "--origin", help="Edge role: origin URL; repeat for a failover group (primary first)."
        ),
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate: serve HTTPS.")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    dev_idp: Annotated[
        bool,
        typer.Option(
            "--dev-idp",
            help="Serve the development sign-in POST /dev/token (any subject, loopback only; "
            "same as VODSTACK_DEV_IDP=true). Refused on a non-loopback --host.",
        ),
    ] = False,
) -> None:
    """API + delivery (edge and origin) + in-process workers, until Ctrl-C."""
    if dev_idp:
        os.environ["VODSTACK_DEV_IDP"] = "true"
    if role is not None:
        if role not in ("all", "edge", "shield", "origin"):
            raise typer.BadParameter("--role is all, edge, shield or origin")
        os.environ["VODSTACK_ROLE"] = role
    if origin:
        os.environ["VODSTACK_ORIGIN_URLS"] = json.dumps(origin)
    if tls_cert or tls_key:
        if not (tls_cert and tls_key):
            raise typer.BadParameter("--tls-cert and --tls-key go together")
        os.environ["VODSTACK_TLS_CERT"] = str(tls_cert)
        os.environ["VODSTACK_TLS_KEY"] = str(tls_key)
    settings = Settings()
    if settings.role in ("edge", "shield") and not settings.origin_urls:
        raise typer.BadParameter(f"--role {settings.role} needs --origin URL")
    host = host or settings.host
    port = port or settings.port
    if settings.dev_idp and not is_loopback_host(host):
        typer.echo(
            f"error: the development sign-in (--dev-idp / VODSTACK_DEV_IDP) is only for a "
            f"loopback address, not --host {host}",
            err=True,
        )
        raise typer.Exit(2)
    services = build_services(settings)
    scheme = "https" if settings.tls_cert else "http"
    console.print(
        f"vodstack {__version__} ({settings.role}) serving on {scheme}://{host}:{port}  "
        f"(data: {settings.home})"
    )
    if settings.dev_idp and services.dev_idp is not None:
        console.print(
            "[bold red]WARNING: development sign-in is ON[/bold red]: POST /dev/token gives a "
            "viewer token for any subject to anyone on this machine (and through any local "
            "proxy or tunnel). Not for a shared or public server."
        )
    console.print(f"admin token: {_admin_token_hint(settings, services.admin_token)}")
    services.close()
    tls = (settings.tls_cert, settings.tls_key) if settings.tls_cert and settings.tls_key else None
    _serve(host, port, tls=tls)


def _admin_token_hint(settings: Settings, token: str) -> str:
    """Where the admin token is, without writing it into logs: a service's stdout usually
    ends up in journald or a container log. Shown only to a person at a terminal, and never
    when the operator configured it (they know it)."""
    if settings.admin_token:
        return "as configured (VODSTACK_ADMIN_TOKEN)"
    if sys.stdout.isatty():
        return token
    return f"in {settings.secrets_dir / 'admin-token'}"


@app.command("redirect")
def redirect(
    to: Annotated[str, typer.Option("--to", help="HTTPS base URL, e.g. https://vod.example")],
    host: Annotated[str, typer.Option(help="Bind address.")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="Port (usually 80).")] = 80,
) -> None:
    """Plain-HTTP listener that redirects every request to HTTPS (308)."""
    os.environ["VODSTACK_REDIRECT_TO"] = to
    _serve(host, port, target="vodstack.web.app:redirect_factory")


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Use this master instead of a sample."),
    ] = None,
) -> None:
    """Embedded stack: make a sample clip, ingest, transcode, print playback URLs, serve."""
    from vodstack.cli.demo import prepare_demo

    settings = Settings()
    port = port or settings.port
    os.environ["VODSTACK_PORT"] = str(port)
    # The demo's page has a sign-in box: on this machine only (see `serve --dev-idp`).
    if is_loopback_host(settings.host):
        os.environ["VODSTACK_DEV_IDP"] = "true"
    else:
        console.print(f"development sign-in off: {settings.host} is not a loopback address")
    settings = Settings()
    services = build_services(settings)
    info = prepare_demo(services, file, console)
    services.close()
    for line in info:
        typer.echo(line)
    _serve(settings.host, port)


def main() -> None:
    private_umask()
    logging.basicConfig(
        level=os.environ.get("VODSTACK_LOG_LEVEL", "WARNING"),
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        app()
    except VodstackError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        sys.exit(1)


if __name__ == "__main__":
    main()
