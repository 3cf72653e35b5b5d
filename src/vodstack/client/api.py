"""``Client``: the vodstack HTTP API as typed Python calls (httpx; no server code imported).

    from vodstack.client import Client
    with Client("https://vod.example.com", "vsk_…") as api:
        for asset in api.assets(status="ready"):
            print(asset.id, asset.playback.get("hls"))

Every call goes through one route table (``ROUTES``), which tests/unit/client checks
against the server's OpenAPI document; any 4xx/5xx raises ``ApiError`` with the server's
reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import httpx

from vodstack.client.models import (
    ApiKey,
    ApiKeyCreated,
    Asset,
    AssetCreated,
    Job,
    Licence,
    Restored,
    Subscription,
)

#: name -> (method, path template): every request the client makes.
ROUTES: Final[dict[str, tuple[str, str]]] = {
    "assets.list": ("GET", "/api/assets"),
    "assets.create": ("POST", "/api/assets"),
    "assets.get": ("GET", "/api/assets/{asset_id}"),
    "assets.patch": ("PATCH", "/api/assets/{asset_id}"),
    "assets.delete": ("DELETE", "/api/assets/{asset_id}"),
    "assets.publish": ("POST", "/api/assets/{asset_id}/publish"),
    "assets.unpublish": ("POST", "/api/assets/{asset_id}/unpublish"),
    "assets.retranscode": ("POST", "/api/assets/{asset_id}/retranscode"),
    "assets.restore": ("POST", "/api/assets/{asset_id}/restore"),
    "jobs.list": ("GET", "/api/jobs"),
    "jobs.get": ("GET", "/api/jobs/{job_id}"),
    "subscriptions.list": ("GET", "/api/subscriptions"),
    "subscriptions.create": ("POST", "/api/subscriptions"),
    "subscriptions.delete": ("DELETE", "/api/subscriptions/{subscription_id}"),
    "licences.list": ("GET", "/api/licences"),
    "licences.create": ("POST", "/api/licences"),
    "licences.delete": ("DELETE", "/api/licences/{licence_id}"),
    "api_keys.list": ("GET", "/api/api-keys"),
    "api_keys.create": ("POST", "/api/api-keys"),
    "api_keys.revoke": ("DELETE", "/api/api-keys/{key_id}"),
}

Params = Mapping[str, str | int | bool | Sequence[str] | None]


class ApiError(Exception):
    """The server said no (or could not be reached: ``status`` 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status
        self.message = message


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("error") or body.get("detail") or body)
    return str(body)


def _segment(value: object) -> str:
    """An id as one path segment: percent-encoded, never a dot segment (no traversal)."""
    text = str(value)
    if text in ("", ".", ".."):
        raise ValueError(f"not an id: {text!r}")
    return quote(text, safe="")


def _query(params: Params | None) -> list[tuple[str, str | int | float | bool | None]]:
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        elif isinstance(value, str | int):
            pairs.append((key, str(value)))
        else:
            pairs.extend((key, str(v)) for v in value)
    return pairs


class Client:
    """One server, one API key (a scoped ``vsk_…`` key or the admin token)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transport ------------------------------------------------------------------------

    def _call(self, route: str, *, params: Params | None = None, **kwargs: Any) -> httpx.Response:
        method, template = ROUTES[route]
        path_args = {k: kwargs.pop(k) for k in list(kwargs) if "{" + k + "}" in template}
        path = template.format(**{k: _segment(v) for k, v in path_args.items()})
        try:
            response = self._http.request(method, path, params=_query(params), **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"{self.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise ApiError(response.status_code, _reason(response))
        return response

    def _pages(
        self, route: str, params: Params | None, limit: int | None
    ) -> Iterator[dict[str, Any]]:
        query = dict(params or {})
        if limit is not None:
            query["limit"] = limit
        while True:
            response = self._call(route, params=query)
            yield from response.json()
            cursor = response.headers.get("X-Next-Cursor")
            if not cursor:
                return
            query["cursor"] = cursor

    def page(
        self, route: str, params: Params | None = None, *, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a list route (``assets.list``, ``jobs.list``, …) and the next cursor."""
        query = {**(params or {}), **({"limit": limit} if limit is not None else {})}
        response = self._call(route, params=query)
        return response.json(), response.headers.get("X-Next-Cursor") or None

    # -- assets ---------------------------------------------------------------------------

    def assets(self, *, page_size: int | None = None, **filters: Any) -> Iterator[Asset]:
        """Every asset matching the filters (``status``, ``published``, ``q``, ``tag``, …),
        following ``X-Next-Cursor`` page by page."""
        for row in self._pages("assets.list", filters, page_size):
            yield Asset.from_json(row)

    def asset(self, asset_id: str) -> Asset:
        return Asset.from_json(self._call("assets.get", asset_id=asset_id).json())

    def upload(
        self, file: Path, *, title: str | None = None, ladder: str | None = None
    ) -> AssetCreated:
        """A master file, as multipart (the server stores it, then transcodes)."""
        with open(file, "rb") as fh:
            response = self._call(
                "assets.create",
                files={"file": (file.name, fh, "application/octet-stream")},
                data={"title": title} if title else {},
                params={"ladder": ladder},
            )
        return AssetCreated.from_json(response.json())

    def ingest_url(
        self,
        url: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AssetCreated:
        """The server downloads ``url`` (SSRF-checked, size-capped) and transcodes it."""
        body: dict[str, Any] = {"url": url}
        if title:
            body["title"] = title
        if metadata:
            body["metadata"] = dict(metadata)
        return AssetCreated.from_json(self._call("assets.create", json=body).json())

    def publish(self, asset_id: str) -> Asset:
        return Asset.from_json(self._call("assets.publish", asset_id=asset_id).json())

    def unpublish(self, asset_id: str) -> Asset:
        return Asset.from_json(self._call("assets.unpublish", asset_id=asset_id).json())

    def delete(self, asset_id: str) -> None:
        """Packaged media and catalogue rows go; the master is kept (see ``restore``)."""
        self._call("assets.delete", asset_id=asset_id)

    def restore(self, asset_id: str) -> Restored:
        return Restored.from_json(self._call("assets.restore", asset_id=asset_id).json())

    def retranscode(self, asset_id: str, *, ladder: str | None = None) -> dict[str, str]:
        response = self._call("assets.retranscode", asset_id=asset_id, params={"ladder": ladder})
        return dict(response.json())

    def set_labels(
        self,
        asset_id: str,
        *,
        title: str | None = None,
        metadata: Mapping[str, str | None] | None = None,
        tags: Sequence[str] | None = None,
        classification: str | None = None,
        owner: str | None = None,
        cost_center: str | None = None,
    ) -> Asset:
        """PATCH: metadata is merged (``None`` removes a key); tags are replaced."""
        given = {
            "title": title,
            "metadata": dict(metadata) if metadata is not None else None,
            "tags": list(tags) if tags is not None else None,
            "classification": classification,
            "owner": owner,
            "cost_center": cost_center,
        }
        body = {k: v for k, v in given.items() if v is not None}
        return Asset.from_json(self._call("assets.patch", asset_id=asset_id, json=body).json())

    def wait(self, asset_id: str, *, timeout: float = 600, interval: float = 0.5) -> Asset:
        """Poll until the asset is ready or failed and its transcode job has ended."""
        deadline = time.monotonic() + timeout
        while True:
            asset = self.asset(asset_id)
            running = asset.job is not None and asset.job.get("state") in ("queued", "running")
            if asset.status in ("ready", "failed") and not running:
                return asset
            if time.monotonic() > deadline:
                raise ApiError(0, f"asset {asset_id} still {asset.status} after {timeout:.0f} s")
            time.sleep(interval)

    # -- jobs -----------------------------------------------------------------------------

    def jobs(self, *, page_size: int | None = None, **filters: Any) -> Iterator[Job]:
        for row in self._pages("jobs.list", filters, page_size):
            yield Job.from_json(row)

    def job(self, job_id: str) -> Job:
        return Job.from_json(self._call("jobs.get", job_id=job_id).json())

    # -- entitlement ----------------------------------------------------------------------

    def subscriptions(self, **filters: Any) -> Iterator[Subscription]:
        for row in self._pages("subscriptions.list", filters, None):
            yield Subscription.from_json(row)

    def create_subscription(
        self,
        subject: str,
        plan: str,
        *,
        trial: bool = False,
        starts_at: str | None = None,
        expires_at: str | None = None,
    ) -> Subscription:
        body = {"subject": subject, "plan": plan, "trial": trial}
        body |= {k: v for k, v in (("starts_at", starts_at), ("expires_at", expires_at)) if v}
        return Subscription.from_json(self._call("subscriptions.create", json=body).json())

    def delete_subscription(self, subscription_id: int) -> None:
        self._call("subscriptions.delete", subscription_id=subscription_id)

    def licences(self, **filters: Any) -> Iterator[Licence]:
        for row in self._pages("licences.list", filters, None):
            yield Licence.from_json(row)

    def create_licence(
        self,
        institution: str,
        *,
        asset_id: str | None = None,
        valid_from: str | None = None,
        valid_until: str | None = None,
    ) -> Licence:
        given = {"asset_id": asset_id, "valid_from": valid_from, "valid_until": valid_until}
        body = {"institution": institution, **{k: v for k, v in given.items() if v}}
        return Licence.from_json(self._call("licences.create", json=body).json())

    def delete_licence(self, licence_id: int) -> None:
        self._call("licences.delete", licence_id=licence_id)

    # -- API keys -------------------------------------------------------------------------

    def api_keys(self) -> list[ApiKey]:
        return [ApiKey.from_json(row) for row in self._call("api_keys.list").json()]

    def create_api_key(self, name: str, scopes: Sequence[str]) -> ApiKeyCreated:
        body = {"name": name, "scopes": list(scopes)}
        return ApiKeyCreated.from_json(self._call("api_keys.create", json=body).json())

    def revoke_api_key(self, key_id: str) -> None:
        self._call("api_keys.revoke", key_id=key_id)
