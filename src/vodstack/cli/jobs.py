"""``vodstack jobs …`` (queues and the dead-letter queue), ``vodstack events`` (audit log) and
``vodstack webhooks …``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vodstack.catalogue import Event, Job
from vodstack.cli.common import JsonOpt, emit, open_services
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


def _job_table(jobs: list[Job]) -> None:
    table = Table("id", "asset", "queue", "state", "attempts", "error")
    for j in jobs:
        table.add_row(
            j.id, j.asset_id, j.queue, j.state, f"{j.attempts}/{j.max_attempts}", j.error or ""
        )
    Console().print(table)


@jobs_app.command("list")
def jobs_list(
    state: Annotated[
        str | None, typer.Option(help="queued, running, succeeded, failed or dead.")
    ] = None,
    asset: Annotated[str | None, typer.Option(help="Only this asset's jobs.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Jobs, newest first."""
    jobs = open_services().catalogue.list_jobs(state=state, asset_id=asset, limit=limit)
    if as_json:
        emit([job_dict(j) for j in jobs], True)
    else:
        _job_table(jobs)


@jobs_app.command("dead")
def jobs_dead(as_json: JsonOpt = False) -> None:
    """The dead-letter queue: jobs out of attempts (or with a permanent error), with reasons."""
    jobs = open_services().pipeline.dead_jobs()
    if as_json:
        emit([job_dict(j) for j in jobs], True)
    elif not jobs:
        typer.echo("the dead-letter queue is empty")
    else:
        _job_table(jobs)


@jobs_app.command("redrive")
def jobs_redrive(
    job_id: Annotated[str | None, typer.Argument(help="A dead job's id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every dead job.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-queue dead jobs with their attempts reset (fix the cause first, e.g. the master)."""
    if all_ == (job_id is not None):
        raise typer.BadParameter("give a job id or --all")
    services = open_services()
    ids = [j.id for j in services.pipeline.dead_jobs()] if all_ else [job_id or ""]
    redriven: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for jid in ids:
        try:
            redriven.append(job_dict(services.pipeline.redrive(jid)))
        except Conflict as exc:
            if not all_:
                raise
            skipped[jid] = exc.message
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
    services = open_services()
    queued = services.catalogue.list_jobs(state="queued", limit=1_000_000)
    for job in queued:
        services.pipeline.dispatch(job.id, job.queue)
    emit({"resent": [j.id for j in queued]}, as_json, f"{len(queued)} queued jobs sent again")


def event_dict(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "asset_id": event.asset_id,
        "created_at": event.created_at.isoformat(),
        "payload": event.payload,
    }


def events(
    asset: Annotated[str | None, typer.Option("--asset", help="Only this asset's events.")] = None,
    type_: Annotated[
        str | None,
        typer.Option("--type", help="Only types starting with this, e.g. 'asset.' or 'key.'."),
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """The event and audit log: uploads, transcodes, publish/unpublish/delete, key changes,
    re-drives and webhook attempts, newest first."""
    rows = open_services().catalogue.events(asset, limit, prefix=type_)
    if as_json:
        emit([event_dict(e) for e in rows], True)
        return
    table = Table("id", "time", "type", "asset", "details")
    for e in rows:
        details = ", ".join(f"{k}={v}" for k, v in (e.payload or {}).items())
        table.add_row(
            str(e.id),
            e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.type,
            e.asset_id or "",
            details[:120],
        )
    Console().print(table)


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
