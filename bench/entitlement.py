"""Entitlement benchmark: POST /play throughput and latency, and the cost of verifying the
grant on every segment request — signed cookie, and the same grant as a path token
(``/v1/{id}/t/{token}/…``) — against the same request with verification disabled.

    python bench/entitlement.py [--seconds 5] [--rounds 3]

Target: verification overhead < 5 % per segment request, for both credentials.

Both servers run the same ASGI factory under the same server (``vodstack.web.app:app_factory``,
what ``vodstack serve`` runs in its worker, and a copy of it with verification off), so the
gate is the only difference. The overhead is server CPU per request (utime + stime of the
server's processes over the requests served) **at the same offered load**: hey at a fixed
rate, 40 % of what the open server sustains, interleaved rounds, medians. Saturation (wrk,
32 connections) is printed beside it as capacity: there one event loop under the GIL serves
every request, and any Python added per request (the gate's, or the same microseconds of a
no-op loop) costs about three times its share of throughput (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    CpuRun,
    hey_cpu,
    median_of,
    play_grant,
    prepare_asset,
    server,
    wrk,
    wrk_cpu,
)


def _cpu(runs: list[CpuRun]) -> float:
    """Median server CPU µs per request over interleaved runs."""
    return sorted(r.cpu_us_per_request for r in runs)[len(runs) // 2]


def gate_cost_us(
    base: str, asset_id: str, paths: dict[str, tuple[str, dict[str, str]]]
) -> dict[str, float]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--rate", type=int, default=0, help="fixed rate (default: 40 %% of the open server's)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vodstack-bench-") as tmp:
        prep = prepare_asset(Path(tmp) / "home")
        script = Path(tmp) / "play.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.headers["Authorization"] = "Bearer {prep.token}"\n'
        )
        rest = "r1-4s/v360/2.m4s"
        segment = f"/v1/{prep.asset_id}/{rest}"
        with (
            server(prep.env, "vodstack.web.app:app_factory") as gated,
            server(prep.env, "bench._apps:open_gate_factory") as open_,
            contextlib.ExitStack() as stack,
        ):
            cookie, token_base = play_grant(gated, prep.asset_id, prep.token)
            mint = median_of(
                [
                    wrk(
                        f"{gated}/play/{prep.asset_id}",
                        seconds=args.seconds,
                        connections=8,
                        script=script,
                    )
                    for _ in range(args.rounds)
                ]
            )
            cookies = {"Cookie": cookie}
            # the token URL is ~600 bytes longer: its base is the same URL with no check
            tokened = f"{token_base}/{rest}"
            cases = {  # name -> (server, path, headers)
                "cookie gated": (gated, segment, cookies),
                "cookie open": (open_, segment, cookies),
                "token gated": (gated, tokened, {}),
                "token open": (open_, tokened, {}),
            }
            costs = gate_cost_us(
                gated, prep.asset_id, {"cookie": (segment, cookies), "token": (tokened, {})}
            )
            # the control: the open app plus a no-op of the cookie check's in-process cost
            spin = {**prep.env, "BENCH_SPIN_US": f"{costs['cookie'][0]:.3f}"}
            control = stack.enter_context(server(spin, "bench._apps:spin_gate_factory"))
            cases["cookie control"] = (control, segment, cookies)
            saturated: dict[str, list[CpuRun]] = {name: [] for name in cases}
            for _ in range(args.rounds):  # interleaved: noise hits all alike
                for name, (base, path, headers) in cases.items():
                    saturated[name].append(
                        wrk_cpu(base, path, seconds=args.seconds, headers=headers)
                    )
            rate = args.rate or int(median_of([r.wrk for r in saturated["cookie open"]]).rps * 0.4)
            fixed: dict[str, list[CpuRun]] = {name: [] for name in cases}
            for _ in range(args.rounds * 2 + 1):
                for name, (base, path, headers) in cases.items():
                    fixed[name].append(
                        hey_cpu(base, path, rate=rate, seconds=args.seconds, headers=headers)
                    )
        print(
            f"POST /play (JWT verify + rules + RSA-SHA1 sign), 8 connections, median of "
            f"{args.rounds} × {args.seconds} s"
        )
        print(
            f"  {mint.rps:8.0f} mints/s   p50 {mint.p50_ms:6.1f} ms   p99 {mint.p99_ms:6.1f} ms"
            f"   non-2xx {mint.errors}"
        )
        for name, (warm, cold) in costs.items():
            print(f"{name} check in process: {warm:.2f} µs warm, {cold:.1f} µs with cold caches")
        print(f"control: the open app + {costs['cookie'][0]:.2f} µs of no-op Python per request")
        print(f"segment GET {segment.rsplit('/', 3)[-3:]}")
        print(f"  {'':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'CPU µs/req':>12}")
        for title, runs in (
            ("saturated (wrk, 32 connections)", saturated),
            (f"fixed rate {rate} req/s (hey, 32 workers)", fixed),
        ):
            print(f"  {title}")
            for name, rows in runs.items():
                r = median_of([x.wrk for x in rows])
                print(
                    f"    {name:<32}{r.rps:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{r.errors:>9}"
                    f"{_cpu(rows):>12.1f}"
                )
        for credential in ("cookie", "token"):
            gated_us, open_us = (
                _cpu(fixed[f"{credential} gated"]),
                _cpu(fixed[f"{credential} open"]),
            )
            full = median_of([r.wrk for r in saturated[f"{credential} gated"]]).rps
            base = median_of([r.wrk for r in saturated[f"{credential} open"]]).rps
            print(
                f"{credential} verification overhead: "
                f"{(gated_us / open_us - 1) * 100:.1f} % server CPU per request at {rate} "
                f"req/s (target < 5 %; {gated_us - open_us:+.1f} µs); "
                f"saturated throughput gated/open = {full / base:.3f}"
            )


if __name__ == "__main__":
    main()
