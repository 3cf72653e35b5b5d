"""The remote seam: ``vodstack --url URL --api-key KEY …`` (or ``VODSTACK_API_URL`` and
``VODSTACK_API_KEY``) runs the asset, jobs, ingest and entitlement commands against a
server over its HTTP API, through ``vodstack.client``; without them every command works on
the local catalogue as before.

A covered command asks ``remote()`` first and, given a client, hands over to its remote
twin (cli/remote_commands.py); every other command opens the local services, and
``open_services`` refuses under ``--url`` with one line (``refuse_local``).
"""

from __future__ import annotations

import sys

import click
import typer

from vodstack.client import ApiError, Client

#: The client of this process (at most one), set by the root callback.
_clients: list[Client] = []

#: What runs remotely (for the one-line refusal of the rest).
REMOTE_COMMANDS = (
    "assets list|show|publish|unpublish|delete|restore|retranscode|set, jobs list, "
    "ingest FILE|URL, subscriptions, licences, entitle"
)


def use_remote(url: str | None, api_key: str | None) -> None:
    """Called by the root callback: a client when a URL is given, else local mode."""
    _clients.clear()
    if not url:
        return
    if not url.lower().startswith(("http://", "https://")):
        raise typer.BadParameter(f"{url!r} is not an http(s) URL", param_hint="--url")
    if not api_key:
        raise typer.BadParameter(
            "a remote server needs an API key (--api-key or VODSTACK_API_KEY)",
            param_hint="--api-key",
        )
    _clients.append(Client(url, api_key))


def remote() -> Client | None:
    return _clients[0] if _clients else None


def refuse_local() -> None:
    """Under --url, a command that only runs on the local catalogue stops here, in one line."""
    if not _clients:
        return
    ctx = click.get_current_context(silent=True)
    name = ctx.command_path if ctx is not None else "vodstack " + " ".join(_command_words())
    typer.echo(
        f"error: `{name}` runs on the local catalogue only; drop --url/VODSTACK_API_URL "
        f"(remote: {REMOTE_COMMANDS})",
        err=True,
    )
    sys.exit(2)


def _command_words() -> list[str]:
    """The command's words from argv (skipping the root options and their values)."""
    words: list[str] = []
    args = iter(sys.argv[1:])
    for arg in args:
        if arg in ("--url", "--api-key"):
            next(args, None)
        elif not arg.startswith("-"):
            words.append(arg)
    return words[:2]


def api_failed(exc: ApiError) -> None:
    """The server's reason, in one line; exit 1."""
    typer.echo(f"error: {exc.message} ({exc.status})" if exc.status else f"error: {exc}", err=True)
    sys.exit(1)
