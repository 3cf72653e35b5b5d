"""Entitlement benchmark: POST /play throughput and latency, and the cost of verifying the
signed cookie on every segment request against the same request with verification disabled.

    python bench/entitlement.py [--seconds 5] [--rounds 3]

Target: verification overhead < 5 % on a segment request (same run, same machine, wrk).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median_of, play_cookies, prepare_asset, server, wrk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vodstack-bench-") as tmp:
        prep = prepare_asset(Path(tmp) / "home")
        script = Path(tmp) / "play.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.headers["Authorization"] = "Bearer {prep.token}"\n'
        )
        segment = f"/v1/{prep.asset_id}/r1-4s/v360/2.m4s"
        with server(prep.env) as gated, server(prep.env, "bench._apps:open_gate_factory") as open_:
            cookie = play_cookies(gated, prep.asset_id, prep.token)
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
            with_gate, without = [], []
            for _ in range(args.rounds):  # interleaved: noise hits both alike
                with_gate.append(
                    wrk(gated + segment, seconds=args.seconds, headers={"Cookie": cookie})
                )
                without.append(
                    wrk(open_ + segment, seconds=args.seconds, headers={"Cookie": cookie})
                )
        g, o = median_of(with_gate), median_of(without)
        print(
            f"POST /play (JWT verify + rules + RSA-SHA1 sign), 8 connections, median of "
            f"{args.rounds} × {args.seconds} s"
        )
        print(
            f"  {mint.rps:8.0f} mints/s   p50 {mint.p50_ms:6.1f} ms   p99 {mint.p99_ms:6.1f} ms"
            f"   non-2xx {mint.errors}"
        )
        print(f"segment GET {segment.rsplit('/', 3)[-3:]}, 32 connections")
        print(f"  {'':<26}{'req/s':>9}{'MB/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
        for name, r in (("verification off (base)", o), ("signed-cookie gate", g)):
            print(
                f"  {name:<26}{r.rps:>9.0f}{r.mb_s:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
                f"{r.errors:>9}"
            )
        overhead = 1 - g.rps / o.rps
        print(
            f"verification overhead: {overhead * 100:.1f} % of throughput (target < 5 %); "
            f"ratio gated/open = {g.rps / o.rps:.3f}"
        )


if __name__ == "__main__":
    main()
