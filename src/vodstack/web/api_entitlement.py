"""Admin API for entitlement: subscriptions, licences, per-asset access rules, signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from vodstack.base import ASSET_UPDATED
from vodstack.catalogue import Licence, PurgeScope, Scope, SigningKey, Subscription
from vodstack.catalogue.listing import LICENCES, SUBSCRIPTIONS
from vodstack.errors import NotFound
from vodstack.web import listing
from vodstack.web.scopes import require_scope
from vodstack.web.state import services_of

router = APIRouter(prefix="/api", tags=["entitlement"])

Country = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
# Catalogue row ids are SQL INTEGERs (32-bit on PostgreSQL): a larger number is a 422 here,
# not an overflow inside the database driver (found by tests/reliability/test_api_fuzz.py).
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class SubscriptionIn(BaseModel):
    subject: str = Field(min_length=1, max_length=255)
    plan: str = Field(min_length=1, max_length=64)
    trial: bool = False
    starts_at: datetime | None = None
    expires_at: datetime | None = None


class SubscriptionOut(SubscriptionIn):
    id: int
    cancelled: bool
    created_at: datetime | None = None


class LicenceIn(BaseModel):
    institution: str = Field(min_length=1, max_length=255)
    asset_id: str | None = Field(default=None, description="None = the whole catalogue")
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class LicenceOut(LicenceIn):
    id: int
    created_at: datetime | None = None


class AccessIn(BaseModel):
    plans: list[str] | None = Field(
        default=None, description="Plans that grant playback; null = any active plan"
    )
    geo_allow: list[Country] | None = None
    geo_deny: list[Country] | None = None


class KeyOut(BaseModel):
    key_id: str
    algorithm: str
    status: str
    can_sign: bool
    created_at: datetime
    public_key_pem: str


class PublicKeyIn(BaseModel):
    public_key_pem: str = Field(max_length=10_000)
    key_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,32}$")


class KeyCopyIn(BaseModel):
    """``vodstack keys copy KEY --as NEW [--activate]``: the same pair under CloudFront's id."""

    new_id: str = Field(pattern=r"^[A-Za-z0-9]{1,32}$")
    activate: bool = False


def _sub(s: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=s.id,
        subject=s.subject,
        plan=s.plan,
        trial=s.trial,
        starts_at=s.starts_at,
        expires_at=s.expires_at,
        cancelled=s.cancelled,
        created_at=s.created_at,
    )


def _lic(x: Licence) -> LicenceOut:
    return LicenceOut(
        id=x.id,
        institution=x.institution,
        asset_id=x.asset_id,
        valid_from=x.valid_from,
        valid_until=x.valid_until,
        created_at=x.created_at,
    )


def _key(k: SigningKey) -> KeyOut:
    return KeyOut(
        key_id=k.key_id,
        algorithm=k.algorithm,
        status=k.status,
        can_sign=k.has_private,
        created_at=k.created_at,
        public_key_pem=k.public_key_pem,
    )


@router.get(
    "/subscriptions",
    dependencies=[require_scope("entitle")],
    response_model=list[SubscriptionOut],
    summary="Subscriptions, oldest first; filter and page (next page: Link, X-Next-Cursor)",
    **listing.listing_openapi(SUBSCRIPTIONS, "subscriptions"),
)
def list_subscriptions(request: Request, response: Response) -> list[SubscriptionOut]:
    return listing.respond(request, response, SUBSCRIPTIONS, lambda rows: [_sub(s) for s in rows])


@router.post(
    "/subscriptions",
    dependencies=[require_scope("entitle")],
    response_model=SubscriptionOut,
    status_code=201,
)
def add_subscription(request: Request, body: SubscriptionIn) -> SubscriptionOut:
    sub = services_of(request).grants.subscribe(
        body.subject,
        body.plan,
        expires_at=body.expires_at,
        starts_at=body.starts_at,
        trial=body.trial,
    )
    return _sub(sub)


@router.post(
    "/subscriptions/{subscription_id}/cancel",
    dependencies=[require_scope("entitle")],
    response_model=SubscriptionOut,
    summary="Cancel a subscription (kept, marked cancelled; as `vodstack entitle --revoke`)",
    responses={404: {}},
)
def cancel_subscription(request: Request, subscription_id: RowId) -> SubscriptionOut:
    return _sub(services_of(request).grants.cancel_subscription(subscription_id))


@router.delete(
    "/subscriptions/{subscription_id}", dependencies=[require_scope("entitle")], status_code=204
)
def delete_subscription(request: Request, subscription_id: RowId) -> None:
    services_of(request).grants.delete_subscription(subscription_id)


@router.get(
    "/licences",
    dependencies=[require_scope("entitle")],
    response_model=list[LicenceOut],
    summary="Licences, oldest first; filter and page (next page: Link, X-Next-Cursor)",
    **listing.listing_openapi(LICENCES, "licences"),
)
def list_licences(request: Request, response: Response) -> list[LicenceOut]:
    return listing.respond(request, response, LICENCES, lambda rows: [_lic(x) for x in rows])


@router.post(
    "/licences", dependencies=[require_scope("entitle")], response_model=LicenceOut, status_code=201
)
def add_licence(request: Request, body: LicenceIn) -> LicenceOut:
    services = services_of(request)
    if body.asset_id is not None:
        services.assets.get(body.asset_id)
    lic = services.grants.license(
        body.institution, body.asset_id, valid_from=body.valid_from, valid_until=body.valid_until
    )
    return _lic(lic)


@router.delete("/licences/{licence_id}", dependencies=[require_scope("entitle")], status_code=204)
def delete_licence(request: Request, licence_id: RowId) -> None:
    services_of(request).grants.delete_licence(licence_id)


@router.put(
    "/assets/{asset_id}/access",
    dependencies=[require_scope("entitle")],
    summary="Set which plans and countries may play",
)
def set_access(request: Request, asset_id: str, body: AccessIn) -> AccessIn:
    services = services_of(request)
    services.assets.get(asset_id)
    services.grants.set_access(
        asset_id, plans=body.plans, geo_allow=body.geo_allow, geo_deny=body.geo_deny
    )
    # No cached object depends on access rules (the gate and /play decide per request).
    services.bus.publish(
        ASSET_UPDATED, asset_id, action="access", purge=PurgeScope(Scope.NONE).to_payload()
    )
    return body


@router.get(
    "/keys", dependencies=[require_scope("keys")], response_model=list[KeyOut], tags=["keys"]
)
def list_keys(request: Request) -> list[KeyOut]:
    return [_key(k) for k in services_of(request).grants.signing_keys()]


@router.post(
    "/keys/rotate",
    dependencies=[require_scope("keys")],
    response_model=KeyOut,
    tags=["keys"],
    summary="New signing key; the old one keeps verifying until retired",
)
def rotate_key(
    request: Request, algorithm: Annotated[Literal["rsa", "ecdsa"], Query()] = "rsa"
) -> KeyOut:
    return _key_out(request, services_of(request).keyring.rotate(algorithm))


@router.post(
    "/keys",
    dependencies=[require_scope("keys")],
    response_model=KeyOut,
    status_code=201,
    tags=["keys"],
    summary="Trust an outside public key (verification only)",
)
def add_key(request: Request, body: PublicKeyIn) -> KeyOut:
    return _key_out(
        request, services_of(request).keyring.add_public(body.public_key_pem, body.key_id)
    )


@router.post(
    "/keys/generate",
    dependencies=[require_scope("keys")],
    response_model=KeyOut,
    status_code=201,
    tags=["keys"],
    summary="Generate a key pair and trust it (it signs once activated, or if it is the first)",
)
def generate_key(
    request: Request, algorithm: Annotated[Literal["rsa", "ecdsa"], Query()] = "rsa"
) -> KeyOut:
    return _key_out(request, services_of(request).keyring.create(algorithm))


@router.post(
    "/keys/{key_id}/activate",
    dependencies=[require_scope("keys")],
    response_model=KeyOut,
    tags=["keys"],
    summary="Sign new grants with this key of the group",
)
def activate_key(request: Request, key_id: str) -> KeyOut:
    services_of(request).keyring.activate(key_id)
    return _key_out(request, key_id)


@router.post(
    "/keys/{key_id}/copy",
    dependencies=[require_scope("keys")],
    response_model=KeyOut,
    status_code=201,
    tags=["keys"],
    summary="The same key pair under another id (CloudFront's id for its public key)",
)
def copy_key(request: Request, key_id: str, body: KeyCopyIn) -> KeyOut:
    keyring = services_of(request).keyring
    return _key_out(request, keyring.copy_as(key_id, body.new_id, activate=body.activate))


def _key_out(request: Request, key_id: str) -> KeyOut:
    found = [k for k in services_of(request).grants.signing_keys() if k.key_id == key_id]
    if not found:
        raise NotFound(f"no key {key_id}")
    return _key(found[0])


@router.post(
    "/keys/{key_id}/retire",
    dependencies=[require_scope("keys")],
    response_model=KeyOut,
    tags=["keys"],
)
def retire_key(request: Request, key_id: str) -> KeyOut:
    services_of(request).keyring.retire(key_id)
    return _key_out(request, key_id)
