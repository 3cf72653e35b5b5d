"""Jobs: workers, retries and leases, the scale-out broker, webhooks (jobs/)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from vodstack.config.fields import concurrency, listed, optional, positive


class JobSettings(BaseModel):
    workers: int = concurrency(1, "In-process transcode workers.")
    job_max_attempts: int = Field(default=3, ge=1, description="Attempts before a job fails.")
    job_lease_s: int = Field(
        default=10,
        ge=5,
        description="A running job whose lease lapses is picked up again (renewed every quarter "
        "of it); a dead worker's job restarts within about this long on another host, at once "
        "on its own host.",
    )
    job_backoff_s: float = positive(2.0, "First retry delay; doubles each attempt (exponential).")
    job_backoff_max_s: float = positive(300, "Longest retry delay.")
    job_sweep_s: float = positive(
        5,
        "How often a broker worker looks for jobs whose worker died (lapsed lease) "
        "and sends them again.",
    )

    # -- scale-out jobs (Celery on Redis, used when broker_url is set) --------------------
    broker_url: str | None = optional("Celery broker (scale-out).")
    broker_visibility_timeout_s: int = Field(
        default=3600,
        ge=1,
        description="An unacknowledged broker message (its worker died) is delivered again "
        "after this long. Duplicates are harmless: the catalogue lease decides who runs a job.",
    )
    broker_key_prefix: str = Field(
        default="vodstack:", description="Prefix of every Redis key (several installs, 1 Redis)."
    )
    worker_ondemand_concurrency: int = concurrency(
        1, "Jobs a `vodstack worker` runs at once for uploads."
    )
    worker_backfill_concurrency: int = concurrency(
        1, "Jobs a `vodstack worker` runs at once for backfills.", minimum=0
    )
    backfill_nice: int = Field(
        default=15,
        ge=0,
        le=19,
        description="CPU niceness of backfill transcodes, so uploads get the cores first.",
    )

    # -- webhooks --------------------------------------------------------------------------
    webhook_urls: tuple[str, ...] = listed(
        "Endpoints receiving signed asset.ready/asset.failed/source.created POSTs "
        '(JSON list: ["https://example.com/hook"]).'
    )
    webhook_secret: str | None = optional(
        "HMAC-SHA256 key of webhook signatures; generated on first run when unset "
        "(set it explicitly when workers run on several machines)."
    )
    webhook_max_attempts: int = Field(default=8, ge=1, description="Attempts per delivery.")
    webhook_backoff_s: float = positive(5, "First webhook retry delay; doubles each attempt.")
    webhook_timeout_s: float = positive(10, "Per-attempt HTTP timeout.")
