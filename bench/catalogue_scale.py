"""Catalogue scale: the same requests against 5 … 50,000 titles, measured in one run.

    python bench/catalogue_scale.py [--quick] [--sizes 5,500,5000,50000] [--samples 150]
                                    [--cold 30] [--purges 6] [--no-backfill]

PostgreSQL (127.0.0.1:5432) holds one database per size, built by COPY (bench/
_catalogue_build.py): N playable titles sharing two really transcoded media sets, two
finished jobs and two events each, 100,000 subscriptions and 1,000 institution licences.
Each size gets its own processes — one origin, two edges (``serve --role``), all running at
once — and the same workload, interleaved: sample i of every size, then sample i+1 in the
reverse order, so a change in the machine's load lands on every size alike. Reported per
size, p50/p99 in ms, and the ratio largest/smallest (goal ≤ 1.2 on every request path):

* admin API on an edge: asset page (first, and the last full page through a cursor), search
  matching one title and every title, ``GET /api/assets/{id}``;
* ``POST /play`` with plan and geo rules (viewer country header from a trusted proxy),
  subscribers and institutions alternately;
* the origin, directly: the multivariant playlist of a title it has not served since it
  started (cold: catalogue rows → presentation → JIT), then a media playlist;
* the edge: multivariant, media playlist and segment hits;
* purge propagation: a title unpublished until both edges answer 404 for a cached segment
  (they follow the event log once a second), idle and under ~100 events/s of churn; the
  followers' log query itself under churn;
* ``/metrics`` of an edge; resident memory of the origin and an edge after start and after
  the workload.

Then (unless ``--no-backfill``; needs Redis on 127.0.0.1:6379) the backfill: ``vodstack
assets retranscode --all`` at each size (wall time, jobs per second, the command's peak
RSS), and at the largest size the time-to-ready of a new upload on an idle ``vodstack
worker`` and while the backfill lane works through the queue (goal ≤ 1.5× idle).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _catalogue_build as build
from bench._scale_backfill import backfill_phase
from bench.common import METRICS_TOKEN, free_port
from vodstack.catalogue.listing import ASSETS
from vodstack.catalogue.models import Asset, Event, utcnow
from vodstack.catalogue.paging import encode_cursor
from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services, build_services
from vodstack.edge.service import PURGING_EVENTS

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-scale-origin-secret"
PUBLIC = "http://edge.bench"  # both edges: one grant works at either (like one CDN host)
PAGE = 5  # the smallest catalogue's size: every page is full at every size
# The working set: the titles requests go to, as many at every size (the smallest catalogue's
# five), spread over the catalogue (its oldest, its newest and between). The same traffic at
# every size, so only the catalogue's size differs. Rows "…, any title" spread requests over
# the whole catalogue instead: per-title caches then hit less as the catalogue grows.
WORKING_SET = 5
REQUEST_PATHS = (
    "asset page, first",
    "asset page, last",
    "search, one title",
    "search, every title",
    "GET /api/assets/{id}",
    "POST /play",
    "multivariant, origin cold",
    "media playlist, origin first",
    "multivariant, edge hit",
    "media playlist, edge hit",
    "segment, edge hit",
)


# -- processes ------------------------------------------------------------------------------------
@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str

    def rss_mb(self) -> float:
        """Resident memory of the server's processes (its session: granian and workers)."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) != self.proc.pid:  # process group
                    continue
                for line in (stat.parent / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except (OSError, IndexError, ValueError):
                continue
        return total / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_server(env: dict[str, str], args: list[str], port: int) -> Server:
    argv = [sys.executable, "-m", "vodstack.cli", "serve", "--port", str(port), *args]
    proc = subprocess.Popen(
        argv,
        env={**env, "VODSTACK_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return Server(proc, base)
        except httpx.TransportError:
            time.sleep(0.1)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit(f"server {' '.join(args)} did not start on port {port}")


def size_env(cat: build.Catalogue, objects: Path) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return {
        **os.environ,
        "PYTHONPATH": path,
        "VODSTACK_HOME": str(cat.home),
        "VODSTACK_DATABASE_URL": cat.url,
        "VODSTACK_STORAGE_URL": f"file://{objects}",
        "VODSTACK_METRICS_TOKEN": METRICS_TOKEN,
        "VODSTACK_ORIGIN_SECRETS": f'["{SECRET}"]',
        "VODSTACK_PUBLIC_URL": PUBLIC,
        "VODSTACK_TRUSTED_PROXIES": '["127.0.0.1/32"]',
        "VODSTACK_MINT_RATE_PER_MIN": "0",
        "VODSTACK_PLAYBACK_RATE_PER_S": "0",
        "VODSTACK_SERVER_WORKERS": "1",
        "VODSTACK_LOG_LEVEL": "WARNING",
        "VODSTACK_HOST": "127.0.0.1",
    }


# -- measuring ------------------------------------------------------------------------------------
@dataclass
class Results:
    samples: dict[tuple[int, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)

    def add(self, size: int, name: str, value: float) -> None:
        self.samples[(size, name)].append(value)


def timed(client: httpx.Client, method: str, url: str, *, expect: int = 200, **kw: Any) -> float:
    started = time.perf_counter()
    r = client.request(method, url, **kw)
    took = (time.perf_counter() - started) * 1000
    if r.status_code != expect:
        raise SystemExit(f"{method} {url} → {r.status_code} {r.text[:300]}")
    return took


def hit(client: httpx.Client, url: str) -> float:
    """The time of an edge hit. A manifest lives 2 s at the edge: on a loaded machine the
    hit may come after its TTL (a RefreshHit, revalidated at the origin), so try again."""
    for _ in range(5):
        client.get(url)  # the miss (or a hit already): the next one should be a hit
        started = time.perf_counter()
        r = client.get(url)
        took = (time.perf_counter() - started) * 1000
        if r.status_code != 200:
            raise SystemExit(f"GET {url} → {r.status_code}")
        if r.headers.get("x-cache", "").startswith("Hit"):
            return took
    raise SystemExit(f"GET {url} was never an edge hit: {r.headers}")


def uris(playlist: str) -> list[str]:
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


@dataclass
class Stack:
    """One size's processes, its clients and what the workload needs from its catalogue."""

    cat: build.Catalogue
    services: Services
    env: dict[str, str]
    results: Results
    origin_port: int = field(default_factory=free_port)
    origin: Server | None = None
    edges: list[Server] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # title → path-token base
    cold: list[str] = field(default_factory=list)  # titles this origin has not served yet
    cold_rounds: int = 0
    counter: int = 0

    def __post_init__(self) -> None:
        size = self.cat.size
        self.rng = random.Random(size)
        admin = {"Authorization": f"Bearer {self.services.admin_token}"}
        self.admin = httpx.Client(headers=admin, timeout=30)
        # Cookies are not kept: /play sets three per title, and httpx walks its whole jar
        # for every request, so a jar of a hundred titles' cookies cost the *client* ~1 ms
        # per request (it showed as slower edge hits beside the larger catalogues).
        self.client = httpx.Client(timeout=30, cookies=_NoCookies())
        self.viewers = [viewer_headers(self.services, n) for n in range(40)]
        self.working = self.cat.ids[:: max(1, size // WORKING_SET)][:WORKING_SET]
        self.serial = {title: n for n, title in enumerate(self.cat.ids) if title in self.working}
        self.deep = ""
        if size > PAGE:  # the last full page, through the cursor a client would hold
            with self.services.db.session() as session:
                row = session.get(Asset, self.cat.ids[PAGE])
                assert row is not None
                first = ASSETS.parse({}).page  # GET /api/assets?limit=…: newest first, no filter
                cursor = encode_cursor(first.sort, [row.created_at, row.id], first.fingerprint)
                self.deep = f"&cursor={cursor}"

    @property
    def size(self) -> int:
        return self.cat.size

    def add(self, name: str, value: float) -> None:
        self.results.add(self.size, name, value)

    def start(self) -> None:
        self.start_origin()
        origin = f"http://127.0.0.1:{self.origin_port}"
        edge_args = ["--role", "edge", "--origin", origin]
        self.edges = [start_server(self.env, edge_args, free_port()) for _ in range(2)]
        for edge in self.edges:  # warm each process's code paths on the extra title
            base = f"{edge.base}{self.grant(self.cat.warmup)}"
            playlist = uris(self.client.get(f"{base}/index.m3u8").text)[0]
            self.client.get(f"{base}/{playlist}")
            self.admin.get(f"{edge.base}/api/assets?limit=1")

    def start_origin(self) -> None:
        self.origin = start_server(self.env, ["--role", "origin"], self.origin_port)
        secret = {"X-Vodstack-Origin-Secret": SECRET}
        base = f"{self.origin.base}/v1/{self.cat.warmup}"
        warm = httpx.get(f"{base}/index.m3u8", headers=secret).text
        httpx.get(f"{base}/{uris(warm)[0]}", headers=secret)

    def stop(self) -> None:
        for server in [*self.edges, *([self.origin] if self.origin else [])]:
            server.stop()
        for client in (self.admin, self.client):
            client.close()
        self.services.close()

    def grant(self, title: str) -> str:
        if title not in self.tokens:
            headers = self.viewers[0]
            r = self.client.post(f"{self.edges[0].base}/play/{title}", headers=headers)
            r.raise_for_status()
            self.tokens[title] = "/" + r.json()["token"]["base"].split("/", 3)[3]
        return self.tokens[title]

    # -- one sample of each kind -------------------------------------------------------------
    def sample_cold(self, wanted: int) -> None:
        """The first request of a title since the origin started, then a media playlist; a
        small catalogue restarts its origin for more (each fresh one warmed up first)."""
        if not self.cold:
            if self.cold_rounds:
                assert self.origin is not None
                self.origin.stop()
                self.start_origin()
            self.cold_rounds += 1
            self.cold = self.rng.sample(self.cat.ids, min(self.size, wanted))
        title = self.cold.pop()
        assert self.origin is not None
        secret = {"X-Vodstack-Origin-Secret": SECRET}
        url = f"{self.origin.base}/v1/{title}/index.m3u8"
        started = time.perf_counter()
        master = self.client.get(url, headers=secret)
        self.add("multivariant, origin cold", (time.perf_counter() - started) * 1000)
        master.raise_for_status()
        url = f"{self.origin.base}/v1/{title}/{uris(master.text)[0]}"
        self.add("media playlist, origin first", timed(self.client, "GET", url, headers=secret))

    def sample_api(self) -> None:
        edge, size, admin, rng = self.edges[0].base, self.size, self.admin, self.rng
        page = f"{edge}/api/assets?limit={PAGE}"
        self.add("asset page, first", timed(admin, "GET", page))
        self.add("asset page, last", timed(admin, "GET", page + self.deep))
        self.add("search, every title", timed(admin, "GET", f"{page}&q=episode"))
        mine, anyone = rng.choice(self.working), rng.randrange(size)
        one = f"{page}&q=episode%20{self.serial[mine]:07d}"
        self.add("search, one title", timed(admin, "GET", one))
        self.add("GET /api/assets/{id}", timed(admin, "GET", f"{edge}/api/assets/{mine}"))
        one = f"{page}&q=episode%20{anyone:07d}"
        self.add("search, one title, any title", timed(admin, "GET", one))
        url = f"{edge}/api/assets/{self.cat.ids[anyone]}"
        self.add("GET /api/assets/{id}, any title", timed(admin, "GET", url))
        self.counter += 1
        viewer = self.viewers[self.counter % len(self.viewers)]
        url = f"{edge}/play/{rng.choice(self.working)}"
        self.add("POST /play", timed(self.client, "POST", url, headers=viewer))
        url = f"{edge}/play/{self.cat.ids[rng.randrange(size)]}"
        self.add("POST /play, any title", timed(self.client, "POST", url, headers=viewer))

    def sample_edge(self) -> None:
        title = self.rng.choice(self.working)
        base = f"{self.edges[0].base}{self.grant(title)}"
        self.add("multivariant, edge hit", hit(self.client, f"{base}/index.m3u8"))
        playlist = uris(self.client.get(f"{base}/index.m3u8").text)[0]
        self.add("media playlist, edge hit", hit(self.client, f"{base}/{playlist}"))
        media = self.client.get(f"{base}/{playlist}").text
        segment = f"{base}/{playlist.split('/')[0]}/{uris(media)[0]}"
        self.add("segment, edge hit", hit(self.client, segment))

    def sample_metrics(self) -> None:
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        url = f"{self.edges[0].base}/metrics"
        self.add("/metrics (edge)", timed(self.client, "GET", url, headers=headers))

    def sample_purge(self, name: str) -> None:
        """Unpublish a title until both edges answer 404 for its cached segment (they follow
        the event log once a second), then publish it again."""
        title = self.rng.choice(self.cat.ids)
        path = self.grant(title)
        first = self.edges[0].base
        playlist = uris(self.client.get(f"{first}{path}/index.m3u8").text)[0]
        media = self.client.get(f"{first}{path}/{playlist}").text
        segment = f"{path}/{playlist.split('/')[0]}/{uris(media)[0]}"
        for edge in self.edges:
            hit(self.client, f"{edge.base}{segment}")
        started = time.perf_counter()
        self.services.assets.set_published(title, False)
        pending, took = {e.base for e in self.edges}, 0.0
        while pending:
            for base in list(pending):
                if self.client.get(f"{base}{segment}").status_code == 404:
                    pending.discard(base)
                    took = time.perf_counter() - started
            if time.perf_counter() - started > 15:
                raise SystemExit(f"purge of {title} did not reach {pending} in 15 s")
            time.sleep(0.005)
        self.add(name, took * 1000)
        self.services.assets.set_published(title, True)
        deadline = time.monotonic() + 15
        while any(self.client.get(f"{e.base}{segment}").status_code != 200 for e in self.edges):
            if time.monotonic() > deadline:
                raise SystemExit(f"{title} did not come back after publish")
            time.sleep(0.05)

    def add_rss(self, when: str) -> None:
        assert self.origin is not None
        self.add(f"RSS origin {when} (MB)", self.origin.rss_mb())
        self.add(f"RSS edge {when} (MB)", self.edges[0].rss_mb())


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing (the bench uses path tokens, not cookies)."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def viewer_headers(services: Services, n: int) -> dict[str, str]:
    """A subscriber (even n) or an institution's member (odd n), from Great Britain."""
    idp = services.dev_idp
    assert idp is not None
    if n % 2:
        token = idp.mint(f"member-{n}", {"institution": f"inst-{n % build.INSTITUTIONS}"}, 3600)
    else:
        token = idp.mint(build.active_subscriber(n * 37), ttl=3600)
    return {"Authorization": f"Bearer {token}", "CloudFront-Viewer-Country": build.ALLOWED_COUNTRY}


def interleaved(stacks: list[Stack], samples: int, one: Callable[[Stack], None]) -> None:
    """Sample i of every size, then sample i+1 in the reverse order: a change of the
    machine's load lands on every size alike."""
    for i in range(samples):
        for stack in stacks if i % 2 == 0 else stacks[::-1]:
            one(stack)


@contextmanager
def churn(stacks: list[Stack], per_s: int = 100) -> Iterator[None]:
    """~``per_s`` events a second into every size's log (half of them purging events with
    nothing to purge, as access-rule edits publish; ten per statement), while the block
    runs; and the followers' log query, timed every 100 ms meanwhile."""
    stop = threading.Event()

    def write(stack: Stack) -> None:
        rng = random.Random(stack.size)
        while not stop.is_set():
            started = time.monotonic()
            rows = [
                {
                    "type": "asset.updated" if i % 2 else "asset.retranscode",
                    "asset_id": rng.choice(stack.cat.ids),
                    "payload": {"purge": {"scope": "none"}} if i % 2 else {"queue": "backfill"},
                    "created_at": utcnow(),
                }
                for i in range(per_s // 10)
            ]
            with stack.services.db.session() as session:
                session.execute(insert(Event), rows)
            stop.wait(max(0.0, 0.1 - (time.monotonic() - started)))

    def follow(stack: Stack) -> None:
        catalogue = stack.services.catalogue
        while not stop.wait(0.1):
            started = time.perf_counter()
            catalogue.events_after(catalogue.last_event_id() - 50, PURGING_EVENTS)
            stack.add("follow query, churn", (time.perf_counter() - started) * 1000)

    threads = [
        threading.Thread(target=fn, args=(stack,), daemon=True)
        for stack in stacks
        for fn in (write, follow)
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        yield
    finally:
        stop.set()
        for t in threads:
            t.join(5)


def measure(stacks: list[Stack], args: argparse.Namespace) -> None:
    phases: list[tuple[str, int, Callable[[Stack], None]]] = [
        ("origin cold", args.cold, lambda s: s.sample_cold(args.cold)),
        ("admin API and /play", args.samples, Stack.sample_api),
        ("edge hits", args.samples, Stack.sample_edge),
        ("/metrics", max(5, args.samples // 10), Stack.sample_metrics),
        ("purges, idle", args.purges, lambda s: s.sample_purge("purge to 2 edges, idle")),
    ]
    for name, samples, one in phases:
        started = time.perf_counter()
        interleaved(stacks, samples, one)
        print(f"  {name}: {time.perf_counter() - started:.0f} s (load {os.getloadavg()[0]:.1f})")
    started = time.perf_counter()
    with churn(stacks):
        interleaved(stacks, args.purges, lambda s: s.sample_purge("purge to 2 edges, churn"))
    print(f"  purges, churn: {time.perf_counter() - started:.0f} s (load {os.getloadavg()[0]:.1f})")


# -- report ---------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(results: Results, sizes: list[int]) -> None:
    names = list(dict.fromkeys(name for _, name in results.samples))
    head = (
        f"{'figure':<32}" + "".join(f"{f'{s:,} titles':>20}" for s in sizes) + "  ratio p50   p99"
    )
    print(head)
    print("-" * len(head))
    for name in names:
        cells, p50s, p99s = [], [], []
        for s in sizes:
            values = results.samples.get((s, name), [])
            if not values:
                cells.append(f"{'–':>20}")
                continue
            if "RSS" in name:
                med = statistics.median(values)
                p50s.append(med)
                p99s.append(max(values))
                cells.append(f"{med:>20.0f}")
                continue
            p50, p99 = pct(values, 0.5), pct(values, 0.99)
            p50s.append(p50)
            p99s.append(p99)
            cells.append(f"{p50:>9.1f} / {p99:>7.1f}")
        ratio = (
            f"{p50s[-1] / p50s[0]:>9.2f} {p99s[-1] / p99s[0]:>5.2f}"
            if len(p50s) == len(sizes) > 1
            else ""
        )
        goal = " *" if name in REQUEST_PATHS and p50s and p50s[-1] / p50s[0] > 1.2 else ""
        print(f"{name:<32}" + "".join(cells) + ratio + goal)
    print("cells: p50 / p99 in ms (RSS: MB); ratio: largest / smallest size")
    print("* request path above the 1.2 goal (p50)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="sizes 5 and 5,000, fewer samples")
    parser.add_argument("--sizes", default=None, help="comma-separated (default 5,500,5000,50000)")
    parser.add_argument("--samples", type=int, default=None, help="per request figure and round")
    parser.add_argument("--cold", type=int, default=None, help="origin cold samples per round")
    parser.add_argument("--purges", type=int, default=None, help="purge samples per round")
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--licences", type=int, default=1_000)
    parser.add_argument("--no-backfill", action="store_true")
    args = parser.parse_args()
    sizes = [
        int(s) for s in (args.sizes or ("5,5000" if args.quick else "5,500,5000,50000")).split(",")
    ]
    args.samples = args.samples or (60 if args.quick else 150)
    args.cold = args.cold or (16 if args.quick else 30)
    args.purges = args.purges or (4 if args.quick else 6)
    root = Path(tempfile.mkdtemp(prefix="vodstack-scale-"))
    objects = root / "objects"
    catalogues: list[build.Catalogue] = []
    try:
        started = time.perf_counter()
        sets = build.transcode_media_sets(root, objects)
        print(
            f"media: 2 clips transcoded once ({time.perf_counter() - started:.0f} s); "
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
        )
        all_ids = [new_id() for _ in range(max(sizes))]
        for size in sizes:
            started = time.perf_counter()
            catalogues.append(
                build.build_catalogue(
                    size,
                    all_ids,
                    sets,
                    root,
                    objects,
                    subscriptions=args.subscriptions,
                    licences=args.licences,
                )
            )
            print(
                f"catalogue of {size:,} titles (+1 warm-up), {args.subscriptions:,} subscriptions, "
                f"{args.licences:,} licences: built in {time.perf_counter() - started:.1f} s"
            )
        results = Results()
        stacks = [
            Stack(
                cat,
                build_services(build.settings_for(cat.home, objects, cat.url)),
                size_env(cat, objects),
                results,
            )
            for cat in catalogues
        ]
        try:
            for stack in stacks:
                stack.start()
                stack.add_rss("at start")
            print(f"servers: {3 * len(stacks)} processes up (origin + 2 edges per size)")
            measure(stacks, args)
            for stack in stacks:
                stack.add_rss("after")
        finally:
            for stack in stacks:
                stack.stop()
        print()
        report(results, sizes)
        if not args.no_backfill:
            print()
            backfill_phase(catalogues, objects, root, quick=args.quick)
    finally:
        for cat in catalogues:
            build.drop_database(cat.db_name)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
