"""VODSTACK_EMBED_ORIGINS becomes the embed page's CSP frame-ancestors: origins only."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vodstack.config import Settings
from vodstack.web.embed import embed_snippet, frame_ancestors


@pytest.mark.parametrize(
    "origin",
    ["https://learn.example.edu", "http://localhost:8080", "https://*.partner.example", "*"],
)
def test_origins_are_accepted(origin: str) -> None:
    settings = Settings(embed_origins=(origin,))
    assert frame_ancestors(settings.embed_origins) == f"'self' {origin}"


@pytest.mark.parametrize(
    "bad",
    ["learn.example.edu", "https://x.example/path", "https://a.example; script-src *", "'none'"],
)
def test_anything_else_is_refused_at_startup(bad: str) -> None:
    with pytest.raises(ValidationError, match="embed_origins"):
        Settings(embed_origins=(bad,))


def test_snippet_escapes_the_title() -> None:
    snippet = embed_snippet("https://vod.example.com", "abc", 'A "quoted" <title>')
    assert snippet.url == "https://vod.example.com/embed/abc"
    assert 'title="A &quot;quoted&quot; &lt;title&gt;"' in snippet.html
    assert 'allow="autoplay; fullscreen; encrypted-media' in snippet.html
