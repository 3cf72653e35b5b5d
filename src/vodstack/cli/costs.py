"""``vodstack costs``: where the bytes go, what a title costs, which rungs pay for themselves.

Money figures are estimates from the operator's unit prices (``VODSTACK_COST_*``; the defaults
are examples). See docs/costs.md.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from vodstack.cli.common import JsonOpt, emit, open_services
from vodstack.costs import GB, CostReport, CostService, Lifecycle, parse_since
from vodstack.costs.recommend import recommend

costs_app = typer.Typer(
    help="Egress, storage, transcode and money per title; ladder recommendations; cold "
    "masters. Prices are your own (VODSTACK_COST_*; defaults are examples): docs/costs.md.",
    invoke_without_command=True,
    no_args_is_help=False,
)
AssetOpt = Annotated[str | None, typer.Option("--asset", help="One asset only.")]
SinceOpt = Annotated[
    str | None,
    typer.Option(help="Usage since: a duration ago (7d, 24h) or an ISO date; default: all kept."),
]


def _gb(n: float) -> str:
    return f"{n / GB:,.3f} GB"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f} %"


def human(report: CostReport) -> str:
    c, m, e = report.currency, report.money, report.egress
    lines = [
        f"egress     {_gb(e.bytes)} in {e.requests} responses   hit ratio {_pct(e.hit_ratio)}"
        f"   origin offload {_pct(e.origin_offload)}",
        f"stored     {_gb(report.stored_bytes)}   transcode {report.cpu_s / 3600:.2f} CPU-h",
        f"estimate   egress {m['egress']:.2f} {c} + storage {m['storage_month']:.2f} {c}/month"
        f" + transcode {m['transcode']:.2f} {c} = {m['total']:.2f} {c}",
    ]
    if report.rungs:
        shares = "  ".join(f"{r.height or '?'}p {r.watch_share * 100:.1f} %" for r in report.rungs)
        lines.append(f"watch time {shares}")
    lines.append("")
    lines.append(f"{'asset':20}  {'egress':>12}  {'stored':>12}  {'cpu s/min':>9}  {'total':>9}")
    for a in report.assets:
        per_min = "-" if a.cpu_s_per_media_minute is None else f"{a.cpu_s_per_media_minute:.0f}"
        lines.append(
            f"{a.asset_id:20}  {_gb(a.egress.bytes):>12}  {_gb(a.stored_bytes):>12}  "
            f"{per_min:>9}  {a.money['total']:>9.2f}  {a.title[:30]}"
        )
    return "\n".join(lines)


@costs_app.callback()
def costs(
    ctx: typer.Context,
    asset: AssetOpt = None,
    since: SinceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cost report: egress (hit ratio, origin offload), storage, transcode CPU, money."""
    if ctx.invoked_subcommand is not None:
        return
    services = open_services()
    service = CostService(services.settings, services.db, services.store)
    report = service.report(asset, parse_since(since, datetime.now(UTC)))
    emit(report.to_json(), as_json, human(report))


@costs_app.command("recommend")
def costs_recommend(
    asset: AssetOpt = None,
    since: SinceOpt = None,
    min_share: Annotated[
        float | None,
        typer.Option(help="Drop rungs under this share of watch time (default: setting, 0.01)."),
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Re-transcode each asset with a drop recommendation whose ladder without the "
            "rung is a configured template, on the backfill lane. Without it: a dry run.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Rungs under the watch-time threshold (with the storage and egress they cost) and rungs
    missing where viewers sit at the top on large screens."""
    services = open_services()
    service = CostService(services.settings, services.db, services.store)
    report = service.report(asset, parse_since(since, datetime.now(UTC)))
    share = min_share if min_share is not None else services.settings.costs_min_share
    recs = recommend(report, share, service.template_heights())
    jobs: dict[str, str] = {}
    planned: dict[str, str] = {}
    for r in recs:
        if r.scope == "asset" and r.action == "drop" and r.apply_ladder:
            planned[r.name] = r.apply_ladder
    if apply:
        for asset_id, ladder in planned.items():
            jobs[asset_id] = services.assets.retranscode(asset_id, queue="backfill", ladder=ladder)
    data: dict[str, Any] = {
        "recommendations": [asdict(r) for r in recs],
        "dry_run": not apply,
        "retranscode": planned,
        "jobs": jobs,
    }
    lines = []
    for r in recs:
        saves = (
            f" — saves {_gb(r.stored_bytes)} stored, {_gb(r.egress_bytes)} egress in the period"
            if r.action == "drop"
            else ""
        )
        floor = " (lowest rung: the floor for poor networks)" if r.floor else ""
        lines.append(f"{r.scope} {r.name}: {r.action} {r.height}p: {r.reason}{saves}{floor}")
        if r.scope == "asset" and r.action == "drop" and not r.apply_ladder:
            lines.append("  no configured ladder template matches without it: define one")
    for asset_id, ladder in planned.items():
        verb = f"queued job {jobs[asset_id]}" if asset_id in jobs else "would re-transcode"
        lines.append(f"{verb}: {asset_id} with ladder {ladder!r} (backfill lane)")
    emit(data, as_json, "\n".join(lines) or "no recommendations (no watch time recorded?)")


@costs_app.command("lifecycle")
def costs_lifecycle(
    days: Annotated[
        int | None,
        typer.Option(help="Masters not re-transcoded for this many days (default: setting)."),
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Move them; without it: a dry run.")
    ] = False,
    restore: Annotated[
        str | None, typer.Option(help="Bring this asset's master back to the hot class.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move masters not re-transcoded for N days to the cold S3 storage class
    (VODSTACK_COLD_STORAGE_CLASS); a re-transcode restores the master first."""
    services = open_services()
    life = Lifecycle(services)
    if restore is not None:
        state = life.restore(restore)
        emit({"asset": restore, "state": state}, as_json, f"{restore}: {state}")
        return
    after = days if days is not None else services.settings.cold_after_days
    if after is None:
        raise typer.BadParameter("give --days or set VODSTACK_COLD_AFTER_DAYS")
    moves = life.candidates(after)
    moved = life.move(moves) if apply else []
    emit(
        {"candidates": moves, "moved": moved, "dry_run": not apply, "class": life.cold_class},
        as_json,
        "\n".join(
            [f"{'moved' if a in moved else 'would move'} {a}" for a in moves]
            or ["no master to move"]
        ),
    )
