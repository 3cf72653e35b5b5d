"""Every HLS output vodstack serves, in every protection mode, against the RFC 8216 rules of
tests/conformance/hls_rules.py: fetched through the real gate with signed cookies like a
player (issue 14, "RFC 8216 rule checker").

Modes: clear (several audio languages, 5.1, embedded + sidecar subtitles, I-frame
playlists), AES-128 (whole-segment, encrypted init) and SAMPLE-AES (cbcs).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conformance import hls_rules as rules
from tests.conformance.fetch import fetch_presentation
from tests.conftest import make_clip_file
from tests.e2e.conftest import LiveServer
from tests.fixtures import media_sources

pytestmark = pytest.mark.slow

MODES = ("clear", "aes-128", "cbcs")

Presentation = tuple[rules.Multivariant, dict[str, rules.MediaPlaylist]]

RULES: dict[str, Callable[[Presentation], list[str]]] = {
    "bandwidth": lambda p: rules.bandwidth_rule(*p, groups=("AUDIO", "VIDEO")),
    "bandwidth-with-subtitles": lambda p: rules.bandwidth_rule(*p),
    "average-bandwidth": lambda p: rules.average_bandwidth_rule(*p),
    "target-duration": lambda p: [
        v for pl in p[1].values() for v in rules.target_duration_rule(pl)
    ],
    "version": lambda p: (
        rules.version_rule("multivariant", p[0].text)
        + [v for pl in p[1].values() for v in rules.version_rule(pl.uri, pl.text)]
    ),
    "stream-inf-attributes": lambda p: rules.stream_inf_rule(p[0]),
    "aligned-segments": lambda p: rules.alignment_rule(p[1].values()),
    "key-frames": lambda p: [v for pl in p[1].values() for v in rules.keyframe_rule(pl)],
}


def _cases() -> list:
    cases = []
    for mode in MODES:
        for rule in RULES:
            cases.append(pytest.param(mode, rule, id=f"{mode}-{rule}"))
    return cases


@pytest.fixture(scope="module")
def presentations(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("hls-rules")
    server = LiveServer(home / "home", {"VODSTACK_MINT_RATE_PER_MIN": "600"})
    server.start()
    try:
        sources = {
            "clear": media_sources.multi_language(home / "multi.mkv"),
            "aes-128": make_clip_file(home / "aes.mp4", seconds=6, size="640x360"),
            "cbcs": make_clip_file(home / "cbcs.mp4", seconds=6, size="640x352"),
        }
        ids = {mode: server.upload(path, title=mode).json()["id"] for mode, path in sources.items()}
        for asset_id in ids.values():
            assert server.wait(asset_id)["status"] == "ready"
        caption = server.client.post(
            f"/api/assets/{ids['clear']}/captions",
            params={"language": "en", "label": "English", "default": "true"},
            files={"file": ("english.srt", media_sources.SIDECAR_SRT.encode(), "text/plain")},
            headers=server.admin,
        )
        assert caption.status_code == 201, caption.text
        for mode in ("aes-128", "cbcs"):
            r = server.client.put(
                f"/api/assets/{ids[mode]}/protection",
                headers=server.admin,
                json={"schemes": [mode]},
            )
            r.raise_for_status()
        fetched: dict[str, Presentation] = {}
        for mode, asset_id in ids.items():
            viewer = server.viewer(asset_id, f"rules-{mode}")
            fetched[mode] = fetch_presentation(viewer.client, viewer.play["hls"])
        yield fetched
    finally:
        server.stop()


def test_every_mode_and_media_feature_is_covered(presentations: dict[str, Presentation]) -> None:
    """The fixture really exercises what the rules claim to cover."""
    clear_master, clear_lists = presentations["clear"]
    types = [r.attrs["TYPE"] for r in clear_master.renditions]
    assert types.count("AUDIO") >= 2 and types.count("SUBTITLES") >= 2, types
    assert any(v.iframe for v in clear_master.variants)
    assert any(pl.iframes_only for pl in clear_lists.values())
    methods = {
        mode: {s.key.method for pl in lists.values() for s in pl.segments if s.key}
        for mode, (_, lists) in presentations.items()
    }
    assert methods == {"clear": set(), "aes-128": {"AES-128"}, "cbcs": {"SAMPLE-AES"}}


@pytest.mark.parametrize(("mode", "rule"), _cases())
def test_hls_output_follows_rfc8216(
    presentations: dict[str, Presentation], mode: str, rule: str
) -> None:
    violations = RULES[rule](presentations[mode])
    assert violations == [], "\n".join(violations)
