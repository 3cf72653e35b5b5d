"""``vodstack ingest URL``: the same URL ingest as ``POST /api/assets {"url": …}``."""

from __future__ import annotations

import typer

from vodstack.base.actor import cli_actor
from vodstack.catalogue.repository import FETCH_KIND
from vodstack.cli.common import asset_dict, console, emit, watch_asset
from vodstack.compose import Services
from vodstack.errors import InvalidInput
from vodstack.ingest.url_ingest import UrlIngestor, UrlRequest


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def ingest_url(services: Services, url: str, title: str | None, wait: bool, as_json: bool) -> None:
    ingestor = UrlIngestor(
        services.settings,
        services.catalogue,
        services.store,
        services.bus,
        dispatch=services.pipeline.dispatch,
    )
    try:
        asset = ingestor.accept(UrlRequest(url, title), actor=cli_actor())
    except InvalidInput as exc:
        console.print(f"[red]error:[/red] {exc.message}", soft_wrap=True)
        raise typer.Exit(2) from None
    if not wait:
        emit({"id": asset.id, "status": asset.status}, as_json, asset.id)
        return
    # Here, now: the download, then the ladder (the extras are left to serve/worker).
    pools = [
        services.pipeline.pool(workers=1, only_asset=asset.id, only_kind=kind)
        for kind in (FETCH_KIND, "transcode")
    ]
    for pool in pools:
        pool.start()
    try:
        status = watch_asset(services, asset.id, quiet=as_json)
    finally:
        for pool in pools:
            pool.stop()
    data = asset_dict(services, asset.id)
    if as_json:
        emit(data, True)
    elif status == "ready":
        typer.echo(asset.id)
    else:
        console.print(f"[red]failed:[/red] {data['error']}")
        typer.echo(asset.id)
    raise typer.Exit(0 if status == "ready" else 1)
