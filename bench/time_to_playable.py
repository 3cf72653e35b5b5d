"""Time-to-playable by duration bucket: upload → the first segment plays; progressive vs full.

    python bench/time_to_playable.py [--quick] [--repeat 3] [--size 1280x720]
                                     [--modes single,progressive]

A real ``vodstack serve`` (one in-process transcode worker, the benchmark ladder
240/360/720p + AAC, x264 veryfast) receives generated masters of several lengths, one at a
time, streamed over HTTP. For each, the clock runs from the first byte of the upload until a
viewer has fetched the multivariant playlist, a media playlist, the init segment and the first
media segment (all 200). ``single`` (the baseline, full ladder first): nothing plays until
every rung is done. ``progressive`` (issue #10): the asset is ready once its first window of
every rung is encoded; the rest is made on request or by the background job.

Reported per bucket in the buckets Mux publishes for its "time to publish" (0–1 min, 1–5 min,
5–20 min): p50 and p95 seconds, and seconds of waiting per minute of content. The baseline is
the clip's own duration (× realtime < 1 means ready before it could have been watched once);
Mux's published medians (2.0 s for 0–1 min, 9.0 s for 5–20 min, as cited in issues #9 and #10) are a
reference from other hardware, not measured here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import bench_env, server
from vodstack.media import ffmpeg_argv
from vodstack.telemetry.qoe import percentile

ADMIN = "bench-admin-token"
# bucket → clip durations (s). Modest defaults; --quick uses one clip per bucket.
BUCKETS = {
    "0–1 min": (15, 30, 45, 55),
    "1–5 min": (90, 180),
    "5–20 min": (360,),
}
QUICK = {"0–1 min": (30,), "1–5 min": (120,), "5–20 min": (360,)}
MUX_MEDIAN_S = {"0–1 min": 2.0, "5–20 min": 9.0}


@dataclass(frozen=True)
class Sample:
    seconds: int
    accepted: float  # upload finished (202)
    ready: float  # status ready seen
    playable: float  # first media segment fetched


def make_master(path: Path, seconds: int, size: str) -> Path:
    """A camera-like master: H.264 at high quality + AAC, 2 s GOPs so cuts stay exact."""
    subprocess.run(
        [
            *ffmpeg_argv(),
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=30:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "20",
            "-g",
            "60",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
            str(path),
        ],
        check=True,
    )
    return path


def cut(master: Path, out: Path, seconds: int) -> Path:
    subprocess.run(
        [
            *ffmpeg_argv(),
            "-i",
            str(master),
            *("-t", str(seconds), "-c", "copy", "-movflags", "+faststart", str(out)),
        ],
        check=True,
    )
    return out


def first_uri(playlist: str) -> str:
    return next(line for line in playlist.splitlines() if line and not line.startswith("#"))


def one_run(base: str, clip: Path, seconds: int, viewer_token: str) -> Sample:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    with httpx.Client(base_url=base, timeout=600) as c:
        started = time.perf_counter()
        with open(clip, "rb") as fh:
            r = c.post(
                f"/api/assets?filename={clip.name}",
                content=iter(lambda: fh.read(1 << 20), b""),
                headers={**admin, "Content-Type": "application/octet-stream"},
            )
        r.raise_for_status()
        accepted = time.perf_counter() - started
        asset_id = r.json()["id"]
        while True:
            status = c.get(f"/api/assets/{asset_id}", headers=admin).json()["status"]
            if status == "ready":
                break
            if status == "failed":
                raise SystemExit(f"{clip.name} failed to transcode")
            time.sleep(0.05)
        ready = time.perf_counter() - started
        c.post(f"/play/{asset_id}", headers={"Authorization": f"Bearer {viewer_token}"})
        root = f"/v1/{asset_id}/"
        variants = c.get(root + "index.m3u8")
        variants.raise_for_status()
        playlist_uri = first_uri(variants.text)
        media = c.get(root + playlist_uri)
        media.raise_for_status()
        tag_dir = playlist_uri.rsplit("/", 1)[0] + "/"
        init = next(
            line.split('URI="', 1)[1].split('"', 1)[0]
            for line in media.text.splitlines()
            if line.startswith("#EXT-X-MAP")
        )
        c.get(root + tag_dir + init).raise_for_status()
        c.get(root + tag_dir + first_uri(media.text)).raise_for_status()
        playable = time.perf_counter() - started
        # Not timed: a progressive job goes on in the background; the next upload must find
        # the machine as idle as the baseline's does.
        while c.get(f"/api/assets/{asset_id}", headers=admin).json()["job"]["state"] not in (
            "succeeded",
            "failed",
            "dead",
        ):
            time.sleep(0.2)
    return Sample(seconds, accepted, ready, playable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 s / 2 min / 6 min, once each")
    parser.add_argument("--repeat", type=int, default=None, help="uploads per clip (1)")
    parser.add_argument("--size", default="1280x720", help="master resolution")
    parser.add_argument(
        "--modes", default="single,progressive", help="transcode modes to compare (baseline first)"
    )
    args = parser.parse_args()
    modes = args.modes.split(",")
    buckets = QUICK if args.quick else BUCKETS
    repeat = args.repeat or 1
    with tempfile.TemporaryDirectory(prefix="vodstack-ttp-") as tmp:
        root = Path(tmp)
        longest = max(d for ds in buckets.values() for d in ds)
        master = make_master(root / "master.mp4", longest, args.size)
        clips = {d: cut(master, root / f"clip{d}.mp4", d) for ds in buckets.values() for d in ds}
        results: dict[tuple[str, str], list[Sample]] = {}
        for mode in modes:
            home = root / f"home-{mode}"
            env = {
                **bench_env(home),
                "VODSTACK_ADMIN_TOKEN": ADMIN,
                "VODSTACK_TRANSCODE_MODE": mode,
            }
            os.environ.update({"VODSTACK_HOME": env["VODSTACK_HOME"]})
            with server(env) as base:
                httpx.post(
                    f"{base}/api/subscriptions",
                    json={"subject": "ttp-viewer", "plan": "bench"},
                    headers={"Authorization": f"Bearer {ADMIN}"},
                ).raise_for_status()
                token = subprocess.run(
                    [sys.executable, "-m", "vodstack.cli", "token", "ttp-viewer", "--ttl", "86400"],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
                for _ in range(repeat):  # rounds over all buckets: noise spreads over them all
                    for bucket, durations in buckets.items():
                        for d in durations:
                            sample = one_run(base, clips[d], d, token)
                            results.setdefault((mode, bucket), []).append(sample)
                            print(
                                f"  {mode:<12}{d:>4} s clip: accepted {sample.accepted:6.2f} s, "
                                f"ready {sample.ready:7.2f} s, first segment "
                                f"{sample.playable:7.2f} s",
                                flush=True,
                            )
    print(
        f"time to playable (upload start → first segment), ladder 240/360/720p + AAC from "
        f"a {args.size} master, 1 job worker, x264 veryfast"
    )
    print(
        f"{'mode':<12}{'bucket':<10}{'clips':>16}{'n':>4}{'p50 s':>9}{'p95 s':>9}"
        f"{'× realtime':>12}{'vs ' + modes[0]:>12}{'Mux p50 s':>11}{'ours/Mux':>10}"
    )
    for mode in modes:
        for bucket in buckets:
            samples = results.get((mode, bucket), [])
            if not samples:
                continue
            ttp = [s.playable for s in samples]
            realtime = [s.playable / s.seconds for s in samples]
            mux = MUX_MEDIAN_S.get(bucket)
            p50 = percentile(ttp, 50)
            base_p50 = percentile([s.playable for s in results[(modes[0], bucket)]], 50)
            clip_list = "/".join(str(d) for d in buckets[bucket]) + " s"
            print(
                f"{mode:<12}{bucket:<10}{clip_list:>16}{len(ttp):>4}{p50:>9.1f}"
                f"{percentile(ttp, 95):>9.1f}{percentile(realtime, 50):>12.3f}"
                f"{base_p50 / p50:>11.1f}×"
                + (f"{mux:>11.1f}{p50 / mux:>10.1f}" if mux else f"{'—':>11}{'—':>10}")
            )
    print(
        f"× realtime = time to playable / clip duration; vs {modes[0]} = how many times sooner "
        "than the baseline; Mux medians are published figures, not measured here"
    )


if __name__ == "__main__":
    main()
