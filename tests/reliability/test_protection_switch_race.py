"""Issue 20 item 9: switching protection or re-keying never serves a manifest whose segments
are not answerable yet.

Viewers loop over manifest → media playlist (HLS) / MPD (DASH) → init and first segment
while the asset is switched to ``cbcs`` and re-keyed under them (through a slow key service,
as a remote one is). Every protected URL taken from
a manifest must answer 200 (old clear URLs stopping at the switch is by design). The reported
hole: first use of a scheme created keys concurrently (two generations), and a process cached
an older generation than one it had already put in a manifest, so the newer URLs got 404 until
that cache expired.
"""

from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer, Viewer
from tests.fixtures.cpix import CpixServer
from vodstack.catalogue.content_keys import ContentKeys
from vodstack.catalogue.models import Asset
from vodstack.catalogue.repository import new_id
from vodstack.compose.services import Services
from vodstack.errors import NotFound
from vodstack.origin.protect import ProtectedPackager
from vodstack.packaging.layout import VariantTag
from vodstack.protection.providers import LocalKeyProvider, ProvidedKey
from vodstack.protection.service import Protection
from vodstack.protection.vault import KeyVault

_LOOPS = 8


class SlowKeyService(CpixServer):
    """A key service that takes a while to answer, as a remote one does: first uses of a
    scheme by concurrent requests then overlap for certain."""

    def answer(self, root: ET.Element) -> bytes:
        time.sleep(0.3)
        return super().answer(root)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    keys = SlowKeyService()
    server = LiveServer(
        tmp_path / "home",
        {"VODSTACK_PLAYBACK_RATE_PER_S": "0", "VODSTACK_SPEKE_URL": keys.url},
    )
    server.start()
    yield server
    server.stop()
    keys.close()


def _hls_urls(viewer: Viewer, asset_id: str) -> tuple[str, list[str]]:
    master = viewer.get(f"/v1/{asset_id}/index.m3u8")
    master.raise_for_status()
    variant = next(ln for ln in master.text.splitlines() if ln and not ln.startswith("#"))
    tag = variant.split("/", 1)[0]
    playlist = viewer.get(f"/v1/{asset_id}/{variant}")
    urls = [f"/v1/{asset_id}/{variant}"]
    if playlist.status_code != 200:
        return tag, urls
    base = variant.rsplit("/", 1)[0]
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist.text)
    first = next(ln for ln in playlist.text.splitlines() if ln and not ln.startswith("#"))
    return tag, [*urls, f"/v1/{asset_id}/{base}/{init.group(1)}", f"/v1/{asset_id}/{base}/{first}"]


def _dash_urls(viewer: Viewer, asset_id: str) -> tuple[str, list[str]]:
    mpd = viewer.get(f"/v1/{asset_id}/index.mpd")
    mpd.raise_for_status()
    init = re.search(r'initialization="([^"]+)"', mpd.text).group(1)
    media = re.search(r'media="([^"]+)"', mpd.text).group(1)
    rep = re.search(r'<Representation id="([^"]+)"', mpd.text).group(1)
    tag = init.split("/", 1)[0]
    paths = [init, media.replace("$Number$", "1")]
    return tag, [f"/v1/{asset_id}/{p.replace('$RepresentationID$', rep)}" for p in paths]


@pytest.mark.slow
def test_segments_of_a_new_manifest_always_answer(server: LiveServer, tmp_path: Path) -> None:
    source = make_clip_file(tmp_path / "m.mp4", seconds=4, size="320x180")
    asset_id = server.upload(source).json()["id"]
    assert server.wait(asset_id)["status"] == "ready"
    viewers = [server.viewer(asset_id, f"race{n}") for n in range(_LOOPS)]
    stop = threading.Event()
    holes: list[tuple[str, str, int]] = []
    checked = {"protected": 0}

    errors: list[BaseException] = []

    def loop(viewer: Viewer, n: int) -> None:
        try:
            walk(viewer, n)
        except BaseException as exc:  # reported by the test, not lost in a thread
            errors.append(exc)

    def walk(viewer: Viewer, n: int) -> None:
        while not stop.is_set():
            tag, urls = (_hls_urls if n % 2 else _dash_urls)(viewer, asset_id)
            if "cbcs" not in tag:
                continue  # a clear manifest: its URLs end at the switch, by design
            for url in urls:
                status = viewer.get(url).status_code
                checked["protected"] += 1
                if status != 200:
                    holes.append((tag, url, status))

    threads = [threading.Thread(target=loop, args=(v, n)) for n, v in enumerate(viewers)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        r = server.client.put(
            f"/api/assets/{asset_id}/protection",
            headers=server.admin,
            json={"schemes": ["cbcs"]},
        )
        r.raise_for_status()
        time.sleep(3)
        for _ in range(2):  # re-keying under the viewers: the previous generation still plays
            server.client.post(f"/api/assets/{asset_id}/rekey", headers=server.admin)
            time.sleep(3)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors, errors
    assert checked["protected"] > 50, checked
    assert not holes, holes[:10]


# -- the two causes, deterministically: real catalogue, real keys, real threads -------------
class SlowLocalKeys(LocalKeyProvider):
    """Local keys that take a moment to arrive (as from a remote key service)."""

    def provide(self, content_id: str, scheme: str) -> ProvidedKey:
        time.sleep(0.2)
        return super().provide(content_id, scheme)


def _asset(services: Services, drm: str) -> Asset:
    asset_id = new_id()
    services.catalogue.create_asset(
        asset_id, title="t", source_key=f"masters/{asset_id}/s.mp4", source_name="s", source_size=1
    )
    services.catalogue.update_asset(asset_id, drm=drm)
    return services.catalogue.get_asset(asset_id)


def _protection(services: Services, provider: LocalKeyProvider, clock=time.monotonic) -> Protection:
    vault = KeyVault.from_secrets(services.secrets)
    return Protection(ContentKeys(services.db), vault, provider, clock)


def test_concurrent_first_uses_of_a_scheme_make_one_key(services: Services) -> None:
    asset = _asset(services, "cbcs")
    protection = _protection(services, SlowLocalKeys())
    start = threading.Barrier(6)
    seen: list[tuple[int, bytes]] = []

    def first_use() -> None:
        start.wait()
        key = protection.current(asset.id, "cbcs")
        seen.append((key.generation, key.content_key.kid))

    threads = [threading.Thread(target=first_use) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1, seen  # every manifest names the same generation and KID
    assert len(ContentKeys(services.db).for_asset(asset.id)) == 1


def test_a_newer_generation_from_another_process_is_answered_at_once(
    services: Services,
) -> None:
    """Process A remembers generation 1; process B re-keys and its manifests name
    generation 2: A must answer generation 2 URLs now, not when its memo expires."""
    asset = _asset(services, "cbcs")
    frozen = [1000.0]
    a = _protection(services, LocalKeyProvider(), clock=lambda: frozen[0])
    b = _protection(services, LocalKeyProvider())
    packager_a = ProtectedPackager(a, "http://x/v1/{asset}/license")
    assert a.current(asset.id, "cbcs").generation == 1
    assert b.rekey(asset.id, ["cbcs"]) == [2]
    new_tag = VariantTag(1, 4, "cbcs", b.current(asset.id, "cbcs").generation)
    packager_a.check(asset, new_tag)  # was NotFound: "this key generation is no longer served"
    assert a.current(asset.id, "cbcs").generation == 2
    # and a forged generation that does not exist is still refused
    with pytest.raises(NotFound):
        packager_a.check(asset, VariantTag(1, 4, "cbcs", 9))
