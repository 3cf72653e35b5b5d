"""``vodstack api-keys …``: scoped API keys for the HTTP API (catalogue.apikeys).

Not ``vodstack keys``: those are the signing keys of the key group (``keys create`` makes a
signing key), and stay so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from vodstack.base import EventBus
from vodstack.catalogue.apikeys import LOCAL_CLI, SCOPES, ApiKey, ApiKeys
from vodstack.cli.common import JsonOpt, console, emit, open_services
from vodstack.cli.output import show_table
from vodstack.cli.remote import call, remote

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
    if (api := remote()) is not None:
        scopes = [s.strip() for value in scope for s in value.split(",") if s.strip()]
        data = call(api.create_api_key, name, scopes).to_dict()
    else:
        services = open_services()
        key, token = ApiKeys(services.db).create(name, ",".join(scope), LOCAL_CLI)
        _audit(services.bus, "api_key.created", key)
        data = {**key_dict(key), "token": token}
    if as_json:
        emit(data, True)
        return
    console.print(
        f"API key {data['id']} ({', '.join(data['scopes'])}): the token is shown this once",
        highlight=False,
    )
    typer.echo(data["token"])


@api_keys_app.command("list")
def api_keys_list(
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Keys with their scopes and last use (never their tokens)."""
    if (api := remote()) is not None:
        rows = [k.to_dict() for k in call(api.api_keys, include_revoked=revoked)]
    else:
        rows = [key_dict(k) for k in ApiKeys(open_services().db).list(include_revoked=revoked)]
    if as_json:
        emit(rows, True)
        return
    table = Table("id", "name", "scopes", "created", "last used", "revoked")
    for k in rows:
        table.add_row(
            k["id"],
            k["name"],
            ",".join(k["scopes"]),
            _minute(k["created_at"]),
            _minute(k["last_used_at"]) or "never",
            _minute(k["revoked_at"]),
        )
    show_table(table)


def _minute(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M") if value else ""


@api_keys_app.command("revoke")
def api_keys_revoke(key_id: str, as_json: JsonOpt = False) -> None:
    """Refuse the key from the next request on (every server process)."""
    if (api := remote()) is not None:
        call(api.revoke_api_key, key_id)
        data = call(api.api_key, key_id).to_dict()
    else:
        services = open_services()
        key = ApiKeys(services.db).revoke(key_id)
        _audit(services.bus, "api_key.revoked", key)
        data = key_dict(key)
    emit(data, as_json, f"{key_id} revoked")
