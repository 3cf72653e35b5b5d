"""``vodstack demo``: from nothing to a playable stream on one machine.

Makes a sample master with FFmpeg's synthetic sources (a 20 s 1080p test pattern with a
tone), ingests it, transcodes it here with a progress bar, and returns the lines to print as
soon as the asset is playable: with the default progressive mode that is after its first
window, seconds after the upload. The transcode (the rest of the ladder, then the extras)
goes on in this process's pool while the server runs; windows a viewer asks for first are
made on request. A demo asset that is already ready for the same master is reused, so a
second run is instant.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from vodstack.cli.common import watch_asset
from vodstack.errors import NotFound, VodstackError
from vodstack.jobs.worker import WorkerPool
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


def prepare_demo(
    services: Services, file: Path | None, console: Console
) -> tuple[list[str], WorkerPool | None]:
    """The lines to print, and the pool still transcoding the asset (stop it after serving)."""
    settings = services.settings
    pool = None
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
        pool = services.pipeline.pool(workers=1, only_asset=asset_id)
        pool.start()
        status = watch_asset(services, asset_id, until_ready=True)
        if status != "ready":
            pool.stop()
            error = services.catalogue.get_asset(asset_id).error
            raise VodstackError(f"the demo asset failed: {error}")
        if file is None:
            marker.write_text(asset_id)
    token = demo_viewer_token(services)
    base = settings.base_url()
    return [
        f"asset:         {asset_id}",
        f"player:        {base}/watch/{asset_id}#token={token}",
        f"admin page:    {base}/admin",
        f"HLS:           {base}/v1/{asset_id}/index.m3u8",
        f"DASH:          {base}/v1/{asset_id}/index.mpd",
        f"viewer token:  {token}",
        f"admin token:   {services.admin_token}",
        "",
        "Playback URLs need signed cookies; get them with the viewer token:",
        f'  curl -c cookies.txt -X POST -H "Authorization: Bearer {token[:12]}…" '
        f"{base}/play/{asset_id}",
        f'  ffplay -cookies "$(grep CloudFront cookies.txt | awk \'{{print $6"="$7}}\' '
        f"| paste -sd ';')\" {base}/v1/{asset_id}/index.m3u8",
        "",
        f"serving on {base}  (Ctrl-C to stop)",
    ], pool


DEMO_VIEWER = "demo-viewer"
DEMO_PLAN = "demo"


def demo_viewer_token(services: Services) -> str:
    """A development-IdP token for a viewer with an active demo subscription (24 h)."""
    if services.dev_idp is None:
        raise VodstackError("an external identity provider is configured: no demo token")
    if not any(not s.cancelled for s in services.grants.subscriptions(DEMO_VIEWER)):
        services.grants.subscribe(DEMO_VIEWER, DEMO_PLAN)
    return services.dev_idp.mint(DEMO_VIEWER, ttl=24 * 3600)
