"""The client over a fake transport: paging follows X-Next-Cursor to the end, filters and
path ids are sent as given, and a refusal raises ApiError with the server's reason."""

from __future__ import annotations

import json

import httpx
import pytest

from vodstack.client import ApiError, Client

ROW = {"id": "a" * 20, "title": "t", "status": "ready", "error": None, "duration": 1.0}


def test_assets_iterator_follows_the_cursor_and_sends_filters() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        cursor = request.url.params.get("cursor")
        page = {None: ("c1", "a"), "c1": ("c2", "b"), "c2": (None, "c")}[cursor]
        headers = {"X-Next-Cursor": page[0]} if page[0] else {}
        return httpx.Response(200, json=[{**ROW, "id": page[1] * 20}], headers=headers)

    with Client("http://vod.test/", "vsk_x", transport=httpx.MockTransport(answer)) as api:
        ids = [a.id[0] for a in api.assets(status=["ready", "failed"], published=True, tag="x")]
    assert ids == ["a", "b", "c"]
    first = seen[0]
    assert first.headers["Authorization"] == "Bearer vsk_x"
    assert first.url.params.get_list("status") == ["ready", "failed"]
    assert first.url.params["published"] == "true" and "cursor" not in first.url.params


def test_refusals_raise_the_servers_reason() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.raw_path == b"/api/assets/x%2F..%2Fy/publish"  # ids stay one segment
        body = {"error": "this key lacks the scope 'publish'"}
        return httpx.Response(403, content=json.dumps(body))

    with Client("http://vod.test", "k", transport=httpx.MockTransport(answer)) as api:
        with pytest.raises(ApiError) as refused:
            api.publish("x/../y")
        with pytest.raises(ValueError, match="not an id"):
            api.asset("..")
    assert refused.value.status == 403
    assert refused.value.message == "this key lacks the scope 'publish'"


def test_unreachable_server_is_an_api_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api = Client("http://vod.test", "k", transport=httpx.MockTransport(answer))
    with api, pytest.raises(ApiError) as failed:
        api.asset("a" * 20)
    assert failed.value.status == 0 and "vod.test" in failed.value.message
