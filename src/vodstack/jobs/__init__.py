"""Jobs: the pipeline that turns events into transcode and extras jobs, the in-process worker
pool, the leader lease and outgoing webhooks."""

from typing import TYPE_CHECKING

from vodstack.base import lazy_face

if TYPE_CHECKING:
    from vodstack.jobs.leader import Leader
    from vodstack.jobs.pipeline import JobDispatcher, Pipeline
    from vodstack.jobs.webhooks import (
        WEBHOOK_ATTEMPT,
        Webhooks,
        generate_webhook_secret,
        redact,
        webhook_secret,
        webhook_secret_source,
    )
    from vodstack.jobs.worker import WorkerPool

__all__ = [
    "WEBHOOK_ATTEMPT",
    "JobDispatcher",
    "Leader",
    "Pipeline",
    "Webhooks",
    "WorkerPool",
    "generate_webhook_secret",
    "redact",
    "webhook_secret",
    "webhook_secret_source",
]

__getattr__, __dir__ = lazy_face(
    __name__,
    {
        "leader": ["Leader"],
        "pipeline": ["JobDispatcher", "Pipeline"],
        "webhooks": [
            "WEBHOOK_ATTEMPT",
            "Webhooks",
            "generate_webhook_secret",
            "redact",
            "webhook_secret",
            "webhook_secret_source",
        ],
        "worker": ["WorkerPool"],
    },
)
