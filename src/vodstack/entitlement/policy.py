"""CloudFront policy statements: model, serialise, parse, match, evaluate.

The JSON we sign must be byte-for-byte what CloudFront (and botocore's
``CloudFrontSigner.build_policy``) produce, because a canned policy is never transmitted: the
verifier rebuilds it from the URL and ``Expires`` and checks the signature over those bytes
(AWS CloudFront Developer Guide, "private-content-creating-signed-url-canned-policy").
Custom policies arrive base64-encoded and are parsed strictly *after* their signature has been
checked ("private-content-creating-signed-url-custom-policy").
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from vodstack.errors import InvalidInput

__all__ = [
    "DenyReason",
    "Policy",
    "PolicyError",
    "canned_policy",
    "evaluate",
    "parse_policy",
    "resource_matches",
]

DenyReason = Literal["expired", "not_yet_valid", "scope", "ip"]

#: Epoch seconds must fit CloudFront's documented range comfortably; this also stops
#: 4000-digit integers from reaching arithmetic.
_MAX_EPOCH = 2**40
_MAX_POLICY_BYTES = 6 * 1024


class PolicyError(InvalidInput):
    """A policy document we refuse to interpret (shape, keys, types or values)."""


@dataclass(frozen=True)
class Policy:
    """One CloudFront policy statement.

    ``resource`` is a URL pattern (``*`` and ``?`` wildcards) matched against the whole request
    URL. Times are integer epoch seconds: the request must come strictly before
    ``date_less_than`` and strictly after ``date_greater_than``. ``ip_address`` is a CIDR; a
    bare address is normalised to ``/32`` (IPv4, as botocore does) or ``/128`` (IPv6).
    """

    resource: str
    date_less_than: int
    date_greater_than: int | None = None
    ip_address: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.resource, str) or not self.resource:
            raise PolicyError("policy resource must be a non-empty string")
        _check_epoch(self.date_less_than, "DateLessThan")
        if self.date_greater_than is not None:
            _check_epoch(self.date_greater_than, "DateGreaterThan")
        if self.ip_address is not None:
            object.__setattr__(self, "ip_address", _normalise_cidr(self.ip_address))

    def to_json(self) -> bytes:
        """Serialise exactly like botocore ``build_policy``: fixed key order, no whitespace.

        Condition order is DateLessThan, IpAddress, DateGreaterThan — botocore's order, which
        for a canned policy is the order CloudFront requires.
        """
        condition: dict[str, Any] = {"DateLessThan": {"AWS:EpochTime": self.date_less_than}}
        if self.ip_address is not None:
            condition["IpAddress"] = {"AWS:SourceIp": self.ip_address}
        if self.date_greater_than is not None:
            condition["DateGreaterThan"] = {"AWS:EpochTime": self.date_greater_than}
        document = {"Statement": [{"Resource": self.resource, "Condition": condition}]}
        return json.dumps(document, separators=(",", ":")).encode("ascii")

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        """The allowed client network, if the policy restricts one."""
        if self.ip_address is None:
            return None
        return ipaddress.ip_network(self.ip_address, strict=False)

    @cached_property
    def literal_prefix(self) -> str | None:
        """For a ``prefix*`` resource (what vodstack signs), the prefix: the whole match is
        then a ``startswith`` (see :func:`resource_matches`). None for any other pattern."""
        star = self.resource.find("*")
        if "?" in self.resource or star != len(self.resource) - 1:
            return None
        return self.resource[:-1]


def canned_policy(url: str, expires: int) -> Policy:
    """The policy CloudFront implies for ``Expires`` URLs and cookies: this URL, until then."""
    return Policy(resource=url, date_less_than=expires)


def parse_policy(data: bytes) -> Policy:
    """Parse a custom policy, refusing everything outside the documented shape.

    Exactly one statement; keys ``Resource`` and ``Condition`` only; conditions
    ``DateLessThan`` (required), ``DateGreaterThan`` and ``IpAddress``; integer epoch times;
    a CIDR with an explicit prefix. We require ``Resource`` although CloudFront treats a missing
    one as "everything" for cookies: a grant that wide is never what we mean to issue.
    """
    if len(data) > _MAX_POLICY_BYTES:
        raise PolicyError("policy document too large")
    try:
        document = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_reject_duplicate_keys,
            parse_float=_reject_number,
            parse_constant=_reject_number,
        )
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        raise PolicyError("policy is not valid JSON") from None
    top = _exact_keys(document, required={"Statement"}, optional=set(), where="policy")
    statements = top["Statement"]
    if not isinstance(statements, list) or len(statements) != 1:
        raise PolicyError("policy must contain exactly one statement")
    statement = _exact_keys(
        statements[0], required={"Resource", "Condition"}, optional=set(), where="statement"
    )
    resource = statement["Resource"]
    if not isinstance(resource, str):
        raise PolicyError("policy resource must be a string")
    condition = _exact_keys(
        statement["Condition"],
        required={"DateLessThan"},
        optional={"DateGreaterThan", "IpAddress"},
        where="condition",
    )
    less_than = _epoch_condition(condition["DateLessThan"], "DateLessThan")
    greater_than = None
    if "DateGreaterThan" in condition:
        greater_than = _epoch_condition(condition["DateGreaterThan"], "DateGreaterThan")
    ip_address = None
    if "IpAddress" in condition:
        ip_block = _exact_keys(
            condition["IpAddress"], required={"AWS:SourceIp"}, optional=set(), where="IpAddress"
        )
        ip_address = ip_block["AWS:SourceIp"]
        if not isinstance(ip_address, str) or "/" not in ip_address:
            raise PolicyError("policy IpAddress must be a CIDR such as 192.0.2.1/32")
    return Policy(resource, less_than, greater_than, ip_address)


def resource_matches(pattern: str, url: str) -> bool:
    """CloudFront wildcard match of a policy ``Resource`` against the whole request URL.

    ``*`` matches zero or more characters (``/`` included), ``?`` exactly one; every other
    character is literal. This is a hand-written matcher, not a regex, so no character in a
    resource can change the meaning of the pattern, and worst-case time is
    O(len(pattern) x len(url)) with no backtracking blow-up.

    The resources vodstack signs are ``…/v1/{id}/*``: a literal prefix and one trailing
    ``*``. That case is a ``startswith`` (same answer, a fraction of the cost per segment).
    """
    star = pattern.find("*")
    if "?" not in pattern and (star == -1 or star == len(pattern) - 1):
        return url == pattern if star == -1 else url.startswith(pattern[:-1])
    p = u = 0
    star_p, star_u = -1, 0
    while u < len(url):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == url[u]) and pattern[p] != "*":
            p += 1
            u += 1
        elif p < len(pattern) and pattern[p] == "*":
            star_p, star_u = p, u
            p += 1
        elif star_p >= 0:
            star_u += 1
            p, u = star_p + 1, star_u
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def evaluate(policy: Policy, url: str, now: float, client_ip: str) -> DenyReason | None:
    """Check a (signature-verified) policy against one request; ``None`` means allowed.

    Runs on every request, even when the signature check was served from cache.
    """
    if now >= policy.date_less_than:
        return "expired"
    if policy.date_greater_than is not None and now <= policy.date_greater_than:
        return "not_yet_valid"
    if not resource_matches(policy.resource, url):
        return "scope"
    network = policy.network
    if network is not None and not _ip_in(client_ip, network):
        return "ip"
    return None


def _ip_in(client_ip: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d
    return address.version == network.version and address in network


def _check_epoch(value: object, name: str) -> None:
    if type(value) is not int or not 0 <= value < _MAX_EPOCH:
        raise PolicyError(f"policy {name} must be an integer epoch time in seconds")


def _normalise_cidr(value: object) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise PolicyError("policy IpAddress must be an IP address or CIDR")
    if "/" not in value:
        value += "/128" if ":" in value else "/32"
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PolicyError("policy IpAddress is not a valid IP address or CIDR") from None
    return value


def _epoch_condition(value: object, name: str) -> int:
    block = _exact_keys(value, required={"AWS:EpochTime"}, optional=set(), where=name)
    epoch = block["AWS:EpochTime"]
    _check_epoch(epoch, name)
    return int(epoch)


def _exact_keys(
    value: object, *, required: set[str], optional: set[str], where: str
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PolicyError(f"policy {where} must be a JSON object")
    keys = set(value)
    if not required <= keys or not keys <= required | optional:
        raise PolicyError(f"policy {where} has missing or unknown keys")
    return value


def _reject_duplicate_keys(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise PolicyError("policy repeats a key")
        result[key] = value
    return result


def _reject_number(text: str) -> None:
    raise PolicyError("policy numbers must be integers")
