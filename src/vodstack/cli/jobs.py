"""``vodstack jobs …`` (queues and the dead-letter queue), ``vodstack events`` (audit log) and
``vodstack webhooks …``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from vodstack.catalogue import Event, Job
from vodstack.catalogue.listing import EVENTS, JOBS
from vodstack.catalogue.paging import DEFAULT_LIMIT
from vodstack.cli.common import JsonOpt, emit, open_services
from vodstack.cli.output import show_table
from vodstack.cli.paging import (
    AllOpt,
    CursorOpt,
    LimitOpt,
    SinceOpt,
    UntilOpt,
    list_rows,
    pick,
)
from vodstack.cli.remote import api_failed, call, remote
from vodstack.client import ApiError
from vodstack.errors import Conflict

jobs_app = typer.Typer(help="Background jobs and the dead-letter queue.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook endpoints and their signing secret.", no_args_is_help=True)


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "asset_id": job.asset_id,
        "kind": job.kind,
        "queue": job.queue,
        "state": job.state,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "error": job.error,
        "progress": job.progress,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def served_job(item: dict[str, Any]) -> dict[str, Any]:
    """An API job (``lane``) as ``job_dict`` prints it (``queue``)."""
    return {**pick(JOB_KEYS)(item), "queue": item.get("lane", item.get("queue"))}


JOB_KEYS = (
    "id",
    "asset_id",
    "kind",
    "queue",
    "state",
    "attempts",
    "max_attempts",
    "error",
    "progress",
    "created_at",
    "finished_at",
)


def show_jobs(rows: list[dict[str, Any]], as_json: bool, empty: str | None = None) -> None:
    if as_json:
        emit(rows, True)
    elif not rows and empty:
        typer.echo(empty)
    else:
        table = Table("id", "asset", "queue", "state", "attempts", "error")
        for j in rows:
            attempts = f"{j['attempts']}/{j['max_attempts']}"
            table.add_row(
                j["id"], j["asset_id"], j["queue"], j["state"], attempts, j["error"] or ""
            )
        show_table(table)


def _local_jobs(_: Any, jobs: list[Job]) -> list[dict[str, Any]]:
    return [job_dict(j) for j in jobs]


@jobs_app.command("list")
def jobs_list(
    state: Annotated[
        list[str] | None,
        typer.Option(help="queued, running, succeeded, failed or dead (repeat: any)."),
    ] = None,
    asset: Annotated[str | None, typer.Option(help="Only this asset's jobs.")] = None,
    lane: Annotated[str | None, typer.Option(help="ondemand or backfill.")] = None,
    kind: Annotated[str | None, typer.Option(help="transcode or extras.")] = None,
    created_after: SinceOpt = None,
    created_before: UntilOpt = None,
    limit: LimitOpt = DEFAULT_LIMIT,
    cursor: CursorOpt = None,
    every: AllOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Jobs, newest first: filter and page (--limit, --cursor, --all)."""
    filters = {
        "state": state,
        "asset": asset,
        "lane": lane,
        "kind": kind,
        "created_after": created_after,
        "created_before": created_before,
    }
    rows = list_rows(
        JOBS,
        filters,
        limit=limit,
        cursor=cursor,
        every=every,
        local=_local_jobs,
        served=served_job,
    )
    show_jobs(rows, as_json)


@jobs_app.command("dead")
def jobs_dead(as_json: JsonOpt = False) -> None:
    """The dead-letter queue: jobs out of attempts (or with a permanent error), with reasons."""
    if (api := remote()) is not None:
        rows = [served_job(j.to_dict()) for j in call(lambda: list(api.jobs(state="dead")))]
    else:
        rows = [job_dict(j) for j in open_services().pipeline.dead_jobs()]
    show_jobs(rows, as_json, "the dead-letter queue is empty")


@jobs_app.command("redrive")
def jobs_redrive(
    job_id: Annotated[str | None, typer.Argument(help="A dead job's id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead job.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-queue dead jobs with their attempts reset (fix the cause first, e.g. the master)."""
    if all_ == (job_id is not None):
        raise typer.BadParameter("give a job id or --all")
    api = remote()
    if api is not None:
        ids = [j.id for j in call(lambda: list(api.jobs(state="dead")))] if all_ else [job_id]

        def redrive(jid: str) -> dict[str, Any]:
            return served_job(api.redrive(jid).to_dict())
    else:
        services = open_services()
        ids = [j.id for j in services.pipeline.dead_jobs()] if all_ else [job_id]

        def redrive(jid: str) -> dict[str, Any]:
            return job_dict(services.pipeline.redrive(jid))

    redriven: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for jid in ids:
        try:
            redriven.append(redrive(jid or ""))
        except (Conflict, ApiError) as exc:
            if all_ and (isinstance(exc, Conflict) or exc.status == 409):
                skipped[jid or ""] = exc.message  # another job of its asset is active
                continue
            if isinstance(exc, ApiError):
                api_failed(exc)
            raise
    emit(
        {"redriven": redriven, "skipped": skipped},
        as_json,
        "\n".join([f"{j['id']} queued ({j['queue']})" for j in redriven])
        + "".join(f"\n{k} skipped: {v}" for k, v in skipped.items()),
    )


@jobs_app.command("resend")
def jobs_resend(as_json: JsonOpt = False) -> None:
    """Send every queued job to the broker again (after a broker lost its data). Duplicates
    are harmless: a job runs once, whoever receives it first."""
    if (api := remote()) is not None:
        resent = call(api.resend_queued)
    else:
        resent = open_services().pipeline.resend_queued()
    emit({"resent": resent}, as_json, f"{len(resent)} queued jobs sent again")


def event_dict(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "asset_id": event.asset_id,
        "created_at": event.created_at.isoformat(),
        "payload": event.payload,
    }


EVENT_KEYS = ("id", "type", "asset_id", "created_at", "payload")


def events(
    asset: Annotated[str | None, typer.Option("--asset", help="Only this asset's events.")] = None,
    type_: Annotated[
        str | None,
        typer.Option("--type", help="Only types starting with this, e.g. 'asset.' or 'key.'."),
    ] = None,
    created_after: SinceOpt = None,
    created_before: UntilOpt = None,
    limit: LimitOpt = DEFAULT_LIMIT,
    cursor: CursorOpt = None,
    every: AllOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """The event and audit log: uploads, transcodes, publish/unpublish/delete, key changes,
    re-drives and webhook attempts, newest first (--limit, --cursor, --all)."""
    filters = {
        "asset": asset,
        "type_prefix": type_,
        "created_after": created_after,
        "created_before": created_before,
    }
    rows = list_rows(
        EVENTS,
        filters,
        limit=limit,
        cursor=cursor,
        every=every,
        local=lambda _, found: [event_dict(e) for e in found],
        served=pick(EVENT_KEYS),
    )
    if as_json:
        emit(rows, True)
        return
    table = Table("id", "time", "type", "asset", "details")
    for e in rows:
        details = ", ".join(f"{k}={v}" for k, v in (e["payload"] or {}).items())
        when = datetime.fromisoformat(e["created_at"]).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(e["id"]), when, e["type"], e["asset_id"] or "", details[:120])
    show_table(table)


@webhooks_app.command("secret")
def webhooks_secret() -> None:
    """Print the HMAC-SHA256 signing secret receivers verify `Vodstack-Signature` with."""
    from vodstack.jobs import webhook_secret

    services = open_services()
    typer.echo(webhook_secret(services.settings, services.secrets).decode())


@webhooks_app.command("list")
def webhooks_list(as_json: JsonOpt = False) -> None:
    """Configured endpoints (VODSTACK_WEBHOOK_URLS) and the latest delivery attempts."""
    from vodstack.jobs import WEBHOOK_ATTEMPT, redact

    services = open_services()
    attempts = services.catalogue.events(None, 20, types=[WEBHOOK_ATTEMPT])
    data = {
        "urls": [redact(u) for u in services.settings.webhook_urls],
        "recent_attempts": [event_dict(e) for e in attempts],
    }
    emit(data, as_json)
