"""Time bounds of every FFmpeg run over a master: the probed duration is a claim, not a fact.

A container header can say 8 s over ten hours of samples (an MP4 whose ``mvhd``/``tkhd``/
``mdhd`` durations were rewritten, or streams concatenated behind one header): the duration
limit checked at probe time then means nothing, and a single-pass ladder would decode all of
it. So (issue 20):

* every run that reads the whole master gets ``-t declared + slack`` on its inputs and a
  wall-clock watchdog proportional to the declared duration (the runner kills FFmpeg);
* before transcoding, one frame is decoded just past ``declared + tolerance`` (an accurate
  seek: FFmpeg's MP4 reader seeks by the sample tables, not the header): a frame there means
  the media is longer than it declares, and the job fails permanently, with that reason;
* after a single pass, a video track longer than ``declared + tolerance`` fails the same way
  (the bound then cut it at ``declared + slack``, which is more than the tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vodstack.errors import SourceInvalid
from vodstack.media import ffmpeg_argv

_TOLERANCE_S, _TOLERANCE_SHARE = 1.0, 0.02  # honest headers are this close to the media
_SLACK_S, _SLACK_SHARE = 2.0, 0.04  # the bound: more than the tolerance, so a cut is seen
_WATCHDOG_FLOOR_S = 120.0


@dataclass(frozen=True, slots=True)
class MediaBound:
    declared_s: float
    timeout_factor: float = 20.0  # wall-clock seconds allowed per declared second

    @property
    def tolerance_s(self) -> float:
        return max(_TOLERANCE_S, self.declared_s * _TOLERANCE_SHARE)

    @property
    def limit_s(self) -> float:
        return self.declared_s + max(_SLACK_S, self.declared_s * _SLACK_SHARE)

    @property
    def watchdog_s(self) -> float:
        return max(_WATCHDOG_FLOOR_S, self.limit_s * self.timeout_factor)

    def input_args(self) -> list[str]:
        """Input options that stop reading at the bound (put before each ``-i``)."""
        return ["-t", f"{self.limit_s:.3f}"]

    def tail_probe_argv(self, ffmpeg: str, source: Path, video_stream: int) -> list[str]:
        """Decode at most one video frame past ``declared + tolerance``; ``framecrc`` on
        stdout has one line per frame, so an empty answer means the media ends in time."""
        start = self.declared_s + self.tolerance_s
        argv = [*ffmpeg_argv(ffmpeg), "-ss", f"{start:.3f}"]
        argv += ["-t", "2", "-i", str(source), "-map", f"0:v:{video_stream}", "-frames:v", "1"]
        return [*argv, "-an", "-sn", "-dn", "-f", "framecrc", "-"]

    def check_tail(self, framecrc: bytes) -> None:
        frames = [ln for ln in framecrc.splitlines() if ln and not ln.startswith(b"#")]
        if frames:
            raise self.longer(self.declared_s + self.tolerance_s)

    def check_decoded(self, seconds: float) -> None:
        if seconds > self.declared_s + self.tolerance_s:
            raise self.longer(seconds)

    def longer(self, decoded_s: float) -> SourceInvalid:
        return SourceInvalid(
            f"the media is longer than its header declares: the header says "
            f"{self.declared_s:.1f} s, media was found past {decoded_s:.1f} s "
            "(a damaged or tampered file; re-export it)"
        )
