"""Every hot query has an index: EXPLAIN on PostgreSQL shows no sequential scan of assets,
jobs, events, subscriptions, licences or playback sessions (issue #19).

The queries are not written out here: each hot path is *called* (the repository, the page
query, the operations engine, /play's lookups) and the SQL it sends is captured and
EXPLAINed with its own parameters, so a changed query is checked as it is. The tables hold
enough rows that the planner picks a sequential scan wherever no index serves the query;
``test_the_rows_are_enough_to_need_the_indexes`` proves it by dropping indexes in a
transaction that is rolled back. ``enable_seqscan = off`` is used only to say, in a failure
message, whether an index could have served the query.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from tests.conftest import make_settings
from tests.fixtures import catalogue_rows as rows
from tests.fixtures.databases import postgres_available, postgres_database

from vodstack.catalogue.listing import ASSETS as ASSET_LISTING
from vodstack.catalogue.operations import Operations
from vodstack.catalogue.paging import encode_cursor
from vodstack.catalogue.playback import PlaybackSessions
from vodstack.compose.services import Services, build_services
from vodstack.costs.service import CostService
from vodstack.edge.policy import PlaybackPolicies
from vodstack.edge.service import PURGING_EVENTS
from vodstack.jobs import operations as engine
from vodstack.jobs.bulk_enqueue import enqueue_transcodes
from vodstack.jobs.webhooks import WEBHOOK_ATTEMPT
from vodstack.web.api_qoe import MAX_SESSIONS

pytestmark = pytest.mark.services

# Not ``operations``: a handful of rows for the life of an installation; a scan is right.
GUARDED = {"assets", "jobs", "events", "subscriptions", "licences", "playback_sessions"}
ASSETS = 8_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, list[str]]]:
    if not postgres_available():
        pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432 (it runs in CI)")
    home = tmp_path_factory.mktemp("plans") / "home"
    with postgres_database() as url:
        services = build_services(make_settings(home, database_url=url))
        db = services.db
        ids = rows.add_assets(db, ASSETS)
        rows.add_assets(db, 300, start=ASSETS, status="failed")
        rows.add_jobs(db, ids)  # one finished transcode per title
        rows.add_jobs(db, ids[:2000], state="queued")  # a backfill in progress
        rows.add_jobs(db, ids[2000:2040], state="running")
        rows.add_jobs(db, ids[3000:3020], state="dead")
        rows.add_events(db, ids)
        rows.add_events(db, ids[:20], type_=WEBHOOK_ATTEMPT)
        rows.add_subscriptions(db, ASSETS)
        rows.add_licences(db, ids[:2000])
        rows.add_sessions(db, ids)
        for _ in range(3):
            Operations(db).create("retranscode", {}, ASSETS)
        rows.analyze(db)
        try:
            yield services, ids
        finally:
            services.close()


@contextmanager
def captured(services: Services) -> Iterator[list[tuple[str, Any]]]:
    """The statements the block sends (SQL text with driver placeholders, parameters)."""
    sent: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            sent.append((statement, parameters))

    event.listen(services.db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(services.db.engine, "before_cursor_execute", record)


def plan_of(services: Services, statement: str, parameters: Any, *, seqscan: bool = True) -> Any:
    with services.db.engine.connect() as connection:
        if not seqscan:
            connection.exec_driver_sql("SET enable_seqscan = off")
        raw = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        plan = raw.scalar()
        connection.rollback()
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def seq_scans(plan: dict[str, Any]) -> list[str]:
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") in GUARDED:
        found.append(plan["Relation Name"])
    for child in plan.get("Plans", ()):
        found += seq_scans(child)
    return found


def hot_paths(services: Services, ids: list[str]) -> dict[str, Callable[[], object]]:
    c, g = services.catalogue, services.grants
    kind = engine.KINDS["retranscode"]
    deep = c.get_asset(ids[100])
    policies = PlaybackPolicies(c)

    def page(**params: str) -> object:  # the admin API's asset listing (GET /api/assets)
        return ASSET_LISTING.page(
            services.db, ASSET_LISTING.parse({k: [v] for k, v in params.items()})
        )

    recent = rows.T0 + timedelta(seconds=ASSETS - 50)  # the newest 50 sessions
    sessions = PlaybackSessions(services.db)
    costs = CostService(services.settings, services.db, services.store)
    first = ASSET_LISTING.parse({"limit": ["50"]}).page
    deep_cursor = encode_cursor(first.sort, [deep.created_at, deep.id], first.fingerprint)
    return {
        "asset by id": lambda: c.get_asset(ids[5]),
        "playback policy (edge gate)": lambda: policies.is_public(ids[6]),
        "asset page, first": lambda: page(limit="50"),
        "asset page, deep": lambda: page(limit="50", cursor=deep_cursor),
        "asset page, oldest first": lambda: page(sort="created"),
        "asset page, failed only": lambda: page(limit="50", status="failed"),
        "search, one title": lambda: page(q="#012345"),
        "search, a common word": lambda: page(q="harbour"),
        "search, an id": lambda: page(q=ids[7]),
        "claim the next job": lambda: c.claim_job("test:1", 30),
        "claim a job of one asset": lambda: c.claim_job("test:1", 30, asset_id=ids[8]),
        "queue depths (/metrics)": services.pipeline.queue_depths,
        "requeue lapsed leases": c.requeue_expired,
        "running leases of a host": lambda: c.running_leases("nohost:"),
        "latest job of an asset": lambda: c.latest_job(ids[9]),
        "dead-letter queue": lambda: c.list_jobs(state="dead", limit=100),
        "jobs, newest first": lambda: c.list_jobs(limit=100),
        "enqueue a job": lambda: c.enqueue_job(ids[10], max_attempts=3),
        "purge follow (edges)": lambda: c.events_after(c.last_event_id() - 50, PURGING_EVENTS),
        "webhook attempts": lambda: c.events(None, 20, types=[WEBHOOK_ATTEMPT]),
        "events of an asset": lambda: c.events(ids[11], 20),
        "subscriptions of a viewer (/play)": lambda: g.subscriptions("viewer-12345"),
        "licences of an institution (/play)": lambda: g.licences("inst-7", ids[1007]),
        "operation: next batch": lambda: engine.next_ids(services, kind, {}, ids[12]),
        "operation: batch enqueue": lambda: enqueue_transcodes(services, ids[20:30]),
        "operations in progress (/metrics)": lambda: Operations(services.db).active(),
        "operations whose driver died": lambda: Operations(services.db).stale(),
        "QoE report, recent sessions": lambda: sessions.recent_totals(
            since=recent, limit=MAX_SESSIONS + 1
        ),
        "cost report, sessions since": lambda: costs.sessions(None, recent),
    }


#: Rows a hot query may read (scan nodes: rows returned + removed by filters and rechecks):
#: a walk of an index over the whole table reads 8,000-16,000 here. Counting the queued jobs
#: is O(queued) by definition (the fixture queues 2,000); a batch reads its 500 ids.
ROW_BUDGET = 1000
BUDGETS = {"queue depths (/metrics)": 2100}


def rows_read(plan: dict[str, Any]) -> int:
    read = 0
    if plan.get("Relation Name") in GUARDED or "Index Name" in plan:
        per_loop = plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)
        per_loop += plan.get("Rows Removed by Index Recheck", 0)
        read = per_loop * plan.get("Actual Loops", 1)
    return read + sum(rows_read(child) for child in plan.get("Plans", ()))


def analyzed(services: Services, statement: str, parameters: Any) -> Any:
    """EXPLAIN ANALYZE runs the statement: in a transaction that is rolled back."""
    with services.db.engine.connect() as connection:
        raw = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
        plan = raw.scalar()
        connection.rollback()
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def test_hot_queries_read_a_bounded_number_of_rows(big: tuple[Services, list[str]]) -> None:
    """No sequential scan is not enough: walking a whole index is O(N) too."""
    services, ids = big
    failures = []
    for name, call in hot_paths(services, ids).items():
        with captured(services) as sent:
            call()
        for statement, parameters in sent:
            read = rows_read(analyzed(services, statement, parameters))
            if read > BUDGETS.get(name, ROW_BUDGET):
                failures.append(f"{name}: reads {read} rows\n    {statement}")
    assert not failures, "\n".join(failures)


def test_hot_queries_use_indexes(big: tuple[Services, list[str]]) -> None:
    services, ids = big
    checked, failures = 0, []
    for name, call in hot_paths(services, ids).items():
        with captured(services) as sent:
            call()
        assert sent, f"{name}: no query captured"
        for statement, parameters in sent:
            checked += 1
            scans = seq_scans(plan_of(services, statement, parameters))
            if scans:
                forced = seq_scans(plan_of(services, statement, parameters, seqscan=False))
                why = "no index can serve it" if forced else "an index exists but costs more"
                failures.append(f"{name}: Seq Scan on {scans} ({why})\n    {statement}")
    assert not failures, "\n".join(failures)
    assert checked >= 30


@pytest.mark.parametrize(
    ("name", "indexes", "table"),
    [
        ("asset page, first", ["ix_assets_created_at_id", "ix_assets_status_created"], "assets"),
        (
            "claim the next job",
            ["ix_jobs_state_queue_created", "ix_jobs_state", "ix_jobs_created_at_id"],
            "jobs",
        ),
        ("subscriptions of a viewer (/play)", ["ix_subscriptions_subject"], "subscriptions"),
        (
            "licences of an institution (/play)",
            ["ix_licences_institution", "ix_licences_asset_id"],
            "licences",
        ),
        ("webhook attempts", ["ix_events_type_id", "ix_events_type"], "events"),
        (
            "QoE report, recent sessions",
            ["ix_playback_sessions_started_at"],
            "playback_sessions",
        ),
    ],
)
def test_the_rows_are_enough_to_need_the_indexes(
    big: tuple[Services, list[str]], name: str, indexes: list[str], table: str
) -> None:
    """Without its index the query would scan the table: the rows above are enough for the
    planner to tell, so the test above can fail."""
    services, ids = big
    call = hot_paths(services, ids)[name]
    with captured(services) as sent:
        call()
    statement, parameters = sent[0]
    with services.db.engine.connect() as connection:
        for index in indexes:
            connection.exec_driver_sql(f"DROP INDEX {index}")
        plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar()
        connection.rollback()  # the indexes come back
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert table in seq_scans(plan[0]["Plan"]), json.dumps(plan, indent=1)


def test_no_seq_scan_helper_sees_nested_plans(tmp_path: Path) -> None:
    nested = {"Node Type": "Limit", "Plans": [{"Node Type": "Seq Scan", "Relation Name": "jobs"}]}
    assert seq_scans(nested) == ["jobs"]
    assert seq_scans({"Node Type": "Seq Scan", "Relation Name": "renditions"}) == []
