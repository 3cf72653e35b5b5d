"""``vodstack assets restore|purge-master``: retained masters of deleted assets."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vodstack.assets.masters import Masters
from vodstack.base.actor import cli_actor
from vodstack.cli.common import JsonOpt, console, emit, open_services
from vodstack.compose import Services


def _masters(services: Services) -> Masters:
    return Masters(services.catalogue, services.store, services.bus, services.pipeline)


def deleted_message(asset_id: str, master_kept: bool) -> str:
    if not master_kept:
        return f"{asset_id} deleted, master included (VODSTACK_KEEP_MASTERS_ON_DELETE=false)"
    return (
        f"{asset_id} deleted; its master is kept.\n"
        f"  restore it:          vodstack assets restore {asset_id}\n"
        f"  delete it for good:  vodstack assets purge-master {asset_id}"
    )


def assets_restore(asset_id: str, as_json: JsonOpt = False) -> None:
    """Rebuild a deleted asset from its retained master: same id, title and playback choices;
    transcoded again by `serve` or `worker` (like POST /api/assets/{id}/restore)."""
    from vodstack.cli import remote_commands as twin
    from vodstack.cli.remote import remote

    if (api := remote()) is not None:
        twin.run(twin.assets_restore, api, asset_id, as_json)
        return
    services = open_services()
    asset, job_id = _masters(services).restore(asset_id, cli_actor())
    emit(
        {"id": asset.id, "status": asset.status, "job": job_id},
        as_json,
        f"{asset.id} restored from its master ({asset.title}); transcode job {job_id} queued",
    )


def assets_purge_master(
    asset_id: str,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask for confirmation (scripts).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete the retained master of a deleted asset for good. It cannot be restored after
    this. Audited: who and when are in `vodstack events --type master.purged`."""
    from vodstack.cli.remote import call, remote

    if (api := remote()) is not None:
        retained = call(api.retained_master, asset_id)
        _confirm_purge(asset_id, retained.record.get("title"), retained.size, yes)
        data = call(api.purge_master, asset_id).to_dict()
    else:
        masters = _masters(open_services())
        kept = masters.retained(asset_id)
        _confirm_purge(asset_id, kept.record.get("title"), kept.size, yes)
        masters.purge(asset_id, cli_actor())
        data = {"id": asset_id, "purged": True, "keys": list(kept.keys), "size": kept.size}
    emit(
        data,
        as_json,
        f"master of {asset_id} purged ({data['size']} bytes); it can no longer be restored",
    )


def _confirm_purge(asset_id: str, title: str | None, size: int, yes: bool) -> None:
    """Purging cannot be undone: ask a person, refuse a script without --yes (exit 2)."""
    if yes:
        return
    if not sys.stdin.isatty():
        console.print("[red]error:[/red] purging a master cannot be undone: add --yes")
        raise typer.Exit(2)
    typer.confirm(
        f"Delete the master of {asset_id} ({title or 'untitled'}, {size} bytes) for good?",
        abort=True,
    )
