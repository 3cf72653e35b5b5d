"""The attack suite: every kind of attack an independent run tried (issue 20), against a live
``vodstack serve``, while legitimate signed viewers and an admin keep using it.

Used by ``tests/reliability/test_attack_suite.py`` (CI) and ``bench/attacks.py`` (prints the
numbers for BENCHMARKS.md). Each attempt is one raw request whose refusal is checked; an
attempt *holds* when the server refused it the way it should. The legitimate load must keep
succeeding and the server must stay up; the body flood's memory high-water mark is measured
from ``/proc`` (RSS of the server's processes).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.conftest import ADMIN_TOKEN, LiveServer
from tests.reliability import rawhttp
from vodstack.entitlement import cfbase64, pathtoken
from vodstack.entitlement.keys import generate_private_key, load_private_key
from vodstack.entitlement.policy import Policy
from vodstack.entitlement.signing import signed_cookies, signed_url

#: Path tricks, shared with the security suite (tests/reliability/test_security.py).
TRAVERSALS = [
    "..",
    "../../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "..%5c..%5c..%5cetc%5cpasswd",
    "....//....//....//etc/passwd",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "..;/..;/..;/etc/passwd",
    "%00",
    "x%00.mp4",
    "../../secrets/admin-token",
    "../../../secrets/keys",
    "..%2f..%2fsecrets%2fadmin-token",
]
FLOOD_BYTES = 150 * 1024**2
#: One flood body shared by the parallel senders (150 MB each would be a lot to copy).
_FLOOD_BODY = memoryview(b"[" * FLOOD_BYTES)
LEAKS = (b"root:x:0:0", b"PRIVATE KEY", ADMIN_TOKEN.encode())
JSON = [("Content-Type", "application/json")]


@dataclass(frozen=True)
class Attempt:
    kind: str
    name: str
    held: bool
    detail: str


@dataclass
class Report:
    attempts: list[Attempt] = field(default_factory=list)
    legit_ok: int = 0
    legit_failed: list[str] = field(default_factory=list)
    rss_idle: int = 0
    rss_peak: int = 0
    alive: bool = False

    @property
    def broken(self) -> list[Attempt]:
        return [a for a in self.attempts if not a.held]

    def lines(self) -> list[str]:
        kinds = Counter(a.kind for a in self.attempts)
        held = Counter(a.kind for a in self.attempts if a.held)
        out = [
            f"attempts: {len(self.attempts)}  kinds: {len(kinds)}  "
            f"held: {len(self.attempts) - len(self.broken)}/{len(self.attempts)}",
            *(f"  {k:<14} {held[k]}/{n}" for k, n in sorted(kinds.items())),
            f"legitimate requests during the attacks: {self.legit_ok} ok, "
            f"{len(self.legit_failed)} failed",
            f"server RSS: idle {self.rss_idle / 2**20:.0f} MB, high-water mark under the body "
            f"flood {self.rss_peak / 2**20:.0f} MB (+{(self.rss_peak - self.rss_idle) / 2**20:.0f}"
            f" MB)",
            f"server up after the run: {self.alive}",
        ]
        out += [f"  NOT HELD {a.kind} {a.name}: {a.detail}" for a in self.broken]
        return out


# ----------------------------------------------------------------------------- memory


def server_rss(server: LiveServer) -> int:
    """Resident bytes of the server's Python processes (the CLI and its granian worker; not
    FFmpeg children), summed, read from /proc."""
    assert server.proc is not None
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat_fields[2]) != server.proc.pid:  # process group (start_new_session)
                continue
            if b"python" not in (entry / "cmdline").read_bytes().split(b"\0")[0]:
                continue
            status = (entry / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


class RssSampler:
    """Samples :func:`server_rss` every few milliseconds; ``peak`` is the high-water mark."""

    def __init__(self, server: LiveServer, every_s: float = 0.02) -> None:
        self.server, self.every_s, self.peak = server, every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, server_rss(self.server))
            self._stop.wait(self.every_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, server_rss(self.server))


# ----------------------------------------------------------------------------- attacks


class Attacks:
    """The attack kinds against one server and one ready asset with a signed viewer."""

    def __init__(self, server: LiveServer, asset_id: str, cookie: str, body_timeout_s: float):
        self.server, self.asset, self.cookie = server, asset_id, cookie
        self.port = server.port
        self.body_timeout_s = body_timeout_s
        self.manifest = f"/v1/{asset_id}/index.m3u8"

    def _get(self, target: str, cookie: str | None = None) -> rawhttp.RawResponse:
        headers = [("Cookie", cookie)] if cookie else []
        return rawhttp.request(self.port, "GET", target, headers)

    # --- forged, stretched and replayed grants (the live counterpart of test_forgeries.py)
    def forgeries(self) -> Iterator[Attempt]:
        real = dict(part.split("=", 1) for part in self.cookie.split("; "))
        key_id = real["CloudFront-Key-Pair-Id"]
        base = self.server.base_url
        now = int(time.time())
        attacker = generate_private_key("rsa")
        own_key = self._server_key(key_id)
        signature = bytearray(cfbase64.decode(real["CloudFront-Signature"]))
        signature[len(signature) // 2] ^= 0x01
        policy = json.loads(cfbase64.decode(real["CloudFront-Policy"]))
        policy["Statement"][0]["Resource"] = f"{base}/v1/*"
        stretched = cfbase64.encode(json.dumps(policy).encode())
        everywhere = Policy(f"{base}/v1/*", now + 86400)

        def jar(**parts: str) -> str:
            return "; ".join(f"{k}={v}" for k, v in {**real, **parts}.items() if v != "")

        def own(policy: Policy) -> str:
            return "; ".join(f"{k}={v}" for k, v in signed_cookies(policy, key_id, own_key).items())

        scope = f"{base}/v1/{self.asset}/*"
        cases: dict[str, tuple[str, str | None]] = {
            "no credentials": (self.manifest, None),
            "signature bit flipped": (
                self.manifest,
                jar(**{"CloudFront-Signature": cfbase64.encode(bytes(signature))}),
            ),
            "policy widened, signature kept": (
                f"/v1/{'z' * 20}/index.m3u8",
                jar(**{"CloudFront-Policy": stretched}),
            ),
            "untrusted key under a trusted id": (
                self.manifest,
                "; ".join(
                    f"{k}={v}" for k, v in signed_cookies(everywhere, key_id, attacker).items()
                ),
            ),
            "unknown key id": (self.manifest, jar(**{"CloudFront-Key-Pair-Id": "KATTACKER00001"})),
            "missing signature": (self.manifest, jar(**{"CloudFront-Signature": ""})),
            "missing policy": (self.manifest, jar(**{"CloudFront-Policy": ""})),
            "missing key id": (self.manifest, jar(**{"CloudFront-Key-Pair-Id": ""})),
            "garbage signature": (self.manifest, jar(**{"CloudFront-Signature": "~~~~"})),
            "grant of another asset": (f"/v1/{'z' * 20}/index.m3u8", self.cookie),
            "replayed after expiry": (self.manifest, own(Policy(scope, now - 1))),
            "not yet valid": (self.manifest, own(Policy(scope, now + 600, now + 300))),
            "bound to another address": (
                self.manifest,
                own(Policy(scope, now + 600, ip_address="203.0.113.0/24")),
            ),
        }
        for name, (target, cookie) in cases.items():
            r = self._get(target, cookie)
            yield Attempt("forgery", name, r.status == 403, f"{r.status}")
        url = signed_url(f"{base}{self.manifest}", key_id, attacker, expires=now + 600)
        r = self._get(url.removeprefix(base))
        yield Attempt("forgery", "signed URL by an untrusted key", r.status == 403, f"{r.status}")
        good = signed_url(f"{base}{self.manifest}", key_id, own_key, expires=now + 600)
        moved = good.removeprefix(base).replace(self.manifest, f"/v1/{'z' * 20}/index.m3u8")
        r = self._get(moved)
        yield Attempt("forgery", "signed URL moved to another path", r.status == 403, f"{r.status}")

    # --- the same grant as a path token (/v1/{id}/t/{token}/…): forged, moved, smuggled
    def token_forgeries(self) -> Iterator[Attempt]:
        real = dict(part.split("=", 1) for part in self.cookie.split("; "))
        key_id = real["CloudFront-Key-Pair-Id"]
        token = pathtoken.encode(real)
        base, now = self.server.base_url, int(time.time())
        own_key, attacker = self._server_key(key_id), generate_private_key("rsa")
        scope = f"{base}/v1/{self.asset}/*"
        signature = bytearray(cfbase64.decode(real["CloudFront-Signature"]))
        signature[len(signature) // 2] ^= 0x01
        policy = json.loads(cfbase64.decode(real["CloudFront-Policy"]))
        policy["Statement"][0]["Resource"] = f"{base}/v1/*"
        stretched = cfbase64.encode(json.dumps(policy).encode())

        def own(p: Policy, key: object = own_key) -> str:
            return pathtoken.encode(signed_cookies(p, key_id, key))  # type: ignore[arg-type]

        def at(tok: str, rest: str = "index.m3u8", asset: str | None = None) -> str:
            return f"/v1/{asset or self.asset}/t/{tok}/{rest}"

        other = "z" * 20
        cases = {
            "token: signature bit flipped": at(
                f"{key_id}.{real['CloudFront-Policy']}.{cfbase64.encode(bytes(signature))}"
            ),
            "token: policy widened, signature kept": at(
                f"{key_id}.{stretched}.{real['CloudFront-Signature']}", asset=other
            ),
            "token: untrusted key under a trusted id": at(
                own(Policy(f"{base}/v1/*", now + 600), attacker)
            ),
            "token: truncated": at(token[: len(token) // 2]),
            "token: empty": at(""),
            "token: of another asset": at(token, asset=other),
            "token: replayed after expiry": at(own(Policy(scope, now - 86400))),
            "token: bound to another address": at(
                own(Policy(scope, now + 600, ip_address="203.0.113.0/24"))
            ),
            "token: in the query": f"{self.manifest}?t={token}",
            "token: two token segments": at(token, f"t/{token}/index.m3u8"),
            "token: encoded slash": f"/v1/{self.asset}/t/{token}%2Findex.m3u8",
        }
        for name, target in cases.items():
            r = self._get(target)
            yield Attempt("forgery", name, r.status == 403, f"{r.status}")
        # behind a valid token: refused (403 dot segments, 400 encodings, 404 unknown names)
        for trick in TRAVERSALS:
            r = self._get(at(token, f"{trick}/index.m3u8"))
            held = r.status in (400, 403, 404) and not any(m in r.body for m in LEAKS)
            yield Attempt("path trick", f"token + {trick}", held, f"{r.status}")

    def _server_key(self, key_id: str):  # type: ignore[no-untyped-def]
        pem = (self.server.home / "secrets" / "keys" / f"signing-{key_id}.pem").read_bytes()
        return load_private_key(pem)

    # --- path tricks (test_security.py's set) on the delivery path, the static mount, pages
    def path_tricks(self) -> Iterator[Attempt]:
        for trick in TRAVERSALS:
            for template in (f"/v1/{self.asset}/{{}}", "/static/{}", "/watch/{}", "/api/assets/{}"):
                target = template.format(trick)
                headers = [("Cookie", self.cookie), ("Authorization", f"Bearer {ADMIN_TOKEN}")]
                r = rawhttp.request(self.port, "GET", target, headers)
                leaked = any(marker in r.body for marker in LEAKS)
                held = 0 < r.status < 500 and not leaked and (r.status != 200 or "etc" not in trick)
                yield Attempt("path trick", target, held, f"{r.status}")

    # --- item 1: the development sign-in, relayed by a same-host proxy (no forwarding headers)
    def dev_signin(self) -> Iterator[Attempt]:
        for body in (b'{"subject": "victim"}', b'{"subject": "admin"}'):
            r = rawhttp.request(self.port, "POST", "/dev/token", JSON, body)
            yield Attempt("dev sign-in", body.decode(), r.status == 404, f"{r.status}")

    # --- admin enumeration without the token (no body read either)
    def admin_without_token(self) -> Iterator[Attempt]:
        routes = [
            ("GET", "/api/assets"),
            ("GET", "/api/keys"),
            ("POST", "/api/keys/rotate"),
            ("POST", "/api/subscriptions"),
            ("PUT", f"/api/assets/{self.asset}/access"),
            ("DELETE", f"/api/assets/{self.asset}"),
        ]
        for method, target in routes:
            for auth in ([], [("Authorization", "Bearer wrong")]):
                r = rawhttp.request(self.port, method, target, [*auth, *JSON], b"{}")
                yield Attempt(
                    "admin no token", f"{method} {target}", r.status == 401, f"{r.status}"
                )

    # --- item 3: bodies
    def bodies(self) -> Iterator[Attempt]:
        declared = [
            ("POST", "/api/subscriptions", []),
            ("PUT", f"/api/assets/{self.asset}/access", []),
            ("POST", "/api/beacons", []),
            ("POST", f"/v1/{self.asset}/license", [("Cookie", self.cookie)]),
            ("POST", "/play/" + self.asset, []),
        ]
        for method, target, headers in declared:
            r = rawhttp.partial_body(
                self.port, method, target, [*headers, *JSON], 100 * 1024**2, b"{" * 1024
            )
            yield Attempt(
                "body",
                f"declared 100 MB, 1 kB sent: {target}",
                r.status in (401, 413),
                f"{r.status}",
            )
        r = rawhttp.chunked_body(self.port, "POST", "/api/beacons", JSON, b"[" * 65536, 32)
        yield Attempt("body", "chunked 2 MB to /api/beacons", r.status == 413, f"{r.status}")
        r = rawhttp.partial_body(self.port, "POST", "/api/beacons", JSON, 50_000, b"{")
        yield Attempt("body", "slow body (1 of 50 000 bytes)", r.status == 408, f"{r.status}")
        marker = b"ECHO" * 50_000
        r = rawhttp.request(
            self.port,
            "POST",
            "/api/subscriptions",
            [("Authorization", f"Bearer {ADMIN_TOKEN}"), *JSON],
            b'{"subject": ["' + marker + b'"], "plan": "basic"}',
        )
        echoed = b"ECHO" in r.body or len(r.body) > 4096
        yield Attempt(
            "body",
            "422 echoing a 200 kB input",
            r.status == 422 and not echoed,
            f"{r.status} {len(r.body)} B",
        )

    def flood(self, parallel: int = 2) -> Iterator[Attempt]:
        """``parallel`` bodies of 150 MB really sent, no token: admin route and beacons."""
        targets = (["/api/subscriptions", "/api/beacons"] * parallel)[:parallel]
        with ThreadPoolExecutor(parallel) as pool:
            results = list(pool.map(self._flood_one, targets))
        for target, r in zip(targets, results, strict=True):
            held = r.status in (401, 413)
            yield Attempt("body flood", f"150 MB to {target}", held, f"{r.status}")

    def _flood_one(self, target: str) -> rawhttp.RawResponse:
        return rawhttp.request(self.port, "POST", target, JSON, _FLOOD_BODY, timeout=120)

    # --- item 11: nosniff everywhere, no forged Host in API URLs
    def headers(self) -> Iterator[Attempt]:
        targets = [
            ("/healthz", []),
            ("/nope", []),
            (self.manifest, [("Cookie", self.cookie)]),
            (self.manifest, []),
            ("/static/player/watch.js", []),
            (f"/watch/{self.asset}", []),
            ("/api/assets", []),
        ]
        for target, headers in targets:
            r = rawhttp.request(self.port, "GET", target, headers)
            ok = r.header("x-content-type-options") == "nosniff"
            yield Attempt(
                "nosniff", f"GET {target} → {r.status}", ok, str(r.header("x-content-type-options"))
            )
        for target in ("/api/assets", f"/api/assets/{self.asset}"):
            r = httpx.get(
                f"{self.server.base_url}{target}",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Host": "attacker.example"},
                timeout=30,
            )
            held = r.status_code == 200 and "attacker.example" not in r.text
            yield Attempt("forged Host", target, held, f"{r.status_code}")

    # --- item 4: a non-canonical spelling of a real object never becomes a cache entry
    def cache_keys(self) -> Iterator[Attempt]:
        spellings = ("index.m3u8%3Fnonce=1", "index.m3u8%23x", "%69ndex.m3u8", "index.m3u8;x")
        for spelling in spellings:
            r = self._get(f"/v1/{self.asset}/{spelling}", self.cookie)
            held = r.status in (400, 403, 404)  # refused before the cache, never the object
            yield Attempt("cache key", spelling, held, f"{r.status}")

    # --- item 5: times past the end and odd widths are one cut, not one FFmpeg run each
    def thumbnails(self) -> Iterator[Attempt]:
        etags: set[str | None] = set()
        for time_s, width in ((3600, 201), (7200.5, 233), (99999, 239), (10**9, 221)):
            target = f"/v1/{self.asset}/thumbnail.jpg?time={time_s}&width={width}"
            r = self._get(target, self.cookie)
            if r.status == 200:
                etags.add(r.header("etag"))
            # a (clamped) picture, a 400 for an absurd time, or refused for load: never a 5xx
            held = r.status in (200, 400, 429, 503)
            yield Attempt("thumbnail", f"time={time_s} width={width}", held, f"{r.status}")
        yield Attempt("thumbnail", "all share one cache key", len(etags) <= 1, f"{len(etags)}")

    def all_kinds(self) -> list[Callable[[], Iterator[Attempt]]]:
        return [
            self.forgeries,
            self.token_forgeries,
            self.path_tricks,
            self.dev_signin,
            self.admin_without_token,
            self.bodies,
            self.headers,
            self.cache_keys,
            self.thumbnails,
        ]


# ----------------------------------------------------------------------------- legitimate load


class LegitimateLoad:
    """Signed viewers and an admin using the server while it is attacked: every request of
    theirs must succeed."""

    def __init__(
        self, server: LiveServer, asset_id: str, cookie: str, token: str, threads: int = 2
    ):
        self.server, self.asset, self.cookie, self.token = server, asset_id, cookie, token
        self.threads = threads
        self.ok = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]

    def _run(self, i: int) -> None:
        base = self.server.base_url
        viewer = httpx.Client(base_url=base, timeout=30, headers={"Cookie": self.cookie})
        admin = httpx.Client(
            base_url=base, timeout=30, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        media = viewer.get(f"/v1/{self.asset}/index.m3u8").text.splitlines()
        playlist = next(line for line in media if line and not line.startswith("#"))
        steps = [
            lambda: viewer.get(f"/v1/{self.asset}/index.m3u8"),
            lambda: viewer.get(f"/v1/{self.asset}/{playlist}"),
            lambda: viewer.get(f"/v1/{self.asset}/index.mpd"),
            lambda: admin.get(f"/api/assets/{self.asset}"),
            lambda: admin.post(
                "/api/subscriptions", json={"subject": f"load-{i}", "plan": "basic"}
            ),
            lambda: httpx.post(
                f"{base}/play/{self.asset}",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            ),
        ]
        n = 0
        while not self._stop.is_set():
            step = steps[n % len(steps)]
            n += 1
            try:
                r = step()
                good = r.status_code < 300
                detail = f"{r.request.method} {r.request.url.path} → {r.status_code}"
            except httpx.HTTPError as exc:
                good, detail = False, f"{type(exc).__name__}: {exc}"
            with self._lock:
                if good:
                    self.ok += 1
                else:
                    self.failed.append(detail)

    def __enter__(self) -> LegitimateLoad:
        for worker in self._workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)


# ----------------------------------------------------------------------------- the run


SUITE_ENV = {
    "VODSTACK_BODY_TIMEOUT_S": "2",
    "VODSTACK_MINT_RATE_PER_MIN": "100000",  # the legitimate load mints on every loop
}


def run_suite(server: LiveServer, asset_id: str, cookie: str, token: str, flood: int = 2) -> Report:
    """Every attack kind, concurrently with a legitimate load; then the body flood alone
    (so its memory high-water mark is the flood's), still under the legitimate load."""
    report = Report()
    attacks = Attacks(server, asset_id, cookie, float(SUITE_ENV["VODSTACK_BODY_TIMEOUT_S"]))
    with LegitimateLoad(server, asset_id, cookie, token) as load:
        with ThreadPoolExecutor(4) as pool:
            for attempts in pool.map(lambda kind: list(kind()), attacks.all_kinds()):
                report.attempts += attempts
        if flood:
            time.sleep(0.5)
            report.rss_idle = server_rss(server)
            with RssSampler(server) as sampler:
                report.attempts += list(attacks.flood(flood))
            report.rss_peak = sampler.peak
    report.legit_ok, report.legit_failed = load.ok, load.failed
    try:
        report.alive = server.client.get("/healthz", timeout=10).status_code == 200
    except httpx.HTTPError:
        report.alive = False
    return report


def cookie_header(viewer_cookies: httpx.Cookies) -> str:
    return "; ".join(f"{k}={v}" for k, v in viewer_cookies.items())
