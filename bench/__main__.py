"""Run every benchmark in ``bench/``, one after another, each in its own process.

    python -m bench                     # all, modest defaults
    python -m bench --quick             # all, smallest sizes that still give a reading
    python -m bench --only origin,manifests
    python -m bench --list

Each benchmark prints its own table with ratios against a baseline measured in the same run
(nginx, FFmpeg, verification switched off, …); this runner adds the machine, the load and the
exact command before each one, and saves every output under ``bench/out/`` (git-ignored) so
BENCHMARKS.md can be updated from a single run. A benchmark that cannot run here (no
Chromium, no Redis) reports why and the runner goes on.

New files in ``bench/`` with a ``main()`` are picked up without registering them; the table
below only holds their modest and quick arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

# name → (modest default arguments, --quick arguments); run in this order, others after.
PLAN: dict[str, tuple[list[str], list[str]]] = {
    "transcode": (["--seconds", "10", "--repeat", "2"], ["--seconds", "4", "--repeat", "1"]),
    "ready": (["--seconds", "10", "--repeat", "2"], ["--seconds", "4", "--repeat", "1"]),
    "time_to_playable": (["--repeat", "2"], ["--quick", "--size", "640x360"]),
    "accelerated": (["--seconds", "60"], ["--seconds", "30"]),
    "origin": (["--seconds", "5", "--rounds", "3"], ["--seconds", "3", "--rounds", "1"]),
    "manifests": (
        ["--seconds", "60", "--rounds", "3"],
        ["--seconds", "12", "--rounds", "1", "--wrk-seconds", "2", "--hours", "1"],
    ),
    "entitlement": ([], ["--rounds", "2", "--sets", "1"]),
    "protection": (["--rounds", "3"], ["--seconds", "8", "--rounds", "1"]),
    "spike": ([], ["--base", "5", "--factor", "10", "--ramp", "10", "--hold", "5"]),
    "fuzz": (["--inputs", "100000"], ["--inputs", "20000"]),
    "startup": (["--runs", "20"], ["--runs", "5"]),
    "ladder": ([], ["--quick"]),
    "backfill": ([], ["--assets", "3", "--repeat", "1"]),
    "url_ingest": (["--mb", "256", "--rounds", "3"], ["--mb", "64", "--rounds", "1"]),
    "workers": (["--seconds", "5", "--rounds", "3"], ["--seconds", "2", "--rounds", "1"]),
    "costs": (["--seconds", "5", "--rounds", "3"], ["--seconds", "3", "--rounds", "1"]),
    "catalogue_scale": ([], ["--quick"]),
}
NOT_BENCHMARKS = {"__init__", "__main__", "common", "nginx", "_apps"}


def discover() -> list[str]:
    """Benchmark modules in bench/: files defining ``main()``, in PLAN order then by name."""
    found = [
        p.stem
        for p in sorted(BENCH.glob("*.py"))
        if p.stem not in NOT_BENCHMARKS
        and not p.stem.startswith("_")
        and re.search(r"^def main\(", p.read_text(), re.M)
    ]
    order = {name: i for i, name in enumerate(PLAN)}
    return sorted(found, key=lambda n: (order.get(n, len(order)), n))


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc), {model}, {platform.system()} {platform.release()}"


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", action="append", default=[], help="NAME[,NAME…] (repeatable)")
    parser.add_argument("--skip", action="append", default=[], help="NAME[,NAME…] to leave out")
    parser.add_argument("--quick", action="store_true", help="smallest useful sizes")
    parser.add_argument("--list", action="store_true", help="list benchmarks and exit")
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="where outputs go")
    args = parser.parse_args()
    names = discover()
    if args.list:
        for name in names:
            print(f"{name:<18} {' '.join(PLAN.get(name, ([], []))[0]) or '(defaults)'}")
        return 0
    only = {n for group in args.only for n in group.split(",") if n}
    skip = {n for group in args.skip for n in group.split(",") if n}
    unknown = (only | skip) - set(names)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; try --list")
    selected = [n for n in names if (not only or n in only) and n not in skip]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_dir = args.out / stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"# vodstack benchmarks {dt.datetime.now().isoformat(timespec='seconds')}")
    print(f"# machine: {machine()}")
    print(f"# outputs: {out_dir}")
    failed: list[str] = []
    summary: list[tuple[str, float, int]] = []
    for name in selected:
        extra = PLAN.get(name, ([], []))[1 if args.quick else 0]
        argv = [sys.executable, str(BENCH / f"{name}.py"), *extra]
        shown = f"python bench/{name}.py {' '.join(extra)}".strip()
        print(f"\n## {name}\n$ {shown}\n# load average before: {load()}", flush=True)
        started = time.perf_counter()
        with open(out_dir / f"{name}.txt", "w") as log:
            log.write(f"$ {shown}\n# {machine()}\n# load average before: {load()}\n")
            log.flush()
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
            rc = proc.wait()
            log.write(f"# load average after: {load()}; exit {rc}\n")
        took = time.perf_counter() - started
        print(f"# {name}: exit {rc}, {took:.0f} s, load average after: {load()}", flush=True)
        summary.append((name, took, rc))
        if rc != 0:
            failed.append(name)
    print("\n# summary")
    for name, took, rc in summary:
        print(f"#   {name:<18} {'ok' if rc == 0 else f'exit {rc}':<8} {took:6.0f} s")
    if failed:
        print(f"# did not complete: {', '.join(failed)} (see their output above)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
