"""Attack suite: every attack kind against a live ``vodstack serve`` under legitimate load,
and the memory high-water mark of the server under a body flood.

    python bench/attacks.py [--parallel 2]

Prints attempts, kinds and how many held (were refused as they should be), the legitimate
requests made meanwhile (all must succeed), and the server's RSS idle and at its peak while
``--parallel`` bodies of 150 MB are sent with no token to an admin route and to
``/api/beacons``. The baseline is the same server's idle RSS in the same run; the ratio is
peak / idle. Run it against older sources (``PYTHONPATH=old/src``) for the "before" reading:
the same suite, with the attacks that then got through listed as NOT HELD.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from tests.reliability import attacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parallel", type=int, default=2, help="150 MB bodies at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vodstack-attacks-") as tmp:
        root = Path(tmp)
        server = LiveServer(root / "home", attacks.SUITE_ENV)
        server.start()
        try:
            clip = make_clip_file(root / "clip.mp4", seconds=2, size="320x180")
            asset_id = server.upload(clip).json()["id"]
            assert server.wait(asset_id)["status"] == "ready"
            viewer = server.viewer(asset_id, "bench-attacker-victim")
            cookie = attacks.cookie_header(viewer.client.cookies)
            started = time.monotonic()
            report = attacks.run_suite(
                server, asset_id, cookie, server.token("bench-attacker-victim"), args.parallel
            )
            elapsed = time.monotonic() - started
        finally:
            server.stop()
    for line in report.lines():
        print(line)
    ratio = report.rss_peak / report.rss_idle if report.rss_idle else float("nan")
    print(f"peak / idle RSS: {ratio:.2f}x   suite time: {elapsed:.1f} s")


if __name__ == "__main__":
    main()
