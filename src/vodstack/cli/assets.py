"""``vodstack assets …``: inspect and manage assets."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from vodstack.catalogue import MediaCatalogue
from vodstack.catalogue.labels import LabelStore, parse_pairs
from vodstack.catalogue.labels import as_json as labels_json
from vodstack.catalogue.listing import ASSETS
from vodstack.catalogue.paging import DEFAULT_LIMIT
from vodstack.cli import remote_commands as twin
from vodstack.cli.asset_view import asset_view
from vodstack.cli.common import JsonOpt, asset_dict, emit, open_services
from vodstack.cli.masters import assets_purge_master, assets_restore, deleted_message
from vodstack.cli.operations import retranscode_all
from vodstack.cli.output import show_table
from vodstack.cli.paging import AllOpt, CursorOpt, LimitOpt, SinceOpt, UntilOpt, list_rows, pick
from vodstack.cli.remote import call, remote
from vodstack.client import Access
from vodstack.compose import Services
from vodstack.errors import NotFound
from vodstack.protection import SCHEMES, build_protection, dash_scheme, hls_scheme
from vodstack.protection import admin as protection_admin

assets_app = typer.Typer(help="Inspect and manage assets.", no_args_is_help=True)


@assets_app.command("list")
def assets_list(
    status: Annotated[
        list[str] | None,
        typer.Option(help="uploaded, queued, transcoding, ready, failed (repeat)."),
    ] = None,
    published: Annotated[
        bool | None, typer.Option("--published/--unpublished", help="Only (un)published.")
    ] = None,
    ladder: Annotated[str | None, typer.Option(help="Ladder template.")] = None,
    protection: Annotated[str | None, typer.Option(help="clear, aes-128, cbcs or cenc.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Has this tag (repeat: all).")] = None,
    meta: Annotated[
        list[str] | None, typer.Option(help="Metadata KEY=VALUE (repeat: all).")
    ] = None,
    classification: Annotated[str | None, typer.Option()] = None,
    owner: Annotated[str | None, typer.Option()] = None,
    cost_center: Annotated[str | None, typer.Option("--cost-center")] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Title contains this (or it is the id).")
    ] = None,
    created_after: SinceOpt = None,
    created_before: UntilOpt = None,
    sort: Annotated[str, typer.Option(help="created, -created, title or -title.")] = "-created",
    limit: LimitOpt = DEFAULT_LIMIT,
    cursor: CursorOpt = None,
    every: AllOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Assets, newest first: filter, search, page (--limit, --cursor, --all)."""
    filters = {
        "status": status,
        "published": published,
        "ladder": ladder,
        "protection": protection,
        "tag": tag,
        "classification": classification,
        "owner": owner,
        "cost_center": cost_center,
        "q": search,
        "created_after": created_after,
        "created_before": created_before,
        "sort": sort,
        **{f"metadata[{k}]": v for k, v in parse_pairs(meta or []).items()},
    }
    rows = list_rows(
        ASSETS,
        filters,
        limit=limit,
        cursor=cursor,
        every=every,
        local=_local_assets,
        served=pick((*ASSET_KEYS, *LABEL_KEYS)),
    )
    if as_json:
        emit(rows, True)
        return
    table = Table("id", "status", "published", "duration", "title", "error")
    for a in rows:
        table.add_row(
            a["id"],
            a["status"],
            "yes" if a["published"] else "no",
            f"{a['duration']:.1f}s" if a["duration"] else "",
            a["title"],
            a["error"] or "",
        )
    show_table(table)


ASSET_KEYS = ("id", "title", "status", "published", "duration", "error", "created_at")
LABEL_KEYS = ("metadata", "tags", "classification", "owner", "cost_center")


def _local_assets(services: Services, rows: list[Any]) -> list[dict[str, Any]]:
    found = LabelStore(services.db).of(rows)
    return [
        {
            "id": a.id,
            "title": a.title,
            "status": a.status,
            "published": a.published,
            "duration": a.duration,
            "error": a.error,
            "created_at": a.created_at.isoformat(),
            **labels_json(found[a.id]),
        }
        for a in rows
    ]


@assets_app.command("show")
def assets_show(asset_id: str, as_json: JsonOpt = False) -> None:
    """One asset: state, renditions (with sampled VMAF), playback URLs, job, ladder."""
    if (api := remote()) is not None:
        twin.run(twin.assets_show, api, asset_id, as_json)
        return
    services = open_services()
    services.assets.get(asset_id)
    data = with_media(services, asset_id, asset_dict(services, asset_id))
    emit(data, as_json, None if as_json else asset_view(data))


def with_media(services: Services, asset_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """Issue #8 facts: VMAF per rendition, the ladder decision, text tracks, downloads."""
    asset = services.catalogue.get_asset(asset_id)
    media = MediaCatalogue(services.db)
    quality = media.quality(asset_id, asset.revision) if asset.revision else {}
    for rendition in data.get("renditions", []):
        rendition["vmaf"] = quality.get(rendition["track"])
    data["quality"] = {"metric": "VMAF (sampled, vs the source, at display size)", **quality}
    data["ladder"] = asset.ladder_info
    data["captions"] = [
        {"track": c.track_id, "language": c.language, "label": c.label, "source": c.source}
        for c in media.captions(asset_id, asset.revision or None)
    ]
    data["allow_download"] = asset.allow_download
    return data


@assets_app.command("publish")
def assets_publish(asset_id: str, as_json: JsonOpt = False) -> None:
    """Allow playback of an asset."""
    if (api := remote()) is not None:
        twin.run(twin.assets_publish, api, asset_id, True, as_json)
        return
    services = open_services()
    services.assets.set_published(asset_id, True)
    emit(asset_dict(services, asset_id), as_json, f"{asset_id} published")


@assets_app.command("unpublish")
def assets_unpublish(asset_id: str, as_json: JsonOpt = False) -> None:
    """Stop playback at once (takedown)."""
    if (api := remote()) is not None:
        twin.run(twin.assets_publish, api, asset_id, False, as_json)
        return
    services = open_services()
    services.assets.set_published(asset_id, False)
    emit(asset_dict(services, asset_id), as_json, f"{asset_id} unpublished")


@assets_app.command("policy")
def assets_policy(
    asset_id: str,
    policy: Annotated[
        str, typer.Argument(help="signed (a grant is needed) or public (anyone may play)")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Playback policy: `signed` (default) or `public` (free titles: no grant needed, still
    cached and rate-limited). Edges follow within about a second; caches are purged."""
    if (api := remote()) is not None:
        data = call(api.set_playback, asset_id, policy).to_dict()
    else:
        services = open_services()
        services.assets.set_playback(asset_id, policy)
        data = asset_dict(services, asset_id)
    emit(data, as_json, f"{asset_id} playback {policy}")


@assets_app.command("delete")
def assets_delete(asset_id: str, as_json: JsonOpt = False) -> None:
    """Delete packaged media and catalogue rows; the master is retained (see `assets
    restore` and `assets purge-master`)."""
    if (api := remote()) is not None:
        twin.run(twin.assets_delete, api, asset_id, as_json, deleted_message(asset_id, True))
        return
    services = open_services()
    services.assets.delete(asset_id)
    kept = services.assets.keep_masters
    emit(
        {
            "id": asset_id,
            "deleted": True,
            "master_kept": kept,
            "restore": f"vodstack assets restore {asset_id}" if kept else None,
        },
        as_json,
        deleted_message(asset_id, kept),
    )


assets_app.command("restore")(assets_restore)
assets_app.command("purge-master")(assets_purge_master)


@assets_app.command("retranscode")
def assets_retranscode(
    asset_id: Annotated[str | None, typer.Argument()] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every asset, on the backfill queue.")
    ] = False,
    ladder: Annotated[
        str | None,
        typer.Option(
            help="Ladder template name (VODSTACK_LADDERS); default: the configured ladder."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-run the ladder from retained masters; current revisions serve until replaced, then
    manifests switch and edges purge. --all goes to the backfill queue, which never delays a
    new upload, as a batched operation (`vodstack operations`: Ctrl-C pauses, `operations
    resume ID` goes on)."""
    if all_ == (asset_id is not None):
        raise typer.BadParameter("give an asset id or --all")
    if (api := remote()) is not None:
        if asset_id is None:  # the server drives the operation
            twin.run(twin.retranscode_all, api, ladder, as_json)
        else:
            twin.run(twin.assets_retranscode, api, asset_id, ladder, as_json)
        return
    services = open_services()
    if (ladder or "default") not in services.settings.ladder_templates:
        known = ", ".join(services.settings.ladder_templates)
        raise typer.BadParameter(f"no ladder named {ladder!r}; known: {known}")
    if all_:  # a batched, resumable operation: bounded memory whatever the catalogue's size
        retranscode_all(services, ladder, as_json)
        return
    assert asset_id is not None
    job = services.assets.retranscode(asset_id, queue="ondemand", ladder=ladder)
    emit(
        {"jobs": {asset_id: job}, "skipped": {}, "queue": "ondemand"}, as_json, f"{asset_id} {job}"
    )


@assets_app.command("access")
def assets_access(
    asset_id: str,
    plans: Annotated[
        str | None,
        typer.Option(help="Comma-separated plans; 'any' (default) or 'none' (licences only)."),
    ] = None,
    geo_allow: Annotated[str | None, typer.Option(help="Comma-separated ISO countries.")] = None,
    geo_deny: Annotated[str | None, typer.Option(help="Comma-separated ISO countries.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set which plans and countries may play an asset; with no option, show them."""

    def split(value: str | None) -> list[str] | None:
        return None if value is None else [v.strip() for v in value.split(",") if v.strip()]

    api = remote()
    if plans is None and geo_allow is None and geo_deny is None:
        if api is not None:
            rules = call(api.access, asset_id).to_dict()
        else:
            asset = open_services().assets.get(asset_id)
            rules = {k: getattr(asset, k) for k in ("plans", "geo_allow", "geo_deny")}
        data = {"id": asset_id, **{k: None if v is None else list(v) for k, v in rules.items()}}
        emit(data, as_json, _access_text(data))
        return
    plan_list = split(plans)
    if plan_list == ["any"]:
        plan_list = None
    elif plan_list == ["none"]:
        plan_list = []
    rules = {"plans": plan_list, "geo_allow": split(geo_allow), "geo_deny": split(geo_deny)}
    if api is not None:
        call(api.set_access, asset_id, Access(**rules))
    else:
        services = open_services()
        services.assets.get(asset_id)
        services.grants.set_access(asset_id, **rules)
    emit({"id": asset_id, **rules}, as_json, f"{asset_id} access updated")


def _access_text(data: dict[str, Any]) -> str:
    def shown(value: list[str] | None, unset: str) -> str:
        return unset if value is None else ",".join(value) or "none"

    return (
        f"{data['id']}  plans: {shown(data['plans'], 'any')}  "
        f"geo allow: {shown(data['geo_allow'], 'all')}  "
        f"geo deny: {shown(data['geo_deny'], 'none')}"
    )


def _served_as(setting: str) -> dict[str, str | None]:
    """Which form each protocol is served in ("clear", a scheme, or None: not offered)."""
    schemes = setting.split(",")
    out: dict[str, str | None] = {}
    for protocol, choose in (("hls", hls_scheme), ("dash", dash_scheme)):
        try:
            out[protocol] = choose(schemes) or "clear"
        except NotFound:
            out[protocol] = None
    return out


@assets_app.command("protect")
def assets_protect(
    asset_id: str,
    schemes: Annotated[
        str,
        typer.Argument(
            help=f"clear, or a comma-separated set of {', '.join(SCHEMES)} (with clear to "
            "keep clear playback for protocols no scheme covers), e.g. aes-128,cenc."
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Serve an asset clear or protected: HLS AES-128, cbcs (HLS SAMPLE-AES and DASH), cenc
    (DASH). No re-transcode; running servers switch manifests within seconds and purge their
    edges (like PUT /api/assets/{id}/protection)."""
    if not schemes.strip():
        raise typer.BadParameter("give clear or one or more schemes, e.g. aes-128,cenc")
    if (api := remote()) is not None:
        listed = [x.strip() for x in schemes.split(",") if x.strip()]
        setting = call(api.set_protection, asset_id, listed).drm
    else:
        services = open_services()
        protection = build_protection(services.settings, services.db, services.secrets)
        setting = protection_admin.set_protection(services.assets, protection, asset_id, schemes)
    served = _served_as(setting)
    human = (
        f"{asset_id} protection: {setting} ("
        + ", ".join(f"{k}: {v or 'not offered'}" for k, v in served.items())
        + ")"
    )
    emit({"id": asset_id, "drm": setting, "served": served}, as_json, human)


@assets_app.command("rekey")
def assets_rekey(asset_id: str, as_json: JsonOpt = False) -> None:
    """New content keys for every protected scheme of an asset (no re-transcode; caches
    purged; like POST /api/assets/{id}/rekey). Players already running finish with the
    previous key."""
    if (api := remote()) is not None:
        generations = call(api.rekey, asset_id)
    else:
        services = open_services()
        protection = build_protection(services.settings, services.db, services.secrets)
        generations = protection_admin.rekey(services.assets, protection, asset_id)
    human = (
        f"{asset_id} re-keyed: generation {', '.join(map(str, generations))}"
        if generations
        else f"{asset_id} is served clear: no content key to replace"
    )
    emit({"id": asset_id, "generations": generations}, as_json, human)
