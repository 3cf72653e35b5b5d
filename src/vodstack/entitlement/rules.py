"""Entitlement rules (pure): may this viewer play this asset now, and if not, which rule says no.

Order: geography first (a rights restriction no plan can lift), then access — an active
subscription to a plan the asset allows, or a licence held by the viewer's institution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AccessRules:
    plans: tuple[str, ...] | None  # None: any active plan; (): no plan grants access
    geo_allow: tuple[str, ...] | None
    geo_deny: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class SubscriptionFact:
    plan: str
    trial: bool
    cancelled: bool
    starts_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class LicenceFact:
    valid_from: datetime
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    rule: str | None = None  # e.g. "geo", "subscription_expired"
    message: str = ""


ALLOW = Decision(True)


def _active(start: datetime, end: datetime | None, now: datetime) -> bool:
    return start <= now and (end is None or now < end)


def check_geo(rules: AccessRules, country: str | None) -> Decision:
    if rules.geo_allow is None and rules.geo_deny is None:
        return ALLOW
    if country is None:
        # Fail closed: a geo-restricted title is not shown where we cannot tell the country.
        return Decision(False, "geo", "this title is geo-restricted and your country is unknown")
    country = country.upper()
    if rules.geo_deny is not None and country in rules.geo_deny:
        return Decision(False, "geo", f"this title is not available in {country}")
    if rules.geo_allow is not None and country not in rules.geo_allow:
        return Decision(False, "geo", f"this title is not available in {country}")
    return ALLOW


def decide(
    rules: AccessRules,
    *,
    country: str | None,
    subscriptions: Sequence[SubscriptionFact],
    licences: Sequence[LicenceFact],
    institution: str | None,
    now: datetime,
) -> Decision:
    geo = check_geo(rules, country)
    if not geo.allowed:
        return geo
    eligible = [s for s in subscriptions if rules.plans is None or s.plan in rules.plans]
    if any(not s.cancelled and _active(s.starts_at, s.expires_at, now) for s in eligible):
        return ALLOW
    if institution and any(_active(lic.valid_from, lic.valid_until, now) for lic in licences):
        return ALLOW
    if institution and licences:
        return Decision(
            False,
            "licence_expired",
            f"the licence of {institution} for this title is not valid today",
        )
    if eligible:
        lapsed = [s for s in eligible if not s.cancelled]
        if lapsed and all(s.expires_at is not None and s.expires_at <= now for s in lapsed):
            kind = "trial" if any(s.trial for s in lapsed) else "subscription"
            return Decision(False, "subscription_expired", f"your {kind} has expired")
        if all(s.cancelled for s in eligible):
            return Decision(False, "subscription_cancelled", "your subscription was cancelled")
        return Decision(False, "subscription_inactive", "your subscription has not started yet")
    if institution:
        return Decision(False, "licence", f"{institution} holds no licence for this title")
    plans = ", ".join(rules.plans) if rules.plans else "any plan"
    if rules.plans == ():
        plans = "an institutional licence"
    return Decision(False, "subscription", f"this title needs {plans}")
