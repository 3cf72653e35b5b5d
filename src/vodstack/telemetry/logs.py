"""Process logs: one JSON object per line (or readable text), with who wrote it and for which
request.

Every record carries ``timestamp`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``,
``message``, ``role`` (what the process is: ``all``, ``edge``, ``shield``, ``origin``,
``worker``) and ``instance`` (``instance_id``, default ``hostname:pid``), plus
``request_id`` inside a request and ``job_id`` inside a job, so one ``jq`` filter follows a
viewer's request from the edge through the shield to the origin. The same ``role`` and
``instance`` values label the Prometheus metrics (``vodstack.telemetry.metrics``).

The ids travel in context variables: asyncio copies them into the tasks a request starts (the
edge's collapsed origin fetch runs in its first requester's context) and
``anyio.to_thread`` into its worker threads.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import socket
import sys
import time
from typing import Any

#: The id of the HTTP request being served (``X-Request-Id``), where one is.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vodstack_request_id", default=None
)
#: The id of the job being run, where one is.
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("vodstack_job_id", default=None)

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


_CONTEXT = ("role", "instance", "request_id", "job_id")


def instance_name(configured: str | None = None) -> str:
    """``instance_id`` if configured, else ``hostname:pid`` (a server's worker processes
    each have their own pid, so each is its own instance)."""
    return configured or f"{socket.gethostname()}:{os.getpid()}"


def utc_timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. ``2026-12-06T07:31:02.118Z``."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{whole}.{int(created % 1 * 1000):03d}Z"


class _Context(logging.Filter):
    """Adds role, instance and the current request/job ids to every record."""

    def __init__(self, role: str, instance: str | None) -> None:
        super().__init__()
        self.role = role
        self.instance = instance

    def filter(self, record: logging.LogRecord) -> bool:
        record.role = self.role
        # computed per record when unset: a forked or spawned child has its own pid
        record.instance = self.instance or instance_name()
        record.request_id = request_id.get()
        record.job_id = job_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; ``extra=`` fields are kept, exceptions become ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "timestamp": utc_timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "role": getattr(record, "role", None),
            "instance": getattr(record, "instance", None),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, None)
            if value is not None:
                data[key] = value
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in data and key not in _CONTEXT:
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """Readable lines for a person at a terminal, with the same timestamp and ids."""

    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(
            f"{k}={v}"
            for k in ("request_id", "job_id")
            if (v := getattr(record, k, None)) is not None
        )
        line = (
            f"{utc_timestamp(record.created)} {record.levelname} {record.name}: "
            f"{record.getMessage()}{' [' + ids + ']' if ids else ''}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def handler(fmt: str, role: str, instance: str | None) -> logging.Handler:
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    h.addFilter(_Context(role, instance))
    return h


def configure(level: str, fmt: str, role: str, instance: str | None = None) -> None:
    """Route every logger (ours, Granian's, Celery's) through one stderr handler."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(fmt, role, instance))
    root.setLevel(level)
    logging.captureWarnings(True)  # Python warnings become records too, not raw stderr text
    # Libraries that chat at INFO about every request or connection.
    for noisy in ("httpx", "httpcore", "botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def granian_dictconfig(level: str, fmt: str, role: str, instance: str | None) -> dict[str, Any]:
    """Granian configures its loggers itself (in the main and every worker process): hand it
    the same handler, so its lines are ours too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {},
        "handlers": {
            "vodstack": {
                "()": "vodstack.telemetry.logs.handler",
                "fmt": fmt,
                "role": role,
                "instance": instance,
            }
        },
        "loggers": {
            "_granian": {"handlers": ["vodstack"], "level": level, "propagate": False},
            "granian.access": {"handlers": ["vodstack"], "level": level, "propagate": False},
        },
    }
