"""A typed Python client for the vodstack HTTP API (httpx; used by the remote CLI).

It imports nothing of the server: it speaks HTTP only. tests/unit/client checks it against
the server's OpenAPI document.
"""

from vodstack.client.api import ROUTES, ApiError, Client
from vodstack.client.models import (
    MODELS,
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

__all__ = [
    "MODELS",
    "ROUTES",
    "Access",
    "ApiError",
    "ApiKey",
    "ApiKeyCreated",
    "Asset",
    "AssetCreated",
    "Client",
    "Event",
    "Job",
    "Licence",
    "Operation",
    "Purged",
    "Resent",
    "Restored",
    "Retained",
    "SigningKey",
    "Subscription",
]
