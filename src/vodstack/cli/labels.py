"""``vodstack assets set``: an asset's title, metadata, tags and governance labels."""

from __future__ import annotations

from typing import Annotated

import typer

from vodstack.assets.labelling import relabel
from vodstack.catalogue.labels import GOVERNANCE_LIMITS, LabelsPatch, LabelStore, parse_pairs
from vodstack.catalogue.labels import as_json as labels_json
from vodstack.cli import remote_commands as twin
from vodstack.cli.assets import assets_app
from vodstack.cli.common import JsonOpt, emit, open_services
from vodstack.cli.remote import remote


@assets_app.command("set")
def assets_set(
    asset_id: str,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    meta: Annotated[
        list[str] | None, typer.Option("--meta", help="Set metadata KEY=VALUE (repeat).")
    ] = None,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", help="Remove metadata KEY (repeat).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Add a tag (repeat).")] = None,
    untag: Annotated[
        list[str] | None, typer.Option("--untag", help="Remove a tag (repeat).")
    ] = None,
    classification: Annotated[
        str | None, typer.Option(help="Content classification ('' clears).")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Owner ('' clears).")] = None,
    cost_center: Annotated[
        str | None, typer.Option("--cost-center", help="Cost centre ('' clears).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Set labels: `vodstack assets set ID --meta show=S1 --tag promo --owner marketing`.
    Limits: 50 metadata keys, 16 KB of metadata, 50 tags."""
    metadata: dict[str, str | None] = dict(parse_pairs(meta or []))
    metadata.update(dict.fromkeys(unset or []))
    if (api := remote()) is not None:
        given_ = {"classification": classification, "owner": owner, "cost_center": cost_center}
        governance_ = {k: v for k, v in given_.items() if v is not None}
        twin.run(
            twin.assets_set,
            api,
            asset_id,
            title=title,
            metadata=metadata,
            tag=tag,
            untag=untag,
            governance=governance_,
            as_json=as_json,
        )
        return
    services = open_services()
    tags = None
    if tag or untag:
        current = list(LabelStore(services.db).get(services.assets.get(asset_id).id).tags)
        tags = [t for t in [*current, *(tag or [])] if t not in (untag or [])]
    given = {"classification": classification, "owner": owner, "cost_center": cost_center}
    governance = {k: v for k, v in given.items() if v is not None and k in GOVERNANCE_LIMITS}
    fields = [
        *(["title"] if title is not None else []),
        *(["metadata"] if metadata else []),
        *(["tags"] if tags is not None else []),
        *governance,
    ]
    patch = LabelsPatch(metadata=metadata or None, tags=tags, governance=governance)
    labels = relabel(services, asset_id, patch, title=title, fields=fields)
    data = {"id": asset_id, **labels_json(labels)}
    human = "\n".join(
        [
            f"{asset_id} labels:",
            *(f"  metadata {k} = {v}" for k, v in labels.metadata.items()),
            f"  tags: {', '.join(labels.tags) or '-'}",
            *(f"  {k}: {v or '-'}" for k, v in labels.governance().items()),
        ]
    )
    emit(data, as_json, human)
