"""Settings problems become one line each, naming the key and where it came from; the
servers refuse to start on them with the same lines; ``config show`` hides secrets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from vodstack.config import NON_SETTINGS_VARIABLES, SettingsInvalid, load_settings, problems

SECRET = "s3cr3t-admin-token-value"


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty working directory and no VODSTACK_* variables."""
    for name in list(os.environ):
        if name.upper().startswith("VODSTACK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VODSTACK_HOME", str(tmp_path / "home"))
    return tmp_path


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.upper().startswith("VODSTACK_")}
    return subprocess.run(
        [sys.executable, "-m", "vodstack.cli", *args],
        cwd=cwd,
        env={**base, "VODSTACK_HOME": str(cwd / "home"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_clean_settings_have_no_problems(clean: Path) -> None:
    assert problems() == []
    assert load_settings().port == 8000


def test_unknown_key_in_the_file_is_named_with_the_file(clean: Path) -> None:
    (clean / "vodstack.toml").write_text("prot = 9000\n")
    assert problems() == ["vodstack.toml: unknown key prot (did you mean port?)"]
    assert problems(strict=False) == []  # `config show` still shows the rest


def test_unknown_variable_is_named(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VODSTACK_ADMIN_TOKN", "x")
    assert problems() == [
        "VODSTACK_ADMIN_TOKN: unknown variable (did you mean VODSTACK_ADMIN_TOKEN?)"
    ]


def test_variables_that_are_not_settings_are_accepted(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in NON_SETTINGS_VARIABLES:
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("VODSTACK_CONFIG", str(clean / "vodstack.toml"))
    (clean / "vodstack.toml").write_text("")
    assert problems() == []


def test_bad_values_name_the_key_and_source(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean / "vodstack.toml").write_text(
        'port = "eighty"\nsegment_s = 3\nladder = [{height = 0, maxrate_kbps = 1, crf = 20}]\n'
    )
    monkeypatch.setenv("VODSTACK_COOKIE_TTL_S", "-5")
    monkeypatch.setenv("VODSTACK_ORIGIN_URLS", "http://a")  # a list needs JSON
    found = problems()
    assert len(found) == 5, found
    assert "VODSTACK_ORIGIN_URLS: origin_urls expects JSON here" in found[0]
    joined = "\n".join(found)
    assert "vodstack.toml: port: Input should be a valid integer" in joined
    assert "vodstack.toml: segment_s: segment_s (3) must be a multiple of fragment_s (2)" in joined
    assert "vodstack.toml: ladder[0].height: Input should be greater than 0" in joined
    assert "VODSTACK_COOKIE_TTL_S: cookie_ttl_s: Input should be greater than or equal" in joined
    with pytest.raises(SettingsInvalid) as caught:
        load_settings()
    assert caught.value.problems == found


def test_environment_wins_over_the_file_in_the_message(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean / "vodstack.toml").write_text("port = 8080\n")
    monkeypatch.setenv("VODSTACK_PORT", "99999")
    assert problems() == ["VODSTACK_PORT: port: Input should be less than or equal to 65535"]


def test_toml_syntax_error_is_one_line(clean: Path) -> None:
    (clean / "vodstack.toml").write_text("port = \n")
    [line] = problems()
    assert line.startswith("vodstack.toml: not valid TOML:") and "\n" not in line


def test_missing_config_file_named_by_variable(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VODSTACK_CONFIG", str(clean / "etc" / "vodstack.toml"))
    assert problems() == [
        f"VODSTACK_CONFIG: settings file {clean / 'etc' / 'vodstack.toml'} does not exist"
    ]


CASES = {
    "unknown-key": (
        "prot = 1\n",
        {},
        "error: vodstack.toml: unknown key prot (did you mean port?)",
    ),
    "unknown-variable": ("", {"VODSTACK_PROT": "1"}, "error: VODSTACK_PROT: unknown variable"),
    "bad-file-value": ('port = "x"\n', {}, "error: vodstack.toml: port: Input should be a valid"),
    "bad-env-value": ("", {"VODSTACK_PORT": "x"}, "error: VODSTACK_PORT: port: Input should be"),
}
RUNS = [(c, ["config", "check"]) for c in CASES] + [(c, ["serve"]) for c in CASES]
RUNS += [("unknown-key", ["worker"]), ("bad-env-value", ["demo"])]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "command"), RUNS, ids=[f"{' '.join(c)}-{k}" for k, c in RUNS])
def test_cli_refuses_with_one_line(tmp_path: Path, case: str, command: list[str]) -> None:
    """`config check` and the servers: exit 2, one line, no traceback (was: a typo ignored,
    a bad value a 46-line traceback)."""
    toml, env, expected = CASES[case]
    (tmp_path / "vodstack.toml").write_text(toml)
    proc = cli(tmp_path, *command, env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_config_check_ok(tmp_path: Path) -> None:
    (tmp_path / "vodstack.toml").write_text("port = 8080\n")
    proc = cli(tmp_path, "config", "check")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok: settings valid (vodstack.toml)"


def test_config_show_redacts_secrets_and_names_sources(tmp_path: Path) -> None:
    (tmp_path / "vodstack.toml").write_text(f'port = 8080\nwebhook_secret = "{SECRET}-hook"\n')
    env = {
        "VODSTACK_ADMIN_TOKEN": SECRET,
        "VODSTACK_DATABASE_URL": f"postgresql://vod:{SECRET}@db.internal/vodstack",
        "VODSTACK_ORIGIN_SECRETS": json.dumps([f"{SECRET}-1", f"{SECRET}-2"]),
        "VODSTACK_SIGNING_KEY_PASSPHRASE": f"{SECRET}-pass",
        "VODSTACK_METRICS_TOKEN": f"{SECRET}-metrics",
    }
    shown = cli(tmp_path, "config", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert SECRET not in shown.stdout + shown.stderr
    data = json.loads(shown.stdout)
    assert data["port"] == {"value": 8080, "source": "file", "from": "vodstack.toml"}
    assert data["admin_token"] == {
        "value": "***",
        "source": "env",
        "from": "VODSTACK_ADMIN_TOKEN",
    }
    assert data["database_url"]["value"] == "postgresql://vod:***@db.internal/vodstack"
    for name in ("webhook_secret", "origin_secrets", "signing_key_passphrase", "metrics_token"):
        assert data[name]["value"] == "***", name
    assert data["cookie_ttl_s"] == {"value": 300, "source": "default", "from": None}
    text = cli(tmp_path, "config", "show", env=env)
    assert text.returncode == 0 and SECRET not in text.stdout
    [port] = [line.split() for line in text.stdout.splitlines() if line.startswith("port ")]
    assert port == ["port", "8080", "(file:", "vodstack.toml)"]


@pytest.mark.slow
def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    """Was: the server's 70-frame Rust backtrace."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli(tmp_path, "serve", "--port", str(port))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "serving on" not in proc.stderr and "Traceback" not in proc.stderr
