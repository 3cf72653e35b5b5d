"""``Client``: the vodstack HTTP API as typed Python calls (httpx; no server code imported).

    from vodstack.client import Client
    with Client("https://vod.example.com", "vsk_…") as api:
        for asset in api.assets(status="ready"):
            print(asset.id, asset.playback.get("hls"))

Every call goes through one route table (``ROUTES``), which tests/unit/client checks
against the server's OpenAPI document; any 4xx/5xx raises ``ApiError`` with the server's
reason.

Why one module: it is the route table and one short typed method per route, grouped by
resource; splitting it would scatter the table the OpenAPI check reads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import httpx

from vodstack.client.models import (
    Access,
    ApiKey,
    ApiKeyCreated,
    Asset,
    AssetCreated,
    Event,
    Job,
    Licence,
    Operation,
    Purged,
    Resent,
    Restored,
    Retained,
    SigningKey,
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
    "assets.playback": ("PUT", "/api/assets/{asset_id}/playback"),
    "assets.protection": ("PUT", "/api/assets/{asset_id}/protection"),
    "assets.rekey": ("POST", "/api/assets/{asset_id}/rekey"),
    "assets.access.get": ("GET", "/api/assets/{asset_id}/access"),
    "assets.access.set": ("PUT", "/api/assets/{asset_id}/access"),
    "masters.get": ("GET", "/api/assets/{asset_id}/master"),
    "masters.purge": ("DELETE", "/api/assets/{asset_id}/master"),
    "jobs.list": ("GET", "/api/jobs"),
    "jobs.get": ("GET", "/api/jobs/{job_id}"),
    "jobs.redrive": ("POST", "/api/jobs/{job_id}/redrive"),
    "jobs.resend": ("POST", "/api/jobs/resend"),
    "events.list": ("GET", "/api/events"),
    "operations.list": ("GET", "/api/operations"),
    "operations.create": ("POST", "/api/operations"),
    "operations.get": ("GET", "/api/operations/{op_id}"),
    "operations.cancel": ("POST", "/api/operations/{op_id}/cancel"),
    "operations.resume": ("POST", "/api/operations/{op_id}/resume"),
    "subscriptions.list": ("GET", "/api/subscriptions"),
    "subscriptions.create": ("POST", "/api/subscriptions"),
    "subscriptions.cancel": ("POST", "/api/subscriptions/{subscription_id}/cancel"),
    "subscriptions.delete": ("DELETE", "/api/subscriptions/{subscription_id}"),
    "licences.list": ("GET", "/api/licences"),
    "licences.create": ("POST", "/api/licences"),
    "licences.delete": ("DELETE", "/api/licences/{licence_id}"),
    "api_keys.list": ("GET", "/api/api-keys"),
    "api_keys.create": ("POST", "/api/api-keys"),
    "api_keys.get": ("GET", "/api/api-keys/{key_id}"),
    "api_keys.revoke": ("DELETE", "/api/api-keys/{key_id}"),
    "keys.list": ("GET", "/api/keys"),
    "keys.add": ("POST", "/api/keys"),
    "keys.rotate": ("POST", "/api/keys/rotate"),
    "keys.retire": ("POST", "/api/keys/{key_id}/retire"),
    "keys.generate": ("POST", "/api/keys/generate"),
    "keys.activate": ("POST", "/api/keys/{key_id}/activate"),
    "keys.copy": ("POST", "/api/keys/{key_id}/copy"),
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

    def set_playback(self, asset_id: str, policy: str) -> Asset:
        """``signed`` (a grant is needed) or ``public`` (anyone may play)."""
        body = {"policy": policy}
        return Asset.from_json(self._call("assets.playback", asset_id=asset_id, json=body).json())

    def set_protection(self, asset_id: str, schemes: Sequence[str]) -> Asset:
        """Serve clear or with any of aes-128, cbcs, cenc (no re-transcode)."""
        body = {"schemes": list(schemes)}
        response = self._call("assets.protection", asset_id=asset_id, json=body)
        return Asset.from_json(response.json())

    def rekey(self, asset_id: str) -> list[int]:
        """New content keys for every protected scheme; the new key generations."""
        return list(self._call("assets.rekey", asset_id=asset_id).json()["generations"])

    def access(self, asset_id: str) -> Access:
        return Access.from_json(self._call("assets.access.get", asset_id=asset_id).json())

    def set_access(self, asset_id: str, rules: Access) -> Access:
        """Replace the rules (a ``None`` field: no restriction of that kind)."""
        response = self._call("assets.access.set", asset_id=asset_id, json=rules.to_dict())
        return Access.from_json(response.json())

    def retained_master(self, asset_id: str) -> Retained:
        """The master a deleted asset left (409 while the asset exists)."""
        return Retained.from_json(self._call("masters.get", asset_id=asset_id).json())

    def purge_master(self, asset_id: str) -> Purged:
        """Delete a retained master for good (admin scope; audited)."""
        return Purged.from_json(self._call("masters.purge", asset_id=asset_id).json())

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

    def redrive(self, job_id: str) -> Job:
        """A dead job back in its queue with fresh attempts (409 if it is not dead)."""
        return Job.from_json(self._call("jobs.redrive", job_id=job_id).json())

    def resend_queued(self) -> list[str]:
        """Dispatch every queued job again (admin scope); the ids sent."""
        return Resent.from_json(self._call("jobs.resend").json()).resent

    def events(self, *, page_size: int | None = None, **filters: Any) -> Iterator[Event]:
        for row in self._pages("events.list", filters, page_size):
            yield Event.from_json(row)

    # -- operations -----------------------------------------------------------------------

    def operations(self, *, state: str | None = None, limit: int = 100) -> list[Operation]:
        response = self._call("operations.list", params={"state": state, "limit": limit})
        return [Operation.from_json(row) for row in response.json()]

    def start_operation(self, kind: str, **params: Any) -> Operation:
        """``retranscode``, ``protect``, ``rekey``, ``publish`` or ``unpublish``, with its
        parameters (``ladder``, ``schemes``, ``status``, ``tag``, ``max_per_s``)."""
        body = {"kind": kind, **{k: v for k, v in params.items() if v is not None}}
        return Operation.from_json(self._call("operations.create", json=body).json())

    def operation(self, op_id: str) -> Operation:
        return Operation.from_json(self._call("operations.get", op_id=op_id).json())

    def cancel_operation(self, op_id: str) -> Operation:
        return Operation.from_json(self._call("operations.cancel", op_id=op_id).json())

    def resume_operation(self, op_id: str) -> Operation:
        return Operation.from_json(self._call("operations.resume", op_id=op_id).json())

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

    def cancel_subscription(self, subscription_id: int) -> Subscription:
        """Cancelled, not deleted (the row stays, as ``vodstack entitle --revoke`` leaves it)."""
        response = self._call("subscriptions.cancel", subscription_id=subscription_id)
        return Subscription.from_json(response.json())

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

    def api_keys(self, *, include_revoked: bool = False) -> list[ApiKey]:
        response = self._call("api_keys.list", params={"revoked": include_revoked})
        return [ApiKey.from_json(row) for row in response.json()]

    def api_key(self, key_id: str) -> ApiKey:
        return ApiKey.from_json(self._call("api_keys.get", key_id=key_id).json())

    def create_api_key(self, name: str, scopes: Sequence[str]) -> ApiKeyCreated:
        body = {"name": name, "scopes": list(scopes)}
        return ApiKeyCreated.from_json(self._call("api_keys.create", json=body).json())

    def revoke_api_key(self, key_id: str) -> None:
        self._call("api_keys.revoke", key_id=key_id)

    # -- signing keys (the trusted key group) ---------------------------------------------

    def signing_keys(self) -> list[SigningKey]:
        return [SigningKey.from_json(row) for row in self._call("keys.list").json()]

    def rotate_signing_key(self, algorithm: str = "rsa") -> SigningKey:
        """A new key signs from now on; the previous one verifies until retired."""
        response = self._call("keys.rotate", params={"algorithm": algorithm})
        return SigningKey.from_json(response.json())

    def add_public_key(self, public_key_pem: str, key_id: str | None = None) -> SigningKey:
        """Trust an outside public key (verification only)."""
        body = {"public_key_pem": public_key_pem, **({"key_id": key_id} if key_id else {})}
        return SigningKey.from_json(self._call("keys.add", json=body).json())

    def retire_signing_key(self, key_id: str) -> SigningKey:
        return SigningKey.from_json(self._call("keys.retire", key_id=key_id).json())

    def generate_signing_key(self, algorithm: str = "rsa") -> SigningKey:
        """A new key pair, trusted; it signs once activated (or when it is the first)."""
        response = self._call("keys.generate", params={"algorithm": algorithm})
        return SigningKey.from_json(response.json())

    def activate_signing_key(self, key_id: str) -> SigningKey:
        return SigningKey.from_json(self._call("keys.activate", key_id=key_id).json())

    def copy_signing_key(self, key_id: str, new_id: str, *, activate: bool = False) -> SigningKey:
        """The same key pair under ``new_id`` (e.g. the id CloudFront gave its public key)."""
        body = {"new_id": new_id, "activate": activate}
        return SigningKey.from_json(self._call("keys.copy", key_id=key_id, json=body).json())
