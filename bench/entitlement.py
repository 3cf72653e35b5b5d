"""Entitlement benchmark: POST /play throughput and latency, and the cost of verifying the
grant on every segment request — signed cookie, and the same grant as a path token
(``/v1/{id}/t/{token}/…``) — against the same request with verification disabled.

    python bench/entitlement.py [--seconds 5] [--rounds 3]

Target: verification overhead < 5 % on a segment request (same run, same machine, wrk).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median_of, play_grant, prepare_asset, server, wrk


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
        rest = "r1-4s/v360/2.m4s"
        segment = f"/v1/{prep.asset_id}/{rest}"
        with server(prep.env) as gated, server(prep.env, "bench._apps:open_gate_factory") as open_:
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
            with_gate, with_token, without, without_token = [], [], [], []
            for _ in range(args.rounds):  # interleaved: noise hits all alike
                with_gate.append(
                    wrk(gated + segment, seconds=args.seconds, headers={"Cookie": cookie})
                )
                without.append(
                    wrk(open_ + segment, seconds=args.seconds, headers={"Cookie": cookie})
                )
                # the token URL is ~600 bytes longer: its base is the same URL with no check
                with_token.append(wrk(f"{gated}{token_base}/{rest}", seconds=args.seconds))
                without_token.append(wrk(f"{open_}{token_base}/{rest}", seconds=args.seconds))
        g, o = median_of(with_gate), median_of(without)
        t, ot = median_of(with_token), median_of(without_token)
        print(
            f"POST /play (JWT verify + rules + RSA-SHA1 sign), 8 connections, median of "
            f"{args.rounds} × {args.seconds} s"
        )
        print(
            f"  {mint.rps:8.0f} mints/s   p50 {mint.p50_ms:6.1f} ms   p99 {mint.p99_ms:6.1f} ms"
            f"   non-2xx {mint.errors}"
        )
        print(f"segment GET {segment.rsplit('/', 3)[-3:]}, 32 connections")
        print(f"  {'':<28}{'req/s':>9}{'MB/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
        rows = (
            ("verification off (base)", o),
            ("signed-cookie gate", g),
            ("token URL, check off (base)", ot),
            ("path-token gate", t),
        )
        for name, r in rows:
            print(
                f"  {name:<28}{r.rps:>9.0f}{r.mb_s:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
                f"{r.errors:>9}"
            )
        for name, r, base in (("cookie", g, o), ("token", t, ot)):
            print(
                f"{name} verification overhead: {(1 - r.rps / base.rps) * 100:.1f} % of "
                f"throughput (target < 5 %); ratio gated/open = {r.rps / base.rps:.3f}"
            )


if __name__ == "__main__":
    main()
