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

from vodstack.catalogue.repository import TRANSCODE_KIND
from vodstack.cli.server_url import cli_base_url
from vodstack.config import Settings
from vodstack.jobs.worker import WorkerPool
from vodstack.services import Services, build_services
from vodstack.transcode.extras_job import extras_status

console = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def open_services(**overrides: Any) -> Services:
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
    asset = services.catalogue.get_asset(asset_id)
    job = services.catalogue.latest_job(asset_id)
    renditions = services.catalogue.renditions(asset_id, asset.revision) if asset.revision else []
    base = cli_base_url(services.settings)  # the running server's, not the default port
    ready = asset.status == "ready"
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
            "progress": round(job.progress, 4),
            "error": job.error,
            "stages": job.stages,
        },
        "extras": extras_status(services.catalogue, asset),
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
