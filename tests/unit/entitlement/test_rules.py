"""Entitlement rules (pure): each denial names its rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vodstack.entitlement.rules import AccessRules, LicenceFact, SubscriptionFact, decide

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ANY = AccessRules(plans=None, geo_allow=None, geo_deny=None)


def sub(
    plan="basic",
    *,
    days_left: float | None = 30,
    trial=False,
    cancelled=False,
    started_days_ago: float = 1,
) -> SubscriptionFact:
    return SubscriptionFact(
        plan,
        trial,
        cancelled,
        NOW - timedelta(days=started_days_ago),
        None if days_left is None else NOW + timedelta(days=days_left),
    )


def run(rules=ANY, subs=(), lics=(), institution=None, country="DE"):
    return decide(
        rules,
        country=country,
        subscriptions=list(subs),
        licences=list(lics),
        institution=institution,
        now=NOW,
    )


def test_active_subscription_allows() -> None:
    assert run(subs=[sub()]).allowed
    assert run(subs=[sub(days_left=None)]).allowed


def test_trial_that_ended_ten_minutes_ago_is_denied() -> None:
    d = run(subs=[sub(trial=True, days_left=-10 / 1440)])
    assert (d.allowed, d.rule) == (False, "subscription_expired")
    assert "trial" in d.message


def test_cancelled_and_future_subscriptions() -> None:
    assert run(subs=[sub(cancelled=True)]).rule == "subscription_cancelled"
    assert run(subs=[sub(started_days_ago=-1)]).rule == "subscription_inactive"


def test_plan_must_be_allowed_by_the_asset() -> None:
    rules = AccessRules(plans=("premium",), geo_allow=None, geo_deny=None)
    d = run(rules, subs=[sub("basic")])
    assert d.rule == "subscription"
    assert "premium" in d.message
    assert run(rules, subs=[sub("basic"), sub("premium")]).allowed


def test_no_subscription() -> None:
    assert run().rule == "subscription"


def test_licence_of_the_institution() -> None:
    ok = LicenceFact(NOW - timedelta(days=1), NOW + timedelta(days=1))
    expired = LicenceFact(NOW - timedelta(days=10), NOW - timedelta(days=1))
    assert run(lics=[ok], institution="Uni").allowed
    assert run(lics=[expired], institution="Uni").rule == "licence_expired"
    assert run(lics=[], institution="Uni").rule == "licence"
    assert not run(lics=[ok], institution=None).allowed  # a licence needs the claim


def test_licence_only_titles() -> None:
    rules = AccessRules(plans=(), geo_allow=None, geo_deny=None)
    assert run(rules, subs=[sub()]).rule == "subscription"
    lic = LicenceFact(NOW - timedelta(days=1), None)
    assert run(rules, lics=[lic], institution="Uni").allowed


@pytest.mark.parametrize(
    ("allow", "deny", "country", "allowed"),
    [
        (("DE", "AT"), None, "DE", True),
        (("DE", "AT"), None, "FR", False),
        (None, ("FR",), "FR", False),
        (None, ("FR",), "de", True),
        (("DE",), ("DE",), "DE", False),  # deny wins
        (("DE",), None, None, False),  # unknown country fails closed
        (None, None, None, True),  # no geo rule: country irrelevant
    ],
)
def test_geo(allow, deny, country, allowed) -> None:
    d = run(AccessRules(None, allow, deny), subs=[sub()], country=country)
    assert d.allowed is allowed
    if not allowed:
        assert d.rule == "geo"


def test_geo_is_checked_before_access() -> None:
    assert run(AccessRules(None, ("US",), None), country="DE").rule == "geo"
