"""Usage-ledger overhead on the edge hot path (issue #21): edge cache hits with the ledger on
against the same server with it off (``VODSTACK_COSTS_LEDGER=false``), same client (wrk),
same run, rounds alternating; for a segment and for the multivariant manifest (the cheapest
hit, so the one where a per-response cost shows most). Also the ledger's own cost per
response (``UsageLedger.add``, timed in-process) as a share of one edge hit's time at the
measured rate — a figure that does not drown in the noise of a shared machine.

    python bench/costs.py [--seconds 5] [--rounds 3]

Goal: < 2 % of edge-hit throughput.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import timeit
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    METRICS_TOKEN,
    WrkResult,
    median_of,
    play_cookies,
    prepare_asset,
    server,
    wrk,
)
from vodstack.costs.ledger import UsageLedger


def add_cost_s(path: str) -> float:
    """Seconds per ``UsageLedger.add`` of ``path`` (best of 5 runs of 200k calls)."""
    ledger = UsageLedger()
    asset, n = "a" * 20, 200_000
    runs = timeit.repeat(lambda: ledger.add(asset, path, "Hit", 123456), number=n, repeat=5)
    return min(runs) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    paths = {"segment": "r1-4s/v720/2.m4s", "manifest": "index.m3u8"}
    results: dict[tuple[str, bool], list[WrkResult]] = {}
    with tempfile.TemporaryDirectory(prefix="vodstack-bench-") as tmp:
        prep = prepare_asset(Path(tmp) / "home", seconds=8)
        envs = {
            False: {**prep.env, "VODSTACK_COSTS_LEDGER": "false"},
            True: {**prep.env, "VODSTACK_COSTS_LEDGER": "true", "VODSTACK_COSTS_FLUSH_S": "1"},
        }
        metrics = ""
        # One server at a time (two on one home would contend for it), alternating.
        for _ in range(args.rounds):
            for on, env in envs.items():
                with server(env) as base:
                    headers = {"Cookie": play_cookies(base, prep.asset_id, prep.token)}
                    for name, path in paths.items():
                        url = f"{base}/v1/{prep.asset_id}/{path}"
                        httpx.get(url, headers=headers).raise_for_status()  # warm the cache
                        kw = {"seconds": args.seconds, "connections": args.connections}
                        results.setdefault((name, on), []).append(wrk(url, headers=headers, **kw))
                    if on:
                        metrics = httpx.get(
                            base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
                        ).text
    assert 'vodstack_costs_delivered_bytes_total{result="Hit"}' in metrics
    for name, path in paths.items():
        off, on = median_of(results[(name, False)]), median_of(results[(name, True)])
        total = (off.rps + on.rps) * args.seconds * args.rounds
        assert off.errors + on.errors <= total * 0.001, (off, on)  # a stray socket timeout
        per_add = add_cost_s(path)
        print(f"{name} edge hit")
        for label, r in (("off", off), ("on ", on)):
            print(f"  ledger {label}  {r.rps:10.0f} req/s  p50 {r.p50_ms:.2f} ms  ({r.errors} err)")
        print(f"  throughput ratio on/off {on.rps / off.rps:.3f}  (wrk, noisy on a shared machine)")
        print(f"  UsageLedger.add {per_add * 1e6:.2f} µs per response")
        print(
            f"  ledger share of an edge hit at {off.rps:.0f} req/s: "
            f"{per_add * off.rps * 100:.2f} %  (goal < 2 %)"
        )


if __name__ == "__main__":
    main()
