"""Fuzzing in CI: property-based (hypothesis) over every target in targets.py, plus a short
coverage-guided (atheris) run of each. The long run is ``python -m bench.fuzz`` (≥ 100,000
inputs per target); only vodstack's own error types may escape either.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability import targets

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)

# ASCII digits and the ones str.isdigit() also accepts ("²", "¹" in latin-1; Arabic-Indic)
digits = st.text(st.sampled_from([*"0123456789", "\u00b2", "\u00b9", "\u0661"]), max_size=6)
range_headers = st.builds(
    lambda unit, eq, first, last, tail: f"{unit}{eq}{first}-{last}{tail}",
    st.sampled_from(["bytes", "BYTES", " bytes ", "items", ""]),
    st.sampled_from(["=", " = ", ""]),
    digits,
    digits,
    st.sampled_from(["", ",0-1", " ", "-"]),
)


@FUZZ
@given(st.binary(max_size=4096))
def test_isobmff_random_bytes(data: bytes) -> None:
    targets.run_one(targets.isobmff, data)


@FUZZ
@given(
    st.sampled_from([0, 1, 100, 2**20]),
    range_headers | st.text(max_size=40),
)
def test_range_parser_matches_the_reference(size: int, header: str) -> None:
    prefix = bytes([{0: 0, 1: 1, 100: 3, 2**20: 4}[size]]).rjust(7, b"\0")
    targets.run_one(targets.ranges, prefix + header.encode("latin-1", "replace"))


@FUZZ
@given(st.data())
def test_cookies_and_verifier_mutated_from_valid_grants(data: st.DataObject) -> None:
    seed = bytearray(data.draw(st.sampled_from(targets.seed_cookie_inputs())))
    for _ in range(data.draw(st.integers(0, 6))):
        op = data.draw(st.sampled_from(["set", "insert", "delete"]))
        at = data.draw(st.integers(0, max(0, len(seed) - 1)))
        if op == "set" and seed:
            seed[at] = data.draw(st.integers(0, 255))
        elif op == "insert":
            seed[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        elif seed:
            del seed[at : at + data.draw(st.integers(1, 16))]
    targets.run_one(targets.cookies, bytes(seed))


@FUZZ
@given(st.binary(max_size=600))
def test_cookies_and_verifier_random_bytes(data: bytes) -> None:
    targets.run_one(targets.cookies, data)


@FUZZ
@given(
    st.sampled_from(targets.seed_policy_inputs()).flatmap(
        lambda seed: st.tuples(st.just(seed), st.integers(0, len(seed)), st.binary(max_size=6))
    )
)
def test_policy_parser_round_trips(mutation: tuple[bytes, int, bytes]) -> None:
    seed, at, insert = mutation
    targets.run_one(targets.policy, seed[:at] + insert + seed[at + len(insert) :])


@settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.binary(min_size=8, max_size=1024))
def test_manifest_writers_round_trip_through_m3u8_and_mpegdash(data: bytes) -> None:
    targets.run_one(targets.manifests, data)


@pytest.mark.slow
def test_coverage_guided_short_run() -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris)")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fuzz.py"),
            "--inputs",
            "1500",
            "--engine",
            "atheris",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "total inputs: 7500" in proc.stdout
