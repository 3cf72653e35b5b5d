"""Edge throughput with several worker processes: `serve --role edge --workers 2` against
`--workers 1`, same origin, same asset, same client (wrk), same run.

    python bench/workers.py [--seconds 5] [--rounds 3] [--connections 32]

Measures edge hits of a segment and of the HLS multivariant manifest (after a warm-up), and,
cold, how many origin requests one pass over every segment of a rendition costs when 16
viewers ask at once (the workers share the disk tier and collapse loads through it, so the
goal is one origin request per segment whatever the worker count). Prints the 2-vs-1 ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

import httpx
import m3u8

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import free_port, median_of, play_cookies, prepare_asset, server, wrk


def origin_requests(access_log: Path) -> int:
    """Media objects (not manifests: those live in each worker's memory) the origin served."""
    if not access_log.exists():
        return 0
    lines = access_log.read_text().splitlines()
    return sum("/v1/" in ln and ".m3u8" not in ln and ".mpd" not in ln for ln in lines)


async def cold_pass(base: str, asset_id: str, cookie: str, viewers: int = 16) -> list[str]:
    """Every segment of the top rendition, each asked by ``viewers`` clients at once."""
    headers = {"Cookie": cookie}
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        root = f"{base}/v1/{asset_id}/index.m3u8"
        master = m3u8.loads((await client.get(root)).text, uri=root)
        variant = master.playlists[-1].absolute_uri
        media = m3u8.loads((await client.get(variant)).text, uri=variant)
        urls = [media.segment_map[0].absolute_uri] + [s.absolute_uri for s in media.segments]
        for url in urls:
            answers = await asyncio.gather(*(client.get(url) for _ in range(viewers)))
            assert all(a.status_code == 200 for a in answers), [a.status_code for a in answers]
        return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vodstack-bench-") as tmp:
        root = Path(tmp)
        prep = prepare_asset(root / "home", seconds=12)
        log = root / "origin-access.log"
        origin_port = free_port()
        origin_env = {**prep.env, "VODSTACK_ACCESS_LOG": str(log)}
        rows: dict[int, dict[str, float]] = {}
        with server(origin_env, port=origin_port, args=["--role", "origin"]):
            origin = f"http://127.0.0.1:{origin_port}"
            for workers in (1, 2):
                edge_env = {**prep.env, "VODSTACK_EDGE_DISK_DIR": str(root / f"edge{workers}")}
                edge_args = ["--role", "edge", "--origin", origin, "--workers", str(workers)]
                with server(edge_env, args=edge_args) as edge:
                    cookie = play_cookies(edge, prep.asset_id, prep.token)
                    before = origin_requests(log)
                    urls = asyncio.run(cold_pass(edge, prep.asset_id, cookie))
                    fetched = origin_requests(log) - before
                    if os.environ.get("BENCH_DEBUG"):
                        print(log.read_text())
                    h = {"Cookie": cookie}
                    segment = urls[len(urls) // 2]
                    manifest = f"{edge}/v1/{prep.asset_id}/index.m3u8"
                    row = {"cold_objects": len(urls), "origin_fetches": fetched}
                    for name, url in (("segment", segment), ("manifest", manifest)):
                        for _ in range(3):  # every worker warm
                            httpx.get(url, headers=h).raise_for_status()
                        runs = [
                            wrk(url, seconds=args.seconds, connections=args.connections, headers=h)
                            for _ in range(args.rounds)
                        ]
                        result = median_of(runs)
                        row[f"{name}_rps"] = result.rps
                        row[f"{name}_errors"] = result.errors
                    rows[workers] = row
    print(f"edge hits, wrk -t1 -c{args.connections}, {args.rounds}×{args.seconds} s (median)")
    print(f"{'workers':>8} {'segment req/s':>14} {'manifest req/s':>15} {'origin fetches':>15}")
    for workers, row in rows.items():
        print(
            f"{workers:>8} {row['segment_rps']:>14,.0f} {row['manifest_rps']:>15,.0f} "
            f"{int(row['origin_fetches']):>9} / {int(row['cold_objects'])}"
        )
    for kind in ("segment", "manifest"):
        ratio = rows[2][f"{kind}_rps"] / rows[1][f"{kind}_rps"]
        print(f"{kind}: 2 workers / 1 worker = {ratio:.2f}×")
    errors = sum(row[f"{k}_errors"] for row in rows.values() for k in ("segment", "manifest"))
    if errors:
        print(f"WARNING: {int(errors)} failed requests")


if __name__ == "__main__":
    main()
