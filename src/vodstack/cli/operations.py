"""``vodstack operations …``: catalogue-wide operations (jobs.operations) — start one, follow
it, pause, cancel or resume it. Also what ``vodstack assets retranscode --all`` runs."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vodstack.catalogue.operations import (
    ACTIVE_STATES,
    BatchOutcome,
    Operation,
    Operations,
    progress,
)
from vodstack.cli.common import JsonOpt, console, emit, open_services
from vodstack.cli.output import show_table
from vodstack.cli.remote import call, remote
from vodstack.client import Client
from vodstack.compose import Services
from vodstack.jobs import operations as engine

operations_app = typer.Typer(
    help="Catalogue-wide operations: re-transcode everything, protect or re-key many titles "
    "(batched, resumable, with progress).",
    no_args_is_help=True,
)

DetachOpt = Annotated[
    bool,
    typer.Option(
        "--detach",
        help="Hand the operation to the backfill lane of `vodstack worker` (with a broker) or "
        "leave it queued for `operations resume`, and return its id at once.",
    ),
]
StatusOpt = Annotated[
    str | None, typer.Option(help="Only assets in these states, comma-separated (e.g. ready).")
]
RateOpt = Annotated[
    float | None, typer.Option(help="At most this many assets per second (gentler purges).")
]


def operation_dict(op: Operation) -> dict[str, Any]:
    p = progress(op)
    return {
        "id": op.id,
        "kind": op.kind,
        "params": op.params,
        "state": op.state,
        "total": op.total,
        "done": op.done,
        "skipped": op.skipped,
        "failed": op.failed,
        "remaining": p.remaining,
        "rate_per_s": None if p.rate_per_s is None else round(p.rate_per_s, 2),
        "eta_s": None if p.eta_s is None else round(p.eta_s, 1),
        "errors": op.errors,
        "error": op.error,
        "created_at": op.created_at.isoformat(),
        "finished_at": op.finished_at.isoformat() if op.finished_at else None,
    }


def _summary(op: dict[str, Any]) -> str:
    """Of an ``operation_dict`` (local) or the API's operation (remote): the same text."""
    rate = f", {op['rate_per_s']:.0f}/s" if op["rate_per_s"] else ""
    return (
        f"operation {op['id']} ({op['kind']}) {op['state']}: {op['done']} done, "
        f"{op['skipped']} skipped, {op['failed']} failed of {op['total']}{rate}"
        + (f"\n  error: {op['error']}" if op["error"] else "")
        + "".join(f"\n  {k}: {v}" for k, v in list((op["errors"] or {}).items())[:20])
    )


def _follow(get: Callable[[], dict[str, Any]], quiet: bool, every: float = 2) -> dict[str, Any]:
    """Poll an operation until it ends (a first summary line per poll unless ``quiet``)."""
    op = get()
    while op["state"] in ACTIVE_STATES:
        if not quiet:
            console.print(_summary(op).splitlines()[0], highlight=False)
        time.sleep(every)
        op = get()
    return op


def _on_server(api: Client, op_id: str, detach: bool, as_json: bool) -> None:
    """Under --url the server drives the operation: print it (--detach) or follow it; Ctrl-C
    stops following only."""
    if detach:
        op = call(api.operation, op_id).to_dict()
        emit(op, as_json, f"operation {op_id} ({op['kind']}) {op['state']} on {api.base_url}")
        return
    try:
        final = _follow(lambda: call(api.operation, op_id).to_dict(), as_json, every=1)
    except KeyboardInterrupt:
        console.print(f"still running on the server; follow: vodstack operations show {op_id}")
        raise typer.Exit(130) from None
    emit(final, as_json, _summary(final))
    if final["state"] == "failed":
        raise typer.Exit(1)


def run_in_foreground(
    services: Services,
    op_id: str,
    on_batch: Callable[[Operation, BatchOutcome], None] | None = None,
    *,
    quiet: bool = False,
) -> Operation:
    """Drive the operation here with a progress bar on a terminal. Ctrl-C pauses it (the
    cursor is kept): ``vodstack operations resume ID`` goes on."""
    op = Operations(services.db).get(op_id)
    show = not quiet and sys.stderr.isatty()
    stop = threading.Event()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
    ) as bar:
        task = bar.add_task(op.kind, total=max(1, op.total), rate="")

        def batch_done(row: Operation, outcome: BatchOutcome) -> None:
            p = progress(row)
            rate = f"{p.rate_per_s:.0f}/s, ETA {p.eta_s:.0f} s" if p.rate_per_s and p.eta_s else ""
            bar.update(task, completed=p.processed, rate=rate)
            if on_batch is not None:
                on_batch(row, outcome)

        try:
            final = engine.drive(services, op_id, stop=stop, on_batch=batch_done)
        except KeyboardInterrupt:
            console.print(f"paused; go on with: vodstack operations resume {op_id}")
            raise typer.Exit(130) from None
    return final


def _start(kind: str, params: dict[str, Any], detach: bool, as_json: bool) -> None:
    if (api := remote()) is not None:
        if isinstance(params.get("schemes"), str):  # the API takes a list
            params["schemes"] = [x.strip() for x in params["schemes"].split(",") if x.strip()]
        started = call(api.start_operation, kind, **params)
        _on_server(api, started.id, detach, as_json)
        return
    services = open_services()
    op = engine.create(services, kind, params)
    if detach:
        send = getattr(services.pipeline.dispatcher, "send_operation", None)
        where = "queued"
        if send is not None:
            send(op.id)
            where = "sent to the backfill lane"
        emit(operation_dict(op), as_json, f"operation {op.id} ({kind}) {where}")
        return
    final = run_in_foreground(services, op.id, quiet=as_json)
    emit(operation_dict(final), as_json, _summary(operation_dict(final)))
    if final.state == "failed":
        raise typer.Exit(1)


def _statuses(value: str | None) -> list[str] | None:
    return [s.strip() for s in value.split(",") if s.strip()] if value else None


@operations_app.command("retranscode")
def op_retranscode(
    ladder: Annotated[
        str | None, typer.Option(help="Ladder template (VODSTACK_LADDERS): a ladder backfill.")
    ] = None,
    status: StatusOpt = None,
    max_per_s: RateOpt = None,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Re-transcode every asset (or those in --status) from its master, on the backfill
    queue: current revisions serve until replaced; new uploads never wait behind these."""
    params = {"ladder": ladder, "status": _statuses(status), "max_per_s": max_per_s}
    _start("retranscode", params, detach, as_json)


@operations_app.command("protect")
def op_protect(
    schemes: Annotated[
        str, typer.Argument(help="clear, or e.g. aes-128,cenc (see `assets protect`).")
    ],
    status: StatusOpt = None,
    max_per_s: RateOpt = None,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Serve every asset (or those in --status) with SCHEMES; caches are purged per asset."""
    params = {"schemes": schemes, "status": _statuses(status), "max_per_s": max_per_s}
    _start("protect", params, detach, as_json)


TagOpt = Annotated[
    list[str] | None, typer.Option("--tag", help="Only assets with this tag (repeat: all of them).")
]


@operations_app.command("publish")
def op_publish(
    tag: TagOpt = None,
    status: StatusOpt = None,
    max_per_s: RateOpt = None,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Allow playback of every asset with --tag (or in --status), batch by batch."""
    params = {"tag": tag, "status": _statuses(status), "max_per_s": max_per_s}
    _start("publish", params, detach, as_json)


@operations_app.command("unpublish")
def op_unpublish(
    tag: TagOpt = None,
    status: StatusOpt = None,
    max_per_s: RateOpt = None,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Stop playback of every asset with --tag (or in --status) at once: a takedown by tag."""
    params = {"tag": tag, "status": _statuses(status), "max_per_s": max_per_s}
    _start("unpublish", params, detach, as_json)


@operations_app.command("rekey")
def op_rekey(
    max_per_s: RateOpt = None, detach: DetachOpt = False, as_json: JsonOpt = False
) -> None:
    """New content keys for every protected asset (players finish with the previous key)."""
    _start("rekey", {"max_per_s": max_per_s}, detach, as_json)


@operations_app.command("list")
def op_list(
    state: Annotated[str | None, typer.Option(help="queued, running, paused, …")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """Operations, newest first."""
    if (api := remote()) is not None:
        rows = [op.to_dict() for op in call(api.operations, state=state, limit=limit)]
    else:
        ops = Operations(open_services().db).list(state=state, limit=limit)
        rows = [operation_dict(op) for op in ops]
    if as_json:
        emit(rows, True)
        return
    table = Table("id", "kind", "state", "done", "skipped", "failed", "total", "rate/s", "ETA s")
    for op in rows:
        table.add_row(
            *(str(op[k]) for k in ("id", "kind", "state", "done", "skipped", "failed", "total")),
            f"{op['rate_per_s']:.0f}" if op["rate_per_s"] else "",
            f"{op['eta_s']:.0f}" if op["eta_s"] else "",
        )
    show_table(table)


@operations_app.command("show")
def op_show(
    op_id: str,
    watch: Annotated[bool, typer.Option("--watch", help="Follow it until it ends.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """One operation: done/total, rate, ETA and per-asset reasons (the first 100)."""
    if (api := remote()) is not None:
        get = lambda: call(api.operation, op_id).to_dict()  # noqa: E731
    else:
        ops = Operations(open_services().db)
        get = lambda: operation_dict(ops.get(op_id))  # noqa: E731
    op = _follow(get, as_json) if watch else get()
    emit(op, as_json, _summary(op))


@operations_app.command("cancel")
def op_cancel(op_id: str, as_json: JsonOpt = False) -> None:
    """Stop after the batch in progress; what was done stays done."""
    if (api := remote()) is not None:
        op = call(api.cancel_operation, op_id).to_dict()
    else:
        op = operation_dict(Operations(open_services().db).cancel(op_id))
    emit(op, as_json, _summary(op))


@operations_app.command("resume")
def op_resume(op_id: str, detach: DetachOpt = False, as_json: JsonOpt = False) -> None:
    """Go on from the cursor: a paused, cancelled or failed operation, or one whose driver
    stopped (its lease lapsed). Under --url the server drives it."""
    if (api := remote()) is not None:
        call(api.resume_operation, op_id)
        _on_server(api, op_id, detach, as_json)
        return
    services = open_services()
    op = Operations(services.db).requeue(op_id)
    if detach:
        send = getattr(services.pipeline.dispatcher, "send_operation", None)
        if send is not None:
            send(op_id)
        emit(operation_dict(op), as_json, _summary(operation_dict(op)))
        return
    final = run_in_foreground(services, op_id, quiet=as_json)
    emit(operation_dict(final), as_json, _summary(operation_dict(final)))


def retranscode_all(services: Services, ladder: str | None, as_json: bool) -> None:
    """``vodstack assets retranscode --all``: a retranscode operation run here, its output
    streamed batch by batch (the same JSON shape as before, in bounded memory: ``jobs``
    maps every asset to its job; ``skipped`` keeps the first 10,000 reasons)."""
    op = engine.create(services, "retranscode", {"ladder": ladder})
    skipped: dict[str, str] = {}
    out = sys.stdout
    first = True
    if as_json:
        head = {"operation": op.id, "queue": "backfill"}
        out.write(json.dumps(head, indent=2)[:-2] + ',\n  "jobs": {')

    def batch(row: Operation, outcome: BatchOutcome) -> None:
        nonlocal first
        for asset_id, job_id in (outcome.items or {}).items():
            if as_json:
                out.write(
                    ("\n" if first else ",\n") + f"    {json.dumps(asset_id)}: {json.dumps(job_id)}"
                )
            else:
                out.write(f"{asset_id} {job_id}\n")
            first = False
        for asset_id, reason in (outcome.skipped or {}).items():
            if len(skipped) < 10_000:
                skipped[asset_id] = reason
        out.flush()

    final = run_in_foreground(services, op.id, batch, quiet=as_json)
    if as_json:
        out.write(
            ("\n  },\n" if not first else "},\n")
            + f'  "skipped": {json.dumps(skipped)},\n'
            + f'  "state": {json.dumps(final.state)},\n'
            + f'  "done": {final.done},\n  "total": {final.total}\n}}\n'
        )
    else:
        out.write("".join(f"{k} skipped: {v}\n" for k, v in skipped.items()))
    out.flush()
    if final.state == "failed":
        raise typer.Exit(1)
