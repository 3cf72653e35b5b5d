"""JIT packager benchmark: manifest generation rate, cold and warm, against serving the same
manifest as a pre-written static file (what a package-ahead pipeline stores).

    python bench/manifests.py [--seconds 60] [--hours 2] [--rounds 3]

In process (one core, no HTTP):
  cold   the presentation is not cached: catalogue read of every fragment row + model build
         + manifest writing (what the first request after a start or purge costs);
  warm   the presentation is cached: manifest writing only;
  static open + read of the same bytes from a file (the baseline).
Writers alone on a synthetic long title (``--hours``, the real tracks' fragments repeated),
since manifest size grows with duration.

Over HTTP (wrk, same client, same run): the origin role answers every manifest just in time
(no edge cache in front) against nginx serving the same bytes from a file.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import bench_env, median_of, prepare_asset, server, wrk
from bench.nginx import nginx
from vodstack.compose.services import build_services
from vodstack.config import Settings
from vodstack.origin.origin import Origin
from vodstack.packaging import dash, hls
from vodstack.packaging.layout import VariantTag
from vodstack.packaging.model import Presentation, Track
from vodstack.storage.slices import BytesResource
from vodstack.thumbnails.cutter import FrameCutter

SECRET = "bench-origin-secret"
PATHS = ("index.m3u8", "index.mpd", "r1-4s/v720.m3u8")


def per_second(fn: Callable[[], object], budget_s: float = 1.0) -> float:
    """Calls per second of ``fn``, timed over about ``budget_s`` (median of 3 slices)."""
    fn()
    rates = []
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < budget_s / 3:
            fn()
            n += 1
        rates.append(n / elapsed)
    return statistics.median(rates)


def long_presentation(p: Presentation, hours: float) -> Presentation:
    """The same tracks with their fragments repeated to ``hours`` (offsets/times shifted)."""

    def stretch(t: Track) -> Track:
        span = sum(f.duration for f in t.fragments)
        size = t.fragments[-1].offset + t.fragments[-1].size - t.fragments[0].offset
        copies = max(1, round(hours * 3600 * t.timescale / span))
        frags = tuple(
            dataclasses.replace(
                f,
                offset=f.offset + k * size,
                decode_time=f.decode_time + k * span,
                presentation_time=f.presentation_time + k * span,
                key_sample_end=f.key_sample_end + k * size,
            )
            for k in range(copies)
            for f in t.fragments
        )
        return dataclasses.replace(t, fragments=frags, file_size=t.init_size + copies * size)

    tracks = tuple(stretch(t) for t in p.tracks)
    return Presentation(p.asset_id, p.revision, max(t.duration_s for t in tracks), tracks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="clip length")
    parser.add_argument("--hours", type=float, default=2.0, help="synthetic long title")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wrk-seconds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vodstack-bench-") as tmp:
        root = Path(tmp)
        prep = prepare_asset(root / "home", seconds=args.seconds)
        settings = Settings()
        services = build_services(settings)
        frames = FrameCutter(services.store, 1, 1.0)
        origin = Origin(settings, services.catalogue, services.store, windows=None, frames=frames)
        aid = prep.asset_id
        static_dir = root / "static"
        static_dir.mkdir()
        rows: list[tuple[str, int, float, float, float]] = []
        for path in PATHS:
            body = origin.resolve(aid, path)
            assert isinstance(body, BytesResource)
            f = static_dir / path.replace("/", "_")
            f.write_bytes(body.body)

            def cold(path: str = path) -> None:
                origin.forget(aid)
                origin.resolve(aid, path)

            warm_fn = lambda path=path: origin.resolve(aid, path)  # noqa: E731
            static_fn = f.read_bytes
            rows.append(
                (path, len(body.body), per_second(cold), per_second(warm_fn), per_second(static_fn))
            )
        p = origin.presentation(aid, 1)
        tag = VariantTag(1, settings.segment_s)
        long = long_presentation(p, args.hours)
        video = long.videos[-1]
        writers = [
            ("multivariant", lambda: hls.multivariant_playlist(long, tag)),
            ("media playlist", lambda: hls.media_playlist(video, tag)),
            ("MPD", lambda: dash.mpd(long, tag)),
        ]
        long_rows = [(name, len(fn()), per_second(fn)) for name, fn in writers]
        services.close()

        env = {**bench_env(prep.home), "VODSTACK_ORIGIN_SECRETS": f'["{SECRET}"]'}
        www = root / "www" / "v1" / aid
        www.mkdir(parents=True)
        http_rows = []
        with server(env, args=["--role", "origin"]) as og, nginx(root) as ngx:
            head = {"X-Vodstack-Origin-Secret": SECRET}
            for path in ("index.m3u8", "index.mpd"):
                r = httpx.get(f"{og}/v1/{aid}/{path}", headers=head)
                r.raise_for_status()
                (www / path).write_bytes(r.content)
                ours, theirs = [], []
                for _ in range(args.rounds):
                    theirs.append(wrk(f"{ngx}/v1/{aid}/{path}", seconds=args.wrk_seconds))
                    ours.append(
                        wrk(f"{og}/v1/{aid}/{path}", seconds=args.wrk_seconds, headers=head)
                    )
                http_rows.append((path, median_of(theirs), median_of(ours)))

    print(f"in process, {args.seconds} s asset (3 rungs + audio), one core, calls/s")
    print(
        f"{'manifest':<18}{'bytes':>7}{'cold/s':>9}{'warm/s':>9}{'static/s':>10}"
        f"{'cold µs':>9}{'warm µs':>9}{'warm/static':>12}"
    )
    for path, size, c, w, s in rows:
        print(
            f"{path:<18}{size:>7}{c:>9.0f}{w:>9.0f}{s:>10.0f}{1e6 / c:>9.0f}{1e6 / w:>9.0f}"
            f"{w / s:>12.2f}"
        )
    print(
        f"writers alone, synthetic {args.hours:g} h title ({len(video.fragments)} fragments/track)"
    )
    for name, size, rate in long_rows:
        print(f"  {name:<16}{size / 1024:>8.0f} KiB{rate:>9.1f}/s{1e3 / rate:>9.2f} ms")
    print(f"over HTTP, wrk -t1 -c32 -d{args.wrk_seconds}s, median of {args.rounds}")
    print(f"{'manifest':<12}{'server':<36}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for path, ngx_r, og_r in http_rows:
        for label, r in (
            ("nginx static file (baseline)", ngx_r),
            ("vodstack origin, JIT per request", og_r),
        ):
            print(
                f"{path:<12}{label:<36}{r.rps:>9.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{r.errors:>8}"
            )
        print(f"{'':<12}ratio JIT/nginx = {og_r.rps / ngx_r.rps:.2f}×")


if __name__ == "__main__":
    main()
