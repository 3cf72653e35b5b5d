"""HTTP side of the paged listings (catalogue.listing): the query string in, a JSON array
out, the next page in ``Link: <…>; rel="next"`` (RFC 8288) and ``X-Next-Cursor``.

The body stays a bare array so clients written before paging keep working; a client that
pages follows the Link header (or passes ``X-Next-Cursor`` as ``cursor``) until it is absent.
Parameters are parsed from the raw query string, not by FastAPI, so an unknown filter, a
limit out of range or a bad cursor is a 400 naming the problem (FastAPI would ignore an
unknown parameter and answer 422 for the others); the OpenAPI document still describes each
one (:func:`listing_openapi`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response

from vodstack.catalogue.labels import KEY_PATTERN
from vodstack.catalogue.listing import MAX_Q, Filter, Listing, ListQuery
from vodstack.catalogue.paging import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT, Page
from vodstack.web.state import services_of

T = TypeVar("T")
NEXT_CURSOR_HEADER = "X-Next-Cursor"


def parse_query(request: Request, listing: Listing) -> ListQuery:
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    return listing.parse(params)


def next_link(request: Request, cursor: str) -> str:
    """The same query with ``cursor`` replaced, on the configured public base URL (never
    the request's Host header: a forged Host must not reach a URL the API hands out)."""
    base = services_of(request).settings.base_url()
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    query.append(("cursor", cursor))
    return f"{base}{request.url.path}?{urlencode(query)}"


def respond(
    request: Request,
    response: Response,
    listing: Listing,
    render: Callable[[list[Any]], list[T]],
) -> list[T]:
    """One page of ``listing`` for this request, rendered; paging headers set."""
    services = services_of(request)
    page: Page[Any] = listing.page(services.db, parse_query(request, listing))
    if page.next_cursor is not None:
        response.headers["Link"] = f'<{next_link(request, page.next_cursor)}>; rel="next"'
        response.headers[NEXT_CURSOR_HEADER] = page.next_cursor
    return render(page.items)


# -- OpenAPI ----------------------------------------------------------------------------------
def _filter_schema(f: Filter) -> dict[str, Any]:
    if f.kind == "bool":
        one: dict[str, Any] = {"type": "boolean"}
    elif f.kind == "enum":
        one = {"type": "string", "enum": list(f.choices)}
    elif f.kind == "datetime":
        one = {"type": "string", "examples": ["2025-01-31", "2025-01-31T12:00:00Z"]}
    elif f.kind == "asset_id":
        one = {"type": "string", "pattern": "^[a-z0-9]{20}$"}
    else:
        one = {"type": "string", "minLength": 1, "maxLength": f.max_length}
    return {"type": "array", "items": one, "maxItems": 50} if f.repeat else one


def _param(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, **extra} | {
        "description": description
    }


def listing_openapi(listing: Listing, what: str) -> dict[str, Any]:
    """``openapi_extra`` and ``responses`` for a listing route: its parameters, the paging
    headers, the 400."""
    params: list[dict[str, Any]] = [
        _param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            f"At most this many {what} (1-{MAX_LIMIT}).",
        ),
        _param(
            "cursor",
            {"type": "string", "maxLength": MAX_CURSOR_CHARS},
            "The previous page's `X-Next-Cursor` (the `Link: rel=next` URL carries it). "
            "Only valid with the same sort and filters.",
        ),
        _param(
            "sort",
            {"type": "string", "enum": list(listing.sort_names), "default": listing.default_sort},
            "Order; `-` for descending. Ties are broken by id, so pages never overlap.",
        ),
    ]
    if listing.search is not None:
        params.append(
            _param(
                "q",
                {"type": "string", "minLength": 1, "maxLength": MAX_Q},
                "Search: the title contains this text (any case), or it is the asset id; "
                "metadata by metadata[KEY]=VALUE.",
            )
        )
    for f in listing.filters:
        extra = {"style": "form", "explode": True} if f.repeat else {}
        params.append(_param(f.name, _filter_schema(f), f.help, **extra))
    if listing.metadata_filter:
        params.append(
            _param(
                "metadata",
                {
                    "type": "object",
                    "propertyNames": {"pattern": f"^{KEY_PATTERN.pattern}$"},
                    "additionalProperties": {"type": "string", "maxLength": 512},
                },
                "`metadata[KEY]=VALUE`: metadata KEY equals VALUE (several: all of them).",
                style="deepObject",
                explode=True,
            )
        )
    headers = {
        "Link": {
            "description": 'RFC 8288 `<URL of the next page>; rel="next"`; absent on the '
            "last page.",
            "schema": {"type": "string"},
        },
        NEXT_CURSOR_HEADER: {
            "description": "The `cursor` of the next page; absent on the last page.",
            "schema": {"type": "string"},
        },
    }
    return {
        "openapi_extra": {"parameters": params},
        "responses": {
            200: {"headers": headers},
            400: {"description": "Unknown parameter, limit out of range, invalid cursor"},
        },
    }
