"""Every MPD the writer can produce validates against the official DASH schema (ISO/IEC
23009-1 DASH-MPD.xsd, tests/fixtures/dash_schema), from synthetic presentations; the same
check runs on MPDs served by a real origin in tests/e2e/test_conformance.py."""

from __future__ import annotations

from dataclasses import replace
from xml.etree import ElementTree as ET

import pytest
from tests.dash_schema import assert_valid_mpd, schema_errors
from tests.unit.packaging.test_media_manifests import rich
from tests.unit.packaging.test_writers import TAG, presentation

from vodstack.packaging import dash
from vodstack.packaging.dash import DashProtection
from vodstack.packaging.encryption import clearkey_pssh, make_pssh
from vodstack.packaging.encryption.pssh import WIDEVINE_SYSTEM_ID
from vodstack.packaging.layout import VariantTag

KID = bytes(range(16))
NS = {"d": dash.NS}


def _protection(scheme: str) -> DashProtection:
    widevine = make_pssh(WIDEVINE_SYSTEM_ID, b"\x12\x10" + KID)
    return DashProtection(scheme, KID, "https://example.test/v1/a/license",
                          (clearkey_pssh([KID]), widevine))  # fmt: skip


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("clear, one audio", lambda: dash.mpd(presentation(), TAG)),
        ("clear, video only", lambda: dash.mpd(presentation(with_audio=False), TAG)),
        ("languages, labels, 5.1, forced + SDH subtitles, AV1/HEVC", lambda: dash.mpd(rich(), TAG)),
        ("trick mode", lambda: dash.mpd(rich(), TAG, trick_mode=True)),
        ("cenc", lambda: dash.mpd(rich(), VariantTag(3, 4, "cenc", 1), _protection("cenc"))),
        ("cbcs", lambda: dash.mpd(rich(), VariantTag(3, 4, "cbcs", 1), _protection("cbcs"))),
    ],
)
def test_mpd_validates_against_the_official_schema(name: str, make) -> None:
    assert_valid_mpd(make())


def test_the_schema_check_can_fail() -> None:
    """Label after Role: what the writer used to produce."""
    root = ET.fromstring(dash.mpd(rich(), TAG))
    aset = root.find(".//d:AdaptationSet[@contentType='text']", NS)
    assert aset is not None
    label = aset.find("d:Label", NS)
    assert label is not None
    aset.remove(label)
    aset.insert(len(aset) - 1, label)
    errors = schema_errors(ET.tostring(root))
    assert errors and "Label" in errors[0]


def test_subtitles_have_segment_addressing_in_the_live_profile() -> None:
    """isoff-live: every Representation has a SegmentList/Template [23009-1 §8.4.2]; the
    WebVTT file is one segment spanning the Period."""
    p = replace(rich(), duration_s=12.0)
    root = ET.fromstring(dash.mpd(p, TAG))
    texts = root.findall(".//d:AdaptationSet[@contentType='text']/d:Representation", NS)
    assert len(texts) == 2
    for rep in texts:
        assert rep.find("d:BaseURL", NS) is None
        segment_list = rep.find("d:SegmentList", NS)
        assert segment_list is not None
        assert (segment_list.get("timescale"), segment_list.get("duration")) == ("1000", "12000")
        urls = [u.get("media") for u in segment_list.findall("d:SegmentURL", NS)]
        assert urls == [f"r3-4s/{rep.get('id')}.vtt"]
