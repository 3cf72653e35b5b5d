"""``vodstack demo``: from nothing to a playable stream on one machine.

Makes a sample master with FFmpeg's synthetic sources (a 20 s 1080p test pattern with a
tone) and ingests it; the server (started at once) transcodes it, and the lines to print come
as soon as the asset is playable: with the default progressive mode that is after its first
window, seconds after the upload. The rest of the ladder, then the extras, follow in the
server's own worker pool, which pauses them while a viewer waits for a window not encoded yet.
A demo asset that is already ready for the same master is reused, so a second run is instant.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from vodstack.cli.common import watch_asset
from vodstack.compose import Services
from vodstack.errors import NotFound, VodstackError
from vodstack.media import ffmpeg_argv, ffmpeg_exe, run_ffmpeg
from vodstack.packaging.layout import asset_url, playback_urls

SAMPLE_SECONDS = 20


def sample_command(
    ffmpeg: str, out: Path, seconds: int = SAMPLE_SECONDS, size: str = "1920x1080", rate: int = 30
) -> list[str]:
    """A synthetic master: ``testsrc2`` pictures and a ``sine`` tone (pure argv builder)."""
    return [
        *ffmpeg_argv(ffmpeg),
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


def ingest_demo(services: Services, file: Path | None, console: Console) -> tuple[str, bool]:
    """The demo asset's id and whether it still has to become ready (a ready demo asset of
    the sample is reused)."""
    settings = services.settings
    marker = settings.home / "demo-asset"
    if file is None and marker.exists():
        candidate = marker.read_text().strip()
        try:
            if services.catalogue.get_asset(candidate).status == "ready":
                console.print(f"reusing demo asset {candidate}")
                return candidate, False
        except NotFound:
            pass
    source = file or make_sample(settings.home / "samples")
    console.print(f"ingesting {source}")
    return services.ingestor.ingest_file(source, "vodstack demo" if file is None else None), True


def announce_demo(services: Services, asset_id: str, *, sample: bool) -> list[str]:
    """Wait until the asset plays (the server's workers transcode it), then the lines to
    print; raises when it failed."""
    status = watch_asset(services, asset_id, until_ready=True)
    if status != "ready":
        error = services.catalogue.get_asset(asset_id).error
        raise VodstackError(f"the demo asset failed: {error}")
    if sample:
        (services.settings.home / "demo-asset").write_text(asset_id)
    return demo_lines(services, asset_id)


def demo_lines(services: Services, asset_id: str) -> list[str]:
    settings = services.settings
    token = demo_viewer_token(services)
    base = settings.base_url()
    urls = playback_urls(asset_url(base, asset_id))
    return [
        f"asset:         {asset_id}",
        f"player:        {base}/watch/{asset_id}#token={token}",
        f"admin page:    {base}/admin",
        f"HLS:           {urls.hls}",
        f"DASH:          {urls.dash}",
        f"viewer token:  {token}",
        f"admin token:   {services.admin_token}",
        "",
        "Playback URLs need signed cookies; get them with the viewer token:",
        f'  curl -c cookies.txt -X POST -H "Authorization: Bearer {token[:12]}…" '
        f"{base}/play/{asset_id}",
        f'  ffplay -cookies "$(grep CloudFront cookies.txt | awk \'{{print $6"="$7}}\' '
        f"| paste -sd ';')\" {urls.hls}",
        "",
        f"serving on {base}  (Ctrl-C to stop)",
    ]


DEMO_VIEWER = "demo-viewer"
DEMO_PLAN = "demo"


def demo_viewer_token(services: Services) -> str:
    """A development-IdP token for a viewer with an active demo subscription (24 h)."""
    if services.dev_idp is None:
        raise VodstackError("an external identity provider is configured: no demo token")
    if not any(not s.cancelled for s in services.grants.subscriptions(DEMO_VIEWER)):
        services.grants.subscribe(DEMO_VIEWER, DEMO_PLAN)
    return services.dev_idp.mint(DEMO_VIEWER, ttl=24 * 3600)
