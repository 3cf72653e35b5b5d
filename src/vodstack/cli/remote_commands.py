"""The remote twins of the covered commands: the same arguments and the same output
(cli/output.py tables, cli/asset_view.py), over the API through ``vodstack.client``, so
the URLs printed are the server's own public URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from vodstack.cli.asset_view import asset_view
from vodstack.cli.common import console, emit
from vodstack.cli.remote import call
from vodstack.client import Client

#: Run a twin or a client call; an ``ApiError`` becomes the server's reason (exit 1).
run = call


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


def retranscode_all(api: Client, ladder: str | None, as_json: bool) -> None:
    """``assets retranscode --all``: the server's retranscode operation (batched, resumable),
    driven there; what was queued is printed, and how to follow it."""
    op = api.start_operation("retranscode", ladder=ladder)
    human = (
        f"operation {op.id} (retranscode) started on {api.base_url}: {op.total} assets, "
        f"re-transcoded batch by batch on the backfill queue\n"
        f"  follow it: vodstack operations show {op.id} --watch"
    )
    emit({**op.to_dict(), "queue": "backfill"}, as_json, human)


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


def grants_view(
    subscriptions: list[dict[str, Any]], licences: list[dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """``entitle WHO --show``: one viewer's subscriptions and one institution's licences."""
    sub_keys = ("id", "plan", "trial", "cancelled", "starts_at", "expires_at")
    lic_keys = ("id", "asset_id", "valid_from", "valid_until")
    return {
        "subscriptions": [{k: s.get(k) for k in sub_keys} for s in subscriptions],
        "licences": [{k: x.get(k) for k in lic_keys} for x in licences],
    }


def grants_of(api: Client, who: str) -> dict[str, list[dict[str, Any]]]:
    return grants_view(
        [s.to_dict() for s in api.subscriptions(subject=who)],
        [x.to_dict() for x in api.licences(institution=who)],
    )


def cancel_subscriptions(api: Client, who: str, plan: str | None) -> int:
    """``entitle WHO --revoke [--plan P]``: cancelled (kept), as locally, not deleted."""
    active = list(api.subscriptions(subject=who, plan=plan, cancelled=False))
    for sub in active:
        api.cancel_subscription(sub.id)
    return len(active)


def revoke_licences(api: Client, who: str, assets: list[str | None]) -> int:
    """``entitle WHO --licence --revoke [--asset A]``: the institution's licences (of those
    assets; ``None``: all of them) deleted, as locally."""
    held = list(api.licences(institution=who))
    gone = {x.id for x in held for a in assets if a is None or x.asset_id == a}
    for licence_id in sorted(gone):
        api.delete_licence(licence_id)
    return len(gone)


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
    """Grant (--show and --revoke: ``grants_of``, ``cancel_subscriptions``,
    ``revoke_licences``)."""
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
