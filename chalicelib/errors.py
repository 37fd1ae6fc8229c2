"""The domain error hierarchy.

Every layer below the faces raises these; each face converts them to its own product's error
shape in exactly one place. An error names the offending field or parameter with a location in
the form ``body.cron``, ``query.limit`` or ``path.taskName`` so that each face can render it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class FieldProblem:
    """One thing wrong with one input value."""

    #: Where the value came from and its name: ``body.cron``, ``query.limit``, ``path.taskName``.
    location: str
    #: What is wrong with it, for a human.
    message: str
    #: The offending value, when it is safe to echo back.
    value: Any = None


class TasklaneError(Exception):
    """Base of every expected failure; carries the HTTP status a face should answer with."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems: list[FieldProblem] = list(problems or [])


class BadRequest(TasklaneError):
    """The request cannot be read at all (malformed JSON, wrong shape)."""

    status = 400
    code = "bad_request"


class ValidationError(TasklaneError):
    """A value is well-formed but not acceptable; names the field."""

    status = 422
    code = "validation_error"

    def __init__(
        self,
        message: str,
        *,
        location: str | None = None,
        value: Any = None,
        problems: list[FieldProblem] | None = None,
    ) -> None:
        problems = list(problems or [])
        if location is not None:
            problems.insert(0, FieldProblem(location=location, message=message, value=value))
        super().__init__(message, problems=problems)

    @property
    def location(self) -> str | None:
        """The first offending field, if any."""
        return self.problems[0].location if self.problems else None


class Unauthenticated(TasklaneError):
    """No credentials, or credentials that do not verify."""

    status = 401
    code = "unauthenticated"


class Forbidden(TasklaneError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"


class NotFound(TasklaneError):
    """No such resource for this tenant (another tenant's resource is also 'not found')."""

    status = 404
    code = "not_found"


class MethodNotAllowed(TasklaneError):
    """The path exists but not with this method."""

    status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, *, allowed: str | None = None) -> None:
        super().__init__(message)
        #: The methods the path serves, for the `Allow` header (RFC 9110).
        self.allowed = allowed


class Conflict(TasklaneError):
    """The request clashes with the current state (duplicate name, lost race, wrong state)."""

    status = 409
    code = "conflict"


class PayloadTooLarge(TasklaneError):
    """The request body is larger than any route takes."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(TasklaneError):
    """The request body has a content type this endpoint does not take."""

    status = 415
    code = "unsupported_media_type"


class TooManyRequests(TasklaneError):
    """A rate limit was exceeded; ``retry_after`` says when to try again, in seconds."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotReady(TasklaneError):
    """A dependency (the backend) cannot be reached."""

    status = 503
    code = "unavailable"

