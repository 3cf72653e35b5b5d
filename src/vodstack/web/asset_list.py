"""``GET /api/assets``: one page of the asset list, the next page in ``Link`` (RFC 8288).

The body stays a JSON array (the contract); the next page's URL is in
``Link: <…>; rel="next"`` and its cursor alone in ``X-Next-Cursor``. No header: last page.
The link is relative (the request's own origin), so it never carries a forged Host.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request, Response

from vodstack.catalogue.asset_pages import AssetQuery, Sort, asset_page


def parse_statuses(status: list[str] | None) -> tuple[str, ...]:
    """``status=ready&status=failed`` or ``status=ready,failed``."""
    return tuple(s.strip() for value in status or () for s in value.split(",") if s.strip())


def next_link(request: Request, cursor: str) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    return f'<{request.url.path}?{urlencode([*params, ("cursor", cursor)])}>; rel="next"'


def list_page(
    request: Request,
    response: Response,
    *,
    limit: int,
    cursor: str | None,
    q: str | None,
    status: list[str] | None,
    sort: Sort,
) -> list[object]:
    from vodstack.web.api import asset_out  # the one shape of an asset in the API

    services = request.app.state.services
    query = AssetQuery(limit=limit, cursor=cursor, q=q, statuses=parse_statuses(status), sort=sort)
    page = asset_page(services.db, query)
    if page.next_cursor is not None:
        response.headers["Link"] = next_link(request, page.next_cursor)
        response.headers["X-Next-Cursor"] = page.next_cursor
    return [asset_out(request, a, detail=False) for a in page.assets]
