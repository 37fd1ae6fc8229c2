"""The agent face's blueprint, its error shape and who the caller is (AGH Runtime, seed 001).

Every error is `{"error": "..."}`; a field problem names the field (`body.max_attempts: ...`),
and invalid input is a 400 as the product answers it. The caller's token says who acts: its
`actor_kind` (`agent` is taken as `agent_session`) and `session` make an agent session the actor
and the lease holder; a token without a session acts as the human `sub`, holding leases as
`user:<sub>`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalice import Blueprint, Response

from chalicelib.engine.agent_model import Actor
from chalicelib.errors import TasklaneError, ValidationError
from chalicelib.faces.agent.openapi_doc import DOC
from chalicelib.faces.http import Call, Face, json_response, retry_after_headers
from chalicelib.timefmt import Clock, utcnow

agent_blueprint = Blueprint(__name__)

#: The owner kinds of the product; other `actor_kind` claims are taken as below.
ACTOR_KINDS = ("human", "agent_session", "automation", "extension", "network_peer", "pool")
#: A lease holder that is not an agent session: the user, under this prefix.
USER_SESSION = "user:"

#: Most bytes of a free-form JSON field (`metadata`, `result`) as JSON: the task or run item
#: keeping it must stay inside DynamoDB's 400 KB.
MAX_JSON_FIELD = 64 * 1024

#: Where the face reads the time (tests pin it).
clock: Clock = utcnow


def now() -> datetime:
    """The time of this request."""
    return clock()


def render_error(error: TasklaneError, trace: str) -> Response:
    """`{"error": "..."}`, the first field problem named; validation failures are 400s."""
    status = 400 if error.status == 422 else error.status
    message = error.message.replace("session " + USER_SESSION, "user ")  # a human holder's lease key
    problem = error.problems[0] if error.problems else None
    if problem is not None and problem.location and problem.location not in message:
        message = f"{problem.location}: {message}"
    headers = {"X-Trace-Id": trace, **retry_after_headers(error)}
    return json_response({"error": message}, status, headers)


face = Face("agent", agent_blueprint, render_error, doc=DOC)


def actor(call: Call) -> Actor:
    """Who the caller acts as."""
    principal = call.principal
    kind = principal.actor_kind or ("agent_session" if principal.session else "human")
    if kind == "agent":
        kind = "agent_session"
    if kind not in ACTOR_KINDS:
        kind = "human"
    ref = principal.session if kind == "agent_session" and principal.session else principal.user_id
    return Actor(kind=kind, ref=ref)


def session(call: Call) -> str:
    """The key the caller's leases are held under (one lease per session)."""
    return call.principal.session or USER_SESSION + call.principal.user_id


def holder(session_key: str | None) -> dict[str, str] | None:
    """`claimed_by` of a lease held under `session_key`."""
    if not session_key:
        return None
    if session_key.startswith(USER_SESSION):
        return {"kind": "human", "ref": session_key[len(USER_SESSION):]}
    return {"kind": "agent_session", "ref": session_key}


def sized(body: Any) -> Any:
    """`body`, refused (400 naming the field) when its `metadata` or `result` is past MAX_JSON_FIELD."""
    for name in ("metadata", "result"):
        value = getattr(body, name, None)
        if value is not None and len(json.dumps(value, separators=(",", ":"))) > MAX_JSON_FIELD:
            raise ValidationError(f"{name} must be at most {MAX_JSON_FIELD} bytes as JSON", location=f"body.{name}")
    return body
