"""The one composition root: what each role builds, typed.

    services.py    Services: catalogue, store, secrets, event bus, ingest, job pipeline, asset
                   operations, entitlement — what every role shares (the CLI uses these alone)
    delivery.py    Delivery: gate → edge → origin for ``settings.role`` (``serve``)
    server.py      Server: services + delivery + usage ledger, playback telemetry, metrics,
                   with the start/stop the ASGI app runs as its lifespan (``serve``)
    lanes.py       ``worker`` with a broker: a supervisor and one Celery worker per lane
    celery_app.py  the Celery app and the dispatcher that sends job nudges to the broker

Interfaces (vodstack.cli, vodstack.web) build through these and format or mount routes over
the result; nothing below this package imports it.

Names are loaded on first use, so a CLI command that needs only the services does not import
the deliver path.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vodstack.compose.delivery import Delivery, Gate, OpenGate, build_delivery
    from vodstack.compose.server import Server, build_server
    from vodstack.compose.services import Services, build_services, private_umask

_HOMES = {
    "Delivery": "delivery",
    "Gate": "delivery",
    "OpenGate": "delivery",
    "build_delivery": "delivery",
    "Server": "server",
    "build_server": "server",
    "Services": "services",
    "build_services": "services",
    "private_umask": "services",
}

__all__ = [
    "Delivery",
    "Gate",
    "OpenGate",
    "Server",
    "Services",
    "build_delivery",
    "build_server",
    "build_services",
    "private_umask",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
