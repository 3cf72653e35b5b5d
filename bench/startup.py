"""Startup benchmark: click → first frame in headless Chromium, HLS (hls.js) and DASH (dash.js),
cold and warm server caches, p50/p95 over N runs on loopback.

    python bench/startup.py [--runs 20] [--engines hls,dash,shaka]

Each run is a fresh browser context (empty HTTP cache, no cookies) that opens
/watch/{id}, waits until the page is ready (viewer token → POST /play → cookies set, engine
code fetched), clicks play, and reads the page's own measurement: performance.now() from the
click handler to the first presented frame (requestVideoFrameCallback).

  cold: a fresh `vodstack serve` process per run (every edge/origin cache empty)
  warm: one server, primed by one playback; the runs then hit warm server caches

Target: p95 < 1 s. Needs node, Debian chromium and web/node_modules (scripts/test sets them up).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.browser import Chromium, missing_requirements

from bench.common import prepare_asset, server
from vodstack.telemetry.qoe import percentile

FIRST_FRAME = "window.vodstackPlayer?.startupMs"


def one_run(browser: Chromium, base: str, asset_id: str, token: str, engine: str) -> float:
    page = browser.page("bench")
    try:
        page.goto(f"{base}/watch/{asset_id}?engine={engine}#token={token}")
        page.wait_for("window.vodstackPlayer?.phase === 'ready'", 20, polling_ms=20)
        page.click("#play")
        return float(page.wait_for(FIRST_FRAME, 20, polling_ms=20))
    finally:
        page.close()


def summary(samples: list[float]) -> str:
    return (
        f"p50 {percentile(samples, 50):6.0f}  p95 {percentile(samples, 95):6.0f}  "
        f"mean {statistics.fmean(samples):6.0f}  min {min(samples):6.0f}  "
        f"max {max(samples):6.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--engines", default="hls,dash")
    parser.add_argument("--seconds", type=int, default=12, help="clip length")
    args = parser.parse_args()
    if reason := missing_requirements():
        raise SystemExit(reason)
    engines = args.engines.split(",")
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="vodstack-bench-") as tmp, Chromium() as browser:
        prep = prepare_asset(Path(tmp) / "home", args.seconds)
        env = {**prep.env, "VODSTACK_LOG_LEVEL": "WARNING"}
        print(f"chromium {browser.version}; {args.runs} runs per cell; ms, click → first frame")
        for engine in engines:
            cold = results[(engine, "cold")] = []
            for _ in range(args.runs):
                with server(env) as base:
                    cold.append(one_run(browser, base, prep.asset_id, prep.token, engine))
            warm = results[(engine, "warm")] = []
            with server(env) as base:
                one_run(browser, base, prep.asset_id, prep.token, engine)  # prime
                for _ in range(args.runs):
                    warm.append(one_run(browser, base, prep.asset_id, prep.token, engine))
    for (engine, cache), samples in results.items():
        verdict = "ok" if percentile(samples, 95) < 1000 else "OVER 1 s"
        print(f"  {engine:<6} {cache:<5} {summary(samples)}   p95 target < 1000: {verdict}")


if __name__ == "__main__":
    main()
