"""Catalogue operations for entitlement: subscriptions, licences, asset access rules, keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update

from vodstack.catalogue.db import Database
from vodstack.catalogue.models import Asset, Licence, SigningKey, Subscription, utcnow
from vodstack.errors import Conflict, NotFound


class Grants:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- subscriptions ----------------------------------------------------------------------
    def subscribe(
        self,
        subject: str,
        plan: str,
        *,
        expires_at: datetime | None = None,
        starts_at: datetime | None = None,
        trial: bool = False,
    ) -> Subscription:
        sub = Subscription(
            subject=subject,
            plan=plan,
            trial=trial,
            starts_at=starts_at or utcnow(),
            expires_at=expires_at,
        )
        with self.db.session() as session:
            session.add(sub)
            session.flush()
        return sub

    def cancel(self, subject: str, plan: str | None = None) -> int:
        """Cancel the subject's subscriptions (one plan or all); returns how many."""
        with self.db.session() as session:
            stmt = update(Subscription).where(
                Subscription.subject == subject, Subscription.cancelled.is_(False)
            )
            if plan is not None:
                stmt = stmt.where(Subscription.plan == plan)
            return session.execute(stmt.values(cancelled=True)).rowcount

    def cancel_subscription(self, subscription_id: int) -> Subscription:
        """Cancel one subscription (kept, marked cancelled, as ``cancel`` does); idempotent."""
        with self.db.session() as session:
            sub = session.get(Subscription, subscription_id)
            if sub is None:
                raise NotFound(f"no subscription {subscription_id}")
            sub.cancelled = True
            session.flush()
            return sub

    def delete_subscription(self, subscription_id: int) -> None:
        with self.db.session() as session:
            sub = session.get(Subscription, subscription_id)
            if sub is None:
                raise NotFound(f"no subscription {subscription_id}")
            session.delete(sub)

    def subscriptions(self, subject: str | None = None) -> list[Subscription]:
        with self.db.session() as session:
            stmt = select(Subscription).order_by(Subscription.id)
            if subject is not None:
                stmt = stmt.where(Subscription.subject == subject)
            return list(session.scalars(stmt))

    # -- licences ---------------------------------------------------------------------------
    def license(
        self,
        institution: str,
        asset_id: str | None,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> Licence:
        lic = Licence(
            institution=institution,
            asset_id=asset_id,
            valid_from=valid_from or utcnow(),
            valid_until=valid_until,
        )
        with self.db.session() as session:
            session.add(lic)
            session.flush()
        return lic

    def revoke_licences(self, institution: str, asset_id: str | None = None) -> int:
        with self.db.session() as session:
            stmt = Licence.__table__.delete().where(Licence.institution == institution)
            if asset_id is not None:
                stmt = stmt.where(Licence.asset_id == asset_id)
            return session.execute(stmt).rowcount

    def delete_licence(self, licence_id: int) -> None:
        with self.db.session() as session:
            lic = session.get(Licence, licence_id)
            if lic is None:
                raise NotFound(f"no licence {licence_id}")
            session.delete(lic)

    def licences(
        self, institution: str | None = None, asset_id: str | None = None
    ) -> list[Licence]:
        """Licences of an institution; with ``asset_id``, those covering that asset."""
        with self.db.session() as session:
            stmt = select(Licence).order_by(Licence.id)
            if institution is not None:
                stmt = stmt.where(Licence.institution == institution)
            if asset_id is not None:
                stmt = stmt.where(or_(Licence.asset_id == asset_id, Licence.asset_id.is_(None)))
            return list(session.scalars(stmt))

    # -- asset access rules -----------------------------------------------------------------
    def set_access(
        self,
        asset_id: str,
        *,
        plans: Sequence[str] | None,
        geo_allow: Sequence[str] | None,
        geo_deny: Sequence[str] | None,
    ) -> None:
        with self.db.session() as session:
            result = session.execute(
                update(Asset)
                .where(Asset.id == asset_id)
                .values(
                    plans=None if plans is None else list(plans),
                    geo_allow=None if geo_allow is None else [c.upper() for c in geo_allow],
                    geo_deny=None if geo_deny is None else [c.upper() for c in geo_deny],
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"no asset {asset_id!r}")

    # -- signing keys -----------------------------------------------------------------------
    def signing_keys(self) -> list[SigningKey]:
        with self.db.session() as session:
            return list(session.scalars(select(SigningKey).order_by(SigningKey.created_at)))

    def add_key(self, key: SigningKey) -> None:
        with self.db.session() as session:
            if session.get(SigningKey, key.key_id) is not None:
                raise Conflict(f"key {key.key_id} already exists")
            session.add(key)

    def activate_key(self, key_id: str) -> None:
        """Make ``key_id`` the signing key; the previous one stays trusted (still verifies)."""
        with self.db.session() as session:
            key = session.get(SigningKey, key_id, with_for_update=True)
            if key is None:
                raise NotFound(f"no key {key_id}")
            if key.status == "retired":
                raise Conflict(f"key {key_id} is retired")
            if not key.has_private:
                raise Conflict(f"key {key_id} has no private key here; it can only verify")
            session.execute(
                update(SigningKey).where(SigningKey.status == "active").values(status="trusted")
            )
            key.status = "active"

    def retire_key(self, key_id: str) -> None:
        with self.db.session() as session:
            key = session.get(SigningKey, key_id, with_for_update=True)
            if key is None:
                raise NotFound(f"no key {key_id}")
            if key.status == "active":
                raise Conflict(f"key {key_id} signs new cookies: rotate to another key first")
            key.status = "retired"
            key.retired_at = utcnow()
