"""``vodstack report …``: answers from viewer telemetry (who completed which module)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vodstack.catalogue import PlaybackSessions, is_valid_id
from vodstack.cli.common import JsonOpt, emit, open_services
from vodstack.errors import NotFound
from vodstack.telemetry import DEFAULT_THRESHOLD, completions, completions_csv

report_app = typer.Typer(help="Reports from viewer telemetry.", no_args_is_help=True)


@report_app.command("completions")
def report_completions(
    asset: Annotated[str, typer.Option("--asset", help="The asset (module) to report on.")],
    threshold: Annotated[
        float,
        typer.Option(
            min=0.01,
            max=1.0,
            help="Share of the duration a viewer must have watched (distinct seconds; "
            "seeking ahead does not count).",
        ),
    ] = DEFAULT_THRESHOLD,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV for a spreadsheet or an LMS.")] = False,
    include_all: Annotated[
        bool, typer.Option("--all", help="Also list viewers who did not complete.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Viewers who completed an asset: watched ≥ THRESHOLD of it, over all their sessions."""
    if not is_valid_id(asset):
        raise NotFound(f"no asset {asset!r}")
    services = open_services()
    try:
        duration = services.catalogue.get_asset(asset).duration
    except NotFound:
        duration = None  # deleted: its completion records remain
    records = PlaybackSessions(services.db).for_asset(asset)
    if duration is None and not records:
        raise NotFound(f"no asset {asset!r} and no playback recorded for it")
    rows = completions(records, duration, threshold)
    if not include_all:
        rows = [r for r in rows if r.completed]
    if as_csv:
        typer.echo(completions_csv(asset, rows), nl=False)
        return
    if as_json:
        emit([{"asset_id": asset, **asdict(r)} for r in rows], True)
        return
    table = Table("viewer", "watched", "completed", "sessions", "last seen")
    for r in rows:
        share = "" if r.percent_watched is None else f"{r.percent_watched * 100:.0f} %"
        table.add_row(
            r.subject,
            share,
            "yes" if r.completed else "no",
            str(r.sessions),
            r.last_seen.strftime("%Y-%m-%d %H:%M"),
        )
    Console().print(table)
