"""Entitlement benchmark: POST /play throughput and latency, and the cost of verifying the
grant on every segment request — signed cookie, and the same grant as a path token
(``/v1/{id}/t/{token}/…``) — against the same request with verification disabled.

    python bench/entitlement.py [--seconds 5] [--rounds 3]

Target: verification overhead < 5 % on a segment request (same run, same machine, wrk).

Both servers run the same ASGI factory under the same server (``vodstack.web.app:app_factory``,
what ``vodstack serve`` runs in its worker, and a copy of it with verification off), so the
gate is the only difference. The overhead is read as server CPU per request (utime + stime of
the server's processes over the requests wrk completed), which other work on a shared machine
barely moves; throughput is printed beside it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CpuRun, median_of, play_grant, prepare_asset, server, wrk, wrk_cpu


def _cpu(runs: list[CpuRun]) -> float:
    """Median server CPU µs per request over interleaved runs."""
    return sorted(r.cpu_us_per_request for r in runs)[len(runs) // 2]


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
        with (
            server(prep.env, "vodstack.web.app:app_factory") as gated,
            server(prep.env, "bench._apps:open_gate_factory") as open_,
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
            with_gate, with_token, without, without_token = [], [], [], []
            for _ in range(args.rounds):  # interleaved: noise hits all alike
                cookies = {"Cookie": cookie}
                with_gate.append(wrk_cpu(gated, segment, seconds=args.seconds, headers=cookies))
                without.append(wrk_cpu(open_, segment, seconds=args.seconds, headers=cookies))
                # the token URL is ~600 bytes longer: its base is the same URL with no check
                tokened = f"{token_base}/{rest}"
                with_token.append(wrk_cpu(gated, tokened, seconds=args.seconds))
                without_token.append(wrk_cpu(open_, tokened, seconds=args.seconds))
        g, o = median_of([r.wrk for r in with_gate]), median_of([r.wrk for r in without])
        t = median_of([r.wrk for r in with_token])
        ot = median_of([r.wrk for r in without_token])
        cpu = {
            "cookie": (_cpu(with_gate), _cpu(without)),
            "token": (_cpu(with_token), _cpu(without_token)),
        }
        print(
            f"POST /play (JWT verify + rules + RSA-SHA1 sign), 8 connections, median of "
            f"{args.rounds} × {args.seconds} s"
        )
        print(
            f"  {mint.rps:8.0f} mints/s   p50 {mint.p50_ms:6.1f} ms   p99 {mint.p99_ms:6.1f} ms"
            f"   non-2xx {mint.errors}"
        )
        print(f"segment GET {segment.rsplit('/', 3)[-3:]}, 32 connections")
        print(
            f"  {'':<28}{'req/s':>9}{'MB/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
            f"{'CPU µs/req':>12}"
        )
        rows = (
            ("verification off (base)", o, cpu["cookie"][1]),
            ("signed-cookie gate", g, cpu["cookie"][0]),
            ("token URL, check off (base)", ot, cpu["token"][1]),
            ("path-token gate", t, cpu["token"][0]),
        )
        for name, r, us in rows:
            print(
                f"  {name:<28}{r.rps:>9.0f}{r.mb_s:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
                f"{r.errors:>9}{us:>12.1f}"
            )
        for name, r, base in (("cookie", g, o), ("token", t, ot)):
            gated_us, open_us = cpu[name]
            print(
                f"{name} verification overhead: {(gated_us / open_us - 1) * 100:.1f} % server CPU "
                f"per request (target < 5 %; {gated_us - open_us:.1f} µs); throughput "
                f"ratio gated/open = {r.rps / base.rps:.3f}"
            )


if __name__ == "__main__":
    main()
