"""What /openapi.json says about the agent face as a whole (seed 001): its tag, the error answer
every operation may give and the response schemas. Paths, methods, query parameters and request
bodies are derived from the routes and their models."""

from __future__ import annotations

from typing import Any

from chalicelib.faces.http import FaceDoc


def ref(name: str) -> dict[str, str]:
    """A `$ref` to one of the response schemas below."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(**properties: Any) -> dict[str, Any]:
    """An object schema with these properties."""
    return {"type": "object", "properties": properties}


_S = {"type": "string"}
_SN = {"type": ["string", "null"]}
_AT = {"type": ["string", "null"], "format": "date-time"}
_I = {"type": "integer"}
_B = {"type": "boolean"}
_ACTOR = obj(kind=_S, ref=_S)
_ACTOR_N = {"anyOf": [_ACTOR, {"type": "null"}]}
_TASK_STATUS = {"enum": ["draft", "pending", "blocked", "ready", "in_progress", "completed", "failed", "canceled"]}
_RUN_STATUS = {"enum": ["queued", "claimed", "starting", "running", "completed", "failed", "canceled"]}
_PRIORITY = {"enum": ["low", "medium", "high", "urgent"]}

_RUN_COMMON = dict(attempt=_I, claim_token_hash=_SN, claimed_at=_AT, claimed_by=_ACTOR_N, coordination_channel={},
                   coordination_channel_id=_SN, ended_at=_AT, error=_SN, heartbeat_at=_AT, id=_S, lease_until=_AT,
                   queued_at=_AT, session_id=_SN, started_at=_AT, status=_RUN_STATUS, task_id=_S)
_TASK = dict(approval_policy={"enum": ["none", "manual"]},
             approval_state={"enum": ["not_required", "pending", "approved", "rejected"]}, closed_at=_AT,
             created_at=_AT, created_by=_ACTOR, description=_SN, draft=_B, id=_S, identifier=_S, max_attempts=_I,
             metadata={}, network_channel=_SN, origin=_ACTOR_N, owner=_ACTOR, parent_task_id=_SN, priority=_PRIORITY,
             scope={"enum": ["global", "workspace"]}, status=_TASK_STATUS, title=_S, updated_at=_AT,
             workspace_id=_SN)
_DEPENDENCY = dict(created_at=_AT, depends_on_task_id=_S, kind={"enum": ["blocks"]}, task_id=_S)
_LIST_ITEM = {k: v for k, v in _TASK.items() if k not in ("description", "metadata")}
_LIST_ITEM.update(active_run={"anyOf": [ref("AgentRunBrief"), {"type": "null"}]}, child_count=_I,
                  dependencies={"type": "array", "items": ref("AgentDependencyReference")}, dependency_count=_I,
                  last_activity_at=_AT)
_TIMELINE_ITEM = obj(actor=_ACTOR_N, event_id=_S, event_type=_S, origin=_ACTOR_N, payload={},
                     run={"anyOf": [ref("AgentRunBrief"), {"type": "null"}]}, sequence=_I,
                     task=ref("AgentTaskSummary"), timestamp=_AT)
_TREE_NODE = obj(active_run={"anyOf": [ref("AgentRunBrief"), {"type": "null"}]}, child_count=_I, depth=_I,
                 last_activity_at=_AT, parent_task_id=_SN, task=ref("AgentTaskSummary"))

SCHEMAS: dict[str, Any] = {
    "AgentError": obj(error=_S),
    "AgentTaskSummary": obj(id=_S, identifier=_S, owner=_ACTOR, priority=_PRIORITY,
                            scope={"enum": ["global", "workspace"]}, status=_TASK_STATUS, title=_S, workspace_id=_SN),
    "AgentTask": obj(**_TASK),
    "AgentTaskListItem": obj(**_LIST_ITEM),
    "AgentDependency": obj(**_DEPENDENCY),
    "AgentDependencyReference": obj(**_DEPENDENCY, depends_on={"anyOf": [ref("AgentTaskSummary"), {"type": "null"}]}),
    "AgentRun": obj(**_RUN_COMMON, idempotency_key=_SN, metadata={}, network_channel=_SN, origin=_ACTOR_N, result={}),
    "AgentRunBrief": obj(**_RUN_COMMON, max_attempts=_I),
    "AgentLease": obj(claim_token_hash=_SN, claimed_by=_ACTOR_N, coordination_channel={}, coordination_channel_id=_SN,
                      heartbeat_at=_AT, lease_until=_AT, run_id=_S, session_id=_SN, status=_RUN_STATUS, task_id=_S),
    "AgentTimelineItem": _TIMELINE_ITEM,
    "AgentTreeNode": _TREE_NODE,
}

TASK = obj(task=ref("AgentTask"))
TASK_DETAIL = obj(task=obj(
    children={"type": "array", "items": ref("AgentTaskListItem")},
    dependencies={"type": "array", "items": ref("AgentDependency")},
    dependency_references={"type": "array", "items": ref("AgentDependencyReference")},
    events={"type": "array", "items": obj(actor=_ACTOR_N, event_type=_S, id=_S, origin=_ACTOR_N, payload={},
                                          run_id=_SN, task_id=_S, timestamp=_AT)},
    runs={"type": "array", "items": ref("AgentRun")}, summary=ref("AgentTaskListItem"), task=ref("AgentTask"),
    dependents={"type": "array", "items": _S, "description": "ids of the tasks that wait for this one (tasklane)"}))
TASK_LIST = obj(tasks={"type": "array", "items": ref("AgentTaskListItem")},
                next_cursor={**_SN, "description": "pass as `cursor` for the next page (tasklane)"})
RUN = obj(run=ref("AgentRun"))
RUN_AND_TASK = obj(run={"anyOf": [ref("AgentRun"), {"type": "null"}]}, task=ref("AgentTask"))
RUN_LIST = obj(runs={"type": "array", "items": ref("AgentRun")})
_IN = {"type": ["integer", "null"]}
_SESSION = obj(agent_name=_SN, channel=_SN, created_at=_AT, name=_SN, session_id=_S, state=_SN, updated_at=_AT,
               workspace_id=_SN)
_SUMMARY = obj(cost_currency=_SN, input_tokens=_IN, last_activity_at=_AT, last_event_type=_SN, output_tokens=_IN,
               tool_call_count=_IN, total_cost={"type": ["number", "null"]}, total_tokens=_IN, turn_count=_IN)
RUN_DETAIL = obj(run=obj(run=ref("AgentRun"), session={"anyOf": [_SESSION, {"type": "null"}]},
                         summary={"anyOf": [_SUMMARY, {"type": "null"}]},
                         task=ref("AgentTaskSummary")))
LEASE = obj(lease=ref("AgentLease"))
CLAIM = obj(claim=obj(coordination_channel={}, lease=ref("AgentLease"), run=ref("AgentRun"),
                      task=ref("AgentTaskSummary"),
                      claim_token={**_S, "description": "the raw claim token, shown once (tasklane)"}))
TIMELINE = obj(timeline={"type": "array", "items": ref("AgentTimelineItem")},
               next_after_sequence={"type": ["integer", "null"]})
TREE = obj(tree=obj(root=ref("AgentTreeNode"), descendants={"type": "array", "items": ref("AgentTreeNode")}))

_ERROR_TEXTS = {400: "Bad request (names the offending field).", 401: "No or bad token.",
                404: "No such task or run in this tenant.",
                409: "Conflict with the current state (wrong status, open run, stale lease holder).",
                429: "Too many held requests; see Retry-After."}

#: A request with no token is answered by the gateway (template.yaml MissingTokenResponse), in
#: the system shape; a bad token by the face: faces/http.py adds the gateway's to every 401.
_ERRORS = {str(code): {"description": text, "content": {"application/json": {"schema": ref("AgentError")}}}
           for code, text in _ERROR_TEXTS.items()}

DOC = FaceDoc(
    tag="agent",
    description="AGH Runtime task API: a work queue agents pull from under leases, with dependencies, "
                "approvals, timelines and a live stream.",
    errors=_ERRORS,
    schemas=SCHEMAS,
)
