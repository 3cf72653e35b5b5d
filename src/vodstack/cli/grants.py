"""``vodstack subscriptions`` and ``vodstack licences``: the grants, filtered and paged like
``GET /api/subscriptions`` and ``GET /api/licences``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vodstack.catalogue import Licence, Subscription
from vodstack.catalogue.listing import LICENCES, SUBSCRIPTIONS
from vodstack.catalogue.paging import DEFAULT_LIMIT
from vodstack.cli.common import JsonOpt, emit, open_services
from vodstack.cli.paging import AllOpt, CursorOpt, LimitOpt, SinceOpt, UntilOpt, announce, fetch
from vodstack.cli.remote import remote


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def subscription_dict(s: Subscription) -> dict[str, Any]:
    return {
        "id": s.id,
        "subject": s.subject,
        "plan": s.plan,
        "trial": s.trial,
        "cancelled": s.cancelled,
        "starts_at": _time(s.starts_at),
        "expires_at": _time(s.expires_at),
        "created_at": _time(s.created_at),
    }


def licence_dict(x: Licence) -> dict[str, Any]:
    return {
        "id": x.id,
        "institution": x.institution,
        "asset_id": x.asset_id,
        "valid_from": _time(x.valid_from),
        "valid_until": _time(x.valid_until),
        "created_at": _time(x.created_at),
    }


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    Console().print(table)


def subscriptions(
    subject: Annotated[str | None, typer.Option(help="Only this viewer.")] = None,
    plan: Annotated[str | None, typer.Option(help="Only this plan.")] = None,
    cancelled: Annotated[
        bool | None, typer.Option("--cancelled/--active", help="Only (not) cancelled.")
    ] = None,
    created_after: SinceOpt = None,
    created_before: UntilOpt = None,
    limit: LimitOpt = DEFAULT_LIMIT,
    cursor: CursorOpt = None,
    every: AllOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Subscriptions, oldest first: filter and page (--limit, --cursor, --all)."""
    filters = {
        "subject": subject,
        "plan": plan,
        "cancelled": cancelled,
        "created_after": created_after,
        "created_before": created_before,
    }
    if (api := remote()) is not None:
        from vodstack.cli import remote_commands as twin

        twin.run(twin.subscriptions, api, filters, limit, every, as_json)
        return
    rows, more = fetch(
        open_services(), SUBSCRIPTIONS, filters, limit=limit, cursor=cursor, every=every
    )
    announce(more)
    data = [subscription_dict(s) for s in rows]
    if as_json:
        emit(data, True)
    else:
        _table(data, ("id", "subject", "plan", "trial", "cancelled", "expires_at"))


def licences(
    institution: Annotated[str | None, typer.Option(help="Only this institution.")] = None,
    asset: Annotated[
        str | None, typer.Option(help="Covering this asset (its own and catalogue-wide).")
    ] = None,
    created_after: SinceOpt = None,
    created_before: UntilOpt = None,
    limit: LimitOpt = DEFAULT_LIMIT,
    cursor: CursorOpt = None,
    every: AllOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Licences, oldest first: filter and page (--limit, --cursor, --all)."""
    filters = {
        "institution": institution,
        "asset": asset,
        "created_after": created_after,
        "created_before": created_before,
    }
    if (api := remote()) is not None:
        from vodstack.cli import remote_commands as twin

        twin.run(twin.licences, api, filters, limit, every, as_json)
        return
    rows, more = fetch(open_services(), LICENCES, filters, limit=limit, cursor=cursor, every=every)
    announce(more)
    data = [licence_dict(x) for x in rows]
    if as_json:
        emit(data, True)
    else:
        _table(data, ("id", "institution", "asset_id", "valid_from", "valid_until"))
