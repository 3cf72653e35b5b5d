"""``vodstack demo``: from nothing to a playable stream on one machine.

Makes a sample master with FFmpeg's synthetic sources (a 20 s 1080p test pattern with a
tone), ingests it, transcodes it here with a progress bar, and returns the lines to print.
A demo asset that is already ready for the same master is reused, so a second run is instant.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from vodstack.errors import NotFound, VodstackError
from vodstack.services import Services
from vodstack.transcode.runner import ffmpeg_exe, run_ffmpeg

SAMPLE_SECONDS = 20


def sample_command(
    ffmpeg: str, out: Path, seconds: int = SAMPLE_SECONDS, size: str = "1920x1080", rate: int = 30
) -> list[str]:
    """A synthetic master: ``testsrc2`` pictures and a ``sine`` tone (pure argv builder)."""
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}:duration={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:beep_factor=4:sample_rate=48000:duration={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "192k",
        "-shortest",
        "-movflags",
        "+faststart",
        str(out),
    ]


def make_sample(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / "sample-1080p-20s.mp4"
    if not out.exists():
        tmp = out.with_suffix(".part.mp4")
        run_ffmpeg(sample_command(ffmpeg_exe(), tmp))
        tmp.rename(out)
    return out


def prepare_demo(services: Services, file: Path | None, console: Console) -> list[str]:
    from vodstack.cli import wait_for_asset

    settings = services.settings
    marker = settings.home / "demo-asset"
    asset_id = None
    if file is None and marker.exists():
        candidate = marker.read_text().strip()
        try:
            if services.catalogue.get_asset(candidate).status == "ready":
                asset_id = candidate
                console.print(f"reusing demo asset {asset_id}")
        except NotFound:
            pass
    if asset_id is None:
        source = file or make_sample(settings.home / "samples")
        console.print(f"ingesting {source}")
        asset_id = services.ingestor.ingest_file(source, "vodstack demo" if file is None else None)
        status = wait_for_asset(services, asset_id)
        if status != "ready":
            error = services.catalogue.get_asset(asset_id).error
            raise VodstackError(f"the demo asset failed: {error}")
        if file is None:
            marker.write_text(asset_id)
    base = settings.base_url()
    return [
        f"asset:        {asset_id}",
        f"HLS:          {base}/v1/{asset_id}/index.m3u8",
        f"DASH:         {base}/v1/{asset_id}/index.mpd",
        f"admin token:  {services.admin_token}",
        f"serving on {base}  (Ctrl-C to stop)",
    ]
