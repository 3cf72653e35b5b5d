"""``vodstack secrets``: what the secret store (``VODSTACK_SECRETS_URL``) holds, and moving a
one-machine install's secrets directory into a shared store. Values are never printed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vodstack.cli.common import JsonOpt, emit
from vodstack.config import Settings
from vodstack.jobs import generate_webhook_secret
from vodstack.secrets import (
    LIVE_SECRET_TTL_S,
    SecretStore,
    open_secret_store,
    random_token,
    rotate_secret,
)

secrets_app = typer.Typer(
    help="The secret store (VODSTACK_SECRETS_URL): names, and importing a secrets directory.",
    no_args_is_help=True,
)


@secrets_app.command("list")
def secrets_list(as_json: JsonOpt = False) -> None:
    """Names of the stored secrets (never their values)."""
    store = open_secret_store(Settings())
    names = store.names()
    emit({"store": store.backend.description, "names": names}, as_json, "\n".join(names))


@secrets_app.command("import")
def secrets_import(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="A secrets directory of a file-store install (default: $VODSTACK_HOME/secrets)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy a secrets directory (and its keys/*.pem) into the shared store set by
    VODSTACK_SECRETS_URL. Names already in the store are kept, not overwritten: run it on the
    first node, then start the others."""
    settings = Settings()
    store = open_secret_store(settings)
    if not store.shared:
        raise typer.BadParameter("VODSTACK_SECRETS_URL is `file`: set it to the shared store")
    source = directory or settings.secrets_dir
    if not source.is_dir():
        raise typer.BadParameter(f"{source} is not a directory")
    found: dict[str, bytes] = {}
    files = SecretStore(source)
    for name in files.names():
        found[name] = files.read(name) or b""
    keys = source / "keys"
    for pem in sorted(keys.glob("*.pem")) if keys.is_dir() else ():
        found[f"key.{pem.stem}"] = pem.read_bytes()
    imported = [name for name, value in found.items() if store.create(name, value)]
    kept = [name for name in found if name not in imported]
    emit(
        {"store": store.backend.description, "imported": imported, "already_there": kept},
        as_json,
        f"imported {len(imported)} secret(s) into {store.backend.description}"
        + (f"; kept {len(kept)} already there: {', '.join(kept)}" if kept else ""),
    )


#: Generated shared secrets that rotate live (secrets.LiveSecret), with their value makers.
ROTATABLE = {"origin-secret": random_token, "webhook-secret": generate_webhook_secret}


@secrets_app.command("rotate")
def secrets_rotate(
    name: Annotated[str, typer.Argument(help="origin-secret or webhook-secret.")],
    as_json: JsonOpt = False,
) -> None:
    """Give a generated shared secret a new value; the old one is kept as NAME.previous.

    Every node reads it again within a few seconds, with no restart: origins and shields
    accept the new and the previous origin secret, edges send the new one; webhooks are
    signed with the new one (receivers should accept both for a while). Secrets set in the
    settings (origin_secrets, webhook_secret) are not in the store: change those there."""
    if name not in ROTATABLE:
        raise typer.BadParameter(f"one of {', '.join(ROTATABLE)}")
    store = open_secret_store(Settings())
    rotate_secret(store, name, ROTATABLE[name])
    emit(
        {"store": store.backend.description, "rotated": name, "within_s": LIVE_SECRET_TTL_S},
        as_json,
        f"rotated {name} in {store.backend.description}; every node uses it within "
        f"{LIVE_SECRET_TTL_S:g} s (the previous value stays accepted until the next rotation)",
    )
