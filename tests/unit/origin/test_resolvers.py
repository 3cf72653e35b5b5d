"""The origin's seams (issue #17): a resolver for every kind of delivery path, the prepare
side reached only through the ``WindowSource`` and ``FrameSource`` protocols, and those
protocols met by the real implementations without either side importing the other."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from tests.conftest import make_clip_file, make_settings

from vodstack.cli.common import wait_for_asset
from vodstack.compose.services import build_services
from vodstack.errors import NotFound, Unavailable
from vodstack.origin import sources
from vodstack.origin.origin import Origin
from vodstack.packaging.layout import parse_delivery_path
from vodstack.packaging.model import Presentation
from vodstack.storage.slices import BytesResource, FileSlice
from vodstack.thumbnails.cutter import FrameCutter
from vodstack.transcode.progressive import WindowScheduler

SRC = Path(__file__).resolve().parents[3] / "src" / "vodstack"
EVERY_KIND = (
    "index.m3u8",
    "index.mpd",
    "license",
    "poster.jpg",
    "thumbnail.jpg?time=1&width=320",
    "storyboard.vtt",
    "download.mp4",
    "r1-4s/v0.m3u8",
    "r1-4s/t0.vtt",
    "r1-4s/v0/init.mp4",
    "r1-4s/v0/1.m4s",
    "r1-4s/t0/1.vtt",
    "r1-4s/v0/iframes.m3u8",
    "r1-4s/v0/k1.m4s",
    "r1-4s/sb/1.jpg",
    "r1-4s-aes1/key",
)


def _imports(package: str) -> set[str]:
    names: set[str] = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
    return names


def test_every_kind_of_delivery_path_has_a_resolver(tmp_path: Path) -> None:
    kinds = {parse_delivery_path(p).kind for p in EVERY_KIND}  # type: ignore[union-attr]
    assert len(kinds) == 16  # every kind DeliveryPath names
    services = build_services(make_settings(tmp_path / "home"))
    try:
        origin = Origin(
            services.settings, services.catalogue, services.store, windows=None, frames=_Frames()
        )
        assert set(origin._resolvers) == kinds
    finally:
        services.close()


def test_the_origin_reaches_the_prepare_side_only_through_its_protocols() -> None:
    used = _imports("origin")
    assert not {m for m in used if m.startswith("vodstack.transcode")}
    assert not used & {"vodstack.thumbnails.frames", "vodstack.thumbnails.guard"}
    # and the implementations meet the protocols by shape, without importing the origin
    assert not {m for m in _imports("thumbnails") | _imports("transcode") if "origin" in m}


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    [(sources.FrameSource, FrameCutter), (sources.WindowSource, WindowScheduler)],
)
def test_the_real_sources_have_the_protocols_methods(protocol: type, implementation: type) -> None:
    for name, member in vars(protocol).items():
        if callable(member) and not name.startswith("_"):
            wanted = list(inspect.signature(member).parameters)
            assert list(inspect.signature(getattr(implementation, name)).parameters) == wanted


class _Frames:
    """A FrameSource that cuts nothing: records what the origin asked for."""

    def __init__(self, answer: Exception | None = None) -> None:
        self.asked: list[tuple[str, float, int]] = []
        self.answer = answer

    def frame_jpeg(self, p: Presentation, time_s: float, width: int) -> bytes:
        self.asked.append((p.asset_id, time_s, width))
        if self.answer is not None:
            raise self.answer
        return b"\xff\xd8 a frame \xff\xd9"


@pytest.mark.slow
def test_pictures_are_cut_by_the_frame_source_it_was_given(tmp_path: Path) -> None:
    services = build_services(make_settings(tmp_path / "home", transcode_mode="single"))
    try:
        clip = make_clip_file(tmp_path / "clip.mp4", seconds=2, size="320x180")
        asset_id = services.ingestor.ingest_file(clip, "t")
        assert wait_for_asset(services, asset_id, quiet=True) == "ready"
        frames = _Frames()
        origin = Origin(
            services.settings, services.catalogue, services.store, windows=None, frames=frames
        )
        thumb = origin.resolve(asset_id, "thumbnail.jpg?time=1&width=480")
        assert isinstance(thumb, BytesResource) and thumb.body.startswith(b"\xff\xd8")
        assert thumb.content_type == "image/jpeg"
        assert frames.asked == [(asset_id, 1.0, 480)]
        # segments need neither source; a windowless origin still serves complete titles
        init = origin.resolve(asset_id, "r1-4s/v144/init.mp4")
        assert isinstance(init, FileSlice) and init.length > 0
        # what the source refuses is what the origin answers (503 + Retry-After, 404)
        for refusal in (Unavailable("busy", 1), NotFound("no frame")):
            busy = Origin(
                services.settings,
                services.catalogue,
                services.store,
                windows=None,
                frames=_Frames(refusal),
            )
            with pytest.raises(type(refusal)):
                busy.resolve(asset_id, "thumbnail.jpg?time=1&width=480")
    finally:
        services.close()
