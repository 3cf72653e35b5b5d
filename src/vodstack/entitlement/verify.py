"""Decide whether one delivery request carries a valid CloudFront-style grant.

Where the grant comes from (AWS CloudFront Developer Guide, "private-content-choosing-signed-urls-
cookies"): when a request carries signed-URL parameters, CloudFront decides on the signed URL
alone and ignores signed cookies. We do the same: if any of ``Expires``, ``Policy``,
``Signature`` or ``Key-Pair-Id`` is in the query, cookies are not looked at (not even to find
duplicates); otherwise the ``CloudFront-*`` cookies are used.

Canned vs custom ("private-content-signed-urls-overview"): ``Expires`` means canned — the policy
is rebuilt from the request URL (minus the signing parameters) and ``Expires`` and must match
the signature byte for byte; ``Policy`` means custom — the signature covers the decoded policy
bytes, which are parsed strictly only after the signature holds. Both at once is ``ambiguous``.
The policy ``Resource`` is matched against the URL without the signing parameters, as the AWS
guide describes for custom-policy URLs. Beyond CloudFront, a path with dot segments or encoded
slashes is refused as ``scope``: the wildcard match is literal, so ``/v1/A/../B/x`` would match
``/v1/A/*`` while a server resolving the dots serves asset B.

Verified (key, hash, policy, signature) tuples are cached until the policy expires, so a player
fetching hundreds of segments costs one public-key operation; time, scope and IP are still
checked on every request, and the key must still be trusted (retiring a key takes effect at
once). Signatures are public-key checks: no shared secret is compared here, so no constant-time
comparison is needed; cache lookups hash the attacker's own bytes and reveal nothing.

Verdict reasons are metric labels; the HTTP layer answers every denial with a plain 403.

Why one module: the order of the checks is the security property (choose the credential,
verify the signature, only then parse the policy, then time, scope, IP and key trust), and
the caches that skip repeated work must sit exactly between those steps; split, a reader
could no longer check the order in one place.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, NamedTuple, TypeVar

from vodstack.entitlement import cfbase64, pathtoken
from vodstack.entitlement.keygroup import KeyGroup
from vodstack.entitlement.policy import Policy, PolicyError, canned_policy, evaluate, parse_policy
from vodstack.entitlement.requestparts import (
    has_unsafe_path,
    parse_cookie_header,
    parse_query,
    strip_signing_params,
)
from vodstack.entitlement.signing import (
    COOKIE_EXPIRES,
    COOKIE_HASH_ALGORITHM,
    COOKIE_KEY_PAIR_ID,
    COOKIE_POLICY,
    COOKIE_SIGNATURE,
    HASH_ALGORITHMS,
    HashAlgorithm,
    signature_valid,
)
from vodstack.errors import Forbidden

__all__ = [
    "REASONS",
    "Reason",
    "SignatureVerifier",
    "Verdict",
    "parse_cookie_header",
    "parse_query",
    "strip_signing_params",
]

Reason = Literal[
    "missing",
    "malformed",
    "unknown_key",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "scope",
    "ip",
    "ambiguous",
]
REASONS: tuple[Reason, ...] = (
    "missing",
    "malformed",
    "unknown_key",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "scope",
    "ip",
    "ambiguous",
)
Values = Mapping[str, str | Sequence[str]]
Source = Literal["query", "cookie", "token"]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# Logical field -> (query parameter, cookie name).
_FIELDS = {
    "expires": ("Expires", COOKIE_EXPIRES),
    "policy": ("Policy", COOKIE_POLICY),
    "signature": ("Signature", COOKIE_SIGNATURE),
    "key_id": ("Key-Pair-Id", COOKIE_KEY_PAIR_ID),
    "hash": ("Hash-Algorithm", COOKIE_HASH_ALGORITHM),
}
_QUERY_TRIGGERS = ("Expires", "Policy", "Signature", "Key-Pair-Id")
_KEY_ID = re.compile(r"[A-Za-z0-9]{1,64}", re.ASCII)
_EPOCH = re.compile(r"[0-9]{1,12}", re.ASCII)


@dataclass(frozen=True)
class Verdict:
    """Outcome of one check: ``ok``, or the ``reason`` (one of :data:`REASONS`) it was denied."""

    ok: bool
    reason: Reason | None = None
    source: Source | None = None
    key_id: str | None = None
    policy: Policy | None = None

    def to_error(self) -> Forbidden:
        """The error the HTTP layer turns into a plain 403 (the rule is for metrics/logs)."""
        return Forbidden("access denied", rule=self.reason or "unknown", public=False)


def _deny(reason: Reason, source: Source | None = None) -> Verdict:
    return Verdict(ok=False, reason=reason, source=source)


#: A known credential is looked up by its last characters (the signature's: random, so as
#: unique as the whole) and then compared whole: hashing ~600 fresh bytes per segment costs
#: more than the slice (issue #15).
_TAIL = 48


class _Quick(NamedTuple):
    """What decides the common re-check of a known credential by comparisons alone."""

    prefix: str  # of a ``prefix*`` resource: the URL must start with it
    not_before: float  # the URL is in time strictly between these
    not_after: float
    address: str | None  # a policy bound to one address: the client's, spelled as it came


class _Known(NamedTuple):
    """A raw Cookie header (or path token) whose signature held: what a re-check needs
    without parsing it again."""

    credential: str | bytes  # the whole header or token, compared on every hit
    policy: Policy
    key_id: str
    fingerprint: bytes
    group: KeyGroup  # the key group it was last checked against (its key was in it)
    verdict: Verdict
    #: set when the common case is decided by comparisons alone (a ``prefix*`` resource, no
    #: IP binding or one to a single address); None: always the full evaluation.
    quick: _Quick | None


def _known(
    credential: str | bytes, policy: Policy, key_id: str, group: KeyGroup, verdict: Verdict
) -> _Known | None:
    """What to remember of a credential that verified, or None if its key is not trusted."""
    key = group.verification_key(key_id)
    if key is None:
        return None
    prefix = policy.literal_prefix
    network = policy.network
    quick = None
    if prefix is not None and (network is None or network.num_addresses == 1):
        not_before = policy.date_greater_than
        quick = _Quick(  # floats: the clock's type (an int compared with a float costs more)
            prefix,
            float("-inf") if not_before is None else float(not_before),
            float(policy.date_less_than),
            None if network is None else str(network.network_address),
        )
    return _Known(credential, policy, key_id, key.fingerprint, group, verdict, quick)


class _Passed(Generic[K, V]):
    """Bounded map of checks that passed, each kept until its policy (``policy_of``) expires.

    Read on every delivery request (issue #15: the gate's overhead), so it is a plain dict a
    hit reads with one ``get``, no lock and no reordering: entries leave in the order they
    were stored when the bound is reached, and at expiry. A credential pushed out is verified
    in full once more. (Not ``base.Lru``: recency is not worth a method call per segment.)"""

    def __init__(self, max_entries: int, policy_of: Callable[[V], Policy]) -> None:
        self.entries: dict[K, V] = {}
        self.capacity = max_entries
        self._policy_of = policy_of
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: K, now: float) -> V | None:
        found = self.entries.get(key)  # atomic under the GIL; writers hold the lock
        if found is None or now >= self._policy_of(found).date_less_than:
            self.miss(key, found)
            return None
        self.hits += 1  # statistics: an increment lost between threads does not matter
        return found

    def miss(self, key: K, found: V | None) -> None:
        """Count a miss; drop ``found``, the expired entry under ``key``, if any."""
        if found is not None:
            with self._lock:
                self.entries.pop(key, None)
        self.misses += 1

    def put(self, key: K, value: V) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            entries = self.entries
            entries.pop(key, None)
            while len(entries) >= self.capacity:
                del entries[next(iter(entries))]  # the oldest stored
            entries[key] = value


def _itself(policy: Policy) -> Policy:
    return policy


def _known_policy(known: _Known) -> Policy:
    return known.policy


class SignatureVerifier:
    """Checks grants against the trusted key group returned by ``keygroup_provider``.

    The provider is called once per request, so a rotated or retired key group takes effect
    without rebuilding the verifier. ``clock`` returns epoch seconds.
    """

    def __init__(
        self,
        keygroup_provider: Callable[[], KeyGroup],
        clock: Callable[[], float] = time.time,
        *,
        cache_size: int = 10_000,
    ) -> None:
        self._keygroup = keygroup_provider
        self._clock = clock
        self._cache: _Passed[tuple[bytes, str, bytes, bytes], Policy] = _Passed(cache_size, _itself)
        self._raw: _Passed[tuple[bytes, str, str, str], Policy] = _Passed(cache_size, _itself)
        # keyed by the credential's last _TAIL characters (see _recheck)
        self._headers: _Passed[str | bytes, _Known] = _Passed(cache_size, _known_policy)
        self._tokens: _Passed[str | bytes, _Known] = _Passed(cache_size, _known_policy)
        self._followed: KeyGroup | None = None  # see follow_key_group

    def follow_key_group(self, group: KeyGroup | None) -> None:
        """What the provider returns now, told by a provider that knows when that changes
        (``KeyRing.follow``); None: ask the provider. A known credential's common re-check
        then compares with it instead of calling the provider (issue #15)."""
        self._followed = group

    @property
    def cache_hits(self) -> int:
        return self._cache.hits + self._raw.hits + self._headers.hits + self._tokens.hits

    def verify_credential(
        self, source: Literal["cookie", "token"], url: str, credential: str | bytes, client_ip: str
    ) -> Verdict:
        """The gate's one call per request: :meth:`verify_cookie_header` (``credential``: the
        raw ``Cookie`` header) or :meth:`verify_token` (a path token).

        A credential that verified before is allowed right here when the common case holds:
        same key group, in time, a ``prefix*`` resource the URL starts with, nothing a
        dot-segment or encoding check has to look at, no query, no IP binding or the one
        address. Anything else takes the full path below, which decides every case (this
        only ever allows what it would allow)."""
        # Runs on every segment (issue #15: the gate's overhead < 5 %). On a busy server each
        # function of a deeper path costs about a microsecond of cache misses, so the common
        # case is this one frame: no call but the clock (and the key-group provider when no
        # one tells the verifier the group), nothing large allocated (the credential is
        # looked up by its tail, then compared whole).
        known = self._tokens if source == "token" else self._headers
        hit = known.entries.get(credential[-_TAIL:])
        if hit is not None and hit.quick is not None and hit.credential == credential:
            prefix, not_before, not_after, address = hit.quick
            now = self._clock()
            if (
                not_before < now < not_after
                and url.startswith(prefix)
                and (address is None or address == client_ip)
                and "?" not in url
                and "%" not in url
                and "\\" not in url
                and "/." not in url
                and (hit.group is self._followed or hit.group is self._keygroup())
            ):
                known.hits += 1  # statistics: an increment lost between threads does not matter
                return hit.verdict
        if source == "token":
            token = credential if isinstance(credential, str) else credential.decode("latin-1")
            return self._verify_token(url, token, client_ip)
        return self._verify_cookie_header(url, credential, client_ip)

    def verify_token(self, url: str, token: str, client_ip: str) -> Verdict:
        """Check a path token (``pathtoken``) for ``url``, the request URL without the token
        segment. Same policy semantics as the cookies; a query carrying CloudFront signing
        parameters as well is ``ambiguous`` (two credentials, one request).

        A token that verified before is recognised as a whole (like a Cookie header) and only
        re-evaluated: key still trusted (retirement takes effect at once), time, scope, IP."""
        return self.verify_credential("token", url, token, client_ip)

    def _verify_token(self, url: str, token: str, client_ip: str) -> Verdict:
        if "?" in url and any(name in parse_query(url) for name in _QUERY_TRIGGERS):
            return _deny("ambiguous", "token")
        known = self._recheck(self._tokens, token, url, client_ip, "token")
        if known is not None:
            return known
        fields = pathtoken.decode(token)
        if fields is None:
            return _deny("malformed", "token")
        verdict = self._check(url, fields, "token", client_ip)
        if (
            verdict.policy is not None
            and verdict.key_id is not None
            and verdict.reason in (None, "scope", "ip", "not_yet_valid")  # signature held
        ):
            ok = Verdict(ok=True, source="token", key_id=verdict.key_id, policy=verdict.policy)
            remembered = _known(token, verdict.policy, verdict.key_id, self._keygroup(), ok)
            if remembered is not None:
                self._tokens.put(token[-_TAIL:], remembered)
        return verdict

    def _recheck(
        self,
        cache: _Passed[str | bytes, _Known],
        credential: str | bytes,
        url: str,
        client_ip: str,
        source: str,
    ) -> Verdict | None:
        """A credential (Cookie header or path token) that verified before, re-evaluated
        without parsing it again: key still trusted (retirement takes effect at once), time,
        scope, IP. None when it is not known (or its key changed): verify it in full."""
        # The uncommon cases of a known credential (verify_credential decides the common one):
        # a reloaded key group, a URL with a query or an encoding, an IP binding to a network.
        now = self._clock()
        tail = credential[-_TAIL:]
        hit = cache.entries.get(tail)
        if hit is None or hit.credential != credential:  # unknown (or another one's tail)
            cache.misses += 1
            return None
        if now >= hit.policy.date_less_than:
            cache.miss(tail, hit)
            return None
        cache.hits += 1
        group = self._keygroup()
        if group is not hit.group:  # reloaded (every few seconds): is its key still there?
            key = group.verification_key(hit.key_id)
            if key is None or key.fingerprint != hit.fingerprint:
                return None
            cache.put(tail, hit._replace(group=group))
        return self._evaluate(hit.policy, url, now, client_ip, source, hit.key_id)

    def verify_cookie_header(self, url: str, cookie_header: str | bytes, client_ip: str) -> Verdict:
        """:meth:`verify` for a raw ``Cookie`` header, as a player repeats it on every segment
        (``bytes``: as the server received it, latin-1; the gate passes it undecoded).

        A header that carried a valid custom-policy grant before is recognised as a whole and
        only re-evaluated (key still trusted, time, scope, IP), without parsing it again. Only
        for URLs without a query: signing parameters there would take precedence.
        """
        return self.verify_credential("cookie", url, cookie_header, client_ip)

    def _verify_cookie_header(
        self, url: str, cookie_header: str | bytes, client_ip: str
    ) -> Verdict:
        cacheable = "?" not in url
        if cacheable:
            known = self._recheck(self._headers, cookie_header, url, client_ip, "cookie")
            if known is not None:
                return known
        text = cookie_header if isinstance(cookie_header, str) else cookie_header.decode("latin-1")
        cookies = parse_cookie_header(text)
        verdict = self.verify(url, cookies, None, client_ip)
        if (
            cacheable
            and verdict.ok
            and verdict.policy is not None
            and verdict.key_id is not None
            and COOKIE_EXPIRES not in cookies  # custom policies only: canned ones name one URL
        ):
            group = self._keygroup()
            remembered = _known(cookie_header, verdict.policy, verdict.key_id, group, verdict)
            if remembered is not None:
                self._headers.put(cookie_header[-_TAIL:], remembered)
        return verdict

    def verify(self, url: str, cookies: Values, query: Values | None, client_ip: str) -> Verdict:
        """Check one request; never raises for any cookie or query content.

        ``url`` is the full request URL as the viewer used it (scheme, host, path, query).
        ``cookies`` maps names to one value or to all values (see :func:`parse_cookie_header`).
        ``query=None`` (recommended) parses the query from ``url``, which also catches repeated
        parameters a framework's mapping would hide.
        """
        params = parse_query(url) if query is None else query
        if any(name in params for name in _QUERY_TRIGGERS):
            source: Source = "query"
            found = {field: _values(params, names[0]) for field, names in _FIELDS.items()}
        else:
            source = "cookie"
            found = {field: _values(cookies, names[1]) for field, names in _FIELDS.items()}
        if not any(found.values()):
            return _deny("missing", source)
        if any(len(values) > 1 for values in found.values()):
            return _deny("ambiguous", source)
        one = {field: values[0] if values else None for field, values in found.items()}
        if one["expires"] is not None and one["policy"] is not None:
            return _deny("ambiguous", source)
        if one["signature"] is None or one["key_id"] is None:
            return _deny("missing", source)
        if one["expires"] is None and one["policy"] is None:
            return _deny("missing", source)
        return self._check(url, one, source, client_ip)

    def _check(
        self,
        url: str,
        one: dict[str, str | None],
        source: Source,
        client_ip: str,
    ) -> Verdict:
        key_id = one["key_id"] or ""
        hash_name = "SHA1" if one["hash"] is None else one["hash"]  # present but empty: malformed
        if hash_name not in HASH_ALGORITHMS or _KEY_ID.fullmatch(key_id) is None:
            return _deny("malformed", source)
        hash_alg: HashAlgorithm = "SHA256" if hash_name == "SHA256" else "SHA1"
        signed_url = strip_signing_params(url)
        if one["policy"] is not None:
            # Custom policy (the cookies /play issues): a grant seen before is recognised by
            # its raw values, without decoding them again. Decoding is canonical (one spelling
            # per value), so raw strings identify the same grant the decoded bytes do.
            key = self._keygroup().verification_key(key_id)
            if key is not None:
                now = self._clock()
                raw_key = (key.fingerprint, hash_alg, one["policy"], one["signature"] or "")
                policy = self._raw.get(raw_key, now)
                if policy is not None:
                    return self._evaluate(policy, signed_url, now, client_ip, source, key_id)
        canned: Policy | None = None
        try:
            signature = cfbase64.decode(one["signature"] or "")
            if one["expires"] is not None:
                if _EPOCH.fullmatch(one["expires"]) is None:
                    return _deny("malformed", source)
                canned = canned_policy(signed_url, int(one["expires"]))
                body = canned.to_json()
            else:
                body = cfbase64.decode(one["policy"] or "")
        except (cfbase64.CfBase64Error, PolicyError):
            return _deny("malformed", source)

        key = self._keygroup().verification_key(key_id)
        if key is None:
            return _deny("unknown_key", source)
        now = self._clock()
        cache_key = (key.fingerprint, hash_alg, body, signature)
        policy = self._cache.get(cache_key, now)
        if policy is None:
            if not signature_valid(body, signature, key.public_key, hash_alg):
                return _deny("bad_signature", source)
            try:
                policy = canned if canned is not None else parse_policy(body)
            except PolicyError:
                return _deny("malformed", source)
            self._cache.put(cache_key, policy)
        if canned is None:
            raw = (key.fingerprint, hash_alg, one["policy"] or "", one["signature"] or "")
            self._raw.put(raw, policy)
        return self._evaluate(policy, signed_url, now, client_ip, source, key_id)

    @staticmethod
    def _evaluate(
        policy: Policy,
        signed_url: str,
        now: float,
        client_ip: str,
        source: Source,
        key_id: str,
    ) -> Verdict:
        """Time, scope and IP: checked on every request, cached signature or not."""
        reason: Reason | None = "scope" if has_unsafe_path(signed_url) else None
        reason = reason or evaluate(policy, signed_url, now, client_ip)
        if reason is not None:
            return Verdict(ok=False, reason=reason, source=source, key_id=key_id, policy=policy)
        return Verdict(ok=True, source=source, key_id=key_id, policy=policy)


def _values(mapping: Values, name: str) -> list[str]:
    value = mapping.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]
