"""A task's timeline and its live stream (seed 001).

Every change to a task or its runs is an event with a per-task increasing `sequence`.
`timeline?after_sequence=&limit=` pages through them; `stream` serves the same entries as
Server-Sent Events whose `id:` is the sequence, so an EventSource resumes by `Last-Event-ID`
(or `after_sequence`). Chalice sends a response whole, so the stream is a long poll in SSE
framing, as the daemon face's log stream: it holds while nothing new happened (at most the hold
cap, inside API Gateway's 29 s), answers every entry after the resume point, and adds a `done`
event once the task is settled (completed, failed, canceled) and nothing is left to send.
"""

from __future__ import annotations

import json

from chalice import Response

from chalicelib import settings
from chalicelib.engine import agent_tasks, agent_timeline
from chalicelib.engine.agent_model import AgentTask
from chalicelib.engine.ports import Event
from chalicelib.engine.pull_status import SETTLED
from chalicelib.errors import ValidationError
from chalicelib.faces import held_requests
from chalicelib.faces.agent import openapi_doc as doc
from chalicelib.faces.agent import views
from chalicelib.faces.agent.face import face
from chalicelib.faces.agent.face import now as face_now
from chalicelib.faces.agent.requests import AgentStreamQuery, AgentTimelineQuery
from chalicelib.faces.http import Call, json_response

#: How long one stream response holds at most, seconds (further capped by max_hold_seconds).
STREAM_HOLD_SECONDS = 20.0
_POLL_SECONDS = 0.5
#: Most entries one stream response carries (the client resumes from the last id).
STREAM_BATCH = 500


@face.route("/api/tasks/{id}/timeline", query=AgentTimelineQuery, response=doc.TIMELINE)
def timeline(call: Call, id: str) -> Response:  # noqa: A002 - the product's name
    """Get one task timeline, oldest first; `next_after_sequence` continues it."""
    query: AgentTimelineQuery = call.params
    task = agent_tasks.get(call.principal.tenant, id)
    page = agent_timeline.timeline(call.principal.tenant, id, after=query.after_sequence, limit=query.limit,
                                   now=face_now())
    return json_response({"timeline": [views.timeline_item(event, task) for event in page.events],
                          "next_after_sequence": page.next_after})


@face.route("/api/tasks/{id}/stream", query=AgentStreamQuery,
            description="text/event-stream: `id:` is the sequence; resume with Last-Event-ID or after_sequence.")
def stream(call: Call, id: str) -> Response:  # noqa: A002
    """Stream task-native live events for one task."""
    tenant = call.principal.tenant
    task = agent_tasks.get(tenant, id)
    after = _resume_point(call)

    def read() -> tuple[AgentTask, list[Event]]:
        page = agent_timeline.timeline(tenant, id, after=after, limit=STREAM_BATCH, now=face_now())
        return agent_tasks.get(tenant, id), page.events

    first = (task, agent_timeline.timeline(tenant, id, after=after, limit=STREAM_BATCH, now=face_now()).events)
    hold = min(STREAM_HOLD_SECONDS, settings.current().max_hold_seconds)
    if first[1] or task.status in SETTLED:
        task, events = first
    else:
        with held_requests.hold(tenant, seconds=hold):
            task, events = held_requests.poll_until(first, read, lambda got: bool(got[1]) or got[0].status in SETTLED,
                                                    seconds=hold, poll=_POLL_SECONDS)
    parts = ["retry: 1000\n\n"]
    for event in events:
        entry = {"sequence": event.sequence, "timeline": views.timeline_item(event, task), "type": "timeline"}
        parts.append(f"id: {event.sequence}\nevent: timeline\ndata: {json.dumps(entry, default=str)}\n\n")
    last = events[-1].sequence if events else after
    caught_up = not agent_timeline.timeline(tenant, id, after=last, limit=1).events
    if caught_up and len(events) < STREAM_BATCH and _settled_in_log(tenant, id, task, events, after):
        parts.append(f"event: done\ndata: {json.dumps({'status': task.status.value})}\n\n")
    return Response(body="".join(parts), status_code=200,
                    headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})


def _settled_in_log(tenant: str, task_id: str, task: AgentTask, events: list[Event], after: int) -> bool:
    """The task is settled and the event that settled it is in the log up to what this answer
    sends. The task is saved settled a moment before that event is appended, so the task alone
    would let a client stop (`done`) one event short."""
    if task.status not in SETTLED:
        return False
    last = events[-1] if events else next(iter(agent_timeline.timeline(tenant, task_id, after=max(0, after - 1),
                                                                       limit=1).events), None)
    recorded = ((last.data.get("task") or {}).get("status") if last is not None else None)
    return recorded in {status.value for status in SETTLED}


def _resume_point(call: Call) -> int:
    raw = call.header("last-event-id")
    if raw is None or raw == "":
        query: AgentStreamQuery = call.params
        return query.after_sequence or 0
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError("Last-Event-ID is a sequence number", location="header.Last-Event-ID",
                              value=raw) from None
    return max(0, value)
