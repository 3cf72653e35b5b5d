"""The remote seam: ``vodstack --url URL --api-key KEY …`` (or ``VODSTACK_API_URL`` and
``VODSTACK_API_KEY``) runs the asset, jobs, events, operations, ingest, entitlement and key
commands against a server over its HTTP API, through ``vodstack.client``; without them every
command works on the local catalogue as before.

A covered command asks ``remote()`` first and, given a client, takes its data from the API
(``call``, or a twin in cli/remote_commands.py) and prints it as locally; every other command
opens the local services: the root callback refuses the other top-level commands under
``--url`` in one line, and ``open_services`` (``refuse_local``) any subcommand of a covered
group that has no remote path (none today: a safety net for new commands).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
import typer

from vodstack.client import ApiError, Client

T = TypeVar("T")

#: The client of this process (at most one), set by the root callback.
_clients: list[Client] = []

#: What runs remotely (for the one-line refusal of the rest).
REMOTE_COMMANDS = (
    "assets, jobs, operations, events, ingest FILE|URL, subscriptions, licences, entitle, "
    "api-keys, keys"
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


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A client call; an ``ApiError`` becomes the server's reason in one line (exit 1)."""
    try:
        return fn(*args, **kwargs)
    except ApiError as exc:
        api_failed(exc)


def api_failed(exc: ApiError) -> NoReturn:
    """The server's reason, in one line; exit 1."""
    typer.echo(f"error: {exc.message} ({exc.status})" if exc.status else f"error: {exc}", err=True)
    sys.exit(1)
