"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from vendored copies, not a CDN.

FastAPI's own pages load their JavaScript and CSS from cdn.jsdelivr.net (and ReDoc's fonts
from Google): on a server without internet, or a network that blocks CDNs, both pages were
blank. The bundles are vendored from npm like the player engines (scripts/vendor-player,
pinned in web/package.json) and served under ``/static/vendor/`` with their hash as version.
A Content-Security-Policy keeps the pages to this origin, so nothing is fetched elsewhere
(Swagger UI's online validator badge is switched off as well).
"""

from __future__ import annotations

import json
from functools import cache

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, swagger_ui_default_parameters
from fastapi.responses import HTMLResponse

from vodstack.errors import ConfigError
from vodstack.web.pages import VENDOR_MANIFEST

router = APIRouter(include_in_schema=False)

#: Inline scripts and styles are FastAPI's page templates; everything else from this origin.
CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@cache
def vendor_url(path: str) -> str:
    """Versioned URL of a vendored file (``?v=`` = its sha256 prefix: cached for good)."""
    try:
        files = json.loads(VENDOR_MANIFEST.read_text())["files"]
    except FileNotFoundError:
        raise ConfigError("vendored files are missing: run scripts/vendor-player") from None
    digests = {f["path"]: f["sha256"] for f in files}
    if path not in digests:
        raise ConfigError(f"{path} is not vendored: run scripts/vendor-player")
    return f"/static/vendor/{path}?v={digests[path][:12]}"


def _page(html: HTMLResponse) -> HTMLResponse:
    html.headers["Content-Security-Policy"] = CSP
    html.headers["Cache-Control"] = "no-cache"
    return html


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    return _page(
        get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} API",
            swagger_js_url=vendor_url("swagger-ui-dist/swagger-ui-bundle.js"),
            swagger_css_url=vendor_url("swagger-ui-dist/swagger-ui.css"),
            swagger_favicon_url=vendor_url("swagger-ui-dist/favicon-32x32.png"),
            oauth2_redirect_url=None,
            swagger_ui_parameters={
                **swagger_ui_default_parameters,
                "validatorUrl": None,  # its badge is an image from validator.swagger.io
                "persistAuthorization": False,  # a pasted key never lands in localStorage
            },
        )
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    app = request.app
    return _page(
        get_redoc_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} API",
            redoc_js_url=vendor_url("redoc/redoc.standalone.js"),
            redoc_favicon_url=vendor_url("swagger-ui-dist/favicon-32x32.png"),
            with_google_fonts=False,
        )
    )
