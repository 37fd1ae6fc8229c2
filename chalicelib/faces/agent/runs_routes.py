"""Operator calls on one task run (seed 001, `/api/task-runs/{id}...`). Claim, start, complete
and fail act for the caller's session (its lease); cancel and attach-session for anyone of the
tenant. A claim or start retried with the same `idempotency_key` answers the run as the first
call left it and changes nothing."""

from __future__ import annotations

from chalice import Response

from chalicelib.engine import agent_runs, agent_timeline
from chalicelib.faces.agent import openapi_doc as doc
from chalicelib.faces.agent import views
from chalicelib.faces.agent.face import actor, face, now, session, sized
from chalicelib.faces.agent.requests import (
    AgentAttachSessionBody,
    AgentCompleteBody,
    AgentEmptyBody,
    AgentFailBody,
    AgentRunClaimBody,
    AgentRunStartBody,
)
from chalicelib.faces.http import Call, json_response
from chalicelib.timefmt import to_api


def _answer(call: Call, run_id: str) -> Response:
    run, task = agent_runs.get_run(call.principal.tenant, run_id)
    return json_response({"run": views.run(run, task)})


@face.route("/api/task-runs/{id}", response=doc.RUN_DETAIL)
def get_task_run(call: Call, id: str) -> Response:  # noqa: A002 - the product's name
    """Get one task run detail. `session` is the agent session attached to or holding the run
    (null for a human holder); tasklane meters no agent turns, tokens or cost (null)."""
    run, task = agent_runs.get_run(call.principal.tenant, id)
    mine = [e for e in agent_timeline.timeline(run.tenant, run.task_id, limit=1000).events
            if (e.data.get("run") or {}).get("id") == id]
    whole = views.run(run, task)
    session_id = whole["session_id"]
    return json_response({"run": {
        "run": whole, "task": views.task_summary(task),
        "session": {"agent_name": None, "channel": task.network_channel, "created_at": None, "name": None,
                    "session_id": session_id, "state": None, "updated_at": None,
                    "workspace_id": task.workspace_id} if session_id else None,
        "summary": {"cost_currency": None, "input_tokens": None, "last_activity_at": to_api(mine[-1].at),
                    "last_event_type": mine[-1].type, "output_tokens": None, "tool_call_count": None,
                    "total_cost": None, "total_tokens": None, "turn_count": None} if mine else None,
    }})


@face.route("/api/task-runs/{id}/claim", ["POST"], body=AgentRunClaimBody, body_required=False, response=doc.RUN)
def claim_task_run(call: Call, id: str) -> Response:  # noqa: A002
    """Claim one queued task run for the caller's session."""
    body: AgentRunClaimBody = call.body(required=False) or AgentRunClaimBody()
    agent_runs.claim(call.principal.tenant, id, session=session(call), actor=actor(call), now=now(),
                     lease_seconds=body.lease_seconds, idempotency_key=body.idempotency_key)
    return _answer(call, id)


@face.route("/api/task-runs/{id}/start", ["POST"], body=AgentRunStartBody, body_required=False, response=doc.RUN)
def start_task_run(call: Call, id: str) -> Response:  # noqa: A002
    """Start one claimed task run (the caller's session must hold it): it is running."""
    body: AgentRunStartBody = call.body(required=False) or AgentRunStartBody()
    agent_runs.start_run(call.principal.tenant, id, session=session(call), actor=actor(call), now=now(),
                         idempotency_key=body.idempotency_key)
    return _answer(call, id)


@face.route("/api/task-runs/{id}/complete", ["POST"], body=AgentCompleteBody, body_required=False, response=doc.RUN)
def complete_task_run(call: Call, id: str) -> Response:  # noqa: A002
    """Complete one task run the caller's session holds."""
    body: AgentCompleteBody = sized(call.body(required=False) or AgentCompleteBody())
    agent_runs.get_run(call.principal.tenant, id)
    agent_runs.complete(call.principal.tenant, session(call), id, actor=actor(call), now=now(), result=body.result)
    return _answer(call, id)


@face.route("/api/task-runs/{id}/fail", ["POST"], body=AgentFailBody, response=doc.RUN)
def fail_task_run(call: Call, id: str) -> Response:  # noqa: A002
    """Fail one task run the caller's session holds."""
    body: AgentFailBody = call.body()
    agent_runs.get_run(call.principal.tenant, id)
    agent_runs.fail(call.principal.tenant, session(call), id, actor=actor(call), now=now(), error=body.error)
    return _answer(call, id)


@face.route("/api/task-runs/{id}/cancel", ["POST"], body=AgentEmptyBody, body_required=False, response=doc.RUN)
def cancel_task_run(call: Call, id: str) -> Response:  # noqa: A002
    """Cancel one open task run (its holder's session is freed)."""
    call.body(required=False)
    agent_runs.cancel_run(call.principal.tenant, id, actor=actor(call), now=now())
    return _answer(call, id)


@face.route("/api/task-runs/{id}/attach-session", ["POST"], body=AgentAttachSessionBody, response=doc.RUN)
def attach_session(call: Call, id: str) -> Response:  # noqa: A002
    """Attach an agent session to one open task run."""
    body: AgentAttachSessionBody = call.body()
    agent_runs.attach_session(call.principal.tenant, id, session_id=body.session_id, actor=actor(call), now=now())
    return _answer(call, id)
