"""The deliver path of one process, typed: gate → edge → origin.

``settings.role`` picks the parts: ``all`` (edge and origin in this process, the default),
``edge`` (gate + cache in front of remote origins), ``shield`` (a cache between edges and the
origin, answering edges only) or ``origin`` (the packager behind edges, answering only
requests with the shared secret). A part a role does not run is None.

A ``/v1`` request follows these names: web/delivery.py asks ``Delivery.gate`` (or, on a shield
or an origin, checks ``origin_secrets``), then ``Delivery.edge`` (its loader is
``Delivery.origin`` in this process, or HTTP to ``settings.origin_urls``); the origin role
calls ``Delivery.origin`` directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from starlette.requests import Request

from vodstack.base import DomainEvent, RateLimiter
from vodstack.compose.services import Services
from vodstack.edge import (
    PURGING_EVENTS,
    Edge,
    EdgeCache,
    HotCopies,
    HttpOrigins,
    InProcessOrigin,
    PlaybackPolicies,
    PurgeFollower,
    SharedTier,
    SignatureGate,
    TtlPolicy,
)
from vodstack.entitlement import ViewerLocator
from vodstack.errors import NotFound
from vodstack.origin import Origin, ProtectedPackager
from vodstack.packaging.layout import asset_url
from vodstack.protection import Protection, build_protection
from vodstack.secrets import LiveSecret, random_token
from vodstack.storage import ObjectStore
from vodstack.thumbnails import ThumbnailAdmission
from vodstack.thumbnails.cutter import FrameCutter

log = logging.getLogger(__name__)

Role = Literal["all", "edge", "shield", "origin"]


class Gate(Protocol):
    """Decides whether a delivery request may go on; raises Forbidden if not."""

    def check(
        self,
        request: Request,
        asset_id: str,
        token: str | None = None,
        picture: bool = False,
        raw_rest: str | None = None,
    ) -> None:
        """``raw_rest``: the raw path after ``/v1/{assetId}/``, token segment included, when
        the caller has read it already (None: the gate reads it from the request)."""

    def flush_counts(self) -> None:
        """Bring batched counters up to date (before ``/metrics`` reads them)."""


class OpenGate:
    """Lets every request through. Only for tests and benchmarks of what lies behind."""

    def check(
        self,
        request: Request,
        asset_id: str,
        token: str | None = None,
        picture: bool = False,
        raw_rest: str | None = None,
    ) -> None:
        return None

    def flush_counts(self) -> None:
        return None


@dataclass(frozen=True)
class Delivery:
    """What answers ``/v1/{assetId}/…`` in this process (see the module docstring)."""

    role: Role
    gate: Gate
    protection: Protection
    origin: Origin | None  # None: edge and shield roles (their origins are remote)
    edge: Edge | None  # None: origin role
    follower: PurgeFollower | None  # follows purges of other processes (event log)
    thumbnails: ThumbnailAdmission  # thumbnail.jpg: its own rate bucket, the title length
    licence_limiter: RateLimiter  # POST /v1/{assetId}/license per address
    origin_secret_header: str  # lower case
    origin_secrets: Callable[[], tuple[str, ...]]  # current first; () for edge roles
    store: ObjectStore  # where FileSlice resources are read from
    locator: ViewerLocator  # the viewer's address behind trusted proxies

    @property
    def remote(self) -> bool:
        """Whether the origin runs elsewhere (edge and shield roles)."""
        return self.role in ("edge", "shield")


def build_delivery(services: Services, gate: Gate | None = None) -> Delivery:
    """The deliver path for ``services.settings.role``; ``gate``: a stand-in for the signature
    gate (tests and benchmarks only). Subscribes to this process's purging events."""
    settings = services.settings
    role: Role = settings.role
    protection = build_protection(settings, services.db, services.secrets)
    origin = None if role in ("edge", "shield") else build_origin(services, protection)
    edge = build_edge(services, origin) if role != "origin" else None
    follower = PurgeFollower(services.catalogue, edge) if edge is not None else None
    policies = PlaybackPolicies(services.catalogue)
    _purge_on_events(services, origin, follower, policies)
    per_min = settings.licence_rate_per_min
    return Delivery(
        role=role,
        gate=gate
        or SignatureGate(
            settings, services.signature_verifier, services.locator, services.metrics, policies
        ),
        protection=protection,
        origin=origin,
        edge=edge,
        follower=follower,
        thumbnails=ThumbnailAdmission(
            settings.thumbnail_rate_per_s, settings.thumbnail_burst, _duration_of(services)
        ),
        licence_limiter=RateLimiter(per_min / 60, max(1, per_min // 4)),
        origin_secret_header=settings.origin_secret_header.lower(),
        origin_secrets=origin_secrets(services) if role in ("origin", "shield") else lambda: (),
        store=services.store,
        locator=services.locator,
    )


def build_origin(services: Services, protection: Protection) -> Origin:
    """The one place an :class:`Origin` is made: the JIT packager over the stored CMAF copy,
    with the pipeline's window scheduler for progressive revisions."""
    settings = services.settings
    packager = ProtectedPackager(
        protection,
        f"{asset_url(settings.base_url(), '{asset}')}/license",  # {asset}: filled per asset
        clear_external_keys=settings.clearkey_external_keys,
    )
    return Origin(
        settings,
        services.catalogue,
        services.store,
        packager,
        windows=services.pipeline.stage.windows,
        frames=FrameCutter(
            services.store, settings.thumbnail_concurrency, settings.thumbnail_wait_s
        ),
    )


def build_edge(services: Services, origin: Origin | None) -> Edge:
    """The edge cache; it loads from ``origin`` in this process, else from the configured
    remote origins over HTTP with the origin secret."""
    settings = services.settings
    disk_dir = settings.effective_edge_disk_dir
    # The memory budget is shared: half for small objects, half for copies of the disk tier's
    # popular files (edge/hot.py), which are sent from memory faster than from disk.
    hot_bytes = settings.edge_memory_bytes // 2 if settings.edge_disk_bytes else 0
    cache = EdgeCache(
        memory_bytes=settings.edge_memory_bytes - hot_bytes,
        disk_dir=disk_dir if settings.edge_disk_bytes else None,
        disk_bytes=settings.edge_disk_bytes,
        disk_threshold=settings.edge_disk_threshold,
        origin_timeout_s=settings.origin_timeout_s,
    )
    staging = disk_dir / "incoming"
    if origin is not None:
        loader = InProcessOrigin(
            origin, services.store, staging, services.metrics, settings.edge_disk_threshold
        ).load
    else:
        secrets_now = origin_secrets(services)
        loader = HttpOrigins(
            settings.origin_urls,
            settings.origin_secret_header,
            lambda: secrets_now()[0],  # read again every few seconds: rotations reach it
            staging,
            services.metrics,
            memory_threshold=settings.edge_disk_threshold,
            timeout_s=settings.origin_timeout_s,
            verify=settings.origin_tls_verify,
        ).load
    policy = TtlPolicy(
        manifest_ttl_s=settings.manifest_max_age_s, immutable_stale_s=settings.edge_stale_if_error_s
    )
    hot = HotCopies(hot_bytes) if hot_bytes else None
    shared = None
    if settings.worker_shared_dir is not None and settings.edge_disk_bytes:
        # The other workers of this `serve --workers N`: one origin load per segment for all.
        shared = SharedTier(settings.worker_shared_dir, staging, wait_s=settings.origin_timeout_s)
    return Edge(cache, loader, policy, services.metrics, hot, shared)


def origin_secrets(services: Services) -> Callable[[], tuple[str, ...]]:
    """The origin secrets, current first: the configured ones, else the generated one from
    the secret store, read again every few seconds (``vodstack secrets rotate
    origin-secret`` reaches every node without a restart; the previous value stays valid)."""
    configured = services.settings.origin_secrets
    if configured:
        return lambda: configured
    live = LiveSecret(services.secrets, "origin-secret", random_token)
    return lambda: tuple(v.decode() for v in live.values())


def _purge_on_events(
    services: Services,
    origin: Origin | None,
    follower: PurgeFollower | None,
    policies: PlaybackPolicies,
) -> None:
    """Events of this process purge at once, once (other processes' through the follower).
    A playback policy switched here holds at once here too; other processes follow within
    the policies' TTL (about a second)."""

    def forget(event: DomainEvent) -> None:
        if event.asset_id is None:
            return
        policies.forget(event.asset_id)
        if origin is not None:
            origin.forget(event.asset_id)
        if follower is not None:
            follower.apply_threadsafe(event)

    for event_type in PURGING_EVENTS:
        services.bus.subscribe(event_type, forget)


def _duration_of(services: Services) -> Callable[[str], float | None]:
    def duration(asset_id: str) -> float | None:
        try:
            return services.catalogue.get_asset(asset_id).duration
        except NotFound:
            return None  # the origin answers 404

    return duration
