"""The commands of docs/production.md that can run on one machine, run as printed (only the
example paths are swapped for temporary ones)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.e2e.conftest import free_port
from tests.fixtures.databases import postgres_available, postgres_database

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "production.md").read_text()
pytestmark = pytest.mark.slow


def block(lang: str, containing: str) -> str:
    """The fenced ``lang`` block of the guide that contains ``containing``."""
    found = [b for b in re.findall(rf"```{lang}\n(.*?)```", DOC, re.S) if containing in b]
    assert len(found) == 1, f"{lang} block with {containing!r}: {len(found)}"
    return found[0]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("VODSTACK_")}
    bindir = str(Path(sys.executable).parent)  # `vodstack` of this environment first
    return {**env, "PATH": f"{bindir}:{env.get('PATH', '')}", **extra}


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_install_line_names_extras_that_exist() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert '"/opt/vodstack-src[postgres,s3,celery]"' in block("bash", "python3 -m venv")
    assert {"postgres", "s3", "celery"} <= set(extras)
    assert 'pip install ".[postgres,s3,celery]"' in DOC


def test_config_file_check_and_show(tmp_path: Path) -> None:
    toml = tmp_path / "vodstack.toml"
    toml.write_text(block("toml", "database_url").replace("/srv/vodstack", str(tmp_path)))
    script = block("bash", "vodstack config check").replace(
        "/etc/vodstack/vodstack.toml", str(toml)
    )
    done = bash(script, tmp_path, clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ok: settings valid ({toml})")
    shown = dict(
        re.match(r"(\S+)\s+(.*?)\s+\((.*)\)$", line).groups()[:2]  # type: ignore[union-attr]
        for line in done.stdout.splitlines()[1:]
    )
    assert shown["database_url"] == '"postgresql+psycopg://vodstack:***@db.internal:5432/vodstack"'
    assert shown["admin_token"] == shown["metrics_token"] == '"***"'
    assert "PASSWORD" not in done.stdout

    # the two example error lines, as printed
    expected = (
        block("text", "unknown key prot").strip().replace("/etc/vodstack/vodstack.toml", str(toml))
    )
    with toml.open("a") as fh:
        fh.write("prot = 1\n")
    env = clean_env(VODSTACK_CONFIG=str(toml), VODSTACK_COOKIE_TTL_S="5")
    refused = bash("vodstack config check", tmp_path, env)
    assert refused.returncode == 2
    assert refused.stderr.strip() == expected


def test_sqlite_backup_and_restore(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = clean_env(VODSTACK_HOME=str(home))
    assert bash("vodstack assets list", tmp_path, env).returncode == 0  # makes the catalogue
    backup, restore = block("bash", '".backup').strip().splitlines()
    assert bash(backup, tmp_path, env).returncode == 0
    copy = sqlite3.connect(tmp_path / "catalogue-backup.db")
    tables = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"assets", "alembic_version"} <= tables
    copy.close()
    live = sqlite3.connect(home / "catalogue.db")
    live.execute("DROP TABLE alembic_version")
    live.commit()
    live.close()
    done = bash(restore, tmp_path, env)
    assert done.returncode == 0, done.stderr
    back = sqlite3.connect(home / "catalogue.db")
    assert back.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
    back.close()
    secrets = block("bash", "secrets-backup.tgz").strip()
    assert bash(secrets, tmp_path, env).returncode == 0
    assert (tmp_path / "secrets-backup.tgz").stat().st_mode & 0o777 == 0o600


@pytest.mark.services
@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL not on 127.0.0.1:5432")
def test_postgres_dump_and_restore(tmp_path: Path) -> None:
    with postgres_database() as url:
        env = clean_env(VODSTACK_DATABASE_URL=url, VODSTACK_HOME=str(tmp_path / "home"))
        assert bash("vodstack assets list", tmp_path, env).returncode == 0  # migrates
        dump, restore = block("bash", "pg_dump").strip().splitlines()
        done = bash(dump, tmp_path, env)
        assert done.returncode == 0, done.stderr
        plain = url.replace("+psycopg", "")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("DROP TABLE alembic_version")
        done = bash(restore, tmp_path, env)
        assert done.returncode == 0, done.stderr
        with psycopg.connect(plain) as conn:
            assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_following_one_request_through_the_log(tmp_path: Path) -> None:
    start, follow = block("bash", "jq -c").strip().splitlines()
    port = free_port()
    env = clean_env(VODSTACK_HOME=str(tmp_path / "home"), VODSTACK_PORT=str(port))
    server = subprocess.Popen(
        ["bash", "-c", start.removesuffix("&").strip()],
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.2)
        httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-Id": "trace-0001"})
        time.sleep(0.3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
    done = bash(follow, tmp_path, env)
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    assert '"path":"/healthz"' in line and '"request_id":"trace-0001"' in line
