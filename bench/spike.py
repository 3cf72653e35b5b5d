"""Spike benchmark: a sports-replay surge, scaled to one 2-core machine.

    python bench/spike.py [--base 10] [--factor 30] [--ramp 40] [--speed 2] [--edges 2]
                          [--calm]

Topology: one origin ← one shield (mid-tier cache) ← N edge processes. Virtual viewers
(asyncio + httpx, each with its own JWT and signed cookies) arrive from ``base`` to
``base × factor`` concurrent over ``ramp`` seconds and play like a player: /play,
multivariant, a media playlist, init, then audio and video segments at ``speed`` × real time;
one in five switches rungs half way. Reported: edge cache-hit ratio (target ≥ 97 %), origin
fetches per unique object (target 1.0), p50/p95 time to first segment, errors (target 0).

In the middle of the ramp (unless ``--calm``) the title is disturbed the way operations do:
a caption file is added (an ``asset.updated`` event every edge and the shield follow), and
edge 0 is restarted on its port (its viewers retry, as players do, and count as retries, not
errors). Both must leave the hit ratio ≥ 97 % and origin fetches per object at 1.0: the
caption purges manifests and that one track only, and the restarted edge replays no purge.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import METRICS_TOKEN, bench_env, free_port, prepare_asset, server
from vodstack.captions.service import CaptionRequest, CaptionService
from vodstack.catalogue.media import MediaCatalogue
from vodstack.cli.stats import scrape
from vodstack.compose.services import build_services
from vodstack.config import Settings

SECRET = "bench-origin-secret"


@dataclass
class Tally:
    ttfs: list[float] = field(default_factory=list)
    errors: int = 0
    requests: int = 0
    objects: set[str] = field(default_factory=set)
    peak: int = 0
    active: int = 0
    retries: int = 0  # requests repeated because an edge was restarting
    notes: list[str] = field(default_factory=list)


def uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


async def viewer(
    base: str,
    asset: str,
    token: str,
    speed: float,
    tally: Tally,
    rng: random.Random,
    stop_at: float,
) -> None:
    tally.active += 1
    tally.peak = max(tally.peak, tally.active)
    started = time.perf_counter()

    async def send(client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> httpx.Response:
        for _ in range(99):  # a player retries while its edge restarts
            try:
                return await client.request(method, path, **kw)
            except httpx.TransportError:
                tally.retries += 1
                await asyncio.sleep(0.2)
        return await client.request(method, path, **kw)

    async def get(client: httpx.AsyncClient, path: str) -> httpx.Response:
        tally.requests += 1
        r = await send(client, "GET", path)
        if r.status_code != 200:
            tally.errors += 1
        else:
            tally.objects.add(path)
        return r

    try:
        async with httpx.AsyncClient(base_url=base, timeout=20) as c:
            auth = {"Authorization": f"Bearer {token}"}
            play = await send(c, "POST", f"/play/{asset}", headers=auth)
            tally.requests += 1
            if play.status_code != 200:
                tally.errors += 1
                return
            root = f"/v1/{asset}/"
            master = (await get(c, root + "index.m3u8")).text
            variants = uris(master)
            audio = re.search(r'TYPE=AUDIO.*URI="([^"]+)"', master)
            rung = rng.choice(variants[1:]) if len(variants) > 1 else variants[0]
            tracks = [rung] + ([audio.group(1)] if audio else [])
            lists = {t: uris((await get(c, root + t)).text) for t in tracks}
            tag = rung.split("/")[0]
            for t in tracks:
                await get(c, f"{root}{tag}/{t.split('/')[1].removesuffix('.m3u8')}/init.mp4")
            segments = len(lists[rung])
            switch_at = segments // 2 if rng.random() < 0.2 else -1
            n = 0
            # watch (looping the title, like a replay channel) until the surge is over
            while n < segments or time.perf_counter() < stop_at:
                if n == switch_at:
                    rung = rng.choice(variants)
                    track = rung.split("/")[1].removesuffix(".m3u8")
                    lists[rung] = uris((await get(c, root + rung)).text)
                    await get(c, f"{root}{tag}/{track}/init.mp4")
                    tracks[0] = rung
                for t in tracks:
                    seg = lists[t][n % len(lists[t])]
                    await get(c, f"{root}{tag}/{seg}")
                if n == 0:
                    tally.ttfs.append(time.perf_counter() - started)
                n += 1
                await asyncio.sleep(4 / speed)  # 4 s segments at `speed` × real time
    finally:
        tally.active -= 1


CAPTION = b"WEBVTT\n\n00:00.000 --> 00:04.000\nReplay of the winning goal\n"


def add_caption(asset: str) -> str:
    """What ``POST /api/assets/{id}/captions`` does, in this process (same catalogue)."""
    services = build_services(Settings())
    try:
        media = MediaCatalogue(services.db)
        limit = services.settings.caption_max_bytes
        captions = CaptionService(media, services.store, services.bus, limit)
        return captions.add(asset, CAPTION, CaptionRequest("en", "English")).track_id
    finally:
        services.close()


@dataclass
class Edges:
    """The edge processes; edge 0 can be restarted on its port (counters carried over)."""

    ports: list[int]
    env: dict[str, str]
    shield: str
    contexts: list[Any] = field(default_factory=list)
    carried: tuple[float, float, float] = (0.0, 0.0, 0.0)  # totals of processes that ended

    def start(self, i: int) -> str:
        ctx = server(
            {**self.env, "VODSTACK_PUBLIC_URL": f"http://127.0.0.1:{self.ports[i]}"},
            port=self.ports[i],
            args=["--role", "edge", "--origin", self.shield],
        )
        url = ctx.__enter__()
        if i < len(self.contexts):
            self.contexts[i] = ctx
        else:
            self.contexts.append(ctx)
        return url

    def restart(self, i: int) -> None:
        ended = edge_totals([self.url(i)])
        self.carried = tuple(a + b for a, b in zip(self.carried, ended, strict=True))  # type: ignore[assignment]
        self.contexts[i].__exit__(None, None, None)
        self.start(i)

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def totals(self) -> tuple[float, float, float]:
        now = edge_totals([self.url(i) for i in range(len(self.ports))])
        return tuple(a + b for a, b in zip(self.carried, now, strict=True))  # type: ignore[return-value]

    def stop(self) -> None:
        for ctx in reversed(self.contexts):
            ctx.__exit__(None, None, None)


async def disturb(asset: str, edges: Edges, shield: str, at: float, tally: Tally) -> None:
    """Mid-spike: a caption edit, then a restart of edge 0 a few seconds later."""
    await asyncio.sleep(at)
    before = origin_fetches(shield)
    track = await asyncio.to_thread(add_caption, asset)
    tally.notes.append(f"caption track {track} added at {at:.0f} s")
    await asyncio.sleep(5)
    after = origin_fetches(shield)
    refetched = {k: after.get(k, 0) - v for k, v in before.items() if after.get(k, 0) != v}
    tally.notes.append(
        f"shield origin fetches in the 5 s after the caption edit: {refetched} "
        "(objects viewers reach for the first time, and any refetch)"
    )
    started = time.perf_counter()
    await asyncio.to_thread(edges.restart, 0)
    tally.notes.append(
        f"edge 0 restarted at {at + 5:.0f} s, down {time.perf_counter() - started:.1f} s"
    )


async def run_viewers(
    edges: list[str],
    asset: str,
    tokens: list[str],
    args: argparse.Namespace,
    tally: Tally,
    fleet: Edges | None = None,
    shield: str = "",
) -> None:
    rng = random.Random(7)
    peak = args.base * args.factor
    tasks = []
    loop_start = time.perf_counter()
    stop_at = loop_start + args.ramp + args.hold
    if fleet is not None:
        tasks.append(asyncio.create_task(disturb(asset, fleet, shield, args.ramp / 2, tally)))
    for i in range(peak):
        # first `base` at once, the rest spread evenly over the ramp
        at = 0.0 if i < args.base else args.ramp * (i - args.base) / (peak - args.base)
        delay = at - (time.perf_counter() - loop_start)
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(
            asyncio.create_task(
                viewer(edges[i % len(edges)], asset, tokens[i], args.speed, tally, rng, stop_at)
            )
        )
    await asyncio.gather(*tasks)


def edge_totals(urls: list[str]) -> tuple[float, float, float]:
    """Hits, lookups and fetches from upstream (the shield) of the edges at ``urls``."""
    hits = lookups = upstream = 0.0
    for url in urls:
        samples = scrape(url, METRICS_TOKEN)
        for labels, value in samples.get("vodstack_edge_requests_total", {}).items():
            lookups += value
            if dict(labels)["result"] in ("Hit", "RefreshHit", "StaleHit"):
                hits += value
        upstream += sum(samples.get("vodstack_origin_requests_total", {}).values())
    return hits, lookups, upstream


def origin_fetches(url: str) -> dict[str, float]:
    samples = scrape(url, METRICS_TOKEN).get("vodstack_origin_requests_total", {})
    return {dict(k)["kind"]: v for k, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=int, default=10)
    parser.add_argument("--factor", type=int, default=30)
    parser.add_argument("--ramp", type=float, default=40)
    parser.add_argument("--speed", type=float, default=2.0)
    parser.add_argument("--edges", type=int, default=2)
    parser.add_argument("--hold", type=float, default=10, help="seconds at peak")
    parser.add_argument("--seconds", type=int, default=24, help="clip length")
    parser.add_argument(
        "--calm", action="store_true", help="no caption edit and no edge restart mid-spike"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vodstack-spike-") as tmp:
        prep = prepare_asset(Path(tmp) / "home", seconds=args.seconds)
        peak = args.base * args.factor
        services = build_services(Settings())
        assert services.dev_idp is not None
        tokens = []
        for i in range(peak):
            services.grants.subscribe(f"fan-{i}", "bench")
            tokens.append(services.dev_idp.mint(f"fan-{i}", ttl=3600))
        services.close()
        env = {**bench_env(prep.home), "VODSTACK_ORIGIN_SECRETS": f'["{SECRET}"]'}
        with (
            server(env, args=["--role", "origin"]) as origin,
            server(env, args=["--role", "shield", "--origin", origin]) as shield,
        ):
            fleet = Edges([free_port() for _ in range(args.edges)], env, shield)
            try:
                edges = [fleet.start(i) for i in range(args.edges)]
                tally = Tally()
                started = time.perf_counter()
                disturbed = None if args.calm else fleet
                asyncio.run(
                    run_viewers(edges, prep.asset_id, tokens, args, tally, disturbed, shield)
                )
                wall = time.perf_counter() - started
                hits, lookups, upstream = fleet.totals()
                fetched = origin_fetches(shield)
            finally:
                fleet.stop()
    immutable = {k: v for k, v in fetched.items() if k != "manifest"}
    unique_immutable = sum(1 for o in tally.objects if not o.endswith("index.m3u8"))
    ttfs = sorted(tally.ttfs)
    p95 = ttfs[int(0.95 * (len(ttfs) - 1))] if ttfs else float("nan")
    print(
        f"viewers {args.base} → {peak} concurrent target (peak seen {tally.peak}) over "
        f"{args.ramp:.0f} s ramp; {args.edges} edges → 1 shield → 1 origin; "
        f"{args.seconds} s title at {args.speed}× real time; wall {wall:.0f} s"
    )
    for note in tally.notes:
        print(note)
    print(
        f"requests {tally.requests}, errors {tally.errors} (target 0), "
        f"retries while an edge restarted {tally.retries}"
    )
    print(
        f"edge cache-hit ratio {hits / lookups * 100:.2f} % of {lookups:.0f} lookups "
        "(target ≥ 97 %)"
    )
    print(
        f"edge fetches from the shield: {upstream:.0f} = {upstream / lookups * 100:.2f} % of "
        "lookups (a miss that joined a fetch in flight is a Miss above, but no fetch here)"
    )
    print(
        f"origin fetches: {sum(immutable.values()):.0f} for {unique_immutable} unique "
        f"immutable objects = {sum(immutable.values()) / max(1, unique_immutable):.2f} per "
        f"object (target 1.0); manifests {fetched.get('manifest', 0):.0f} "
        f"(2 s TTL revalidations)"
    )
    print(
        f"time to first segment: p50 {statistics.median(ttfs) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms (n={len(ttfs)})"
    )


if __name__ == "__main__":
    main()
