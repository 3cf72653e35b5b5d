"""The ``vodstack`` command: thin — it builds services, calls them, formats the output.

Rich progress on a terminal, plain lines when piped, ``--json`` for machines.

Why one module: it is the command table — each top-level command a few lines that parse,
call the composition root and print; command groups with more logic have their own modules
(``assets``, ``access``, ``costs``, ``jobs``, ``report``, ``secrets``, ``stats``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from vodstack import __version__
from vodstack.cli import labels as _labels  # noqa: F401 - registers `assets set`
from vodstack.cli import remote_commands as twin
from vodstack.cli.access import entitle, keys_app, token
from vodstack.cli.api_keys import api_keys_app
from vodstack.cli.assets import assets_app
from vodstack.cli.common import (
    JsonOpt,
    asset_dict,
    console,
    emit,
    open_services,
    wait_for_asset,
)
from vodstack.cli.config import config_app
from vodstack.cli.costs import costs_app
from vodstack.cli.grants import licences, subscriptions
from vodstack.cli.jobs import events, jobs_app, webhooks_app
from vodstack.cli.operations import operations_app
from vodstack.cli.remote import remote, use_remote
from vodstack.cli.report import report_app
from vodstack.cli.secrets import secrets_app
from vodstack.cli.server_url import record_server_url
from vodstack.cli.stats import stats
from vodstack.compose import build_services, private_umask
from vodstack.config import Settings, SettingsInvalid, load_settings
from vodstack.edge import DiskFiles
from vodstack.errors import ConfigError, VodstackError
from vodstack.telemetry import logs, share_between_workers
from vodstack.web import is_loopback_host

log = logging.getLogger("vodstack.cli")

app = typer.Typer(
    help="vodstack: upload a master once; every entitled viewer gets adaptive HLS/DASH.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(assets_app, name="assets")
app.add_typer(jobs_app, name="jobs")
app.add_typer(operations_app, name="operations")
app.add_typer(webhooks_app, name="webhooks")
app.command("events")(events)
app.add_typer(keys_app, name="keys")
app.add_typer(api_keys_app, name="api-keys")
app.command("subscriptions")(subscriptions)
app.command("licences")(licences)
app.add_typer(report_app, name="report")
app.add_typer(config_app, name="config")
app.add_typer(secrets_app, name="secrets")
app.add_typer(costs_app, name="costs")
app.command("token")(token)
app.command("entitle")(entitle)
app.command("stats")(stats)

#: Top-level commands that may run against a server (--url); their uncovered subcommands
#: refuse in one line (cli/remote.py).
REMOTE_TOP = frozenset(
    {
        "assets",
        "jobs",
        "events",
        "operations",
        "ingest",
        "subscriptions",
        "licences",
        "entitle",
        "api-keys",
        "keys",
    }
)


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="VODSTACK_API_URL",
            help="Run the assets, jobs, events, operations, ingest, entitlement (entitle, "
            "subscriptions, licences), api-keys and keys commands "
            "against this server over its API, printing its public URLs (default: the local "
            "catalogue).",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="VODSTACK_API_KEY",
            help="API key (vsk_…) or admin token for --url.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """vodstack: upload a master once; every entitled viewer gets adaptive HLS/DASH."""
    use_remote(url, api_key)
    if url and ctx.invoked_subcommand not in REMOTE_TOP | {"version"}:
        typer.echo(
            f"error: `vodstack {ctx.invoked_subcommand}` runs locally only; drop "
            "--url/VODSTACK_API_URL",
            err=True,
        )
        raise typer.Exit(2)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def ingest(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|URL",
            help="A master file, or an http(s) URL the server downloads (docs/uploads.md).",
        ),
    ],
    title: Annotated[str | None, typer.Option(help="Display title (default: file name).")] = None,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Transcode the ladder now; exit 0 if ready, 1 if failed. The extras (poster, "
            "storyboard, download, VMAF) are queued for `serve` or `worker`.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Submit a master: stored privately, then transcoded by a worker (or here with --wait).
    With --url: uploaded to that server (or fetched by it), --wait polls it."""
    from vodstack.cli.ingest_url import ingest_url, is_url

    if (api := remote()) is not None:
        twin.run(twin.ingest, api, source, title, wait, as_json)
        return
    if is_url(source):
        ingest_url(open_services(), source, title, wait, as_json)
        return
    file = Path(source)
    if not file.is_file() or not os.access(file, os.R_OK):
        raise typer.BadParameter(f"{source!r} is not a readable file (or an http(s) URL)")
    services = open_services()
    asset_id = services.ingestor.ingest_file(file, title)
    if not wait:
        state = services.catalogue.get_asset(asset_id).status  # "failed": refused at ingest
        emit({"id": asset_id, "status": state}, as_json, asset_id)
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
    settings = load_settings()
    _configure_logging(settings, "worker")
    if settings.broker_url:
        from vodstack.compose.lanes import LANES, run_lane, supervise

        if lane is not None:  # a lane process started by the supervisor
            raise typer.Exit(run_lane(settings, lane))
        chosen = tuple(q.strip() for q in queues.split(",") if q.strip())
        unknown = set(chosen) - set(LANES)
        if unknown or not chosen:
            raise typer.BadParameter(f"lanes are {', '.join(LANES)}")
        services = build_services(settings)
        log.info(
            "worker running lanes %s on %s", ", ".join(chosen), _shown_url(settings.broker_url)
        )
        raise typer.Exit(supervise(services, chosen))
    services = build_services(settings)
    pool = services.pipeline.pool()
    pool.start()
    log.info("worker running (%d threads); Ctrl-C to stop", services.settings.workers)
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
    settings: Settings | None = None,
    workers: int = 1,
) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    _check_free(host, port)
    # The server's worker process builds its own Settings from the environment.
    os.environ["VODSTACK_HOST"] = host
    os.environ["VODSTACK_PORT"] = str(port)
    settings = settings or load_settings()
    fmt = _log_format(settings)
    os.environ["VODSTACK_LOG_FORMAT"] = fmt  # the worker process logs like this one
    Granian(
        target,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=workers,
        log_level=settings.log_level.lower(),  # type: ignore[arg-type]
        log_dictconfig=logs.granian_dictconfig(
            settings.log_level, fmt, settings.role, settings.instance_id
        ),
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
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Also serve /metrics, without a token, on this port of VODSTACK_METRICS_HOST "
            "(127.0.0.1); the viewer port's /metrics always needs a bearer token."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=256,
            help="HTTP worker processes (VODSTACK_SERVER_WORKERS). Default: one per core for "
            "--role edge, else 1. They share the edge disk tier and collapse origin loads "
            "through it; background jobs run in one of them.",
        ),
    ] = None,
) -> None:
    """API + delivery (edge and origin) + in-process workers, until Ctrl-C."""
    if dev_idp:
        os.environ["VODSTACK_DEV_IDP"] = "true"
    if metrics_port is not None:
        os.environ["VODSTACK_METRICS_PORT"] = str(metrics_port)
    if role is not None:
        if role not in ("all", "edge", "shield", "origin"):
            raise typer.BadParameter("--role is all, edge, shield or origin")
        os.environ["VODSTACK_ROLE"] = role
    if origin:
        os.environ["VODSTACK_ORIGIN_URLS"] = json.dumps(origin)
    if workers is not None:
        os.environ["VODSTACK_SERVER_WORKERS"] = str(workers)
    if tls_cert or tls_key:
        if not (tls_cert and tls_key):
            raise typer.BadParameter("--tls-cert and --tls-key go together")
        os.environ["VODSTACK_TLS_CERT"] = str(tls_cert)
        os.environ["VODSTACK_TLS_KEY"] = str(tls_key)
    settings = load_settings()
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
    _configure_logging(settings, settings.role)
    services = build_services(settings)
    _check_free(host, port)
    if settings.role in ("all", "edge"):  # viewer-facing: the URLs the CLI should print
        record_server_url(settings, host, port)
    scheme = "https" if settings.tls_cert else "http"
    count = settings.effective_server_workers
    log.info(
        "vodstack %s (%s) serving on %s://%s:%s  (data: %s; %d worker process%s)",
        __version__,
        settings.role,
        scheme,
        host,
        port,
        settings.home,
        count,
        "es" if count > 1 else "",
    )
    if settings.dev_idp and services.dev_idp is not None:
        console.print(
            "[bold red]WARNING: development sign-in is ON[/bold red]: POST /dev/token gives a "
            "viewer token for any subject to anyone on this machine (and through any local "
            "proxy or tunnel). Not for a shared or public server."
        )
    hint = _admin_token_hint(settings, services.admin_token)
    if _log_format(settings) == "text" or hint == services.admin_token:
        console.print(f"admin token: {hint}")  # the token itself only to a person at a terminal
    else:
        log.info("admin token: %s", hint)
    services.close()
    tls = (settings.tls_cert, settings.tls_key) if settings.tls_cert and settings.tls_key else None
    if count == 1:
        _serve(host, port, tls=tls, settings=settings)
        return
    # What the workers share lives in a directory this process owns (and locks) while it
    # serves: removed on exit, reaped by the next start after a crash (edge/shared.py).
    shared = DiskFiles(settings.effective_edge_disk_dir)
    os.environ["VODSTACK_WORKER_SHARED_DIR"] = str(shared.root)
    share_between_workers(shared.root / "metrics")
    try:
        _serve(host, port, tls=tls, settings=settings, workers=count)
    finally:
        shared.close()


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
    """Embedded stack: make a sample clip, ingest, print playback URLs as soon as it plays
    (the rest of the ladder and the extras follow while it serves), serve."""
    from vodstack.cli.demo import announce_demo, ingest_demo

    settings = load_settings()
    port = port or settings.port
    os.environ["VODSTACK_PORT"] = str(port)
    # The demo's page has a sign-in box: on this machine only (see `serve --dev-idp`).
    if is_loopback_host(settings.host):
        os.environ["VODSTACK_DEV_IDP"] = "true"
    else:
        console.print(f"development sign-in off: {settings.host} is not a loopback address")
    settings = load_settings()
    _configure_logging(settings, settings.role, demo=True)
    services = build_services(settings)
    asset_id, _ = ingest_demo(services, file, console)

    def announce() -> None:
        """The server's workers transcode the asset; the URLs are printed once it plays."""
        try:
            lines = announce_demo(services, asset_id, sample=file is None)
        except VodstackError as exc:
            console.print(f"[red]error:[/red] {exc.message}")
            os.kill(os.getpid(), signal.SIGTERM)  # stop serving: there is nothing to show
            return
        for line in lines:
            typer.echo(line)

    threading.Thread(target=announce, name="vodstack-demo", daemon=True).start()
    try:
        _serve(settings.host, port, settings=settings)
    finally:
        services.close()


def _check_free(host: str, port: int) -> None:
    """One line instead of the server's Rust backtrace when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _log_format(settings: Settings, *, demo: bool = False) -> str:
    """JSON unless configured otherwise; `demo` keeps readable text for a person at a
    terminal unless log_format is set."""
    if demo and "log_format" not in settings.model_fields_set and sys.stderr.isatty():
        return "text"
    return settings.log_format


def _configure_logging(settings: Settings, role: str, *, demo: bool = False) -> None:
    logs.configure(settings.log_level, _log_format(settings, demo=demo), role, settings.instance_id)


def _shown_url(url: str) -> str:
    from vodstack.config import redact

    return str(redact("url", url))


def main() -> None:
    private_umask()
    # Commands other than the servers: terse text for a person; an unusable level is
    # reported by the settings check, not by the logging module.
    level = os.environ.get("VODSTACK_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        level=level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "WARNING",
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        app()
    except SettingsInvalid as exc:  # one line per problem, no traceback (as `config check`)
        for line in exc.problems:
            typer.echo(f"error: {line}", err=True)
        sys.exit(2)
    except VodstackError as exc:  # one line, however long (soft_wrap: the terminal wraps)
        console.print(f"[red]error:[/red] {exc.message}", soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
