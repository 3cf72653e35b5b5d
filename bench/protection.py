"""Protection benchmark: just-in-time encryption throughput (MB/s) against producing the same
clear segments, the one-off sizing of protected segments for the manifests' bit rates
against encrypting them, and the steady state through the edge (an encrypted segment is a
cache hit like a clear one), all in the same run.

    python bench/protection.py [--seconds 12] [--rounds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import median_of, play_cookies, prepare_asset, server, wrk
from vodstack.compose.services import build_services
from vodstack.config import Settings
from vodstack.origin.origin import Origin
from vodstack.origin.protect import ProtectedPackager
from vodstack.packaging.layout import VariantTag
from vodstack.protection.service import build_protection
from vodstack.storage.slices import read_resource
from vodstack.thumbnails.cutter import FrameCutter


def produce_all(origin: Origin, asset_id: str, tag: str) -> tuple[int, float]:
    """Bytes and seconds to produce every init and media segment of every track once."""
    p = origin.presentation(asset_id, 1)
    paths = []
    for track in p.tracks:
        paths.append(f"{tag}/{track.track_id}/init.mp4")
        segments = origin.segments(p, track, 4)
        paths += [f"{tag}/{track.track_id}/{s.number}.m4s" for s in segments]
    total = 0
    started = time.perf_counter()
    for path in paths:
        # a clear slice is read, as the edge's loader would
        total += len(read_resource(origin.store, origin.resolve(asset_id, path)))
    return total, time.perf_counter() - started


def size_all(
    origin: Origin, packager: ProtectedPackager, asset_id: str, tag: VariantTag
) -> tuple[float, float]:
    """Seconds to size every protected segment of every track for a first protected
    manifest: from the growth the transcoder recorded, and measured from the media (what a
    revision made before that was recorded costs once per origin process, and what the
    transcoder spends per revision). Fresh presentations, so nothing is remembered."""
    origin.forget(asset_id)
    p = origin.presentation(asset_id, 1)
    started = time.perf_counter()
    packager.served_sizes(p, tag, origin.manifests.read_track, origin.manifests.growth)
    recorded = time.perf_counter() - started
    # new fragment tuples: the sizes are remembered per fragment index
    bare = dataclasses.replace(
        p,
        tracks=tuple(dataclasses.replace(t, fragments=(*t.fragments,)) for t in p.tracks),
    )
    started = time.perf_counter()
    packager.served_sizes(bare, tag, origin.manifests.read_track, lambda _: {})
    return recorded, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vodstack-bench-") as tmp:
        prep = prepare_asset(Path(tmp) / "home", seconds=args.seconds)
        settings = Settings()
        services = build_services(settings)
        packager = ProtectedPackager(
            build_protection(settings, services.db, services.secrets), "{asset}/license"
        )
        rows = []
        sizing: dict[str, tuple[float, float]] = {}
        for scheme, tag_of in (
            ("clear", None),
            ("aes-128", "aes"),
            ("cbcs", "cbcs"),
            ("cenc", "cenc"),
        ):
            services.catalogue.update_asset(prep.asset_id, drm=scheme)
            frames = FrameCutter(services.store, 1, 1.0)
            origin = Origin(
                settings, services.catalogue, services.store, packager, windows=None, frames=frames
            )
            asset = services.catalogue.get_asset(prep.asset_id)
            variant = (
                VariantTag(1, 4)
                if tag_of is None
                else packager.hls_tag(asset, 4)
                if scheme != "cenc"
                else packager.dash_tag(asset, 4)[0]
            )
            tag = str(variant)
            best = min(
                (produce_all(origin, prep.asset_id, tag) for _ in range(args.rounds)),
                key=lambda r: r[1],
            )
            rows.append((scheme, best[0], best[1]))
            sizing[scheme] = min(size_all(origin, packager, prep.asset_id, variant)
                                 for _ in range(args.rounds))  # fmt: skip
        clear_rate = rows[0][1] / rows[0][2]
        print(
            f"just-in-time production of every segment of a {args.seconds} s, 3-rung + audio "
            f"asset (one core, best of {args.rounds})"
        )
        print(f"{'scheme':<10}{'MB':>8}{'seconds':>9}{'MB/s':>9}{'vs clear':>10}")
        for scheme, size, seconds in rows:
            print(
                f"{scheme:<10}{size / 1e6:>8.2f}{seconds:>9.3f}{size / seconds / 1e6:>9.0f}"
                f"{size / seconds / clear_rate:>10.2f}"
            )
        print("sizing every protected segment for a first protected manifest's bit rates:")
        print("from the transcoder's record, or measured from the media; vs encrypting them")
        print(f"{'scheme':<10}{'recorded s':>11}{'measured s':>11}{'vs encrypting':>15}")
        for scheme, _, seconds in rows[1:]:
            recorded, measured = sizing[scheme]
            print(f"{scheme:<10}{recorded:>11.4f}{measured:>11.3f}{measured / seconds:>15.2f}")
        # steady state through the edge: encrypted and clear segments are both cache hits;
        # each measured on its own server (a protection change purges the edge anyway)
        hits = {}
        for scheme in ("clear", "cenc"):
            services.catalogue.update_asset(prep.asset_id, drm=scheme)
            with server(prep.env) as base:
                cookie = play_cookies(base, prep.asset_id, prep.token)
                r = httpx.get(f"{base}/v1/{prep.asset_id}/index.mpd", headers={"Cookie": cookie})
                assert r.status_code == 200, (r.status_code, r.text[:500])
                mpd = r.text
                tag = mpd.split('initialization="', 1)[1].split("/", 1)[0]
                url = f"{base}/v1/{prep.asset_id}/{tag}/v360/2.m4s"
                httpx.get(url, headers={"Cookie": cookie}).raise_for_status()
                hits[scheme] = median_of(
                    [wrk(url, seconds=4, headers={"Cookie": cookie}) for _ in range(args.rounds)]
                )
            os.environ.pop("VODSTACK_PORT", None)
        services.close()
        clear, enc = hits["clear"], hits["cenc"]
        print(f"edge hit of the same segment (360p #2), median of {args.rounds} wrk runs")
        print(f"{'scheme':<10}{'req/s':>9}{'MB/s':>8}{'p99 ms':>8}{'non-2xx':>9}{'vs clear':>10}")
        for scheme, hit in hits.items():
            print(
                f"{scheme:<10}{hit.rps:>9.0f}{hit.mb_s:>8.0f}{hit.p99_ms:>8.1f}{hit.errors:>9}"
                f"{hit.rps / clear.rps:>10.2f}"
            )
        print(f"cenc/clear at the edge: {enc.rps / clear.rps:.2f}× (encrypted once, then cached)")


if __name__ == "__main__":
    main()
