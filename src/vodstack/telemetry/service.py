"""Playback telemetry: session tokens for ``/play``, beacon intake, analytics and reports."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from vodstack.catalogue import (
    Beacon,
    Catalogue,
    Database,
    Observations,
    PlaybackSessions,
    SessionStats,
)
from vodstack.errors import AuthError, NotFound
from vodstack.secrets import SecretStore
from vodstack.telemetry.metrics import Metrics
from vodstack.telemetry.qoe import EVENT_TYPES, apply
from vodstack.telemetry.report import (
    DEFAULT_THRESHOLD,
    AssetAnalytics,
    ViewerCompletion,
    analytics,
    completions,
)
from vodstack.telemetry.session_token import SessionTokens

#: How often players report the playhead while the page is open (seconds).
HEARTBEAT_S = 5
_KEY_NAME = "playback-session-key"


@dataclass(frozen=True, slots=True)
class SessionStart:
    """What ``POST /play`` tells the player about its telemetry session."""

    id: str
    token: str
    beacons: str
    heartbeat_s: int


class PlaybackTelemetry:
    def __init__(
        self,
        sessions: PlaybackSessions,
        catalogue: Catalogue,
        tokens: SessionTokens,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.catalogue = catalogue
        self.tokens = tokens
        self.metrics = metrics
        # One writer per process at a time: a session's read-fold-write must not interleave
        # with a second batch of the same session (sendBeacon on page hide racing a flush).
        self._lock = threading.Lock()

    @classmethod
    def build(
        cls, db: Database, catalogue: Catalogue, secrets_store: SecretStore, metrics: Metrics
    ) -> PlaybackTelemetry:
        key = secrets_store.get_or_create(_KEY_NAME, lambda: secrets.token_bytes(32))
        return cls(PlaybackSessions(db), catalogue, SessionTokens(key), metrics)

    def start(self, subject: str, asset_id: str) -> SessionStart:
        claims, token = self.tokens.mint(subject, asset_id)
        return SessionStart(claims.session_id, token, "/api/beacons", HEARTBEAT_S)

    def ingest(
        self, token: str, events: Sequence[Beacon], *, user_agent: str, engine: str | None
    ) -> int:
        """Store a batch of beacon events; returns how many were new."""
        events = sorted({e.seq: e for e in events}.values(), key=lambda e: e.seq)
        try:
            claims = self.tokens.verify(token)
        except AuthError:
            self._count_rejected("token")
            raise
        duration = self._duration(claims.asset_id)

        def fold(stats: SessionStats) -> tuple[SessionStats, Observations]:
            if stats.duration is None and duration is not None:
                stats = replace(stats, duration=duration)
            return apply(stats, events)

        with self._lock:
            stats, observed, kept = self.sessions.record_batch(
                session_id=claims.session_id,
                asset_id=claims.asset_id,
                subject=claims.subject,
                user_agent=user_agent,
                engine=engine,
                duration=duration,
                events=events,
                fold=fold,
            )
        self._observe(events, stats, observed, kept)
        return kept

    def _duration(self, asset_id: str) -> float | None:
        try:
            return self.catalogue.get_asset(asset_id).duration
        except NotFound:
            return None

    def _count_rejected(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.beacon_rejected.labels(reason).inc()

    def _observe(
        self, events: Sequence[Beacon], stats: SessionStats, observed: Observations, kept: int
    ) -> None:
        m = self.metrics
        if m is None or kept == 0:
            return
        for e in events[len(events) - kept :]:
            # Unknown types (a newer player) are stored but not labelled: bounded cardinality.
            m.beacon_events.labels(e.type if e.type in EVENT_TYPES else "other").inc()
            if e.type == "start":
                m.qoe_sessions.inc()
        if observed.startup_s is not None:
            m.qoe_startup.observe(observed.startup_s)
        for stall in observed.stalls_s:
            m.qoe_stall.observe(stall)
        for fatal in observed.errors:
            m.qoe_errors.labels("true" if fatal else "false").inc()
        if observed.finished:
            m.qoe_rebuffer_ratio.observe(stats.rebuffer_ratio)
            if stats.average_bitrate is not None:
                m.qoe_bitrate.observe(stats.average_bitrate)
            if stats.percent_watched is not None:
                m.qoe_watched.observe(stats.percent_watched)

    # -- reports ----------------------------------------------------------------------------
    def analytics(self, asset_id: str, threshold: float = DEFAULT_THRESHOLD) -> AssetAnalytics:
        duration = self._duration(asset_id)
        return analytics(asset_id, self.sessions.for_asset(asset_id), duration, threshold)

    def completions(
        self, asset_id: str, threshold: float = DEFAULT_THRESHOLD
    ) -> list[ViewerCompletion]:
        duration = self._duration(asset_id)
        return completions(self.sessions.for_asset(asset_id), duration, threshold)
