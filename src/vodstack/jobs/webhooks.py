"""Webhooks: signed JSON POSTs of ``source.created``, ``asset.ready``, ``asset.failed``.

Like Mux's and Cloudflare Stream's: each configured endpoint gets one *delivery* per event,
with an id that stays the same across retries (receivers de-duplicate on it), signed as
``Vodstack-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` so a
receiver can check both origin and freshness (reject old ``t`` to stop replays). Non-2xx
answers and network errors are retried with exponential backoff; every attempt is written
to the catalogue's event log (``webhook.attempt``).

Delivery never blocks the request or job that produced the event: in-process it runs on a
background thread; with a broker it is a Celery task on the ``webhooks`` queue (durable
across restarts, retried by any worker).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

from vodstack import __version__
from vodstack.base import ASSET_FAILED, ASSET_READY, SOURCE_CREATED, DomainEvent, EventBus
from vodstack.catalogue import Catalogue
from vodstack.config import Settings
from vodstack.packaging.layout import asset_url, playback_urls
from vodstack.secrets import LiveSecret, SecretStore

log = logging.getLogger(__name__)

WEBHOOK_EVENTS = (SOURCE_CREATED, ASSET_READY, ASSET_FAILED)
WEBHOOK_ATTEMPT = "webhook.attempt"
SECRET_NAME = "webhook-secret"  # noqa: S105 - a file name, not a secret
SIGNATURE_HEADER = "Vodstack-Signature"
DELIVERY_HEADER = "Vodstack-Delivery"
EVENT_HEADER = "Vodstack-Event"
ATTEMPT_HEADER = "Vodstack-Attempt"
DEFAULT_TOLERANCE_S = 300


# -- signing (pure) ------------------------------------------------------------------------------
def sign(secret: bytes, timestamp: int, body: str | bytes) -> str:
    """The ``Vodstack-Signature`` header value for ``body`` sent at ``timestamp``."""
    raw = body.encode() if isinstance(body, str) else body
    mac = hmac.new(secret, f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: bytes,
    header: str,
    body: str | bytes,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """What a receiver does: recompute the HMAC, compare in constant time, bound the age."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, v) for v in parts.get("v1", []))


def redact(url: str) -> str:
    """An endpoint as the event log shows it: no credentials, no query (it may hold a token)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# -- deliveries ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one endpoint; the body is fixed once, so every retry is byte-identical."""

    id: str
    url: str
    event_type: str
    event_id: int
    asset_id: str | None
    body: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delivery:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def delivery_id(event_id: int, url: str) -> str:
    """Stable per (event, endpoint): a re-sent task or a retry carries the same id."""
    digest = hashlib.blake2s(url.encode(), digest_size=4).hexdigest()
    return f"whd_{event_id}_{digest}"


def event_body(event: DomainEvent, delivery: str, base_url: str) -> str:
    data: dict[str, Any] = dict(event.payload)
    data.pop("purge", None)  # what edges forget (catalogue.purge): not for subscribers
    if event.type == ASSET_READY and event.asset_id:
        data["playback"] = playback_urls(asset_url(base_url, event.asset_id)).to_dict()
    return json.dumps(
        {
            "id": delivery,
            "type": event.type,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "event_id": event.id,
            "asset_id": event.asset_id,
            "data": data,
        },
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


def deliveries_for(event: DomainEvent, urls: tuple[str, ...], base_url: str) -> list[Delivery]:
    if event.id is None:
        return []
    out = []
    for url in urls:
        did = delivery_id(event.id, url)
        out.append(
            Delivery(
                did, url, event.type, event.id, event.asset_id, event_body(event, did, base_url)
            )
        )
    return out


class WebhookTransport(Protocol):
    def send_webhook(
        self, delivery: dict[str, Any], attempt: int, delay_s: float = 0.0
    ) -> None: ...


class Webhooks:
    """Turns bus events into deliveries and performs attempts (recording each)."""

    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        secret: bytes | Callable[[], bytes],
        *,
        transport: WebhookTransport | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        # a callable is read per delivery: a rotated secret (secrets.LiveSecret) is used
        # as soon as this node has read it
        self.secret = secret if callable(secret) else (lambda: secret)
        self.transport = transport
        self.client = client or httpx.Client(
            timeout=settings.webhook_timeout_s,
            follow_redirects=False,
            headers={"User-Agent": f"vodstack-webhooks/{__version__}"},
        )
        self._background: _BackgroundSender | None = None
        self._lock = threading.Lock()

    def attach(self, bus: EventBus) -> None:
        for type_ in WEBHOOK_EVENTS:
            bus.subscribe(type_, self.on_event)

    def on_event(self, event: DomainEvent) -> None:
        for delivery in deliveries_for(event, self.settings.webhook_urls, self.settings.base_url()):
            self.schedule(delivery, 1, 0.0)

    def schedule(self, delivery: Delivery, attempt: int, delay_s: float) -> None:
        if self.transport is not None:
            self.transport.send_webhook(delivery.to_dict(), attempt, delay_s)
            return
        with self._lock:
            if self._background is None:
                self._background = _BackgroundSender(self)
        self._background.put(delivery, attempt, delay_s)

    def retry_delay(self, attempt: int) -> float:
        return min(3600.0, self.settings.webhook_backoff_s * 2 ** (attempt - 1))

    def attempt(self, delivery: Delivery, attempt: int) -> bool:
        """POST once; record the attempt; schedule the next one on failure. True if 2xx."""
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.secret(), timestamp, delivery.body),
            DELIVERY_HEADER: delivery.id,
            EVENT_HEADER: delivery.event_type,
            ATTEMPT_HEADER: str(attempt),
        }
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            response = self.client.post(delivery.url, content=delivery.body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        ok = error is None
        final = ok or attempt >= self.settings.webhook_max_attempts
        self._record(delivery, attempt, status, error, final, time.monotonic() - started)
        if not final:
            self.schedule(delivery, attempt + 1, self.retry_delay(attempt))
        elif not ok:
            log.warning("webhook %s to %s abandoned: %s", delivery.id, redact(delivery.url), error)
        return ok

    def _record(
        self,
        delivery: Delivery,
        attempt: int,
        status: int | None,
        error: str | None,
        final: bool,
        seconds: float,
    ) -> None:
        try:
            self.catalogue.add_event(
                WEBHOOK_ATTEMPT,
                delivery.asset_id,
                {
                    "delivery_id": delivery.id,
                    "event_id": delivery.event_id,
                    "event_type": delivery.event_type,
                    "url": redact(delivery.url),
                    "attempt": attempt,
                    "status": status,
                    "ok": error is None,
                    "error": error,
                    "final": final,
                    "ms": round(seconds * 1000, 1),
                },
            )
        except Exception:  # the log is best effort: a DB outage must not stop deliveries
            log.warning("could not record webhook attempt %s/%d", delivery.id, attempt)

    def close(self) -> None:
        with self._lock:
            background, self._background = self._background, None
        if background is not None:
            background.stop()
        self.client.close()


class _BackgroundSender:
    """One daemon thread with a due-time heap: attempts and their retries, off the hot path.

    In-process deliveries pending at shutdown are lost with the process (the broker mode
    keeps them in Redis); every attempt made is in the event log either way.
    """

    def __init__(self, webhooks: Webhooks) -> None:
        self.webhooks = webhooks
        self._heap: list[tuple[float, int, Delivery, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="vodstack-webhooks", daemon=True)
        self._thread.start()

    def put(self, delivery: Delivery, attempt: int, delay_s: float) -> None:
        with self._cond:
            heapq.heappush(
                self._heap, (time.monotonic() + delay_s, next(self._seq), delivery, attempt)
            )
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, delivery, attempt = heapq.heappop(self._heap)
            try:
                self.webhooks.attempt(delivery, attempt)
            except Exception:
                log.exception("webhook delivery %s crashed", delivery.id)


def generate_webhook_secret() -> bytes:
    return f"whsec_{secrets.token_urlsafe(32)}".encode()


def webhook_secret(settings: Settings, store: SecretStore) -> bytes:
    """The configured secret, else one generated on first run (0600 in the secrets store)."""
    return webhook_secret_source(settings, store)()


def webhook_secret_source(settings: Settings, store: SecretStore) -> Callable[[], bytes]:
    """The secret deliveries are signed with, read again every few seconds when it is the
    generated one (``vodstack secrets rotate webhook-secret`` reaches every node)."""
    if settings.webhook_secret:
        configured = settings.webhook_secret.encode()
        return lambda: configured
    return LiveSecret(store, SECRET_NAME, generate_webhook_secret).current
