"""The scheduling face's blueprint and its error shape (Qlik Cloud Scheduling Tasks, seed 000).

Every error under this face is `{"errors": [{"code", "title", "detail"}], "traceId"}`.
"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.errors import TasklaneError
from chalicelib.faces.http import Face, json_response, retry_after_headers
from chalicelib.faces.scheduling.openapi_paths import DOC

scheduling_blueprint = Blueprint(__name__)

#: The product's error codes by HTTP status.
_CODES = {
    400: "HTTP-400",
    401: "HTTP-401",
    403: "HTTP-403",
    404: "HTTP-404",
    405: "HTTP-405",
    409: "HTTP-409",
    413: "HTTP-413",
    415: "HTTP-415",
    422: "HTTP-400",
    429: "HTTP-429",
    500: "HTTP-500",
    503: "HTTP-503",
}
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Bad request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def _detail(location: str | None, message: str) -> str:
    """`location: rule`, naming the field once (messages often start with it already)."""
    if not location:
        return message
    rest = message[len(location):]
    if message.startswith(location) and (not rest or rest[0] in " :"):
        message = rest.lstrip(": ")
    return f"{location}: {message}"


def render_error(error: TasklaneError, trace: str) -> Response:
    """`{"errors": [...], "traceId"}`; invalid input is a 400 as the product answers it."""
    status = 400 if error.status == 422 else error.status
    problems = getattr(error, "problems", None) or []
    errors = [
        {
            "code": _CODES.get(status, f"HTTP-{status}"),
            "title": _TITLES.get(status, "Error"),
            "detail": _detail(problem.location, problem.message),
        }
        for problem in problems
    ] or [{"code": _CODES.get(status, f"HTTP-{status}"), "title": _TITLES.get(status, "Error"),
           "detail": error.message}]
    headers = {"X-Trace-Id": trace}
    headers.update(retry_after_headers(error))
    return json_response({"errors": errors, "traceId": trace}, status, headers)


face = Face("scheduling", scheduling_blueprint, render_error, doc=DOC)
