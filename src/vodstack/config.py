"""One typed settings object, validated once at start-up.

Every field has a safe default so `vodstack demo` needs no configuration; each can be set by a
`VODSTACK_*` environment variable or a `vodstack.toml` in the working directory (env wins).
Derived values (paths, the ladder) are computed here once, never per request.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class RungTemplate(BaseModel):
    """One rung of a ladder template: a target height with its quality-capped VBR settings.

    ``crf`` targets quality; ``maxrate_kbps`` caps the peak (with a VBV buffer of
    ``bufsize_factor`` × maxrate) — our analogue of MediaConvert's QVBR.
    """

    height: int = Field(gt=0, le=4320)
    maxrate_kbps: int = Field(gt=0)
    crf: int = Field(default=23, ge=0, le=51)
    bufsize_factor: float = Field(default=2.0, gt=0)


VideoCodec = Literal["h264", "av1", "hevc"]
LadderMode = Literal["crf", "fixed", "per_title"]


class LadderTemplate(BaseModel):
    """A named, versioned ladder: its rungs and how they are encoded.

    ``mode``: ``crf`` = capped CRF (quality-targeted VBR, the default); ``fixed`` = each rung
    encoded to its ``maxrate_kbps`` (the classic fixed-bitrate ladder); ``per_title`` = a quick
    probe of the title picks each rung's CRF and bitrate cap so the quality of the fixed ladder
    is kept with the bits this title needs (transcode/pertitle.py). ``codecs``: H.264 always
    first (every device decodes it), AV1 and/or HEVC renditions alongside in the same
    manifests. ``max_height`` drops rungs above it (the cap wins over a template's rungs).
    ``version`` is recorded with each asset, so a changed template is visible per asset.
    """

    version: int = Field(default=1, ge=1)
    rungs: tuple[RungTemplate, ...] = Field(min_length=1)
    mode: LadderMode = "crf"
    codecs: tuple[VideoCodec, ...] = ("h264",)
    max_height: int | None = Field(default=None, gt=0, le=4320)

    @field_validator("rungs")
    @classmethod
    def _sorted(cls, value: tuple[RungTemplate, ...]) -> tuple[RungTemplate, ...]:
        return tuple(sorted(value, key=lambda r: r.height))

    @field_validator("codecs")
    @classmethod
    def _h264_first(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        rest = [c for c in dict.fromkeys(value) if c != "h264"]
        return ("h264", *rest)  # type: ignore[return-value]


DEFAULT_LADDER: tuple[RungTemplate, ...] = (
    RungTemplate(height=240, maxrate_kbps=400, crf=23),
    RungTemplate(height=360, maxrate_kbps=800, crf=23),
    RungTemplate(height=480, maxrate_kbps=1400, crf=23),
    RungTemplate(height=720, maxrate_kbps=3000, crf=23),
    RungTemplate(height=1080, maxrate_kbps=6000, crf=23),
)


#: ``VODSTACK_*`` variables that are not settings: ``config check`` and the servers accept them.
NON_SETTINGS_VARIABLES: dict[str, str] = {
    "VODSTACK_CONFIG": "path of the settings file (default: vodstack.toml in the working dir)",
    "VODSTACK_REDIRECT_TO": "set by `vodstack redirect` for its server process",
    "VODSTACK_TEST_PG": "tests: PostgreSQL admin URL",
    "VODSTACK_TEST_REDIS": "tests: Redis URL",
    "VODSTACK_API_FUZZ_EXAMPLES": "tests: examples per endpoint of the API fuzzer",
    "VODSTACK_BENCH_REDIS": "benchmarks: Redis URL",
    "VODSTACK_SERVICE": "deploy/entrypoint.sh: which process a container runs",
}


def config_file() -> Path:
    """The settings file: ``VODSTACK_CONFIG``, else ``vodstack.toml`` in the working directory."""
    return Path(os.environ.get("VODSTACK_CONFIG") or "vodstack.toml")


def _default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "vodstack"


class Settings(BaseSettings):
    """All of vodstack's configuration. Field docs are the reference for operators."""

    model_config = SettingsConfigDict(
        env_prefix="VODSTACK_", toml_file="vodstack.toml", extra="ignore", frozen=True
    )

    home: Path = Field(default_factory=_default_home, description="Data directory.")
    public_url: str | None = Field(
        default=None,
        description="Scheme+host viewers use (base of playback URLs and policy Resources). "
        "Default: http://{host}:{port} of `serve`.",
    )
    admin_token: str | None = Field(
        default=None, description="Admin bearer token; generated on first run when unset."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in `home`."
    )
    storage_url: str | None = Field(
        default=None, description="Object store; default: the `objects` directory in `home`."
    )
    broker_url: str | None = Field(default=None, description="Celery broker (scale-out).")
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 API endpoint (MinIO, moto, …); default: AWS."
    )
    s3_sse: Literal["AES256", "aws:kms"] = Field(
        default="AES256", description="Server-side encryption sent on every S3 write."
    )
    s3_kms_key_id: str | None = Field(default=None, description="KMS key id for aws:kms.")
    s3_cache_dir: Path | None = Field(
        default=None, description="Disk cache of S3 byte ranges for the origin (default: memory)."
    )
    s3_cache_bytes: int = Field(default=256 * 1024**2, ge=0, description="S3 range cache size.")

    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` binds to.")

    max_upload_bytes: int = Field(
        default=50 * 1024**3, gt=0, description="Largest master accepted (bytes)."
    )
    max_admin_body_bytes: int = Field(
        default=1024**2,
        gt=0,
        description="Largest request body of an admin API route other than uploads (bytes); "
        "larger ones get 413 before they are read.",
    )
    max_public_body_bytes: int = Field(
        default=256 * 1024,
        gt=0,
        description="Largest request body of a public route (beacons, licences, sign-in) "
        "(bytes); larger ones get 413 before they are read.",
    )
    body_timeout_s: float = Field(
        default=30,
        gt=0,
        description="Time allowed to receive a whole request body (408 after it); for uploads, "
        "the longest pause between two chunks.",
    )
    max_source_duration_s: float = Field(
        default=6 * 3600, gt=0, description="Longest master accepted (seconds)."
    )
    ffmpeg_timeout_factor: float = Field(
        default=20,
        gt=0,
        description="Watchdog: an FFmpeg run over a master is killed after this many seconds "
        "per second of its probed duration (at least 120 s); every such run is also bounded "
        "to the probed duration plus a slack, so a header that understates the media cannot "
        "buy unbounded work.",
    )
    ladder: tuple[RungTemplate, ...] = Field(
        default=DEFAULT_LADDER, description="Ladder template, lowest rung first."
    )
    x264_preset: str = Field(default="veryfast", description="libx264 preset for every rung.")
    audio_bitrate_kbps: int = Field(default=128, gt=0, description="AAC stereo bitrate.")
    fragment_s: int = Field(
        default=2, ge=1, le=10, description="Keyframe/fragment interval (seconds), all rungs."
    )
    segment_s: int = Field(
        default=4,
        ge=1,
        le=30,
        description="Delivered segment duration (a multiple of fragment_s); changing it needs "
        "no re-transcode.",
    )
    manifest_max_age_s: int = Field(
        default=2, ge=0, description="Cache-Control max-age of manifests (seconds)."
    )
    workers: int = Field(default=1, ge=1, le=64, description="In-process transcode workers.")
    server_workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="HTTP worker processes of `serve` (`--workers`). Default: one per core for "
        "the edge role, 1 for the others (see docs/deploy.md: what several workers share).",
    )
    job_max_attempts: int = Field(default=3, ge=1, description="Attempts before a job fails.")
    job_lease_s: int = Field(
        default=10,
        ge=5,
        description="A running job whose lease lapses is picked up again (renewed every quarter "
        "of it); a dead worker's job restarts within about this long on another host, at once "
        "on its own host.",
    )
    job_backoff_s: float = Field(
        default=2.0, gt=0, description="First retry delay; doubles each attempt (exponential)."
    )
    job_backoff_max_s: float = Field(default=300, gt=0, description="Longest retry delay.")
    job_sweep_s: float = Field(
        default=5,
        gt=0,
        description="How often a broker worker looks for jobs whose worker died (lapsed lease) "
        "and sends them again.",
    )
    ladders: dict[str, tuple[RungTemplate, ...] | LadderTemplate] = Field(
        default_factory=dict,
        description="Named ladder templates for uploads (`POST /api/assets?ladder=NAME`) and "
        '`vodstack assets retranscode --ladder NAME`, as JSON {"name": [{height, '
        'maxrate_kbps, crf}, …]} or {"name": {"version": 2, "mode": "per_title", "codecs": '
        '["h264", "av1"], "max_height": 1080, "rungs": […]}}; "default" is `ladder`.',
    )
    ladder_mode: LadderMode = Field(
        default="crf",
        description="Rate control of the default ladder: crf (capped CRF), fixed (each rung at "
        "its maxrate) or per_title (a probe picks each rung's CRF and cap).",
    )
    video_codecs: tuple[VideoCodec, ...] = Field(
        default=("h264",),
        description='Codecs of the default ladder, e.g. ["h264", "av1"]: AV1 (SVT-AV1) and HEVC '
        "(x265) renditions are offered beside H.264 in the same manifests.",
    )
    ladder_max_height: int = Field(
        default=1080,
        gt=0,
        le=4320,
        description="Top rung cap for every ladder: taller template rungs are dropped.",
    )
    av1_preset: int = Field(default=10, ge=0, le=13, description="SVT-AV1 preset (13 fastest).")
    av1_crf_offset: int = Field(
        default=12, ge=0, le=40, description="AV1 CRF = rung CRF + this (SVT-AV1's 0-63 scale)."
    )
    av1_bitrate_factor: float = Field(
        default=0.7, gt=0, le=1, description="AV1 caps = H.264 caps × this."
    )
    hevc_preset: str = Field(default="veryfast", description="x265 preset.")
    hevc_crf_offset: int = Field(default=4, ge=0, le=20, description="HEVC CRF = rung CRF + this.")
    hevc_bitrate_factor: float = Field(
        default=0.75, gt=0, le=1, description="HEVC caps = H.264 caps × this."
    )
    per_title_vmaf_slack: float = Field(
        default=0.5,
        ge=0,
        le=5,
        description="Per-title: the VMAF a rung may lose against the fixed ladder's quality.",
    )
    audio_surround: bool = Field(
        default=True,
        description="Keep a 5.1 AAC rendition (besides the stereo one) of multichannel sources.",
    )
    audio_surround_kbps: int = Field(default=384, gt=0, description="5.1 AAC bitrate.")
    quality_scores: bool = Field(
        default=True, description="Measure each rung's VMAF (sampled windows) in the job."
    )
    vmaf_windows: int = Field(default=3, ge=1, le=20, description="Windows sampled for VMAF.")
    vmaf_window_s: float = Field(default=2.0, gt=0, le=60, description="Length of each window.")
    vmaf_subsample: int = Field(
        default=3, ge=1, le=30, description="VMAF scores every Nth frame of the windows."
    )
    storyboard_interval_s: float = Field(
        default=0,
        ge=0,
        description="Seconds between storyboard thumbnails (0: 2 s up to ~300 thumbnails, "
        "always a multiple of the fragment).",
    )
    storyboard_width: int = Field(default=160, ge=32, le=640, description="Thumbnail width.")
    storyboard_columns: int = Field(default=5, ge=1, le=20, description="Sprite sheet columns.")
    storyboard_rows: int = Field(default=5, ge=1, le=20, description="Sprite sheet rows.")
    poster_max_height: int = Field(default=720, ge=64, le=2160, description="Poster height cap.")
    download_max_height: int = Field(
        default=720,
        ge=0,
        description="Height of the progressive MP4 download rendition (the highest rung not "
        "above it); 0 = no download rendition.",
    )
    download_url_ttl_s: int = Field(
        default=3600, ge=60, le=7 * 86400, description="Lifetime of download signed URLs."
    )
    dash_trick_mode: bool = Field(
        default=False,
        description="Offer a DASH trick-mode AdaptationSet (key frames only, for Shaka's "
        "trickPlay). Off by default: clients that ignore EssentialProperty (FFmpeg's DASH "
        "reader) take it for one more video stream.",
    )
    caption_max_bytes: int = Field(
        default=2 * 1024**2, gt=0, description="Largest caption file accepted (bytes)."
    )
    audio_upload_max_bytes: int = Field(
        default=2 * 1024**3, gt=0, description="Largest separate audio track accepted (bytes)."
    )

    upload_expiry_s: float = Field(
        default=24 * 3600,
        gt=0,
        description="Resumable uploads (/api/uploads) not completed within this are removed.",
    )

    # -- windowed and progressive transcoding ----------------------------------------------
    transcode_mode: Literal["single", "windowed", "progressive"] = Field(
        default="progressive",
        description="progressive (default): the title is cut into keyframe-aligned windows; "
        "the asset is ready once its first window is encoded (seconds after the upload), "
        "later windows are made on first request or by the background job, then joined. "
        "windowed (accelerated): the windows are encoded in parallel and joined before the "
        "asset is ready. single: one FFmpeg run makes the whole ladder. AV1/HEVC ladders and "
        "assets with uploaded audio tracks always use single.",
    )
    window_s: int = Field(
        default=4, ge=1, le=60, description="Window length (a multiple of fragment_s)."
    )
    window_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        ge=1,
        description="Windows encoded at once by a job (accelerated transcoding).",
    )
    window_batch: int = Field(
        default=4,
        ge=1,
        description="Progressive background: consecutive windows per FFmpeg run (fewer seeks).",
    )
    ondemand_encodes: int = Field(
        default=1, ge=1, description="On-demand window encodes at once per origin process."
    )
    ondemand_wait_s: float = Field(
        default=10, gt=0, description="How long a viewer's request waits for a free slot."
    )
    ondemand_timeout_s: float = Field(
        default=60, gt=0, description="Longest on-demand window encode before it fails."
    )
    progressive_cleanup_s: float = Field(
        default=60,
        ge=0,
        description="After a progressive asset's tracks are joined, how long its window "
        "chunks stay for origins that still hold the old index.",
    )

    # -- scale-out jobs (Celery on Redis, used when broker_url is set) --------------------
    broker_visibility_timeout_s: int = Field(
        default=3600,
        ge=1,
        description="An unacknowledged broker message (its worker died) is delivered again "
        "after this long. Duplicates are harmless: the catalogue lease decides who runs a job.",
    )
    broker_key_prefix: str = Field(
        default="vodstack:", description="Prefix of every Redis key (several installs, 1 Redis)."
    )
    worker_ondemand_concurrency: int = Field(
        default=1, ge=1, le=64, description="Jobs a `vodstack worker` runs at once for uploads."
    )
    worker_backfill_concurrency: int = Field(
        default=1, ge=0, le=64, description="Jobs a `vodstack worker` runs at once for backfills."
    )
    backfill_nice: int = Field(
        default=15,
        ge=0,
        le=19,
        description="CPU niceness of backfill transcodes, so uploads get the cores first.",
    )

    # -- webhooks --------------------------------------------------------------------------
    webhook_urls: tuple[str, ...] = Field(
        default=(),
        description="Endpoints receiving signed asset.ready/asset.failed/source.created POSTs "
        '(JSON list: ["https://example.com/hook"]).',
    )
    webhook_secret: str | None = Field(
        default=None,
        description="HMAC-SHA256 key of webhook signatures; generated on first run when unset "
        "(set it explicitly when workers run on several machines).",
    )
    webhook_max_attempts: int = Field(default=8, ge=1, description="Attempts per delivery.")
    webhook_backoff_s: float = Field(
        default=5, gt=0, description="First webhook retry delay; doubles each attempt."
    )
    webhook_timeout_s: float = Field(default=10, gt=0, description="Per-attempt HTTP timeout.")

    # -- lifecycle -------------------------------------------------------------------------
    keep_masters_on_delete: bool = Field(
        default=True,
        description="`assets delete` keeps the master (so the asset can be rebuilt); false "
        "removes it too.",
    )

    # -- direct uploads, URL ingest, lifecycle webhooks (issue #18; docs/uploads.md) --------
    direct_upload_ttl_s: float = Field(
        default=3600,
        gt=0,
        le=7 * 86400,
        description="How long a direct-upload URL can start its upload (a request may ask "
        "for less); the bytes may then arrive until the upload itself expires.",
    )
    direct_upload_cors_origins: tuple[str, ...] = Field(
        default=(),
        description="Web origins (scheme://host[:port]) whose pages may send a master to a "
        "direct-upload URL (CORS, no credentials). Empty: same-origin pages only.",
    )
    url_ingest_allowed_networks: tuple[str, ...] = Field(
        default=(),
        description="Networks (CIDR) URL ingest may reach although they are private, "
        "loopback, link-local or reserved, e.g. 10.20.0.0/16 for an internal file server. "
        "Empty (default): public addresses only.",
    )
    url_ingest_timeout_s: float = Field(
        default=30, gt=0, description="URL ingest: connect timeout and longest pause between bytes."
    )
    url_ingest_max_s: float = Field(
        default=6 * 3600, gt=0, description="URL ingest: longest whole download."
    )
    url_ingest_max_redirects: int = Field(
        default=5, ge=0, le=20, description="URL ingest: redirects followed (each re-checked)."
    )
    webhook_events: tuple[str, ...] = Field(
        default=(),
        description="Webhook event types to send (docs/webhooks.md); empty (default): all.",
    )
    webhook_progress_step: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="transcode.progress webhooks each time a job's progress crosses a multiple "
        "of this fraction.",
    )

    @field_validator("direct_upload_cors_origins")
    @classmethod
    def _direct_upload_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
                raise ValueError(
                    f"direct_upload_cors_origins: {origin!r} is not an origin like "
                    "https://www.example.com (scheme, host, optional port; no path, no wildcard)"
                )
        return value

    @field_validator("url_ingest_allowed_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"url_ingest_allowed_networks: {network!r} is not a network like "
                    "10.20.0.0/16 or 127.0.0.1/32"
                ) from None
        return value

    cpus: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        ge=1,
        description="CPU cores FFmpeg may use; encoder threads are shared out by rung size.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log records written by servers and workers."
    )

    # -- edge and origin ------------------------------------------------------------------
    role: Literal["all", "edge", "shield", "origin"] = Field(
        default="all",
        description="What `serve` runs: edge+origin in one process (all); an edge (gate + "
        "cache) in front of origin_urls; a shield (cache, origin-secret protected) between "
        "edges and the origin, so each object is fetched from the origin once; or the origin.",
    )
    origin_urls: tuple[str, ...] = Field(
        default=(),
        description="Edge role: origin group, primary first; the next is tried on a "
        "connection failure or a 5xx.",
    )
    origin_secret_header: str = Field(
        default="X-Vodstack-Origin-Secret", description="Header carrying the origin secret."
    )
    origin_secrets: tuple[str, ...] = Field(
        default=(),
        description="Secrets the origin accepts (two during a rotation); edges send the "
        "first. Default: one generated on first run in the secrets store.",
    )
    origin_timeout_s: float = Field(default=10, gt=0, description="Edge → origin timeout.")
    origin_tls_verify: bool | str = Field(
        default=True, description="Verify the origin's certificate (or a CA bundle path)."
    )
    edge_memory_bytes: int = Field(default=256 * 1024**2, ge=0, description="Edge memory tier.")
    edge_disk_dir: Path | None = Field(
        default=None, description="Edge disk tier directory (default: cache/edge in home)."
    )
    worker_shared_dir: Path | None = Field(
        default=None,
        description="Set by `serve --workers N` for its workers (not by hand): the directory "
        "through which they share the edge disk tier, collapse origin loads and elect the "
        "one that runs background jobs.",
    )
    edge_disk_bytes: int = Field(default=4 * 1024**3, ge=0, description="Edge disk tier size.")
    edge_disk_threshold: int = Field(
        default=32 * 1024,
        ge=1,
        description="Objects at least this big go to the disk tier (served zero-copy).",
    )
    edge_stale_if_error_s: float = Field(
        default=24 * 3600, ge=0, description="How long cached segments outlive origin errors."
    )
    tls_cert: Path | None = Field(default=None, description="PEM certificate: serve HTTPS.")
    tls_key: Path | None = Field(default=None, description="PEM private key for tls_cert.")
    hsts: bool = Field(default=False, description="Send Strict-Transport-Security over TLS.")
    cors_origins: tuple[str, ...] = Field(
        default=(),
        description="Web origins (scheme://host[:port]) whose pages may call /play, fetch /v1 "
        "media with the signed cookies and post beacons (credentialed CORS), e.g. a player "
        "embedded in your own site. Empty: same-origin only. Never '*'; never the admin API.",
    )
    embed_origins: tuple[str, ...] = Field(
        default=(),
        description="Origins (scheme://host[:port], '*.' allowed before the host) whose pages "
        "may show /embed/{assetId} in an iframe: the page's CSP frame-ancestors. Empty: this "
        "server's own pages only ('self'); '*' would let any site frame it.",
    )
    access_log: str | None = Field(
        default=None,
        description="JSON access log, one line per request: a file path, or '-' for stderr.",
    )

    # -- content protection ------------------------------------------------------------------
    speke_url: str | None = Field(
        default=None,
        description="SPEKE v2 key service (CPIX over HTTP); default: keys generated locally.",
    )
    speke_system_ids: tuple[str, ...] = Field(
        default=(),
        description="DRM system ids whose PSSH the key service should return (Widevine "
        "edef8ba9-…, PlayReady 9a04f079-…); their boxes go into init segments and the MPD.",
    )
    licence_rate_per_min: int = Field(
        default=120, ge=0, description="ClearKey licence requests per address (0 = off)."
    )

    # -- entitlement and signed delivery ---------------------------------------------------
    cookie_ttl_s: int = Field(
        default=300, ge=10, le=86400, description="Lifetime of playback cookies (seconds)."
    )
    cookie_bind_ip: bool = Field(
        default=False,
        description="Bind cookies to the viewer's IP (/32 or /128). IPv6 privacy addresses and "
        "mobile networks change addresses mid-session: enable only where that is acceptable.",
    )
    cookie_not_before_s: int = Field(
        default=0,
        ge=0,
        le=3600,
        description="When > 0, playback cookies carry DateGreaterThan = mint time minus this "
        "many seconds (tolerates clock skew between the signer and the verifying edges); "
        "0 = no not-before condition.",
    )
    cookie_samesite: Literal["lax", "strict", "none"] = Field(
        default="lax", description="SameSite of playback cookies ('none' for cross-site players)."
    )
    signing_hash: Literal["SHA1", "SHA256"] = Field(
        default="SHA1", description="CloudFront-Hash-Algorithm for new signatures."
    )
    secrets_url: str = Field(
        default="file",
        description="Where secrets and private signing keys live: `file` (0600 files in "
        "home/secrets), `db` (the catalogue database, encrypted with secrets_passphrase), "
        "`db+kms://KEY` (the same, encrypted under an AWS KMS-wrapped data key), "
        "`aws-sm://PREFIX` (AWS Secrets Manager) or `aws-ssm://PREFIX` (SSM Parameter Store "
        "SecureString). A shared store lets every node sign and rotate with the same keys.",
    )
    secrets_passphrase: SecretStr | None = Field(
        default=None,
        description="Encrypts the `db` secrets backend (AES-256-GCM, scrypt-derived key); the "
        "same on every node. Never logged.",
    )
    signing_key_passphrase: SecretStr | None = Field(
        default=None,
        description="Encrypts the private signing keys at rest (PKCS#8, best available "
        "scheme); keys stored in clear are re-encrypted on first use. Default: the contents of "
        "`signing-key-passphrase` in the secrets directory if that file exists, else keys are "
        "stored unencrypted (0600 files). Never logged.",
    )
    jwt_issuer: str | None = Field(
        default=None,
        description="External identity provider's issuer; when set, development tokens are "
        "refused and keys come from `jwks_url`.",
    )
    dev_idp: bool = Field(
        default=False,
        description="Serve the development sign-in `POST /dev/token` (a viewer JWT for any "
        "subject, to loopback clients). Only for a machine of your own: `demo` turns it on, "
        "`serve` refuses it on a non-loopback address. `vodstack token` works without it.",
    )
    jwt_audience: str = Field(default="vodstack", description="Required `aud` of viewer JWTs.")
    jwks_url: str | None = Field(default=None, description="JWKS URL of the external IdP.")
    jwks_min_refresh_s: float = Field(
        default=10, ge=0, description="Least time between JWKS refetches for unknown key ids."
    )
    jwt_leeway_s: int = Field(default=30, ge=0, le=300, description="Clock skew allowed.")
    institution_claim: str = Field(
        default="institution", description="JWT claim naming the viewer's institution."
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(),
        description="CIDRs of proxies/CDNs whose X-Forwarded-For and country header are believed.",
    )
    country_header: str = Field(
        default="CloudFront-Viewer-Country",
        description="Viewer-country header set by a trusted proxy.",
    )
    geoip_db: Path | None = Field(
        default=None, description="MaxMind-format GeoIP database for the viewer country."
    )
    mint_rate_per_min: int = Field(
        default=60, ge=0, description="POST /play per subject and per address (0 = off)."
    )
    playback_rate_per_s: float = Field(
        default=200, ge=0, description="Delivery requests per second per address (0 = off)."
    )
    playback_burst: int = Field(default=2000, ge=1, description="Burst for the rate above.")
    clearkey_external_keys: bool = Field(
        default=False,
        description="Also release keys issued by the external key service (SPEKE) through "
        "the built-in ClearKey licence server and HLS key URIs. Off: such keys are refused "
        "with 403 (rule clear_key_refused), since any cookie holder could read them.",
    )
    protected_pictures: bool = Field(
        default=True,
        description="Serve pictures (poster, thumbnail.jpg, storyboard and its sheets) of "
        "assets served only protected, behind the same signature as their segments. Off: "
        "404 for them (frames of DRM content are that content, in low resolution).",
    )
    thumbnail_rate_per_s: float = Field(
        default=10,
        ge=0,
        description="thumbnail.jpg requests per second per address, a bucket of their own "
        "(0 = off).",
    )
    thumbnail_burst: int = Field(default=40, ge=1, description="Burst for the rate above.")
    thumbnail_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Frames cut on the fly (thumbnail.jpg, a poster chosen by time) at once per "
        "origin process; more wait up to thumbnail_wait_s, then get 503 with Retry-After.",
    )
    thumbnail_wait_s: float = Field(
        default=2.0, ge=0, description="How long a thumbnail waits for a free cut slot."
    )

    # -- operations: logs and metrics -------------------------------------------------------
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="Server and worker logs: one JSON object per line (timestamp, level, "
        "logger, message, role, instance, request_id), or readable text. `demo` writes text "
        "on a terminal unless this is set.",
    )
    instance_id: str | None = Field(
        default=None,
        max_length=128,
        description="Names this process in logs and metrics (the `instance` label); default "
        "hostname:pid.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that may read /metrics (besides the admin token), for a "
        "Prometheus scraping the viewer port. Never logged.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Also serve /metrics on this port of metrics_host, without the viewer "
        "port's token (unset: no admin listener).",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address of the metrics_port listener (loopback)."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    # -- costs (issue #21; docs/costs.md). Prices are EXAMPLES to replace with your own. ----
    costs_ledger: bool = Field(
        default=True,
        description="Edges record bytes delivered per hour, asset, track, object kind and "
        "cache result in the catalogue (the usage ledger behind `vodstack costs`).",
    )
    costs_flush_s: float = Field(
        default=60, gt=0, description="Seconds between ledger flushes to the catalogue."
    )
    costs_retention_days: int = Field(
        default=90, ge=1, description="Ledger hours older than this are pruned at each flush."
    )
    cost_egress_tiers: tuple[tuple[float, float], ...] = Field(
        default=((10_240, 0.085), (40_960, 0.08), (102_400, 0.06), (0, 0.05)),
        description="Egress price per GB by monthly tier: [[GB in this tier, price per GB], "
        "...]; the last tier's size is ignored (everything beyond). The default is an EXAMPLE "
        "shaped like a public CDN's list prices, not a quote: set your own.",
    )
    cost_storage_gb_month: dict[str, float] = Field(
        default_factory=lambda: {
            "local": 0.0,
            "STANDARD": 0.023,
            "STANDARD_IA": 0.0125,
            "GLACIER_IR": 0.004,
        },
        description="Storage price per GB-month by storage class (`local` = the local store). "
        "EXAMPLES: set your own.",
    )
    cost_cpu_hour: float = Field(
        default=0.04, ge=0, description="Transcode price per CPU-hour (EXAMPLE: set your own)."
    )
    cost_currency: str = Field(default="USD", max_length=8, description="Label of prices.")
    costs_min_share: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Ladder recommendations: a rung under this share of watch time is a "
        "candidate to drop.",
    )
    cold_after_days: int | None = Field(
        default=None,
        ge=1,
        description="`vodstack costs lifecycle`: masters not re-transcoded for this many days "
        "move to `cold_storage_class` (S3 only; None = never).",
    )
    cold_storage_class: Literal["STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"] = Field(
        default="GLACIER_IR", description="S3 storage class of cold masters."
    )
    picture_url_ttl_s: int = Field(
        default=86400,
        ge=60,
        le=7 * 86400,
        description="Lifetime of the signed picture URLs (poster, thumbnail, storyboard) in "
        "the asset API, for catalogue pages that show titles without POST /play.",
    )
    picture_rate_per_s: float = Field(
        default=50, ge=0, description="Picture requests (p/ tokens) per second per address."
    )
    picture_burst: int = Field(default=500, ge=1, description="Burst for the rate above.")

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Credentialed CORS must name each origin exactly (Fetch standard): no wildcard, no
        # path, so a typo cannot open the cookies to every site.
        for origin in value:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
                raise ValueError(
                    f"cors_origins: {origin!r} is not an origin like https://www.example.com "
                    "(scheme, host, optional port; no path, no wildcard)"
                )
        return value

    @field_validator("embed_origins")
    @classmethod
    def _frame_ancestors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # CSP3 §6.4.2 host-source: one exact origin (or *.host) each, so nothing but origins
        # can reach the header (no quotes, spaces or ';' that would add directives).
        for origin in value:
            if origin != "*" and not re.fullmatch(
                r"https?://(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin
            ):
                raise ValueError(
                    f"embed_origins: {origin!r} is not an origin like https://learn.example.edu "
                    "(scheme, host or *.host, optional port; no path)"
                )
        return value

    @field_validator("segment_s")
    @classmethod
    def _segment_multiple_of_fragment(cls, value: int, info) -> int:
        fragment = info.data.get("fragment_s", 2)
        if value % fragment:
            raise ValueError(f"segment_s ({value}) must be a multiple of fragment_s ({fragment})")
        return value

    @field_validator("window_s")
    @classmethod
    def _window_multiple_of_fragment(cls, value: int, info) -> int:
        fragment = info.data.get("fragment_s", 2)
        if value % fragment:
            raise ValueError(f"window_s ({value}) must be a multiple of fragment_s ({fragment})")
        return value

    @field_validator("ladder")
    @classmethod
    def _ladder_sorted(cls, value: tuple[RungTemplate, ...]) -> tuple[RungTemplate, ...]:
        if not value:
            raise ValueError("the ladder needs at least one rung")
        return tuple(sorted(value, key=lambda r: r.height))

    @field_validator("ladders")
    @classmethod
    def _ladders_valid(
        cls, value: dict[str, tuple[RungTemplate, ...] | LadderTemplate]
    ) -> dict[str, tuple[RungTemplate, ...] | LadderTemplate]:
        for name, rungs in value.items():
            if not (0 < len(name) <= 20 and name.replace("-", "").replace("_", "").isalnum()):
                raise ValueError(f"ladder name {name!r}: 1-20 letters, digits, '-' or '_'")
            if not isinstance(rungs, LadderTemplate) and not rungs:
                raise ValueError(f"ladder {name!r} needs at least one rung")
        return {
            n: r if isinstance(r, LadderTemplate) else tuple(sorted(r, key=lambda x: x.height))
            for n, r in value.items()
        }

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file()))

    # Derived locations, computed once.
    @cached_property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    @cached_property
    def objects_dir(self) -> Path:
        return self.home / "objects"

    @cached_property
    def work_dir(self) -> Path:
        """Scratch space for transcodes; wiped per job."""
        return self.home / "work"

    @cached_property
    def effective_edge_disk_dir(self) -> Path:
        return self.edge_disk_dir or self.home / "cache" / "edge"

    @cached_property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'catalogue.db'}"

    @cached_property
    def ladder_templates(self) -> dict[str, tuple[RungTemplate, ...]]:
        """Every named ladder's rungs; "default" is `ladder` unless `ladders` names one."""
        return {name: profile.rungs for name, profile in self.ladder_profiles.items()}

    @cached_property
    def ladder_profiles(self) -> dict[str, LadderTemplate]:
        """Every named ladder as a full template (rungs, mode, codecs, version, cap).

        A plain list of rungs in `ladders` inherits the default ladder's mode and codecs."""
        default = LadderTemplate(rungs=self.ladder, mode=self.ladder_mode, codecs=self.video_codecs)
        profiles = {"default": default}
        for name, value in self.ladders.items():
            profiles[name] = (
                value
                if isinstance(value, LadderTemplate)
                else default.model_copy(update={"rungs": value})
            )
        return profiles

    @cached_property
    def effective_server_workers(self) -> int:
        """Edges share nothing but files: one per core. The origin's progressive-window
        scheduler and the in-process job pool are per process, so other roles default to 1."""
        if self.server_workers is not None:
            return self.server_workers
        return (os.cpu_count() or 1) if self.role == "edge" else 1

    def base_url(self) -> str:
        """Public scheme+host, without a trailing slash."""
        scheme = "https" if self.tls_cert else "http"
        return (self.public_url or f"{scheme}://{self.host}:{self.port}").rstrip("/")
