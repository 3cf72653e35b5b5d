"""Entitlement benchmark: POST /play throughput and latency, and the cost of verifying the
grant on every segment request — signed cookie, and the same grant as a path token
(``/v1/{id}/t/{token}/…``) — against the same request with verification disabled.

    python bench/entitlement.py [--seconds 2] [--rounds 8] [--sets 3]

Target: verification overhead < 5 % per segment request, for both credentials.

The servers run the same ASGI factory under the same server (``bench._apps``: the steps of
``vodstack.web.app:app_factory``, what ``vodstack serve`` runs in its worker, and the same
with verification off), so the gate is the only difference; a **control** serves the open
app plus a no-op loop of the check's in-process cost, to show what the method reads for a
known cost. Each server also times the gate's check where it runs (``/_bench/gate``): the
check's own cost under load, which no run-to-run drift touches.

The difference looked for is a few microseconds on a ~100 µs request, less than a shared
VM's run-to-run noise, so the method is built against noise (BENCHMARKS.md, entitlement):
each server runs on one core and wrk on the other (``taskset``); each comparison (cookie
gated/open, token gated/open, control/open) is a pair of runs back to back, in a random
order, at saturation for ``--seconds``; the overhead is the median over all pairs of the
ratio of server CPU per request, with a 95 % bootstrap interval of that median; and
``--sets`` fresh sets of server processes average out what one process's memory layout adds
or saves.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    CpuRun,
    Prepared,
    median_of,
    play_grant,
    prepare_asset,
    server,
    split_cores,
    wrk,
    wrk_cpu,
)


def gate_cost_us(
    base: str, asset_id: str, paths: dict[str, tuple[str, dict[str, str]]]
) -> dict[str, tuple[float, float]]:
    """In this process, the gate's check of each credential (best of 5 × 20,000): the Python
    a gated request runs that an open one does not. ``paths``: name -> (path, headers) as
    sent to the server at ``base`` (whose public URL the grant names)."""
    from starlette.requests import Request

    from vodstack.compose.delivery import build_delivery
    from vodstack.compose.services import build_services
    from vodstack.config import Settings
    from vodstack.entitlement import pathtoken

    os.environ["VODSTACK_PORT"] = base.rsplit(":", 1)[1]
    services = build_services(Settings())
    gate = build_delivery(services).gate
    costs = {}
    for name, (path, headers) in paths.items():
        raw = [(b"host", base.split("//")[1].encode())]
        raw += [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode()}
        scope |= {"query_string": b"", "headers": raw, "client": ("127.0.0.1", 50000)}
        request = Request(scope)
        token, _ = pathtoken.split(path.split(f"/{asset_id}/", 1)[1])
        gate.check(request, asset_id, token)  # allowed (raises otherwise), and now known
        check = functools.partial(gate.check, request, asset_id, token)
        warm = min(timeit.repeat(check, number=20_000, repeat=5)) / 20_000 * 1e6
        costs[name] = (warm, cold_cost_us(check))
    services.close()
    return costs


def cold_cost_us(call: Callable[[], object], calls: int = 2_000) -> float:
    """Median µs of ``call`` right after 4 MB went through the CPU caches (less the same for
    a call that does nothing)."""
    flood = bytearray(4 << 20)

    def median(fn: Callable[[], object]) -> float:
        took = []
        for _ in range(calls):
            bytes(flood)  # evicts what the call's code and objects left in the caches
            start = time.perf_counter()
            fn()
            took.append(time.perf_counter() - start)
        return statistics.median(took) * 1e6

    return median(call) - median(lambda: None)


#: comparison -> (the case measured, its baseline): what each pair of adjacent runs compares
PAIRS = {
    "cookie": ("cookie gated", "cookie open"),
    "token": ("token gated", "token open"),
    "control": ("cookie control", "cookie open"),
}


def overhead(pairs: list[tuple[CpuRun, CpuRun]], seed: int = 15) -> tuple[float, float, float]:
    """Median over pairs of (measured, baseline) runs of the ratio of their server CPU per
    request, minus one, with a 95 % bootstrap interval of that median (percent)."""
    ratios = [a.cpu_us_per_request / b.cpu_us_per_request - 1 for a, b in pairs]
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2_000))
    low, high = medians[len(medians) // 40], medians[-len(medians) // 40 - 1]
    return statistics.median(ratios) * 100, low * 100, high * 100


def check_ns(base: str) -> tuple[int, int]:
    """Nanoseconds spent in the gate's check of the server at ``base`` so far, and calls."""
    totals = httpx.get(f"{base}/_bench/gate", timeout=10).json()
    return totals["ns"], totals["calls"]


def measure_set(
    prep: Prepared,
    spin_env: dict[str, str],
    rest: str,
    seconds: int,
    rounds: int,
    cores: tuple[str, str] | None,
    order: random.Random,
    pairs: dict[str, list[tuple[CpuRun, CpuRun]]],
    checks: dict[str, list[float]],
) -> None:
    """One fresh set of servers (gated, open, control) on the server core: ``rounds`` rounds
    of every comparison in :data:`PAIRS`, each appended to ``pairs``; the µs per call of the
    gate's check in each run, timed in the server, to ``checks[case]``."""
    server_cpu, load_cpu = cores if cores is not None else (None, None)
    segment = f"/v1/{prep.asset_id}/{rest}"
    with (
        server(prep.env, "bench._apps:gated_factory", cpus=server_cpu) as gated,
        server(prep.env, "bench._apps:open_gate_factory", cpus=server_cpu) as open_,
        server(spin_env, "bench._apps:spin_gate_factory", cpus=server_cpu) as control,
    ):
        cookie, token_base = play_grant(gated, prep.asset_id, prep.token)
        cookies = {"Cookie": cookie}
        # the token URL is ~600 bytes longer: its base is the same URL with no check
        tokened = f"{token_base}/{rest}"
        cases = {  # name -> (server, path, headers)
            "cookie gated": (gated, segment, cookies),
            "cookie open": (open_, segment, cookies),
            "token gated": (gated, tokened, {}),
            "token open": (open_, tokened, {}),
            "cookie control": (control, segment, cookies),
        }
        for base, path, headers in cases.values():  # warm: caches, first requests
            wrk(base + path, seconds=1, headers=headers, cpus=load_cpu)
        for _ in range(rounds):
            names = list(PAIRS)
            order.shuffle(names)  # no comparison always follows the same one
            for name in names:
                # the two runs of a comparison back to back, in a random order: the machine
                # drifts less between them than across a round
                two = list(PAIRS[name])
                order.shuffle(two)
                runs: dict[str, CpuRun] = {}
                for case in two:
                    base, path, headers = cases[case]
                    before = check_ns(base)
                    runs[case] = wrk_cpu(
                        base, path, seconds=seconds, headers=headers, cpus=load_cpu
                    )
                    ns, calls = (a - b for a, b in zip(check_ns(base), before, strict=True))
                    checks.setdefault(case, []).append(ns / max(calls, 1) / 1e3)
                measured, baseline = PAIRS[name]
                pairs[name].append((runs[measured], runs[baseline]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=2, help="one wrk run")
    parser.add_argument("--rounds", type=int, default=8, help="rounds per set of servers")
    parser.add_argument("--sets", type=int, default=3, help="fresh sets of server processes")
    args = parser.parse_args()
    cores = split_cores()
    order = random.Random(15)
    with tempfile.TemporaryDirectory(prefix="vodstack-bench-") as tmp:
        prep = prepare_asset(Path(tmp) / "home")
        script = Path(tmp) / "play.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.headers["Authorization"] = "Bearer {prep.token}"\n'
        )
        rest = "r1-4s/v360/2.m4s"
        segment = f"/v1/{prep.asset_id}/{rest}"
        with server(prep.env, "vodstack.web.app:app_factory") as minting:  # as served: unpinned
            mint = median_of(
                [
                    wrk(
                        f"{minting}/play/{prep.asset_id}",
                        seconds=5,
                        connections=8,
                        script=script,
                    )
                    for _ in range(3)
                ]
            )
            cookie, token_base = play_grant(minting, prep.asset_id, prep.token)
            costs = gate_cost_us(
                minting,
                prep.asset_id,
                {"cookie": (segment, {"Cookie": cookie}), "token": (f"{token_base}/{rest}", {})},
            )
        spin = {**prep.env, "BENCH_SPIN_US": f"{costs['cookie'][0]:.3f}"}
        pairs: dict[str, list[tuple[CpuRun, CpuRun]]] = {name: [] for name in PAIRS}
        checks: dict[str, list[float]] = {}
        for _ in range(args.sets):
            measure_set(prep, spin, rest, args.seconds, args.rounds, cores, order, pairs, checks)
        print("POST /play (JWT verify + rules + RSA-SHA1 sign), 8 connections, median of 3 × 5 s")
        print(
            f"  {mint.rps:8.0f} mints/s   p50 {mint.p50_ms:6.1f} ms   p99 {mint.p99_ms:6.1f} ms"
            f"   non-2xx {mint.errors}"
        )
        for name, (warm, cold) in costs.items():
            print(f"{name} check in process: {warm:.2f} µs warm, {cold:.1f} µs with cold caches")
        print(f"control: the open app + {costs['cookie'][0]:.2f} µs of no-op Python per request")
        pinning = (
            f"servers on core {cores[0]}, wrk on core {cores[1]}"
            if cores is not None
            else "not pinned: one core"
        )
        print(
            f"segment GET {segment.rsplit('/', 3)[-3:]}, saturated (wrk, 32 connections), "
            f"{args.sets} sets × {args.rounds} rounds × {args.seconds} s; {pinning}"
        )
        print(f"  {'':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'CPU µs/req':>12}")
        for name, (measured, baseline) in PAIRS.items():
            for case, side in ((measured, 0), (baseline, 1)):
                side_runs = [pair[side] for pair in pairs[name]]
                r = median_of([x.wrk for x in side_runs])
                cpu = statistics.median(x.cpu_us_per_request for x in side_runs)
                print(
                    f"  {case:<18}{r.rps:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{r.errors:>9}"
                    f"{cpu:>12.1f}"
                )
        if len(pairs["control"]) < 12:
            print(f"only {len(pairs['control'])} pairs: too few to read an interval from")
        open_us = statistics.median(b.cpu_us_per_request for _, b in pairs["control"])
        expected = costs["cookie"][0] / open_us * 100
        mid, low, high = overhead(pairs["control"])
        print(
            f"control (known cost {expected:.1f} %): {mid:+.1f} % server CPU per request "
            f"(95 % interval {low:+.1f} … {high:+.1f})"
        )
        timer = statistics.median(checks["cookie open"] + checks["token open"])
        print(
            f"the check timed in the loaded servers (median µs per call; the open gate's "
            f"{timer:.2f} µs is the timer's own cost, taken off):"
        )
        for credential in ("cookie", "token"):
            own = statistics.median(checks[f"{credential} gated"]) - timer
            base_us = statistics.median(b.cpu_us_per_request for _, b in pairs[credential])
            print(
                f"  {credential}: {own:.2f} µs, {own / base_us * 100:.1f} % of the open "
                f"server's CPU per request"
            )
        # the control's loop, timed the same way: how much slower the loaded server runs any
        # Python than this process did when it calibrated the loop
        own = statistics.median(checks["cookie control"]) - timer
        print(
            f"  control: {own:.2f} µs, {own / open_us * 100:.1f} % (calibrated here at "
            f"{costs['cookie'][0]:.2f} µs)"
        )
        for credential in ("cookie", "token"):
            mid, low, high = overhead(pairs[credential])
            print(
                f"{credential} verification overhead: {mid:.1f} % server CPU per request "
                f"(95 % interval {low:+.1f} … {high:+.1f}; target < 5 %)"
            )


if __name__ == "__main__":
    main()
