"""The agent's own calls (seed 001, `/api/agent/tasks...`): claim the next run, then heartbeat,
complete, fail or release it. Each acts for the caller's session, which holds at most one lease;
a session that no longer holds the run (its lease ran out, or it was requeued or canceled) is
answered 409.

claim-next answers 200 with the claim and the raw claim token (shown this once; only its
`sha256:` hash is stored), or 204 when nothing is claimable. With `wait_seconds` it holds the
request until work appears, at most the hold cap (`TASKLANE_MAX_HOLD_SECONDS`, 25 s, so it ends
inside API Gateway's 29 s), counted against the tenant's held-request slots like the daemon
face's `wait=true` and log streams.
"""

from __future__ import annotations

from chalice import Response

from chalicelib import settings
from chalicelib.engine import agent_runs
from chalicelib.engine.agent_runs import AgentClaim
from chalicelib.faces import held_requests
from chalicelib.faces.agent import openapi_doc as doc
from chalicelib.faces.agent import views
from chalicelib.faces.agent.face import actor, face, now, session, sized
from chalicelib.faces.agent.requests import (
    AgentClaimNextBody,
    AgentCompleteBody,
    AgentFailBody,
    AgentHeartbeatBody,
    AgentReleaseBody,
)
from chalicelib.faces.http import Call, json_response

#: How often a held claim-next tries again, seconds.
_POLL_SECONDS = 0.25


def _claim(call: Call, body: AgentClaimNextBody) -> AgentClaim | None:
    return agent_runs.claim_next(call.principal.tenant, session(call), actor=actor(call), now=now(),
                                 lease_seconds=body.lease_seconds, network_channel=body.network_channel,
                                 scope=body.scope, workspace_id=body.workspace_id)


@face.route("/api/agent/tasks/claim-next", ["POST"], body=AgentClaimNextBody, body_required=False, response=doc.CLAIM,
            description="204 (no body) when nothing is claimable.",
            answers={"204": {"description": "Nothing is claimable."}})
def claim_next(call: Call) -> Response:
    """Atomically claim the next matching task run for the calling agent."""
    body: AgentClaimNextBody = call.body(required=False) or AgentClaimNextBody()
    claimed = _claim(call, body)
    wait = min(body.wait_seconds or 0.0, settings.current().max_hold_seconds)
    if claimed is None and wait > 0:
        with held_requests.hold(call.principal.tenant, seconds=wait):
            claimed = held_requests.poll_until(None, lambda: _claim(call, body), lambda found: found is not None,
                                               seconds=wait, poll=_POLL_SECONDS)
    if claimed is None:
        return Response(body="", status_code=204)
    run = claimed.claim.run
    return json_response({"claim": {"coordination_channel": None, "lease": views.lease(run),
                                    "run": views.run(run, claimed.task), "task": views.task_summary(claimed.task),
                                    "claim_token": claimed.claim.token}})


def _lease(call: Call, run_id: str) -> None:
    agent_runs.get_run(call.principal.tenant, run_id)  # 404 for no such agent run of the tenant


@face.route("/api/agent/tasks/{run_id}/heartbeat", ["POST"], body=AgentHeartbeatBody, body_required=False,
            response=doc.LEASE)
def heartbeat(call: Call, run_id: str) -> Response:
    """Extend a claimed task-run lease for the calling agent."""
    body: AgentHeartbeatBody = call.body(required=False) or AgentHeartbeatBody()
    _lease(call, run_id)
    run = agent_runs.heartbeat(call.principal.tenant, session(call), run_id, actor=actor(call), now=now(),
                               lease_seconds=body.lease_seconds)
    return json_response({"lease": views.lease(run)})


@face.route("/api/agent/tasks/{run_id}/complete", ["POST"], body=AgentCompleteBody, body_required=False,
            response=doc.LEASE)
def complete(call: Call, run_id: str) -> Response:
    """Complete a claimed task run for the calling agent."""
    body: AgentCompleteBody = sized(call.body(required=False) or AgentCompleteBody())
    _lease(call, run_id)
    run = agent_runs.complete(call.principal.tenant, session(call), run_id, actor=actor(call), now=now(),
                              result=body.result)
    return json_response({"lease": views.lease(run)})


@face.route("/api/agent/tasks/{run_id}/fail", ["POST"], body=AgentFailBody, response=doc.LEASE)
def fail(call: Call, run_id: str) -> Response:
    """Fail a claimed task run for the calling agent."""
    body: AgentFailBody = call.body()
    _lease(call, run_id)
    run = agent_runs.fail(call.principal.tenant, session(call), run_id, actor=actor(call), now=now(),
                          error=body.error)
    return json_response({"lease": views.lease(run)})


@face.route("/api/agent/tasks/{run_id}/release", ["POST"], body=AgentReleaseBody, body_required=False,
            response=doc.LEASE)
def release(call: Call, run_id: str) -> Response:
    """Release a claimed task run for the calling agent: it is queued again."""
    body: AgentReleaseBody = call.body(required=False) or AgentReleaseBody()
    _lease(call, run_id)
    run = agent_runs.release(call.principal.tenant, session(call), run_id, actor=actor(call), now=now(),
                             reason=body.reason)
    return json_response({"lease": views.lease(run)})
