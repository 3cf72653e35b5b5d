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
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vodstack import __version__
from vodstack.config import Settings
from vodstack.errors import VodstackError
from vodstack.services import Services, build_services

app = typer.Typer(
    help="vodstack: upload a master once; every entitled viewer gets adaptive HLS/DASH.",
    no_args_is_help=True,
    add_completion=False,
)
assets_app = typer.Typer(help="Inspect and manage assets.", no_args_is_help=True)
app.add_typer(assets_app, name="assets")

console = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _services(**overrides: Any) -> Services:
    return build_services(Settings(**overrides))


def _emit(data: Any, as_json: bool, human: str | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        typer.echo(human if human is not None else json.dumps(data, indent=2, default=str))


def _asset_dict(services: Services, asset_id: str) -> dict[str, Any]:
    asset = services.catalogue.get_asset(asset_id)
    job = services.catalogue.latest_job(asset_id)
    renditions = services.catalogue.renditions(asset_id, asset.revision) if asset.revision else []
    base = services.settings.base_url()
    ready = asset.status == "ready"
    return {
        "id": asset.id,
        "title": asset.title,
        "status": asset.status,
        "error": asset.error,
        "duration": asset.duration,
        "published": asset.published,
        "drm": asset.drm,
        "revision": asset.revision,
        "renditions": [
            {
                "track": r.track_id,
                "kind": r.kind,
                "codec": r.codec,
                "width": r.width,
                "height": r.height,
                "bitrate": r.bitrate_avg,
                "peak_bitrate": r.bitrate_peak,
            }
            for r in renditions
        ],
        "playback": {
            "hls": f"{base}/v1/{asset.id}/index.m3u8" if ready else None,
            "dash": f"{base}/v1/{asset.id}/index.mpd" if ready else None,
        },
        "job": None
        if job is None
        else {
            "id": job.id,
            "state": job.state,
            "attempts": job.attempts,
            "error": job.error,
        },
    }


def wait_for_asset(services: Services, asset_id: str, *, quiet: bool = False) -> str:
    """Run an in-process worker for this asset (alongside any other worker) until it ends.

    Returns the final status. The bar follows FFmpeg's ``-progress`` via the catalogue, so it
    shows the truth whichever worker process actually runs the job.
    """
    pool = services.pipeline.pool(workers=1, only_asset=asset_id)
    pool.start()
    show_bar = not quiet and sys.stderr.isatty()
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            disable=not show_bar,
            transient=False,
        ) as progress:
            task = progress.add_task("transcoding", total=1.0)
            last_state = None
            while True:
                asset = services.catalogue.get_asset(asset_id)
                job = services.catalogue.latest_job(asset_id)
                if job is not None:
                    progress.update(task, completed=job.progress, description=asset.status)
                    if not show_bar and not quiet and asset.status != last_state:
                        console.print(f"{asset_id}: {asset.status}")
                    last_state = asset.status
                if asset.status in ("ready", "failed") and (
                    job is None or job.state in ("succeeded", "failed")
                ):
                    progress.update(task, completed=1.0, description=asset.status)
                    return asset.status
                time.sleep(0.25)
    finally:
        pool.stop()


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
    services = _services()
    asset_id = services.ingestor.ingest_file(file, title)
    if not wait:
        _emit({"id": asset_id, "status": "queued"}, as_json, asset_id)
        return
    status = wait_for_asset(services, asset_id, quiet=as_json)
    data = _asset_dict(services, asset_id)
    if as_json:
        _emit(data, True)
    elif status == "ready":
        typer.echo(asset_id)
    else:
        console.print(f"[red]failed:[/red] {data['error']}")
        typer.echo(asset_id)
    raise typer.Exit(0 if status == "ready" else 1)


@assets_app.command("list")
def assets_list(as_json: JsonOpt = False) -> None:
    """All assets, newest first."""
    services = _services()
    rows = services.catalogue.list_assets()
    if as_json:
        _emit(
            [
                {
                    "id": a.id,
                    "title": a.title,
                    "status": a.status,
                    "published": a.published,
                    "duration": a.duration,
                    "error": a.error,
                }
                for a in rows
            ],
            True,
        )
        return
    table = Table("id", "status", "published", "duration", "title", "error")
    for a in rows:
        table.add_row(
            a.id,
            a.status,
            "yes" if a.published else "no",
            f"{a.duration:.1f}s" if a.duration else "",
            a.title,
            a.error or "",
        )
    Console().print(table)


@assets_app.command("show")
def assets_show(asset_id: str, as_json: JsonOpt = False) -> None:
    """One asset: state, renditions, playback URLs, job."""
    services = _services()
    services.assets.get(asset_id)
    _emit(_asset_dict(services, asset_id), as_json)


@assets_app.command("publish")
def assets_publish(asset_id: str, as_json: JsonOpt = False) -> None:
    """Allow playback of an asset."""
    services = _services()
    services.assets.set_published(asset_id, True)
    _emit(_asset_dict(services, asset_id), as_json, f"{asset_id} published")


@assets_app.command("unpublish")
def assets_unpublish(asset_id: str, as_json: JsonOpt = False) -> None:
    """Stop playback at once (takedown)."""
    services = _services()
    services.assets.set_published(asset_id, False)
    _emit(_asset_dict(services, asset_id), as_json, f"{asset_id} unpublished")


@assets_app.command("delete")
def assets_delete(asset_id: str, as_json: JsonOpt = False) -> None:
    """Delete packaged media and catalogue rows; the master is retained."""
    services = _services()
    services.assets.delete(asset_id)
    _emit({"id": asset_id, "deleted": True}, as_json, f"{asset_id} deleted")


@assets_app.command("retranscode")
def assets_retranscode(
    asset_id: Annotated[str | None, typer.Argument()] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every asset.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-run the ladder from retained masters; current revisions serve until replaced."""
    services = _services()
    if all_ == (asset_id is not None):
        raise typer.BadParameter("give an asset id or --all")
    ids = [a.id for a in services.catalogue.list_assets(limit=1_000_000)] if all_ else [asset_id]
    jobs = {
        i: services.assets.retranscode(i, queue="backfill" if all_ else "ondemand")
        for i in ids
        if i
    }
    _emit({"jobs": jobs}, as_json, "\n".join(f"{k} {v}" for k, v in jobs.items()))


@app.command()
def worker() -> None:
    """Run background jobs until Ctrl-C (alongside or instead of `serve`'s own workers)."""
    services = _services()
    pool = services.pipeline.pool()
    pool.start()
    console.print(f"worker running ({services.settings.workers} threads); Ctrl-C to stop")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pool.stop()


def _serve(host: str, port: int, home: Path | None = None) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    # The server's worker process builds its own Settings from the environment.
    os.environ["VODSTACK_HOST"] = host
    os.environ["VODSTACK_PORT"] = str(port)
    if home is not None:
        os.environ["VODSTACK_HOME"] = str(home)
    Granian(
        "vodstack.web.app:app_factory",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=1,
        log_level="warning",  # type: ignore[arg-type]
    ).serve()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """API + delivery (edge and origin) + in-process workers, until Ctrl-C."""
    settings = Settings()
    services = build_services(settings)
    host = host or settings.host
    port = port or settings.port
    console.print(
        f"vodstack {__version__} serving on http://{host}:{port}  (data: {settings.home})"
    )
    console.print(f"admin token: {services.admin_token}")
    services.close()
    _serve(host, port)


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Use this master instead of a sample."),
    ] = None,
) -> None:
    """Embedded stack: make a sample clip, ingest, transcode, print playback URLs, serve."""
    from vodstack.demo import prepare_demo

    settings = Settings()
    port = port or settings.port
    os.environ["VODSTACK_PORT"] = str(port)
    settings = Settings()
    services = build_services(settings)
    info = prepare_demo(services, file, console)
    services.close()
    for line in info:
        typer.echo(line)
    _serve(settings.host, port)


def main() -> None:
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
