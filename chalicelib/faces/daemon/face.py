"""The daemon face's blueprint and its error shape: RFC 9457 `application/problem+json`.

Field problems become `errors: [{location, message, value}]` with locations such as
`body.cron`, `query.wait_timeout` or `path.taskName`. A refusal for want of a role carries the
role in the extension member `required_role`.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from chalice import Blueprint, Response

from chalicelib.errors import TasklaneError
from chalicelib.faces.daemon.openapi_doc import DOC
from chalicelib.faces.http import Face, retry_after_headers

daemon_blueprint = Blueprint(__name__)

PROBLEM_JSON = "application/problem+json"


def render_error(error: TasklaneError, trace: str) -> Response:
    """A problem document; a 500 says only that something failed, with the trace id."""
    try:
        title = HTTPStatus(error.status).phrase
    except ValueError:
        title = "Error"
    body: dict = {"type": "about:blank", "title": title, "status": error.status, "detail": error.message,
                  "traceId": trace}
    if error.problems:
        body["errors"] = [
            {"location": p.location, "message": p.message, **({"value": p.value} if p.value is not None else {})}
            for p in error.problems
        ]
    required_role = getattr(error, "required_role", None)
    if required_role is not None:
        body["required_role"] = str(required_role)
    headers: dict[str, str | list[str]] = {"Content-Type": PROBLEM_JSON, "X-Trace-Id": trace}
    headers.update(retry_after_headers(error))
    return Response(body=json.dumps(body, default=str), status_code=error.status, headers=headers)


face = Face("daemon", daemon_blueprint, render_error, mount="/daemon", doc=DOC)
