"""``vodstack keys …``, ``vodstack token``, ``vodstack entitle``: who may watch what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vodstack.cli import remote_commands as twin
from vodstack.cli.common import JsonOpt, emit, open_services
from vodstack.cli.output import show_table
from vodstack.cli.remote import call, remote
from vodstack.cli.remote_commands import grants_view
from vodstack.errors import ConfigError, InvalidInput

keys_app = typer.Typer(
    help="The trusted key group that signs and verifies playback cookies (like CloudFront "
    "public keys): add a new key beside the old, switch signing, retire the old.",
    no_args_is_help=True,
)
KindOpt = Annotated[str, typer.Option("--algorithm", help="rsa (2048) or ecdsa (P-256).")]


def _key_rows(services: Any) -> list[dict[str, Any]]:
    return [
        {
            "key_id": k.key_id,
            "algorithm": k.algorithm,
            "status": k.status,
            "can_sign": k.has_private,
            "created_at": k.created_at.isoformat(),
        }
        for k in services.grants.signing_keys()
    ]


def _kind(value: str) -> str:
    if value not in ("rsa", "ecdsa"):
        raise typer.BadParameter("algorithm must be rsa or ecdsa")
    return value


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """Keys of the group: active (signs), trusted (verifies), retired (refused)."""
    if (api := remote()) is not None:
        keys = ("key_id", "algorithm", "status", "can_sign", "created_at")
        rows = [{k: key.to_dict()[k] for k in keys} for key in call(api.signing_keys)]
    else:
        rows = _key_rows(open_services())
    if as_json:
        emit(rows, True)
        return
    table = Table("key id", "algorithm", "status", "can sign", "created")
    for r in rows:
        table.add_row(
            r["key_id"],
            r["algorithm"],
            r["status"],
            "yes" if r["can_sign"] else "no",
            r["created_at"],
        )
    show_table(table)


@keys_app.command("create")
def keys_create(algorithm: KindOpt = "rsa", as_json: JsonOpt = False) -> None:
    """Generate a key pair and trust it (it signs only after `rotate`/`activate`, unless it is
    the first key)."""
    if (api := remote()) is not None:
        key_id = call(api.generate_signing_key, _kind(algorithm)).key_id
    else:
        key_id = open_services().keyring.create(_kind(algorithm))  # type: ignore[arg-type]
    emit({"key_id": key_id}, as_json, key_id)


@keys_app.command("rotate")
def keys_rotate(algorithm: KindOpt = "rsa", as_json: JsonOpt = False) -> None:
    """New key signs from now on; cookies signed by the old key play until they expire."""
    if (api := remote()) is not None:
        key_id = call(api.rotate_signing_key, _kind(algorithm)).key_id
    else:
        key_id = open_services().keyring.rotate(_kind(algorithm))  # type: ignore[arg-type]
    emit({"key_id": key_id}, as_json, key_id)


@keys_app.command("activate")
def keys_activate(key_id: str, as_json: JsonOpt = False) -> None:
    """Switch signing to an existing key of the group."""
    if (api := remote()) is not None:
        call(api.activate_signing_key, key_id)
    else:
        open_services().keyring.activate(key_id)
    emit({"key_id": key_id, "status": "active"}, as_json, f"{key_id} signs new cookies")


@keys_app.command("retire")
def keys_retire(key_id: str, as_json: JsonOpt = False) -> None:
    """Stop trusting a key: cookies it signed are refused at once."""
    if (api := remote()) is not None:
        call(api.retire_signing_key, key_id)
    else:
        open_services().keyring.retire(key_id)
    emit({"key_id": key_id, "status": "retired"}, as_json, f"{key_id} retired")


@keys_app.command("copy")
def keys_copy(
    key_id: str,
    new_id: Annotated[str, typer.Option("--as", help="The new id, e.g. CloudFront's key id.")],
    activate: Annotated[bool, typer.Option(help="Sign with the new id from now on.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The same key pair under another id: CloudFront checks CloudFront-Key-Pair-Id against
    the id it gave the public key (terraform output cloudfront_key_ids). With --activate new
    cookies carry the new id; cookies with the old one play until it is retired."""
    if (api := remote()) is not None:
        copied = call(api.copy_signing_key, key_id, new_id, activate=activate).key_id
    else:
        copied = open_services().keyring.copy_as(key_id, new_id, activate=activate)
    emit({"key_id": copied, "from": key_id, "active": activate}, as_json, copied)


@keys_app.command("add")
def keys_add(
    public_key: Annotated[
        Path,
        typer.Option(
            "--public-key",
            exists=True,
            dir_okay=False,
            help="PEM file of an RSA-2048+ or P-256 public key",
        ),
    ],
    key_id: Annotated[str | None, typer.Option("--id", help="Key id (default: generated).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Trust an outside public key for verification (its private half signs elsewhere)."""
    if (api := remote()) is not None:
        new_id = call(api.add_public_key, public_key.read_text(), key_id).key_id
    else:
        new_id = open_services().keyring.add_public(public_key.read_text(), key_id)
    emit({"key_id": new_id}, as_json, new_id)


def _claims(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"--claim wants k=v, got {pair!r}")
        out[key] = value
    return out


def token(
    subject: Annotated[str, typer.Argument(help="The viewer (JWT `sub`).")],
    claim: Annotated[
        list[str] | None, typer.Option("--claim", help="Extra claim k=v (repeat).")
    ] = None,
    ttl: Annotated[int, typer.Option("--ttl", help="Lifetime in seconds.")] = 3600,
) -> None:
    """Mint a viewer JWT from the built-in development identity provider."""
    services = open_services()
    if services.dev_idp is None:
        raise ConfigError("an external identity provider is configured; dev tokens are disabled")
    typer.echo(services.dev_idp.mint(subject, _claims(claim or []), ttl=ttl))


def _when(value: str | None, days: float | None) -> datetime | None:
    if value is not None and days is not None:
        raise typer.BadParameter("give --until or --days, not both")
    if days is not None:
        return datetime.now(UTC) + timedelta(days=days)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"not an ISO date/time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _grants_of(who: str) -> dict[str, list[dict[str, Any]]]:
    from vodstack.cli.grants import licence_dict, subscription_dict

    grants = open_services().grants
    return grants_view(
        [subscription_dict(s) for s in grants.subscriptions(who)],
        [licence_dict(x) for x in grants.licences(who)],
    )


def entitle(
    who: Annotated[str, typer.Argument(help="Viewer subject, or institution with --licence.")],
    plan: Annotated[str | None, typer.Option(help="Grant this subscription plan.")] = None,
    trial: Annotated[bool, typer.Option("--trial", help="Mark the plan as a trial.")] = False,
    licence: Annotated[
        bool,
        typer.Option(
            "--licence",
            help="WHO is an institution: grant a licence (to --asset, or the whole catalogue).",
        ),
    ] = False,
    asset: Annotated[
        list[str] | None, typer.Option("--asset", help="Licensed asset (repeat).")
    ] = None,
    starts: Annotated[str | None, typer.Option(help="ISO start (default now).")] = None,
    until: Annotated[str | None, typer.Option(help="ISO end (default: open-ended).")] = None,
    days: Annotated[float | None, typer.Option(help="Valid for N days from now.")] = None,
    revoke: Annotated[
        bool,
        typer.Option(
            "--revoke", help="Cancel the plan (or all plans) / remove the licences instead."
        ),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="List WHO's grants.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Grant (or --revoke, or --show) a viewer's subscription or an institution's licence.

    Examples: `vodstack entitle alice --plan premium --days 30`,
    `vodstack entitle bob --plan premium --trial --days 7`,
    `vodstack entitle "Uni Example" --licence --asset ID --until 2027-07-31`,
    `vodstack entitle alice --revoke`.
    """
    api = remote()
    if api is not None and not (revoke or show):
        if days is not None:
            until = (datetime.now(UTC) + timedelta(days=days)).isoformat()
        twin.run(
            twin.entitle,
            api,
            who,
            plan=plan,
            trial=trial,
            licence=licence,
            assets=list(asset or []),
            starts=starts,
            until=until,
            as_json=as_json,
        )
        return
    if show:
        emit(call(twin.grants_of, api, who) if api else _grants_of(who), True)
        return
    if licence == (plan is not None) and not (revoke and not licence):
        raise typer.BadParameter("give --plan PLAN (a viewer) or --licence (an institution)")
    if revoke and api is not None:
        if licence:
            n = call(twin.revoke_licences, api, who, asset or [None])
            emit({"revoked": n}, as_json, f"{n} licence(s) removed")
        else:
            n = call(twin.cancel_subscriptions, api, who, plan)
            emit({"cancelled": n}, as_json, f"{n} subscription(s) cancelled")
        return
    services = open_services()
    grants = services.grants
    start, end = _when(starts, None), _when(until, days)
    if licence:
        assets = asset or [None]
        if revoke:
            n = sum(grants.revoke_licences(who, a) for a in assets)
            emit({"revoked": n}, as_json, f"{n} licence(s) removed")
            return
        for a in assets:
            if a is not None:
                services.assets.get(a)
        ids = [grants.license(who, a, valid_from=start, valid_until=end).id for a in assets]
        emit({"licences": ids}, as_json, f"{who}: licence {', '.join(map(str, ids))}")
        return
    if revoke:
        n = grants.cancel(who, plan)
        emit({"cancelled": n}, as_json, f"{n} subscription(s) cancelled")
        return
    assert plan is not None
    sub = grants.subscribe(who, plan, expires_at=end, starts_at=start, trial=trial)
    emit({"subscription": sub.id}, as_json, f"{who}: {plan} (subscription {sub.id})")
