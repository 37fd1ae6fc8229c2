"""System routes: health and the OpenAPI document (no authentication)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import __version__
from chalicelib.engine.roles import heartbeats
from chalicelib.errors import NotReady, TasklaneError
from chalicelib.faces import openapi
from chalicelib.faces.http import GATEWAY_ERROR_REF, Call, Face, FaceDoc, json_response

system_blueprint = Blueprint(__name__)


def render_error(error: TasklaneError, trace: str) -> Response:
    """System routes answer `{"error": {"code", "message"}, "traceId"}`."""
    body = {"error": {"code": error.code, "message": error.message}, "traceId": trace}
    return json_response(body, error.status, {"X-Trace-Id": trace})


_ERROR = {"application/json": {"schema": GATEWAY_ERROR_REF}}

face = Face("system", system_blueprint, render_error,
            doc=FaceDoc(tag="system", description="Health and documentation.",
                        errors={"401": {"description": "No or bad token", "content": _ERROR},
                                "405": {"description": "Method not allowed; see Allow", "content": _ERROR},
                                "500": {"description": "Unexpected failure", "content": _ERROR}},
))


@face.route("/health", public=True, description="200: backend reachable; version and background role heartbeats. "
            "503: backend unreachable.",
            answers={"503": {"description": "Backend unreachable: the same body, status degraded"}})
def health(call: Call) -> Response:
    """Version, whether the backend answers, and when each background role last ran."""
    try:
        roles = heartbeats()
        backend: dict[str, Any] = {"reachable": True}
    except NotReady as exc:
        roles, backend = {}, {"reachable": False, "error": exc.message}
    body = {
        "status": "ok" if backend["reachable"] else "degraded",
        "version": __version__,
        "backend": backend,
        "roles": roles,
    }
    return json_response(body, 200 if backend["reachable"] else 503)


@face.route("/whoami")
def whoami(call: Call) -> Response:
    """The caller as the token describes them (a quick way to check a token)."""
    p = call.principal
    return json_response(
        {"user": p.user_id, "tenant": p.tenant, "roles": list(p.roles), "actor_kind": p.actor_kind,
         "session": p.session}
    )


@face.route("/openapi.json", public=True)
def openapi_document(call: Call) -> Response:
    """The OpenAPI 3.1 document of every face mounted so far."""
    return json_response(openapi.document())


# Every route of this face is declared above: answer the other methods with a 405 (and `Allow`)
# rather than Chalice's own body. The other faces are sealed in chalicelib/handlers.py.
face.seal()
