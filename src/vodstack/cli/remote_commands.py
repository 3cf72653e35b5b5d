"""The remote twins of the covered commands: the same arguments and the same output
(cli/output.py tables, cli/asset_view.py), over the API through ``vodstack.client``, so
the URLs printed are the server's own public URLs."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.table import Table

from vodstack.cli.asset_view import asset_view
from vodstack.cli.common import console, emit
from vodstack.cli.output import show_table
from vodstack.cli.paging import announce
from vodstack.client import ApiError, Asset, Client, Job

T = TypeVar("T")


def run(call: Any, *args: Any, **kwargs: Any) -> None:
    """Run a twin; an ``ApiError`` becomes the server's reason in one line (exit 1)."""
    from vodstack.cli.remote import api_failed

    try:
        call(*args, **kwargs)
    except ApiError as exc:
        api_failed(exc)


def _paged(
    api: Client, route: str, filters: dict[str, Any], limit: int, cursor: str | None, every: bool
) -> tuple[list[dict[str, Any]], str | None]:
    query = {k: v for k, v in filters.items() if v not in (None, [], "")}
    if cursor:
        query["cursor"] = cursor
    rows, more = api.page(route, query, limit=limit)
    while every and more:
        page, more = api.page(route, {**query, "cursor": more}, limit=limit)
        rows.extend(page)
    return rows, more


def assets_list(
    api: Client, filters: dict[str, Any], limit: int, cursor: str | None, every: bool, as_json: bool
) -> None:
    rows, more = _paged(api, "assets.list", filters, limit, cursor, every)
    announce(more)
    assets = [Asset.from_json(r) for r in rows]
    if as_json:
        keep = ("id", "title", "status", "published", "duration", "error", "created_at")
        labels = ("metadata", "tags", "classification", "owner", "cost_center")
        emit([{k: a.to_dict()[k] for k in (*keep, *labels)} for a in assets], True)
        return
    table = Table("id", "status", "published", "duration", "title", "error")
    for a in assets:
        table.add_row(
            a.id,
            a.status,
            "yes" if a.published else "no",
            f"{a.duration:.1f}s" if a.duration else "",
            a.title,
            a.error or "",
        )
    show_table(table)


def assets_show(api: Client, asset_id: str, as_json: bool) -> None:
    data = api.asset(asset_id).to_dict()
    emit(data, as_json, None if as_json else asset_view(data))


def assets_publish(api: Client, asset_id: str, published: bool, as_json: bool) -> None:
    asset = api.publish(asset_id) if published else api.unpublish(asset_id)
    word = "published" if published else "unpublished"
    emit(asset.to_dict(), as_json, f"{asset_id} {word}")


def assets_delete(api: Client, asset_id: str, as_json: bool, human: str) -> None:
    """``human``: cli/masters.py's message (the master is kept on a server's delete)."""
    api.delete(asset_id)
    restore = f"vodstack assets restore {asset_id}"
    emit(
        {"id": asset_id, "deleted": True, "restore": restore},
        as_json,
        human,
    )


def assets_restore(api: Client, asset_id: str, as_json: bool) -> None:
    done = api.restore(asset_id)
    emit(
        done.to_dict(),
        as_json,
        f"{done.id} restored from its master; transcode job {done.job} queued",
    )


def assets_retranscode(api: Client, asset_id: str, ladder: str | None, as_json: bool) -> None:
    answer = api.retranscode(asset_id, ladder=ladder)
    job = answer.get("job", "")
    emit(
        {"jobs": {asset_id: job}, "skipped": {}, "queue": "ondemand"}, as_json, f"{asset_id} {job}"
    )


def assets_set(
    api: Client,
    asset_id: str,
    *,
    title: str | None,
    metadata: dict[str, str | None],
    tag: list[str] | None,
    untag: list[str] | None,
    governance: dict[str, str],
    as_json: bool,
) -> None:
    tags = None
    if tag or untag:
        current = api.asset(asset_id).tags
        tags = [t for t in [*current, *(tag or [])] if t not in (untag or [])]
    asset = api.set_labels(
        asset_id, title=title, metadata=metadata or None, tags=tags, **governance
    )
    data = {k: asset.to_dict()[k] for k in ("id", "metadata", "tags", *governance)}
    data.update({k: getattr(asset, k) for k in ("classification", "owner", "cost_center")})
    human = "\n".join(
        [
            f"{asset.id}  {asset.title}",
            f"  metadata  {', '.join(f'{k}={v}' for k, v in asset.metadata.items()) or '-'}",
            f"  tags      {', '.join(asset.tags) or '-'}",
            *(
                f"  {k:<9} {getattr(asset, k)}"
                for k in ("classification", "owner", "cost_center")
                if getattr(asset, k)
            ),
        ]
    )
    emit(data, as_json, human)


def jobs_list(
    api: Client, filters: dict[str, Any], limit: int, cursor: str | None, every: bool, as_json: bool
) -> None:
    rows, more = _paged(api, "jobs.list", filters, limit, cursor, every)
    announce(more)
    jobs = [Job.from_json(r) for r in rows]
    if as_json:
        emit([{**j.to_dict(), "queue": j.lane} for j in jobs], True)
        return
    table = Table("id", "asset", "queue", "state", "attempts", "error")
    for j in jobs:
        table.add_row(
            j.id, j.asset_id, j.lane, j.state, f"{j.attempts}/{j.max_attempts}", j.error or ""
        )
    show_table(table)


def ingest(api: Client, source: str, title: str | None, wait: bool, as_json: bool) -> None:
    from vodstack.cli.ingest_url import is_url

    if is_url(source):
        created = api.ingest_url(source, title=title)
    else:
        file = Path(source)
        if not file.is_file():
            raise typer.BadParameter(f"{source!r} is not a readable file (or an http(s) URL)")
        created = api.upload(file, title=title)
    if not wait:
        emit(created.to_dict(), as_json, created.id)
        return
    if not as_json:
        console.print(f"{created.id}: waiting for {api.base_url} to transcode it")
    asset = api.wait(created.id)
    if as_json:
        emit(asset.to_dict(), True)
    elif asset.status == "ready":
        typer.echo(asset.id)
    else:
        console.print(f"[red]failed:[/red] {asset.error}")
        typer.echo(asset.id)
    raise typer.Exit(0 if asset.status == "ready" else 1)


def _first(rows: Iterator[T], limit: int, every: bool) -> list[T]:
    return list(rows if every else itertools.islice(rows, limit))


def _table(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    show_table(table)


def subscriptions(
    api: Client, filters: dict[str, Any], limit: int, every: bool, as_json: bool
) -> None:
    query = {k: v for k, v in filters.items() if v is not None}
    data = [s.to_dict() for s in _first(api.subscriptions(**query), limit, every)]
    if as_json:
        emit(data, True)
    else:
        _table(data, ("id", "subject", "plan", "trial", "cancelled", "expires_at"))


def licences(api: Client, filters: dict[str, Any], limit: int, every: bool, as_json: bool) -> None:
    query = {k: v for k, v in filters.items() if v is not None}
    data = [x.to_dict() for x in _first(api.licences(**query), limit, every)]
    if as_json:
        emit(data, True)
    else:
        _table(data, ("id", "institution", "asset_id", "valid_from", "valid_until"))


def entitle(
    api: Client,
    who: str,
    *,
    plan: str | None,
    trial: bool,
    licence: bool,
    assets: list[str],
    starts: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """Grant only (the server's API creates; --revoke and --show stay local)."""
    if licence:
        granted = [
            api.create_licence(who, asset_id=a, valid_from=starts, valid_until=until).to_dict()
            for a in (assets or [None])  # type: ignore[list-item]
        ]
        human = "\n".join(
            f"licence {g['id']}: {who} -> {g['asset_id'] or 'whole catalogue'}" for g in granted
        )
        emit({"licences": granted}, as_json, human)
        return
    if not plan:
        raise typer.BadParameter("give --plan PLAN (or --licence)")
    sub = api.create_subscription(who, plan, trial=trial, starts_at=starts, expires_at=until)
    emit(sub.to_dict(), as_json, f"subscription {sub.id}: {who} on {plan}")
