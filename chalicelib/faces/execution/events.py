"""Execution face routes for single events: resume after an asynchronous step, cancel.
Importing this module registers them on the execution face.

Both need the bearer token and `Strategy-Secret` of the strategy the event runs on; another
tenant's event (or an unknown correlation id) is a 404, an event that is not in a state to
resume or cancel a 409, in the face's error shape.
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.engine.execution import event_runner
from chalicelib.errors import BadRequest, FieldProblem
from chalicelib.faces.execution.face import face, ref
from chalicelib.faces.execution.views import event_view
from chalicelib.faces.http import Call, json_response
from chalicelib.timefmt import utcnow

SECRET_HEADER = "Strategy-Secret"

#: The resume body: any JSON object; it becomes the asynchronous step's result.
ResumeBody = dict[str, Any]


@face.route("/execution-event/{correlationId}/resume", ["POST"], body=ResumeBody, response=ref("ExecutionEvent"))
def resume_event(call: Call, correlationId: str) -> Response:  # noqa: N803 - the page's name
    """Resume an event waiting after an asynchronous step: the body becomes that step's result."""
    body = call.body()
    if not isinstance(body, dict):
        raise BadRequest("body: must be a JSON object", problems=[FieldProblem(location="body",
                                                                                message="must be a JSON object")])
    event = event_runner.resume_event(call.principal.tenant, correlationId, body,
                                      secret_header=call.header(SECRET_HEADER), now=utcnow())
    return json_response(event_view(event))


@face.route("/execution-event/{eventSid}/cancel", ["POST"], response=ref("ExecutionEvent"))
def cancel_event(call: Call, eventSid: str) -> Response:  # noqa: N803
    """Cancel one event that has not run yet (or waits for a resume)."""
    event = event_runner.cancel_event(call.principal.tenant, eventSid, secret_header=call.header(SECRET_HEADER),
                                      now=utcnow())
    return json_response(event_view(event))
