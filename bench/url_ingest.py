"""URL ingest's downloader against a plain streamed GET of the same file from the same server.

    python bench/url_ingest.py [--mb 256] [--rounds 3]

Both read a file served from disk by a local HTTP server and write it to disk in 1 MiB
pieces: the baseline with ``httpx.stream`` into a plain file, vodstack with
``ingest.fetch.Fetcher`` (its address check at connect, size cap, deadline and content-type
check) into the local object store's atomic writer. The ratio is what SSRF safety and the
store cost over a bare download (loopback is allowed explicitly for the run).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vodstack.ingest.fetch import AddressPolicy, Fetcher
from vodstack.storage.local import LocalStore


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(directory))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def baseline(url: str, out: Path) -> None:
    with httpx.stream("GET", url) as r, open(out, "wb") as fh:
        for chunk in r.iter_bytes(1024 * 1024):
            fh.write(chunk)


def vodstack(url: str, store: LocalStore, size: int) -> None:
    fetcher = Fetcher(AddressPolicy.from_settings(["127.0.0.1/32"]), max_bytes=size)
    with fetcher.open(url) as download, store.writer("masters/bench/source.mp4") as fh:
        for chunk in download.chunks():
            fh.write(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "www").mkdir()
        source = root / "www" / "master.mp4"
        with open(source, "wb") as fh:
            for _ in range(args.mb):
                fh.write(os.urandom(1024 * 1024))
        size = source.stat().st_size
        httpd, base = serve(root / "www")
        store = LocalStore(root / "objects")
        url = f"{base}/master.mp4"
        times: dict[str, list[float]] = {"httpx.stream (baseline)": [], "Fetcher → store": []}
        try:
            for _ in range(args.rounds):
                for name, run in (
                    ("httpx.stream (baseline)", lambda: baseline(url, root / "plain.bin")),
                    ("Fetcher → store", lambda: vodstack(url, store, size)),
                ):
                    started = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - started)
        finally:
            httpd.shutdown()
        base_s = statistics.median(times["httpx.stream (baseline)"])
        print(f"{args.mb} MiB over loopback, median of {args.rounds}")
        print(f"{'':26}{'MiB/s':>10}{'ratio':>8}")
        for name, samples in times.items():
            median = statistics.median(samples)
            print(f"{name:26}{args.mb / median:>10.0f}{median / base_s:>7.2f}×")


if __name__ == "__main__":
    main()
