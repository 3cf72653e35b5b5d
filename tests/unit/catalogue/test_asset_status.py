"""Asset status has one owner (issue #17): typed transitions in the catalogue, checked against
the moves ``catalogue.status`` allows, on both backends."""

from __future__ import annotations

import pytest

from vodstack.catalogue.repository import new_id
from vodstack.catalogue.status import ALLOWED_FROM, AssetStatus, may_move
from vodstack.compose.services import Services
from vodstack.errors import Conflict, NotFound

S = AssetStatus


def _asset(services: Services) -> str:
    asset_id = new_id()
    services.catalogue.create_asset(
        asset_id, title="t", source_key=f"masters/{asset_id}/s.mp4", source_name="s", source_size=1
    )
    return asset_id


def _status(services: Services, asset_id: str) -> tuple[str, str | None]:
    asset = services.catalogue.get_asset(asset_id)
    return asset.status, asset.error


def test_the_moves_keep_the_contract() -> None:
    # only a new asset is uploaded, or a URL ingest whose master arrived
    assert [s for s in S if may_move(s, S.UPLOADED)] == [S.FETCHING]
    assert not any(may_move(s, S.FETCHING) for s in S if s not in (S.FETCHING, S.FAILED))
    assert not may_move(S.READY, S.QUEUED) and not may_move(S.READY, S.TRANSCODING)
    assert all(may_move(s, S.READY) and may_move(s, S.FAILED) for s in S)
    assert set(ALLOWED_FROM) == set(S)


def test_a_transcode_moves_the_asset_through_its_states(services: Services) -> None:
    catalogue = services.catalogue
    asset_id = _asset(services)
    assert _status(services, asset_id) == ("uploaded", None)
    catalogue.enqueue_job(asset_id, max_attempts=1)
    assert _status(services, asset_id) == ("queued", None)
    catalogue.mark_transcoding(asset_id)
    catalogue.mark_transcoding(asset_id)  # a retry of the job
    assert _status(services, asset_id) == ("transcoding", None)
    catalogue.commit_revision(asset_id, 1, [], 2.0)
    assert _status(services, asset_id) == ("ready", None)
    with pytest.raises(Conflict, match="is ready: it cannot become transcoding"):
        catalogue.mark_transcoding(asset_id)
    assert _status(services, asset_id) == ("ready", None)


def test_a_served_asset_stays_ready_while_it_is_transcoded_again(services: Services) -> None:
    catalogue = services.catalogue
    asset_id = _asset(services)
    catalogue.commit_revision(asset_id, 1, [], 2.0)
    catalogue.enqueue_job(asset_id, max_attempts=1)  # a re-transcode
    assert _status(services, asset_id) == ("ready", None)
    catalogue.note_failed_retranscode(asset_id, "FFmpeg failed (exit 1): boom")
    assert _status(services, asset_id) == (
        "ready",
        "re-transcode failed: FFmpeg failed (exit 1): boom",
    )


def test_failing_a_revision_only_while_it_is_served(services: Services) -> None:
    catalogue = services.catalogue
    asset_id = _asset(services)
    catalogue.commit_revision(asset_id, 2, [], 2.0)
    assert not catalogue.mark_failed(asset_id, "window 3 of v144: gone", revision=1)
    assert _status(services, asset_id) == ("ready", None)  # revision 1 is no longer served
    assert catalogue.mark_failed(asset_id, "window 3 of v144: gone", revision=2)
    assert _status(services, asset_id) == ("failed", "window 3 of v144: gone")
    catalogue.enqueue_job(asset_id, max_attempts=1)  # a failed asset serves nothing: queued
    assert _status(services, asset_id) == ("queued", None)


def test_status_has_no_other_writer(services: Services) -> None:
    asset_id = _asset(services)
    with pytest.raises(ValueError, match="transitions"):
        services.catalogue.update_asset(asset_id, status="ready")
    with pytest.raises(ValueError, match="transitions"):
        services.catalogue.update_asset(asset_id, error="x")
    services.catalogue.update_asset(asset_id, title="still fine")
    with pytest.raises(NotFound):
        services.catalogue.mark_failed("nosuchasset", "x")
    with pytest.raises(NotFound):
        services.catalogue.mark_transcoding("nosuchasset")


def test_no_module_sets_the_status_by_hand() -> None:
    """Only ``catalogue/status.py`` assigns ``assets.status`` (grep-level pin)."""
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[3] / "src" / "vodstack"
    pattern = re.compile(
        r"asset\.status\s*=[^=]|update\(Asset\).*status=|status=\"(queued|ready|failed|transcoding)\""
    )
    found = [
        f"{path.relative_to(src)}:{n}"
        for path in src.rglob("*.py")
        # the HTTP client only filters by status (``assets(status="ready")``)
        if "static" not in path.parts and "client" not in path.parts and path.name != "status.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
