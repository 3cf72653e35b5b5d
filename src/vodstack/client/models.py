"""What the client returns: small frozen dataclasses, one per response schema.

Each class names the OpenAPI schema it reads (``SCHEMA``); tests/unit/client checks that
every field exists there, so a renamed server field fails CI, not a user's script.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self


@dataclass(frozen=True)
class _Model:
    SCHEMA: ClassVar[str] = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Asset(_Model):
    SCHEMA: ClassVar[str] = "AssetOut"
    id: str
    title: str
    status: str
    error: str | None = None
    duration: float | None = None
    published: bool = False
    drm: str = "clear"
    playback_policy: str = "signed"
    created_at: str = ""
    allow_download: bool = False
    playback: dict[str, str | None] = field(default_factory=dict)
    renditions: list[dict[str, Any]] = field(default_factory=list)
    job: dict[str, Any] | None = None
    extras: dict[str, Any] | None = None
    ladder: dict[str, Any] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    classification: str | None = None
    owner: str | None = None
    cost_center: str | None = None


@dataclass(frozen=True)
class AssetCreated(_Model):
    SCHEMA: ClassVar[str] = "AssetCreated"
    id: str
    status: str


@dataclass(frozen=True)
class Restored(_Model):
    SCHEMA: ClassVar[str] = "RestoredOut"
    id: str
    status: str
    job: str


@dataclass(frozen=True)
class Job(_Model):
    SCHEMA: ClassVar[str] = "JobOut"
    id: str
    asset_id: str
    kind: str
    lane: str
    state: str
    attempts: int
    max_attempts: int
    progress: float
    error: str | None
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None


@dataclass(frozen=True)
class Subscription(_Model):
    SCHEMA: ClassVar[str] = "SubscriptionOut"
    id: int
    subject: str
    plan: str
    cancelled: bool
    trial: bool = False
    starts_at: str | None = None
    expires_at: str | None = None
    created_at: str | None = None


@dataclass(frozen=True)
class Licence(_Model):
    SCHEMA: ClassVar[str] = "LicenceOut"
    id: int
    institution: str
    asset_id: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    created_at: str | None = None


@dataclass(frozen=True)
class ApiKey(_Model):
    SCHEMA: ClassVar[str] = "ApiKeyOut"
    id: str
    name: str
    scopes: list[str]
    created_at: str
    created_by: str
    last_used_at: str | None = None
    revoked_at: str | None = None


@dataclass(frozen=True)
class ApiKeyCreated(ApiKey):
    """A new key: ``token`` is shown this once."""

    SCHEMA: ClassVar[str] = "ApiKeyCreated"
    token: str = ""


@dataclass(frozen=True)
class Access(_Model):
    """An asset's access rules (``None``: no restriction of that kind)."""

    SCHEMA: ClassVar[str] = "AccessIn"
    plans: list[str] | None = None
    geo_allow: list[str] | None = None
    geo_deny: list[str] | None = None


@dataclass(frozen=True)
class Retained(_Model):
    """The master a deleted asset left behind."""

    SCHEMA: ClassVar[str] = "RetainedOut"
    id: str
    keys: list[str]
    size: int
    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Purged(_Model):
    SCHEMA: ClassVar[str] = "PurgedOut"
    id: str
    purged: bool
    keys: list[str]
    size: int


@dataclass(frozen=True)
class Event(_Model):
    SCHEMA: ClassVar[str] = "EventOut"
    id: int
    type: str
    asset_id: str | None
    created_at: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resent(_Model):
    SCHEMA: ClassVar[str] = "ResentOut"
    resent: list[str]


@dataclass(frozen=True)
class SigningKey(_Model):
    """A key of the trusted key group (signs playback cookies, or only verifies)."""

    SCHEMA: ClassVar[str] = "KeyOut"
    key_id: str
    algorithm: str
    status: str
    can_sign: bool
    created_at: str
    public_key_pem: str = ""


@dataclass(frozen=True)
class Operation(_Model):
    """A catalogue-wide operation and its progress."""

    SCHEMA: ClassVar[str] = "OperationOut"
    id: str
    kind: str
    params: dict[str, Any]
    state: str
    total: int
    done: int
    skipped: int
    failed: int
    remaining: int
    rate_per_s: float | None
    eta_s: float | None
    errors: dict[str, str]
    error: str | None
    created_at: str
    finished_at: str | None = None


#: Every model, for the OpenAPI check.
MODELS: tuple[type[_Model], ...] = (
    Asset,
    AssetCreated,
    Restored,
    Job,
    Subscription,
    Licence,
    ApiKey,
    ApiKeyCreated,
    Access,
    Retained,
    Purged,
    Event,
    Resent,
    SigningKey,
    Operation,
)
