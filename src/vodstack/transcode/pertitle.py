"""Per-title ladder: a quick probe of the title picks each rung's CRF and bitrate cap.

The promise (the seed's QVBR one): a talking head spends far fewer bits than sports at the
same quality. A fixed ladder spends each rung's bitrate whatever the picture; on easy content
that buys VMAF nobody can see. The probe measures this title's rate–quality curve at every
rung, on the windows VMAF scoring samples (a third of the title at most):

1. references: the windows through the ladder's source filters, scaled to each rung,
   lossless (FFV1) — one FFmpeg run for all rungs;
2. encodes of each reference: one like the fixed ladder (the rung's cap as the target, with
   its VBV buffer), the template CRF and one above, uncapped so they show what the picture
   needs; then lower CRFs one step at a time, only for rungs where the lowest so far is
   cheaper than the fixed encode but not yet as good (easy content: cheap encodes; busy
   content stops at once) — every rung in the same run per round;
3. VMAF of each encode against its reference, in the same rounds.

The decision per rung keeps the fixed ladder's quality: the cheapest CRF whose VMAF is within
``slack`` of the fixed encode's, if it saves at least 10 % of its bits. That rung then
encodes at that CRF with a cap of twice the bitrate the probe measured, never above the
template's cap — so the top rung stays capped by config. When no candidate reaches the fixed
quality for fewer bits (sports, grain) the rung keeps its fixed bitrate. Pure decision
functions are separate from the FFmpeg runs so they can be unit-tested.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from vodstack.media import ffmpeg_argv
from vodstack.transcode.command import video_encoder_args
from vodstack.transcode.ladder import CodecTuning, LadderPlan, Rung, codec_twin
from vodstack.transcode.quality import Window, filter_escape, parse_vmaf_log

# Candidate CRFs around the template's, in two rounds: the template CRF and one above first;
# the lower ones (dearer, and slow to encode on busy pictures) only where the template CRF is
# both cheaper than the fixed encode and not yet as good — i.e. on easy content.
FIRST_STEPS = (0, 3)
LOWER_STEPS = (-3, -6, -9, -12)  # tried one at a time, only while they can still win
CRF_STEPS = (*LOWER_STEPS, *FIRST_STEPS)
# A CRF must save at least this share of the fixed encode's bits to replace it: short probe
# windows flatter neither side, so a marginal "saving" is noise, not a reason to switch.
MIN_SAVING = 0.10
CAP_HEADROOM = 2.0  # cap = measured average × this: room for peaks, never a quality limit
MIN_CAP_KBPS = 64

Runner = Callable[[list[str]], None]


@dataclass(frozen=True, slots=True)
class ProbePoint:
    label: str  # "fixed" or "crf23"
    crf: int | None  # None for the fixed-bitrate encode
    kbps: float
    vmaf: float


@dataclass(frozen=True, slots=True)
class RungDecision:
    track: str
    points: tuple[ProbePoint, ...]
    fixed_vmaf: float
    chosen: ProbePoint | None  # None: this rung keeps its fixed bitrate
    cap_kbps: int

    @property
    def estimated_savings(self) -> float:
        """Share of this rung's fixed-ladder bits the decision saves (probe windows)."""
        fixed = next((p for p in self.points if p.crf is None), None)
        if fixed is None or self.chosen is None or fixed.kbps <= 0:
            return 0.0
        return max(0.0, 1 - self.chosen.kbps / fixed.kbps)


@dataclass(frozen=True, slots=True)
class PerTitleDecision:
    seconds: float  # probed
    rungs: tuple[RungDecision, ...]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for rung, decided in zip(data["rungs"], self.rungs, strict=True):
            rung["estimated_savings"] = round(decided.estimated_savings, 4)
        data["estimated_savings"] = round(self.estimated_savings, 4)
        return data

    @property
    def estimated_savings(self) -> float:
        """Share of the H.264 ladder's fixed bits saved, weighted by each rung's bits."""
        total = saved = 0.0
        for rung in self.rungs:
            fixed = next((p for p in rung.points if p.crf is None), None)
            if fixed is None:
                continue
            total += fixed.kbps
            saved += fixed.kbps * rung.estimated_savings
        return saved / total if total else 0.0


def choose(points: Sequence[ProbePoint], slack: float) -> ProbePoint | None:
    """The cheapest CRF point within ``slack`` VMAF of the fixed encode, if it is cheaper."""
    fixed = next(p for p in points if p.crf is None)
    good = [p for p in points if p.crf is not None and p.vmaf >= fixed.vmaf - slack]
    if not good:
        return None
    best = min(good, key=lambda p: (p.kbps, -p.vmaf))
    return best if best.kbps < fixed.kbps * (1 - MIN_SAVING) else None


def decide(rung: Rung, points: Sequence[ProbePoint], slack: float) -> RungDecision:
    fixed = next(p for p in points if p.crf is None)
    chosen = choose(points, slack)
    cap = rung.maxrate_kbps
    if chosen is not None:
        cap = int(min(rung.maxrate_kbps, max(MIN_CAP_KBPS, chosen.kbps * CAP_HEADROOM)))
    return RungDecision(rung.track_id, tuple(points), fixed.vmaf, chosen, cap)


def apply_decision(
    plan: LadderPlan, decisions: Sequence[RungDecision], tuning: dict[str, CodecTuning]
) -> LadderPlan:
    """The plan with every H.264 rung's CRF and cap set from its decision; AV1/HEVC twins
    follow their H.264 rung (same CRF offset and cap factor as the template's)."""
    by_track = {d.track: d for d in decisions}
    base: list[Rung] = []
    for rung in plan.rungs_for("h264"):
        decision = by_track.get(rung.track_id)
        if decision is None or decision.chosen is None or decision.chosen.crf is None:
            base.append(replace(rung, rate_control="fixed"))
            continue
        factor = rung.bufsize_kbps / rung.maxrate_kbps
        base.append(
            replace(
                rung,
                crf=decision.chosen.crf,
                maxrate_kbps=decision.cap_kbps,
                bufsize_kbps=int(decision.cap_kbps * factor),
                rate_control="crf",
            )
        )
    codecs = list(dict.fromkeys(r.codec for r in plan.rungs if r.codec != "h264"))
    twins = [codec_twin(r, c, tuning[c]) for c in codecs for r in base]
    return replace(plan, rungs=tuple(base + twins))


def candidates(rung: Rung, steps: Sequence[int] = CRF_STEPS, *, fixed: bool = True) -> list[Rung]:
    """The fixed-ladder encode and the uncapped CRF encodes of one rung."""
    head = [replace(rung, track_id=f"{rung.track_id}fixed", rate_control="fixed")] if fixed else []
    crfs = sorted({max(0, min(51, rung.crf + step)) for step in steps})
    uncapped = 100_000  # kbps: no VBV limit worth the name
    return head + [
        replace(
            rung,
            track_id=f"{rung.track_id}crf{c}",
            crf=c,
            rate_control="crf",
            maxrate_kbps=uncapped,
            bufsize_kbps=uncapped,
        )
        for c in crfs
    ]


def _needs_lower(points: Sequence[ProbePoint], slack: float) -> bool:
    """Whether a lower CRF could still win: the lowest tried so far is cheaper than the fixed
    encode but not as good. (Dearer already: lower CRFs only cost more; good enough: done.)"""
    fixed = next((p for p in points if p.crf is None), None)
    crfs = [p for p in points if p.crf is not None]
    if fixed is None or not crfs:
        return False
    lowest = min(crfs, key=lambda p: p.crf or 0)
    return lowest.kbps < fixed.kbps * (1 - MIN_SAVING) and lowest.vmaf < fixed.vmaf - slack


def _order(p: ProbePoint) -> tuple[int, int]:
    return (0, 0) if p.crf is None else (1, p.crf)


def references_command(
    ffmpeg: str,
    source: Path,
    outputs: Sequence[tuple[Rung, Path]],
    *,
    windows: Sequence[Window],
    plan: LadderPlan,
) -> list[str]:
    """Lossless references of the windows at every rung's size, in one run."""
    rate = f"{plan.fps.numerator}/{plan.fps.denominator}"
    argv = ffmpeg_argv(ffmpeg)
    for w in windows:
        argv += ["-ss", f"{w.start:.3f}", "-t", f"{w.duration:.3f}", "-i", str(source)]
    chain = ",".join([*plan.source_filters, f"fps={rate}", "format=yuv420p"])
    parts = [f"[{i}:v:{plan.video_stream}]{chain}[w{i}]" for i in range(len(windows))]
    labels = "".join(f"[w{i}]" for i in range(len(windows)))
    split = "".join(f"[s{i}]" for i in range(len(outputs)))
    parts.append(f"{labels}concat=n={len(windows)}:v=1:a=0,split={len(outputs)}{split}")
    for i, (rung, _) in enumerate(outputs):
        parts.append(f"[s{i}]scale={rung.width}:{rung.height}:flags=bicubic,setsar=1[r{i}]")
    argv += ["-filter_complex", ";".join(parts)]
    for i, (_, path) in enumerate(outputs):
        argv += ["-map", f"[r{i}]", "-c:v", "ffv1", str(path)]
    return argv


def encodes_command(
    ffmpeg: str,
    jobs: Sequence[tuple[Path, Sequence[tuple[Rung, Path]]]],
    *,
    gop: int,
    preset: str,
) -> list[str]:
    """Every candidate encode of every reference in one run (each reference decoded once)."""
    argv = ffmpeg_argv(ffmpeg)
    for reference, _ in jobs:
        argv += ["-i", str(reference)]
    parts = []
    for i, (_, outputs) in enumerate(jobs):
        labels = "".join(f"[e{i}x{k}]" for k in range(len(outputs)))
        parts.append(f"[{i}:v]split={len(outputs)}{labels}")
    argv += ["-filter_complex", ";".join(parts)]
    for i, (_, outputs) in enumerate(jobs):
        for k, (rung, path) in enumerate(outputs):
            argv += ["-map", f"[e{i}x{k}]"]
            argv += video_encoder_args(rung, gop=gop, preset=preset, threads=1)
            argv += ["-an", str(path)]
    return argv


def scores_command(
    ffmpeg: str,
    jobs: Sequence[tuple[Path, Sequence[tuple[Path, Path]]]],
    *,
    fps: Fraction,
    subsample: int,
) -> list[str]:
    """VMAF of every encode against its reference, one run: ``jobs`` = (reference,
    [(encode, log)])."""
    rate = f"{fps.numerator}/{fps.denominator}"
    renumber = f"setpts=N/({rate})/TB"
    argv = ffmpeg_argv(ffmpeg)
    parts: list[str] = []
    maps: list[str] = []
    index = 0
    for j, (reference, encodes) in enumerate(jobs):
        argv += ["-i", str(reference)]
        ref_input = index
        index += 1
        refs = "".join(f"[ref{j}x{k}]" for k in range(len(encodes)))
        parts.append(f"[{ref_input}:v]{renumber},split={len(encodes)}{refs}")
        for k, (encode, log) in enumerate(encodes):
            argv += ["-i", str(encode)]
            options = f"log_fmt=json:log_path={filter_escape(str(log))}:n_subsample={subsample}"
            parts.append(f"[{index}:v]{renumber}[dis{j}x{k}]")
            parts.append(f"[dis{j}x{k}][ref{j}x{k}]libvmaf={options}[out{j}x{k}]")
            maps += ["-map", f"[out{j}x{k}]", "-f", "null", "-"]
            index += 1
    return [*argv, "-filter_complex", ";".join(parts), *maps]


def run_probe(
    ffmpeg: str,
    source: Path,
    work: Path,
    plan: LadderPlan,
    *,
    windows: Sequence[Window],
    preset: str,
    slack: float,
    tuning: dict[str, CodecTuning],
    run: Runner,
    subsample: int = 3,
) -> tuple[LadderPlan, PerTitleDecision]:
    """Measure, decide, and return the adjusted plan with the decision (for the catalogue)."""
    work.mkdir(parents=True, exist_ok=True)
    try:
        rungs = plan.rungs_for("h264")
        references = {r.track_id: work / f"{r.track_id}.mkv" for r in rungs}
        run(
            references_command(
                ffmpeg, source, [(r, references[r.track_id]) for r in rungs],
                windows=windows, plan=plan,
            )
        )  # fmt: skip
        seconds = sum(w.duration for w in windows)
        points: dict[str, list[ProbePoint]] = {r.track_id: [] for r in rungs}

        def measure(batch: dict[str, list[Rung]]) -> None:
            """Encode and score one round of candidates, every rung in the same two runs."""
            encodes = {t: [(c, work / f"{c.track_id}.mp4") for c in cs] for t, cs in batch.items()}
            jobs = [(references[t], encodes[t]) for t in batch]
            run(encodes_command(ffmpeg, jobs, gop=plan.gop_frames, preset=preset))
            scored_jobs = [
                (references[t], [(p, p.with_suffix(".json")) for _, p in encodes[t]]) for t in batch
            ]
            run(scores_command(ffmpeg, scored_jobs, fps=Fraction(plan.fps), subsample=subsample))
            for track, pairs in encodes.items():
                for candidate, path in pairs:
                    scored = parse_vmaf_log(path.with_suffix(".json"))
                    if scored is not None:
                        kbps = path.stat().st_size * 8 / 1000 / max(seconds, 0.001)
                        crf = None if candidate.rate_control == "fixed" else candidate.crf
                        label = "fixed" if crf is None else f"crf{crf}"
                        points[track].append(
                            ProbePoint(label, crf, round(kbps, 1), round(scored[0], 3))
                        )

        measure({r.track_id: candidates(r, FIRST_STEPS) for r in rungs})
        for step in LOWER_STEPS:
            lower = {
                r.track_id: candidates(r, (step,), fixed=False)
                for r in rungs
                if r.crf + step >= 0 and _needs_lower(points[r.track_id], slack)
            }
            if not lower:
                break
            measure(lower)
        decisions = [
            decide(r, sorted(points[r.track_id], key=_order), slack)
            for r in rungs
            if any(p.crf is None for p in points[r.track_id])
        ]
        decision = PerTitleDecision(round(seconds, 3), tuple(decisions))
        return apply_decision(plan, decisions, tuning), decision
    finally:
        shutil.rmtree(work, ignore_errors=True)
