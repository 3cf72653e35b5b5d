"""Paging for the CLI's list commands: the same listings, filters and cursors as the HTTP API
(catalogue.listing), so ``--cursor`` takes an ``X-Next-Cursor`` value and the other way round.

One page by default (``--limit``, newest first); ``--all`` walks every page. When more is left,
the next cursor is printed on stderr (``next page: --cursor …``), so stdout stays the data.

``list_rows`` is the one body of every list command: under ``--url`` the server's listing of
the same name (same filters, same cursors), else the local catalogue; either way the rows
come back as the dicts the command prints, so local and remote output are the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import typer

from vodstack.catalogue.listing import Listing
from vodstack.catalogue.paging import DEFAULT_LIMIT, MAX_LIMIT
from vodstack.cli.common import console, open_services
from vodstack.client import Client
from vodstack.compose import Services

LimitOpt = Annotated[
    int, typer.Option("--limit", help=f"At most this many (1-{MAX_LIMIT}).", show_default=True)
]
CursorOpt = Annotated[
    str | None,
    typer.Option("--cursor", help="Continue where a previous page stopped (its next cursor)."),
]
AllOpt = Annotated[bool, typer.Option("--all", help="Every page, not just one.")]
SinceOpt = Annotated[
    str | None, typer.Option("--created-after", help="Created at/after (ISO date or time).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--created-before", help="Created before (ISO date or time).")
]

Value = str | bool | int | Sequence[str] | None
Row = dict[str, Any]


def raw_params(values: Mapping[str, Value]) -> dict[str, list[str]]:
    """Options → the raw form :meth:`Listing.parse` takes (None / empty: not given)."""
    out: dict[str, list[str]] = {}
    for name, value in values.items():
        if value is None or (
            isinstance(value, Sequence) and not isinstance(value, str) and not value
        ):
            continue
        if isinstance(value, bool):
            out[name] = ["true" if value else "false"]
        elif isinstance(value, str | int):
            out[name] = [str(value)]
        else:
            out[name] = [str(v) for v in value]
    return out


def fetch(
    services: Services,
    listing: Listing,
    filters: Mapping[str, Value],
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    every: bool = False,
) -> tuple[list[Any], str | None]:
    """One page (or with ``every`` all pages) and the cursor of what is left."""
    params = raw_params(filters)
    items: list[Any] = []
    size = MAX_LIMIT if every else limit
    while True:
        query = listing.parse({**params, **raw_params({"limit": size, "cursor": cursor})})
        page = listing.page(services.db, query)
        items.extend(page.items)
        cursor = page.next_cursor
        if not every or cursor is None:
            return items, cursor


def announce(cursor: str | None) -> None:
    """On stderr: how to get the next page."""
    if cursor is not None:
        console.print(f"next page: --cursor {cursor}", highlight=False, soft_wrap=True)


def list_rows(
    listing: Listing,
    filters: Mapping[str, Value],
    *,
    limit: int,
    cursor: str | None,
    every: bool,
    local: Callable[[Services, list[Any]], list[Row]],
    served: Callable[[Row], Row],
) -> list[Row]:
    """One page (or every page) as the rows a list command prints: ``served`` turns an API
    item into one, ``local`` the catalogue's rows; the next cursor is announced on stderr."""
    from vodstack.cli.remote import call, remote

    if (api := remote()) is not None:
        items, more = call(_served_page, api, listing.name, filters, limit, cursor, every)
        rows = [served(item) for item in items]
    else:
        services = open_services()
        found, more = fetch(services, listing, filters, limit=limit, cursor=cursor, every=every)
        rows = local(services, found)
    announce(more)
    return rows


def _served_page(
    api: Client,
    name: str,
    filters: Mapping[str, Value],
    limit: int,
    cursor: str | None,
    every: bool,
) -> tuple[list[Row], str | None]:
    query = {k: v for k, v in filters.items() if v not in (None, [], "")}
    size = MAX_LIMIT if every else limit
    rows, more = api.page(f"{name}.list", {**query, "cursor": cursor}, limit=size)
    while every and more:
        page, more = api.page(f"{name}.list", {**query, "cursor": more}, limit=size)
        rows.extend(page)
    return rows, more


def pick(keys: tuple[str, ...]) -> Callable[[Row], Row]:
    """``served`` for an API item that already has the printed keys."""
    return lambda item: {k: item.get(k) for k in keys}
