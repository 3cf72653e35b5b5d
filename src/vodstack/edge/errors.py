"""Errors of the edge cache, hung under the project's one error tree (``vodstack.errors``).

    StorageError
    └── OriginUnavailable      the origin gave no usable answer (loader raised, or a 304
        │                      with nothing to revalidate), and no stale copy may stand in
        └── OriginTimeout      ... or no answer within the time bound

They subclass ``OriginError``, which the single status mapping (``vodstack.web.errors``)
answers with ``502``, and ``504`` for the timeout (RFC 9110 §15.6.3, §15.6.5).
"""

from __future__ import annotations

from vodstack.errors import OriginError


class OriginUnavailable(OriginError):
    """The origin could not answer for ``key``; the cause is chained (``__cause__``)."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class OriginTimeout(OriginUnavailable):
    """A load (or the wait for a shared load) ran past its time bound."""
