"""``vodstack subscriptions`` and ``vodstack licences``: the grants, filtered and paged like
``GET /api/subscriptions`` and ``GET /api/licences``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from vodstack.catalogue import Licence, Subscription
from vodstack.catalogue.listing import LICENCES, SUBSCRIPTIONS
from vodstack.catalogue.paging import DEFAULT_LIMIT
from vodstack.cli.common import JsonOpt, emit
from vodstack.cli.output import dict_table
from vodstack.cli.paging import AllOpt, CursorOpt, LimitOpt, SinceOpt, UntilOpt, list_rows, pick


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


SUBSCRIPTION_KEYS = ("id", "subject", "plan", "trial", "cancelled", "starts_at", "expires_at")
LICENCE_KEYS = ("id", "institution", "asset_id", "valid_from", "valid_until")


def show_rows(rows: list[dict[str, Any]], as_json: bool, columns: tuple[str, ...]) -> None:
    if as_json:
        emit(rows, True)
    else:
        dict_table(rows, columns)


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
    rows = list_rows(
        SUBSCRIPTIONS,
        filters,
        limit=limit,
        cursor=cursor,
        every=every,
        local=lambda _, found: [subscription_dict(x) for x in found],
        served=pick((*SUBSCRIPTION_KEYS, "created_at")),
    )
    show_rows(rows, as_json, ("id", "subject", "plan", "trial", "cancelled", "expires_at"))


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
    rows = list_rows(
        LICENCES,
        filters,
        limit=limit,
        cursor=cursor,
        every=every,
        local=lambda _, found: [licence_dict(x) for x in found],
        served=pick((*LICENCE_KEYS, "created_at")),
    )
    show_rows(rows, as_json, ("id", "institution", "asset_id", "valid_from", "valid_until"))
