"""Coverage-guided fuzzing of the parsers and writers (atheris / libFuzzer), bench-style.

    python -m bench.fuzz [--inputs 100000] [--targets isobmff,ranges,cookies,policy,manifests]
    python bench/fuzz.py --engine hypothesis --inputs 20000     # without atheris

Targets (tests/reliability/targets.py, shared with the CI tests): the ISO-BMFF box walker and
track-file reader, the HTTP Range parser (against an independent reference), the Cookie/query
request parts and the signature verifier (never an exception, never ``ok`` without a signature
we issued), the CloudFront policy parser (round-trip), and the HLS/DASH writers (round-trip
through the ``m3u8`` and ``mpegdash`` parsers). Only vodstack's own error types may escape.

Each target runs in its own process for ``--inputs`` executions, starting from a seed corpus
(real CMAF files from FFmpeg, valid signed grants, valid policies). A crash leaves the input
in ``bench/out/fuzz/`` and is reported with the target's exception; the exit status is 1.
Reported: inputs, seconds, inputs/s, coverage (libFuzzer edges), corpus size, crashes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

TARGETS = ("isobmff", "ranges", "cookies", "policy", "manifests")
MAX_LEN = {"isobmff": 65536, "manifests": 2048}
OUT = ROOT / "bench" / "out" / "fuzz"
CMAF = "+cmaf+frag_keyframe+empty_moov+default_base_moof"


def atheris_available() -> str | None:
    """None if atheris imports, else the reason it does not."""
    try:
        import atheris  # noqa: F401
    except Exception as exc:  # ImportError, or a broken native extension on this Python
        return f"{type(exc).__name__}: {exc}"
    return None


def _ffmpeg(out: Path, args: list[str]) -> Path:
    from vodstack.media import ffmpeg_argv

    subprocess.run([*ffmpeg_argv(), *args, str(out)], check=True)
    return out


def write_seeds(target: str, corpus: Path) -> None:
    """Starting inputs: the deep paths of each parser are behind valid input."""
    from tests.reliability import targets

    corpus.mkdir(parents=True, exist_ok=True)
    seeds: list[bytes] = []
    if target == "isobmff":
        with tempfile.TemporaryDirectory() as tmp:
            video = _ffmpeg(
                Path(tmp) / "v.mp4",
                [
                    *("-f", "lavfi", "-i", "testsrc2=size=32x32:rate=10:duration=1"),
                    *("-c:v", "libx264", "-preset", "medium", "-g", "5", "-pix_fmt", "yuv420p"),
                    *("-movflags", CMAF + "+global_sidx"),
                ],
            )
            audio = _ffmpeg(
                Path(tmp) / "a.mp4",
                [
                    *("-f", "lavfi", "-i", "sine=duration=1:sample_rate=8000"),
                    *("-c:a", "aac", "-b:a", "16k", "-frag_duration", "250000"),
                    *("-movflags", CMAF + "+delay_moov"),
                ],
            )
            seeds = [video.read_bytes(), audio.read_bytes()]
    elif target == "ranges":
        prefix = bytes(7)
        seeds = [
            prefix + h
            for h in (b"bytes=0-99", b"bytes=-500", b"bytes=100-", b"bytes=1-2,3-4", b"items=1-2")
        ]
    elif target == "cookies":
        seeds = targets.seed_cookie_inputs()
    elif target == "policy":
        seeds = targets.seed_policy_inputs()
    elif target == "manifests":
        seeds = [os.urandom(n) for n in (64, 256, 1024)]
    for i, seed in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(seed)


def worker(target: str, runs: int, corpus: Path, artifacts: Path) -> None:
    """One target under libFuzzer; instrumented imports of vodstack for coverage feedback."""
    import atheris

    with atheris.instrument_imports(include=["vodstack"]):
        from tests.reliability import targets

    fn = targets.TARGETS[target]

    def one_input(data: bytes) -> None:
        targets.run_one(fn, data)

    argv = [
        sys.argv[0],
        f"-runs={runs}",
        f"-artifact_prefix={artifacts}/{target}-",
        f"-max_len={MAX_LEN.get(target, 4096)}",
        "-timeout=20",
        "-rss_limit_mb=4096",
        "-print_final_stats=1",
        str(corpus),
    ]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def hypothesis_worker(target: str, runs: int) -> tuple[int, float]:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from tests.reliability import targets

    fn = targets.TARGETS[target]
    count = 0

    @settings(
        max_examples=runs,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.binary(max_size=MAX_LEN.get(target, 4096)))
    def run(data: bytes) -> None:
        nonlocal count
        count += 1
        targets.run_one(fn, data)

    started = time.perf_counter()
    run()
    return count, time.perf_counter() - started


def run_target(target: str, runs: int, work: Path) -> dict[str, object]:
    corpus = work / f"corpus-{target}"
    write_seeds(target, corpus)
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            target,
            "--inputs",
            str(runs),
            "--corpus",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"},
        check=False,
    )
    seconds = time.perf_counter() - started
    log = proc.stdout + proc.stderr
    done = re.search(r"Done (\d+) runs in (\d+) second", log)
    executed = re.search(r"stat::number_of_executed_units:\s*(\d+)", log)
    cov = re.findall(r"cov: (\d+)", log)
    crashed = proc.returncode != 0
    if crashed:
        (OUT / f"{target}.log").write_text(log)
    return {
        "target": target,
        "inputs": int(executed.group(1)) if executed else int(done.group(1)) if done else 0,
        "seconds": seconds,
        "coverage": int(cov[-1]) if cov else 0,
        "corpus": sum(1 for _ in corpus.iterdir()),
        "crashed": crashed,
        "log": log,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--inputs", type=int, default=100_000, help="executions per target")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--engine", choices=("atheris", "hypothesis"), default=None)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.inputs, args.corpus, OUT)
        return 0
    names = [t for t in args.targets.split(",") if t]
    unknown = set(names) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(TARGETS)}")
    engine = args.engine
    reason = atheris_available()
    if engine is None:
        engine = "atheris" if reason is None else "hypothesis"
        if reason is not None:
            print(f"atheris unavailable ({reason}); using hypothesis with {args.inputs} examples")
    elif engine == "atheris" and reason is not None:
        raise SystemExit(f"atheris unavailable: {reason}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="vodstack-fuzz-") as tmp:
        for name in names:
            if engine == "atheris":
                row = run_target(name, args.inputs, Path(tmp))
            else:
                try:
                    count, seconds = hypothesis_worker(name, args.inputs)
                    row = {
                        "target": name,
                        "inputs": count,
                        "seconds": seconds,
                        "coverage": 0,
                        "corpus": 0,
                        "crashed": False,
                        "log": "",
                    }
                except Exception:  # the failing example is in the traceback
                    import traceback

                    row = {
                        "target": name,
                        "inputs": 0,
                        "seconds": 0.0,
                        "coverage": 0,
                        "corpus": 0,
                        "crashed": True,
                        "log": traceback.format_exc(),
                    }
            rows.append(row)
            print(
                f"  {name}: {row['inputs']} inputs in {row['seconds']:.0f} s"
                + (" — CRASH" if row["crashed"] else ""),
                flush=True,
            )
    print(f"fuzzing with {engine}; only vodstack's own errors may escape")
    print(
        f"{'target':<12}{'inputs':>10}{'seconds':>9}{'inputs/s':>10}{'coverage':>10}"
        f"{'corpus':>8}{'crashes':>9}"
    )
    for r in rows:
        rate = r["inputs"] / r["seconds"] if r["seconds"] else 0  # type: ignore[operator]
        print(
            f"{r['target']:<12}{r['inputs']:>10}{r['seconds']:>9.0f}{rate:>10.0f}"
            f"{r['coverage'] or '—':>10}{r['corpus'] or '—':>8}{int(bool(r['crashed'])):>9}"
        )
    total = sum(int(r["inputs"]) for r in rows)  # type: ignore[call-overload]
    print(f"total inputs: {total}")
    crashed = [r for r in rows if r["crashed"]]
    for r in crashed:
        print(f"\n--- {r['target']} crashed; last lines of its log (saved in {OUT}):")
        print("\n".join(str(r["log"]).splitlines()[-40:]))
    if not crashed:
        shutil.rmtree(OUT, ignore_errors=True) if OUT.exists() and not any(OUT.iterdir()) else None
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
