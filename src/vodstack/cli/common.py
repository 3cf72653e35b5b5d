"""Helpers shared by the CLI modules: services, output formatting."""

from __future__ import annotations

import atexit
import json
import sys
import time
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from vodstack.assets.view import asset_view
from vodstack.catalogue import TRANSCODE_KIND
from vodstack.catalogue.labels import LabelStore
from vodstack.catalogue.labels import as_json as labels_json
from vodstack.cli.server_url import cli_base_url
from vodstack.compose import Services, build_services
from vodstack.config import Settings
from vodstack.jobs import WorkerPool

console = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def open_services(**overrides: Any) -> Services:
    from vodstack.cli.remote import refuse_local

    refuse_local()  # under --url: only the covered commands run (cli/remote.py)
    services = build_services(Settings(**overrides))
    if services.webhooks is not None:  # a command's events: delivered before it exits
        atexit.register(flush_webhooks, services)
    return services


def flush_webhooks(services: Services) -> None:
    """Give the webhooks of this short-lived process their first attempt before it exits
    (bounded); retries a failed endpoint would get later are lost with it, and said so."""
    if services.webhooks is None:
        return
    pending = services.webhooks.flush(min(services.settings.webhook_timeout_s + 2, 30))
    if pending:
        console.print(
            f"[yellow]warning:[/yellow] {pending} webhook deliveries not made before exit "
            "(see `vodstack events --type webhook.`)"
        )


def emit(data: Any, as_json: bool, human: str | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        typer.echo(human if human is not None else json.dumps(data, indent=2, default=str))


def asset_dict(services: Services, asset_id: str) -> dict[str, Any]:
    """The CLI's rendering of the one asset view (assets/view.py)."""
    asset = services.catalogue.get_asset(asset_id)
    # the running server's public URL (serve --port N), not the default port
    view = asset_view(services.catalogue, cli_base_url(services.settings), asset)
    return {
        "id": asset.id,
        "title": asset.title,
        "status": asset.status,
        "error": asset.error,
        "duration": asset.duration,
        "published": asset.published,
        "playback_policy": asset.playback,
        "drm": asset.drm,
        "revision": asset.revision,
        "renditions": [
            {
                "track": r.track,
                "kind": r.kind,
                "codec": r.codec,
                "width": r.width,
                "height": r.height,
                "bitrate": r.bitrate,
                "peak_bitrate": r.peak_bitrate,
            }
            for r in view.renditions
        ],
        "playback": view.playback.to_dict() if view.playback else {"hls": None, "dash": None},
        "job": view.job.to_dict() if view.job else None,
        "extras": view.extras,
        **labels_json(LabelStore(services.db).get(asset_id)),
    }


def wait_for_asset(services: Services, asset_id: str, *, quiet: bool = False) -> str:
    """Run an in-process worker for this asset's transcode (alongside any other worker) until
    the job ends: the whole ladder is committed (a progressive asset is ready sooner). The
    extras (poster, storyboard, download, VMAF) are left queued for ``serve``/``worker``.

    Returns the final status. The bar follows FFmpeg's ``-progress`` via the catalogue, so it
    shows the truth whichever worker process actually runs the job.
    """
    pool = transcode_pool(services, asset_id)
    try:
        return watch_asset(services, asset_id, quiet=quiet)
    finally:
        pool.stop()


def transcode_pool(services: Services, asset_id: str) -> WorkerPool:
    """A started one-thread pool that runs only this asset's transcode job."""
    pool = services.pipeline.pool(workers=1, only_asset=asset_id, only_kind=TRANSCODE_KIND)
    pool.start()
    return pool


def watch_asset(
    services: Services, asset_id: str, *, quiet: bool = False, until_ready: bool = False
) -> str:
    """Follow the asset until its transcode job ends (``until_ready``: until it is playable,
    or failed) and return its status."""
    show_bar = not quiet and sys.stderr.isatty()
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
                until_ready or job is None or job.state in ("succeeded", "failed", "dead")
            ):
                progress.update(task, completed=1.0, description=asset.status)
                return asset.status
            time.sleep(0.25)
