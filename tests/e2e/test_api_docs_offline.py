"""``/docs`` and ``/redoc`` in Chromium with every request to another origin refused: both
render the whole API from the vendored Swagger UI and ReDoc bundles (issue 18: they were
blank without internet, loading from a CDN), and the page asks no other origin for anything."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.browser import Chromium, Page, missing_requirements
from tests.e2e.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    with Chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("docs") / "home")
    server.start()
    yield server
    server.stop()


def offline_page(browser: Chromium, server: LiveServer, name: str) -> Page:
    """A page whose requests to anything but this server fail (as with no internet)."""
    page = browser.page(name)
    own = re.escape(f"{server.base_url}/")
    page.route(f"^(?!{own})", fulfill={"status": 503, "contentType": "text/plain", "body": "no"})
    return page


def elsewhere(page: Page, server: LiveServer) -> tuple[list[str], list[str]]:
    """Requests for other origins: (sent to the network, stopped by the page's CSP)."""
    others = [
        r for r in page.requests() if not r["url"].startswith((f"{server.base_url}/", "blob:"))
    ]
    blocked = [r["url"] for r in others if r.get("failure") == "csp"]
    return [r["url"] for r in others if r.get("failure") != "csp"], blocked


def test_swagger_ui_renders_every_operation_offline(browser: Chromium, server: LiveServer) -> None:
    page = offline_page(browser, server, "swagger")
    assert page.goto(f"{server.base_url}/docs") == 200
    page.wait_for("document.querySelectorAll('.opblock').length > 40", 30)
    paths = set(
        page.eval(
            "[...document.querySelectorAll('.opblock-summary-path')]"
            ".map(e => e.getAttribute('data-path'))"
        )
    )
    assert {"/api/assets", "/api/assets/{asset_id}", "/api/api-keys", "/api/jobs"} <= paths
    # the bearer scheme is declared: Swagger UI offers to authorise, and locks operations
    assert page.eval("!!document.querySelector('.auth-wrapper .authorize')")
    assert page.eval("document.querySelectorAll('.opblock .authorization__btn').length > 40")
    assert elsewhere(page, server) == ([], [])
    problems = [line for line in page.console() if "error" in line.lower() or "refused" in line]
    assert problems == []
    page.close()


def test_redoc_renders_every_operation_offline(browser: Chromium, server: LiveServer) -> None:
    page = offline_page(browser, server, "redoc")
    assert page.goto(f"{server.base_url}/redoc") == 200
    page.wait_for("document.querySelectorAll('[data-section-id^=\"operation/\"]').length > 40", 30)
    text = page.eval("document.body.innerText")
    assert "/api/api-keys" in text and "bearer" in text.lower()
    # ReDoc's sidebar credits Redocly with a logo from its CDN: the CSP stops the browser
    # before any request leaves (the credit shows without the picture).
    sent, blocked = elsewhere(page, server)
    assert sent == [] and set(blocked) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
    assert [line for line in page.console() if "pageerror" in line] == []
    page.close()
