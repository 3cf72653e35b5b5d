"""``vodstack api-keys …``: scoped API keys for the HTTP API (catalogue.apikeys).

Not ``vodstack keys``: those are the signing keys of the key group (``keys create`` makes a
signing key), and stay so.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vodstack.base import EventBus
from vodstack.catalogue.apikeys import LOCAL_CLI, SCOPES, ApiKey, ApiKeys
from vodstack.cli.common import JsonOpt, console, emit, open_services

api_keys_app = typer.Typer(
    help="Scoped API keys for the HTTP API (the admin token stays the bootstrap key).",
    no_args_is_help=True,
)


def key_dict(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "scopes": list(key.scopes),
        "created_at": key.created_at.isoformat(),
        "created_by": key.created_by,
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _audit(bus: EventBus, type_: str, key: ApiKey) -> None:
    bus.publish(type_, None, id=key.id, name=key.name, scopes=key.scopes, by=LOCAL_CLI.describe())


@api_keys_app.command("create")
def api_keys_create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'cms uploader'.")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help=f"Repeat or comma-separate: {', '.join(SCOPES)}."),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Create a key; its token is printed once (only a hash is kept)."""
    services = open_services()
    key, token = ApiKeys(services.db).create(name, ",".join(scope), LOCAL_CLI)
    _audit(services.bus, "api_key.created", key)
    if as_json:
        emit({**key_dict(key), "token": token}, True)
        return
    console.print(
        f"API key {key.id} ({', '.join(key.scopes)}): the token is shown this once", highlight=False
    )
    typer.echo(token)


@api_keys_app.command("list")
def api_keys_list(
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Keys with their scopes and last use (never their tokens)."""
    keys = ApiKeys(open_services().db).list(include_revoked=revoked)
    if as_json:
        emit([key_dict(k) for k in keys], True)
        return
    table = Table("id", "name", "scopes", "created", "last used", "revoked")
    for k in keys:
        table.add_row(
            k.id,
            k.name,
            ",".join(k.scopes),
            k.created_at.strftime("%Y-%m-%d %H:%M"),
            k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never",
            k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
        )
    Console().print(table)


@api_keys_app.command("revoke")
def api_keys_revoke(key_id: str, as_json: JsonOpt = False) -> None:
    """Refuse the key from the next request on (every server process)."""
    services = open_services()
    key = ApiKeys(services.db).revoke(key_id)
    _audit(services.bus, "api_key.revoked", key)
    emit(key_dict(key), as_json, f"{key.id} revoked")
