"""Playable catalogues of any size in seconds (for bench/catalogue_scale.py).

Two tiny synthetic clips are transcoded once, for real (the product's own pipeline: ladder,
CMAF, fragment index, poster, storyboard), into an object store every catalogue shares. A
catalogue of N titles is then N asset rows whose rendition and picture rows are copies of
one of the two media sets, pointing at the same stored objects (by reference, as a CDN
origin holding deduplicated media would): every title is really playable, through /play,
the gate, the edge and the origin, while the rows are written with COPY in a few seconds.
Each title also gets its history (two finished jobs, two events), and every catalogue the
same 100,000 subscriptions and 1,000 institution licences.

Ids are random like the product's; ``created_at`` grows with the title number, so the
oldest title is #0.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select

from bench.common import make_clip
from vodstack.catalogue.models import Asset, AssetFile, Rendition
from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services, build_services
from vodstack.config import RungTemplate, Settings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
LADDER = (
    RungTemplate(height=144, maxrate_kbps=200),
    RungTemplate(height=240, maxrate_kbps=400),
    RungTemplate(height=360, maxrate_kbps=800),
)
GENRES = ("documentary", "lecture", "concert", "drama")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
PLANS = ("basic", "premium")
ALLOWED_COUNTRY = "GB"


def title_of(n: int) -> str:
    """Every title holds 'episode' (a query matching all) and a unique serial (matching one)."""
    return f"{GENRES[n % 4].title()} episode {n:07d}"


def rules_of(n: int) -> dict[str, Any]:
    """Access rules of title n: plans, geo allow or deny lists (all allow GB viewers)."""
    match n % 3:
        case 0:
            return {"plans": list(PLANS), "geo_allow": ["GB", "FR", "DE", "US"], "geo_deny": None}
        case 1:
            return {"plans": None, "geo_allow": None, "geo_deny": ["KP", "IR"]}
        case _:
            return {"plans": list(PLANS), "geo_allow": None, "geo_deny": None}


@dataclass
class MediaSet:
    """One transcoded title's rows, to copy for other titles."""

    asset: dict[str, Any]
    renditions: list[dict[str, Any]]
    files: list[dict[str, Any]]


def settings_for(home: Path, objects: Path, database_url: str | None = None) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "storage_url": f"file://{objects}",
        "ladder": LADDER,
        "x264_preset": "ultrafast",
        "log_level": "WARNING",
    }
    if database_url:
        values["database_url"] = database_url
    return Settings(**values)


def transcode_media_sets(root: Path, objects: Path) -> list[MediaSet]:
    """Two short clips through the real pipeline (ladder, then extras), once per run."""
    services = build_services(settings_for(root / "template", objects))
    ids = []
    for n, (seconds, size) in enumerate(((4, "640x360"), (6, "480x270"))):
        clip = make_clip(root / f"media{n}.mp4", seconds, size)
        ids.append(services.ingestor.ingest_file(clip, f"media set {n}"))
    pool = services.pipeline.pool(workers=1)
    pool.start()
    try:
        deadline = time.monotonic() + 600
        while not all(_extras_done(services, i) for i in ids):
            if time.monotonic() > deadline:
                raise SystemExit("the media sets did not transcode in 10 minutes")
            time.sleep(0.2)
    finally:
        pool.stop()
    sets = [_read_set(services, i) for i in ids]
    services.close()
    return sets


def _extras_done(services: Services, asset_id: str) -> bool:
    asset = services.catalogue.get_asset(asset_id)
    if asset.status == "failed":
        raise SystemExit(f"media set {asset_id} failed: {asset.error}")
    job = services.catalogue.latest_job(asset_id, "extras")
    return asset.status == "ready" and job is not None and job.state == "succeeded"


def _row(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def _read_set(services: Services, asset_id: str) -> MediaSet:
    with services.db.session() as session:
        asset = _row(session.get(Asset, asset_id))
        renditions = [
            _row(r)
            for r in session.scalars(select(Rendition).where(Rendition.asset_id == asset_id))
        ]
        files = [
            _row(f)
            for f in session.scalars(select(AssetFile).where(AssetFile.asset_id == asset_id))
        ]
    return MediaSet(asset, renditions, files)


# -- databases -----------------------------------------------------------------------------------
def create_database() -> tuple[str, str]:
    """A fresh PostgreSQL database: (name, SQLAlchemy URL)."""
    name = f"vodstack_scale_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return name, f"{base}/{name}"


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# -- rows ----------------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def copy_rows(
    conn: psycopg.Connection[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    n = 0
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_jsonable(v) for v in row])
            n += 1
    return n


@dataclass
class Catalogue:
    """One size's database, home and the ids it holds (oldest first)."""

    size: int
    db_name: str
    url: str
    home: Path
    ids: list[str]
    warmup: str  # one extra title, used only to warm fresh server processes


def build_catalogue(
    size: int,
    all_ids: Sequence[str],
    sets: Sequence[MediaSet],
    root: Path,
    objects: Path,
    *,
    subscriptions: int,
    licences: int,
) -> Catalogue:
    db_name, url = create_database()
    home = root / f"home-{size}"
    services = build_services(settings_for(home, objects, url))  # migrations, keys
    services.close()
    ids = list(all_ids[:size])
    warmup = new_id()
    with psycopg.connect(libpq_url(url)) as conn:
        _titles(conn, [*ids, warmup], sets)
        _viewers(conn, subscriptions)
        _licences(conn, all_ids, licences)
        conn.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # what autovacuum leaves a minute after a bulk load
    return Catalogue(size, db_name, url, home, ids, warmup)


def _titles(conn: psycopg.Connection[Any], ids: Sequence[str], sets: Sequence[MediaSet]) -> None:
    asset_cols = [c for c in sets[0].asset if c != "id"]
    rend_cols = [c for c in sets[0].renditions[0] if c != "id"]
    file_cols = [c for c in sets[0].files[0] if c != "id"] if sets[0].files else []

    def assets() -> Iterable[list[Any]]:
        for n, asset_id in enumerate(ids):
            row = dict(sets[n % len(sets)].asset)
            stamp = T0 + timedelta(seconds=n)
            row |= {
                "title": title_of(n),
                "created_at": stamp,
                "updated_at": stamp,
                "ready_at": stamp,
                **rules_of(n),
            }
            yield [asset_id, *(row[c] for c in asset_cols)]

    def renditions() -> Iterable[list[Any]]:
        for n, asset_id in enumerate(ids):
            for r in sets[n % len(sets)].renditions:
                yield [asset_id if c == "asset_id" else r[c] for c in rend_cols]

    def files() -> Iterable[list[Any]]:
        for n, asset_id in enumerate(ids):
            for f in sets[n % len(sets)].files:
                yield [asset_id if c == "asset_id" else f[c] for c in file_cols]

    def jobs() -> Iterable[list[Any]]:
        for n, asset_id in enumerate(ids):
            stamp = T0 + timedelta(seconds=n)
            for kind, queue in (("transcode", "ondemand"), ("extras", "backfill")):
                yield [new_id(), asset_id, kind, queue, "succeeded", 1, 3, 1.0, stamp, stamp, stamp]

    def events() -> Iterable[list[Any]]:
        for n, asset_id in enumerate(ids):
            stamp = T0 + timedelta(seconds=n)
            for type_ in ("source.created", "asset.ready"):
                yield [type_, asset_id, {}, stamp]

    copy_rows(conn, "assets", ["id", *asset_cols], assets())
    copy_rows(conn, "renditions", rend_cols, renditions())
    if file_cols:
        copy_rows(conn, "asset_files", file_cols, files())
    job_cols = ["id", "asset_id", "kind", "queue", "state", "attempts", "max_attempts"]
    job_cols += ["progress", "created_at", "started_at", "finished_at"]
    copy_rows(conn, "jobs", job_cols, jobs())
    copy_rows(conn, "events", ["type", "asset_id", "payload", "created_at"], events())


def subscriber(k: int) -> tuple[str, str, bool, bool, datetime | None]:
    """(subject, plan, trial, cancelled, expires): most active basic; some premium, some
    lapsed, some cancelled."""
    plan = "premium" if k % 10 == 9 else "basic"
    expires = T0 if k % 50 == 0 else None
    return f"viewer-{k}", plan, k % 20 == 1, k % 97 == 0, expires


def active_subscriber(k: int) -> str:
    while True:
        subject, _, _, cancelled, expires = subscriber(k)
        if not cancelled and expires is None:
            return subject
        k += 1


def _viewers(conn: psycopg.Connection[Any], count: int) -> None:
    cols = ["subject", "plan", "trial", "cancelled", "starts_at", "expires_at", "created_at"]
    rows = (
        [subject, plan, trial, cancelled, T0, expires, T0]
        for subject, plan, trial, cancelled, expires in map(subscriber, range(count))
    )
    copy_rows(conn, "subscriptions", cols, rows)


INSTITUTIONS = 100


def _licences(conn: psycopg.Connection[Any], all_ids: Sequence[str], count: int) -> None:
    """Licence k of institution ``inst-{k % 100}``: the first of each covers the whole
    catalogue, the others one title each (of the largest catalogue: the same rows at every
    size, some naming titles a smaller catalogue does not have)."""
    cols = ["institution", "asset_id", "valid_from", "valid_until", "created_at"]
    step = max(1, len(all_ids) // max(1, count))

    def licence(k: int) -> list[Any]:
        asset = None if k < INSTITUTIONS else all_ids[(k * step) % len(all_ids)]
        return [f"inst-{k % INSTITUTIONS}", asset, T0, None, T0]

    rows = (licence(k) for k in range(count))
    copy_rows(conn, "licences", cols, rows)
