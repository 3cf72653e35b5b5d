"""``vodstack config check|show``: is this node's configuration usable, and what is it."""

from __future__ import annotations

import json

import typer

from vodstack.cli.common import JsonOpt
from vodstack.config import SettingsInvalid, config_file, effective, load_settings

config_app = typer.Typer(
    help="Check the settings (vodstack.toml, VODSTACK_* variables) and show the values in effect.",
    no_args_is_help=True,
)


@config_app.command("check")
def check() -> None:
    """Unknown keys and variables, and bad values: one line each, exit 2; else "ok", exit 0.

    The servers (`serve`, `worker`, `demo`) refuse to start on the same problems."""
    try:
        load_settings()
    except SettingsInvalid as exc:
        for line in exc.problems:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None
    path = config_file()
    typer.echo(f"ok: settings valid ({path if path.is_file() else 'no settings file'})")


@config_app.command("show")
def show(as_json: JsonOpt = False) -> None:
    """Every setting's value and its source (default, file or env), secrets as ***.

    Passwords inside URLs are hidden too; --json for tools."""
    try:
        settings = load_settings(strict=False)
    except SettingsInvalid as exc:
        for line in exc.problems:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None
    rows = effective(settings)
    if as_json:
        data = {r.name: {"value": r.value, "source": r.source, "from": r.origin} for r in rows}
        typer.echo(json.dumps(data, indent=2))
        return
    width = max(len(r.name) for r in rows)
    for r in rows:
        where = r.source if r.origin is None else f"{r.source}: {r.origin}"
        typer.echo(f"{r.name:<{width}}  {json.dumps(r.value)}  ({where})")
