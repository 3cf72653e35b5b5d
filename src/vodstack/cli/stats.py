"""``vodstack stats``: hit ratio, 403 rate and job states of a running server, at a glance."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

import httpx
import typer
from prometheus_client.parser import text_string_to_metric_families

from vodstack.cli.common import JsonOpt, emit
from vodstack.config import Settings
from vodstack.errors import ConfigError
from vodstack.secrets import SecretStore


def scrape(url: str, token: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = httpx.get(
        f"{url.rstrip('/')}/metrics",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        verify=False,  # noqa: S501
    )
    if response.status_code in (401, 403):
        raise ConfigError(f"{url}/metrics refused the token: pass --token (admin or metrics token)")
    response.raise_for_status()
    text = response.text
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def summarize(samples: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> dict[str, object]:
    edge = samples.get("vodstack_edge_requests_total", {})
    by_result: dict[str, float] = defaultdict(float)
    for labels, value in edge.items():
        by_result[dict(labels)["result"]] += value
    lookups = sum(by_result.values())
    hits = by_result["Hit"] + by_result["RefreshHit"] + by_result["StaleHit"]
    denied = sum(samples.get("vodstack_gate_denied_total", {}).values())
    allowed = sum(samples.get("vodstack_gate_allowed_total", {}).values())
    reasons = {
        dict(k)["reason"]: v for k, v in samples.get("vodstack_gate_denied_total", {}).items()
    }
    jobs = {dict(k)["state"]: v for k, v in samples.get("vodstack_jobs", {}).items()}
    origin = sum(samples.get("vodstack_origin_requests_total", {}).values())
    return {
        "requests": int(lookups + denied),
        "hit_ratio": round(hits / lookups, 4) if lookups else None,
        "origin_fetches": int(origin),
        "rate_403": round(denied / (denied + allowed), 4) if denied + allowed else None,
        "denied_by_reason": reasons,
        "jobs": jobs,
    }


def stats(
    url: Annotated[
        str | None, typer.Option(help="Server base URL (default: this config's).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="Bearer token for /metrics (default: this config's metrics_token, else its "
            "admin token).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Hit ratio, 403 rate and job states, read from a running server's /metrics."""
    settings = Settings()
    if token is None:
        configured = settings.metrics_token
        token = (
            configured.get_secret_value()
            if configured is not None
            else SecretStore(settings.secrets_dir).admin_token(settings.admin_token)
        )
    data = summarize(scrape(url or settings.base_url(), token))
    ratio = "n/a" if data["hit_ratio"] is None else f"{data['hit_ratio'] * 100:.1f} %"
    rate = "n/a" if data["rate_403"] is None else f"{data['rate_403'] * 100:.1f} %"
    jobs = ", ".join(f"{k} {int(v)}" for k, v in sorted(data["jobs"].items())) or "none"  # type: ignore[attr-defined]
    reasons = ", ".join(f"{k} {int(v)}" for k, v in sorted(data["denied_by_reason"].items()))  # type: ignore[attr-defined]
    emit(
        data,
        as_json,
        "\n".join(
            [
                f"edge requests   {data['requests']}",
                f"hit ratio       {ratio}   (origin fetches {data['origin_fetches']})",
                f"403 rate        {rate}   {reasons}",
                f"jobs            {jobs}",
            ]
        ),
    )
