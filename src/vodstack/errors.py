"""The one error root of vodstack.

Every error we raise on purpose carries a message a person can act on. HTTP statuses are
assigned in exactly one place (``vodstack.web.errors``) from these classes, never ad hoc.

    VodstackError
    ├── ConfigError            settings or secrets unusable
    ├── NotFound               unknown asset/track/segment/key
    │   └── TruncatedObject    a stored object ends before a slice its index names
    ├── Conflict               operation not allowed in the current state
    ├── InvalidInput           a request the caller can fix (bad parameter, bad range)
    │   ├── UploadRejected     upload refused before storing (empty, too large, wrong type)
    │   └── RangeNotSatisfiable
    ├── MediaError             a media file we cannot use
    │   ├── SourceInvalid      a master that fails probing/validation (the asset fails)
    │   └── BoxParseError      malformed ISO-BMFF (our own reader)
    ├── TranscodeError         FFmpeg failed; carries the tail of its log
    ├── StorageError           object store unavailable or inconsistent
    │   └── OriginError        the edge's origin failed (502; timeout 504)
    ├── AuthError              bad or missing credentials (401)
    ├── Forbidden              authenticated but not allowed (403); ``rule`` names why
    │   └── ScopeMissing       an API key without the operation's scope
    └── RateLimited            too many requests (429); ``retry_after`` in seconds
"""

from __future__ import annotations


class VodstackError(Exception):
    """Root of every deliberate vodstack error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(VodstackError):
    """A setting or secret is missing or unusable."""


class NotFound(VodstackError):
    """The named thing does not exist (or is not visible to the caller)."""


class TruncatedObject(NotFound):
    """A stored object ends before a slice its index names (the index and the bytes disagree)."""


class Conflict(VodstackError):
    """The operation is not allowed in the object's current state."""


class InvalidInput(VodstackError):
    """A request the caller can correct."""


class UploadRejected(InvalidInput):
    """An upload refused before anything was kept; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class RangeNotSatisfiable(InvalidInput):
    """An HTTP Range that does not overlap the resource."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class MediaError(VodstackError):
    """A media file we cannot use."""


class SourceInvalid(MediaError):
    """A master that cannot become an asset; the message is shown to the uploader."""


class BoxParseError(MediaError):
    """Malformed or unsupported ISO-BMFF structure, with the byte offset where it was found."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{message}{where}")
        self.offset = offset


class TranscodeError(VodstackError):
    """FFmpeg failed; ``log_tail`` holds its last lines for the operator."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class StorageError(VodstackError):
    """The object store failed or holds something unexpected."""


class OriginError(StorageError):
    """The origin (behind an edge) failed or answered an error status."""


class AuthError(VodstackError):
    """Missing or invalid credentials."""


class Forbidden(VodstackError):
    """Authenticated but not allowed; ``rule`` is a short machine-readable reason.

    ``public`` says whether the rule may be shown to the client: entitlement rules are
    (the viewer needs to know why), signature-gate reasons are not (they help forgers).
    """

    def __init__(self, message: str, rule: str, *, public: bool = True) -> None:
        super().__init__(message)
        self.rule = rule
        self.public = public


class ScopeMissing(Forbidden):
    """The credential is valid but lacks the scope the operation declares (RFC 6750 §3.1
    ``insufficient_scope``)."""

    def __init__(self, message: str, scope: str) -> None:
        super().__init__(message, rule=f"scope:{scope}")
        self.scope = scope


class RateLimited(VodstackError):
    """Too many requests from one subject or address."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(VodstackError):
    """The resource cannot be produced right now (every on-demand encode slot is busy, or a
    window could not be encoded); ``retry_after`` seconds is worth a retry, 0 is not."""

    def __init__(self, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
