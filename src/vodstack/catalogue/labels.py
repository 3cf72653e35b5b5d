"""What an asset is about, beyond its media: free key/value ``metadata``, ``tags``, and the
governance labels ``classification``, ``owner`` and ``cost_center`` (issue 18).

Metadata and tags live in two narrow tables (one row per key, one per tag) rather than a
JSON column: "assets tagged X" and "assets whose metadata K is V" are then indexed equality
lookups on SQLite and PostgreSQL alike. The governance labels are columns of ``assets``.

Limits are checked here, once, for every way in (upload form, tus ``Upload-Metadata``,
``PATCH /api/assets/{id}``, the CLI), so a bad label is a 400 with the reason before
anything is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ForeignKey, Index, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from vodstack.catalogue.db import Database
from vodstack.catalogue.models import Asset, Base
from vodstack.errors import InvalidInput, NotFound

MAX_METADATA_KEYS = 50
#: The metadata object as compact UTF-8 JSON, e.g. ``{"k":"v"}``.
MAX_METADATA_BYTES = 16 * 1024
MAX_VALUE_CHARS = 512  # a PostgreSQL btree entry stays under its ~2.7 kB limit
MAX_TAGS = 50
KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,63}")
GOVERNANCE_LIMITS = {"classification": 64, "owner": 255, "cost_center": 64}
# C0 controls other than tab/newline/carriage return: PostgreSQL refuses NUL in text, and
# none of them belongs in a label a person reads.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class AssetTag(Base):
    __tablename__ = "asset_tags"

    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class AssetMetadata(Base):
    __tablename__ = "asset_metadata"
    __table_args__ = (Index("ix_asset_metadata_key_value", "key", "value"),)

    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(MAX_VALUE_CHARS))


@dataclass(frozen=True)
class Labels:
    """Everything settable about an asset besides its media (all optional)."""

    metadata: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    classification: str | None = None
    owner: str | None = None
    cost_center: str | None = None

    def governance(self) -> dict[str, str | None]:
        return {
            "classification": self.classification,
            "owner": self.owner,
            "cost_center": self.cost_center,
        }

    def is_empty(self) -> bool:
        return not (self.metadata or self.tags or any(self.governance().values()))


@dataclass(frozen=True)
class LabelsPatch:
    """A change: ``metadata`` merges (RFC 7396: a null value removes the key), ``tags``
    replaces the list, a governance label set to None clears it. Unset fields stay."""

    metadata: Mapping[str, str | None] | None = None
    tags: Iterable[str] | None = None
    governance: Mapping[str, str | None] = field(default_factory=dict)

    def apply(self, current: Labels) -> Labels:
        metadata = dict(current.metadata)
        for key, value in (self.metadata or {}).items():
            if value is None:
                metadata.pop(key, None)
            else:
                metadata[key] = value
        values = current.governance()
        values.update(self.governance)
        return validate(
            metadata,
            current.tags if self.tags is None else list(self.tags),
            values,
        )


# -- validation (pure) -------------------------------------------------------------------------
def _text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string")
    if _CONTROL.search(value):
        raise InvalidInput(f"{what} contains control characters")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return value


def validate_metadata(metadata: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(metadata, Mapping):
        raise InvalidInput("metadata must be an object of string values")
    if len(metadata) > MAX_METADATA_KEYS:
        raise InvalidInput(
            f"metadata has {len(metadata)} keys; at most {MAX_METADATA_KEYS} are allowed"
        )
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
            raise InvalidInput(
                f"metadata key {str(key)[:70]!r} is not 1-64 letters, digits or _ . : - "
                "(starting with a letter or digit)"
            )
        out[key] = _text(value, f"metadata value of {key!r}", MAX_VALUE_CHARS)
    size = len(json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        raise InvalidInput(
            f"metadata is {size} bytes as JSON; at most {MAX_METADATA_BYTES} are allowed"
        )
    return dict(sorted(out.items()))


def validate_tags(tags: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(tags, str | bytes) or not isinstance(tags, Iterable):
        raise InvalidInput("tags must be a list of strings")
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
            raise InvalidInput(
                f"tag {str(tag)[:70]!r} is not 1-64 letters, digits or _ . : / + - "
                "(starting with a letter or digit)"
            )
        if tag not in out:
            out.append(tag)
        if len(out) > MAX_TAGS:
            raise InvalidInput(f"at most {MAX_TAGS} tags are allowed")
    return tuple(sorted(out))  # a set: stored and returned in one order


def validate_governance(values: Mapping[str, Any]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name, value in values.items():
        if name not in GOVERNANCE_LIMITS:
            raise InvalidInput(f"unknown label {name!r}; use {', '.join(GOVERNANCE_LIMITS)}")
        if value is None:
            out[name] = None
            continue
        text = _text(value, name, GOVERNANCE_LIMITS[name]).strip()
        out[name] = text or None
    return out


def validate(
    metadata: Mapping[str, Any] | None = None,
    tags: Iterable[Any] | None = None,
    governance: Mapping[str, Any] | None = None,
) -> Labels:
    """Checked labels, or InvalidInput (→ 400) naming the first problem."""
    values = validate_governance(governance or {})
    return Labels(
        metadata=validate_metadata(metadata or {}),
        tags=validate_tags(tags or ()),
        classification=values.get("classification"),
        owner=values.get("owner"),
        cost_center=values.get("cost_center"),
    )


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``k=v`` strings (CLI ``--meta``, form fields) to a dict; the value may be empty."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInput(f"{pair[:70]!r} is not key=value")
        out[key.strip()] = value
    return out


# -- storage -----------------------------------------------------------------------------------
def load(session: Session, assets: Iterable[Asset]) -> dict[str, Labels]:
    """Labels of several assets in two queries (a page of a listing)."""
    rows = list(assets)
    ids = [a.id for a in rows]
    metadata: dict[str, dict[str, str]] = {i: {} for i in ids}
    tags: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for asset_id, key, value in session.execute(
            select(AssetMetadata.asset_id, AssetMetadata.key, AssetMetadata.value)
            .where(AssetMetadata.asset_id.in_(ids))
            .order_by(AssetMetadata.asset_id, AssetMetadata.key)
        ):
            metadata[asset_id][key] = value
        for asset_id, tag in session.execute(
            select(AssetTag.asset_id, AssetTag.tag)
            .where(AssetTag.asset_id.in_(ids))
            .order_by(AssetTag.asset_id, AssetTag.tag)
        ):
            tags[asset_id].append(tag)
    return {
        a.id: Labels(
            metadata=metadata[a.id],
            tags=tuple(tags[a.id]),
            classification=a.classification,
            owner=a.owner,
            cost_center=a.cost_center,
        )
        for a in rows
    }


def write(session: Session, asset: Asset, labels: Labels) -> None:
    """Replace the asset's labels with ``labels`` (in the caller's transaction)."""
    session.execute(delete(AssetMetadata).where(AssetMetadata.asset_id == asset.id))
    session.execute(delete(AssetTag).where(AssetTag.asset_id == asset.id))
    session.add_all(
        AssetMetadata(asset_id=asset.id, key=k, value=v) for k, v in labels.metadata.items()
    )
    session.add_all(AssetTag(asset_id=asset.id, tag=t) for t in labels.tags)
    asset.classification = labels.classification
    asset.owner = labels.owner
    asset.cost_center = labels.cost_center


def as_json(labels: Labels) -> dict[str, Any]:
    """The API's and webhooks' view of the labels."""
    return {"metadata": dict(labels.metadata), "tags": list(labels.tags), **labels.governance()}


class LabelStore:
    """Reads and changes labels, one transaction per call."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def of(self, assets: Iterable[Asset]) -> dict[str, Labels]:
        with self.db.session() as session:
            return load(session, assets)

    def get(self, asset_id: str) -> Labels:
        with self.db.session() as session:
            asset = session.get(Asset, asset_id)
            if asset is None:
                raise NotFound(f"no asset {asset_id!r}")
            return load(session, [asset])[asset_id]

    def update(self, asset_id: str, patch: LabelsPatch) -> Labels:
        """Apply ``patch`` under a row lock (two concurrent patches both land)."""
        with self.db.session() as session:
            asset = session.get(Asset, asset_id, with_for_update=True)
            if asset is None:
                raise NotFound(f"no asset {asset_id!r}")
            labels = patch.apply(load(session, [asset])[asset_id])
            write(session, asset, labels)
            return labels

    def replace(self, asset_id: str, labels: Labels) -> None:
        with self.db.session() as session:
            asset = session.get(Asset, asset_id, with_for_update=True)
            if asset is None:
                raise NotFound(f"no asset {asset_id!r}")
            write(session, asset, labels)


#: Upload fields (multipart form fields, tus ``Upload-Metadata`` keys) that carry labels.
UPLOAD_FIELDS = ("metadata", "tags", "classification", "owner", "cost_center")
_MAX_FIELD_TEXT = 4 * MAX_METADATA_BYTES  # JSON escapes may quadruple the text


def from_fields(fields: Mapping[str, str]) -> Labels:
    """Labels from upload fields: ``metadata`` a JSON object of strings, ``tags`` comma-
    separated, the governance labels as text. Absent fields are empty."""
    metadata: Any = {}
    raw = fields.get("metadata")
    if raw:
        if len(raw) > _MAX_FIELD_TEXT:
            raise InvalidInput(f"metadata is over {MAX_METADATA_BYTES} bytes")
        try:
            metadata = json.loads(raw)
        except ValueError:
            raise InvalidInput('metadata must be a JSON object, e.g. {"show": "S1"}') from None
    tags = [t.strip() for t in fields.get("tags", "").split(",") if t.strip()]
    governance = {name: fields[name] for name in GOVERNANCE_LIMITS if fields.get(name)}
    return validate(metadata, tags, governance)


def labels_payload(db: Database, asset_id: str) -> dict[str, Any] | None:
    """The asset's labels as webhooks carry them (``data.asset``), None once it is gone."""
    try:
        return as_json(LabelStore(db).get(asset_id))
    except NotFound:
        return None
