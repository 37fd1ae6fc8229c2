"""The agent face's observe routes (AGH Runtime, seed 001): the task dashboard, the caller's
inbox, and the caller's triage of one task (`read | dismiss | archive`). Importing this module
registers them on the agent face."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.engine import agent_observer
from chalicelib.engine.agent_observe import Actor, InboxItem, InboxQuery, Lane, TaskFacts
from chalicelib.engine.agent_observer import Observed, Scope, TriageAction
from chalicelib.faces.agent import face as agent_face
from chalicelib.faces.agent import views
from chalicelib.faces.agent.face import face
from chalicelib.faces.agent.observe_doc import DASHBOARD_ANSWER, INBOX_ANSWER, TRIAGE_ANSWER
from chalicelib.faces.agent.observe_requests import ObserveDashboardQuery, ObserveInboxQuery
from chalicelib.faces.agent.observe_view import dashboard_view, inbox_view, triage_view
from chalicelib.faces.http import Call, json_response


def actor_of(call: Call) -> Actor:
    """The caller as an inbox actor (the face's actor), with the key its leases are held under."""
    who = agent_face.actor(call)
    return Actor(kind=who.kind, ref=who.ref, session=agent_face.session(call))


def _scope(params: Any) -> Scope:
    return Scope(scope=params.scope, workspace=params.workspace, owner_kind=params.owner_kind,
                 owner_ref=params.owner_ref, network_channel=getattr(params, "network_channel", None),
                 origin_kind=getattr(params, "origin_kind", None))


@face.route("/api/observe/tasks/dashboard", query=ObserveDashboardQuery, response=DASHBOARD_ANSWER,
            summary="Get the observer-backed task dashboard")
def dashboard(call: Call) -> Response:
    """Counts by status, active runs with age and `stuck`, queue depth per channel, claim and
    start latency, freshness and health of the tenant's agent tasks."""
    board, _ = agent_observer.tenant_dashboard(call.principal.tenant, _scope(call.params), now=agent_face.now())
    return json_response(dashboard_view(board))


def _inbox_run(seen: Observed) -> Any:
    def render(item: InboxItem) -> dict[str, Any]:
        assert item.run is not None
        return views.run_brief(seen.runs[item.run.run_id], item.task.max_attempts)
    return render


@face.route("/api/observe/tasks/inbox", query=ObserveInboxQuery, response=INBOX_ANSWER,
            summary="Get the observer-backed task inbox")
def inbox(call: Call) -> Response:
    """The caller's inbox: lanes `my_work`, `approvals`, `failed_runs`, `blocked`, `archived`,
    with the caller's triage of each item and unread counts."""
    params = call.params
    query = InboxQuery(lane=Lane(params.lane) if params.lane else None, unread=params.unread, text=params.query,
                       limit=params.limit)
    box, seen = agent_observer.actor_inbox(call.principal.tenant, actor_of(call), _scope(params), query)

    def policy(task: TaskFacts) -> str:
        return seen.tasks[task.task_id].approval_policy.value

    def state(task: TaskFacts) -> str:
        return seen.tasks[task.task_id].approval_state.value

    return json_response(inbox_view(box, approval_policy=policy, approval_state=state, run_view=_inbox_run(seen)))


def _triage(call: Call, task_id: str, action: TriageAction) -> Response:
    record = agent_observer.triage(call.principal.tenant, actor_of(call), task_id, action, now=agent_face.now())
    return json_response({"triage": triage_view(record)})


@face.route("/api/tasks/{id}/triage/read", ["POST"], response=TRIAGE_ANSWER,
            summary="Mark one task inbox item as read")
def triage_read(call: Call, id: str) -> Response:  # noqa: A002 - the page's path parameter name
    """Mark the task read for the caller, as of its latest activity."""
    return _triage(call, id, TriageAction.READ)


@face.route("/api/tasks/{id}/triage/dismiss", ["POST"], response=TRIAGE_ANSWER,
            summary="Dismiss one task inbox item")
def triage_dismiss(call: Call, id: str) -> Response:  # noqa: A002
    """Dismiss the task from the caller's inbox until it has new activity."""
    return _triage(call, id, TriageAction.DISMISS)


@face.route("/api/tasks/{id}/triage/archive", ["POST"], response=TRIAGE_ANSWER,
            summary="Archive one task inbox item")
def triage_archive(call: Call, id: str) -> Response:  # noqa: A002
    """Move the task to the caller's `archived` lane."""
    return _triage(call, id, TriageAction.ARCHIVE)
