"""Task documents and runs in the page's shapes, and the engine's view of a document.

What is stored (`Task.document`) is the client-owned part of the document as validated by
`workflow.validate_task_document`, plus the few server-owned values that cannot be derived
from the engine's record: `resourceId` and `metadata.ownerId/createdBy/updatedBy/tenantId`.
Everything else the page shows as server-owned is computed at read time: `id`, `enabled`,
`metadata.createdAt/updatedAt/disabledCode` from the engine's task, `metadata.topology`
from the tenant's chain edges, `metadata.trigger` from the document, and
`metadata.orchestration` from the task's newest run. So none of them can go stale.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import settings
from chalicelib.engine import functions
from chalicelib.engine.model import (
    DisabledReason,
    EndReason,
    Run,
    RunStatus,
    Subscription,
    Task,
    TaskListing,
    TaskSpec,
    TriggeredBy,
    TriggerSpec,
)
from chalicelib.faces.scheduling import access
from chalicelib.faces.scheduling.graph import Adjacency
from chalicelib.faces.scheduling.requests import EventType
from chalicelib.faces.scheduling.workflow import TaskDocument
from chalicelib.timefmt import to_api

#: The face name tasks are stored under.
FACE = "scheduling"

#: `metadata.trigger.type` (FACES.md: no published meaning; ours, kept stable).
TRIGGER_NONE = 0
TRIGGER_TIME = 1
TRIGGER_TASK_EVENT = 2
TRIGGER_DATA_EVENT = 4
#: `metadata.orchestration.type`: the page's examples always show 3.
ORCHESTRATION_TYPE = 3


class RunState:
    """Run `status` values of the page."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


# -- document -> engine -------------------------------------------------------------------------


def task_spec(doc: TaskDocument) -> TaskSpec:
    """The engine's view of a validated document: its first action through the function table,
    its schedule as the time trigger, its run-finished correlations as subscriptions."""
    action = doc.actions[0] if doc.actions else None
    trigger = None
    if doc.schedule is not None:
        trigger = TriggerSpec(expression=doc.schedule.expression, timezone=doc.schedule.timezone,
                              start=doc.schedule.start, end=doc.schedule.end)
    subscriptions = tuple(
        Subscription(parent_task_id=link.task_id,
                     outcomes=frozenset({link.status.value}) if link.status is not None else None)
        for link in doc.parents
    )
    limit = settings.current().disable_after_failures
    return TaskSpec(
        executor="function",
        executor_config={"ref_name": action.ref_name if action else None,
                         "arguments": copy.deepcopy(action.arguments) if action else {},
                         "action_name": (action.name or action.ref_name) if action else None},
        trigger=trigger,
        subscriptions=subscriptions,
        disable_after_failures=limit if limit > 0 else None,
    )


def stored_document(doc: TaskDocument, *, tenant: str, owner: str, created_by: str, updated_by: str) -> dict[str, Any]:
    """What is stored for a task: the client fields plus the server-owned values kept with them."""
    document = doc.to_document()
    document["resourceId"] = doc.resource_id
    document["metadata"] = {**document["metadata"], "ownerId": owner, "createdBy": created_by,
                            "updatedBy": updated_by, "tenantId": tenant}
    return document


def trigger_type(document: Mapping[str, Any]) -> int:
    """`metadata.trigger.type`: 1 time-based, 2 task event, 4 data event, 0 manual only."""
    if (document.get("start") or {}).get("schedule") is not None:
        return TRIGGER_TIME
    kinds = {event.get("type") for event in document.get("events") or []}
    if EventType.TASK_RUN_FINISHED in kinds:
        return TRIGGER_TASK_EVENT
    if EventType.ACTIVE_ANALYTICS_ORCH in kinds:
        return TRIGGER_DATA_EVENT
    return TRIGGER_NONE


# -- engine -> page -----------------------------------------------------------------------------


def run_status(run: Run) -> str:
    """RUNNING while pending or running (the page's enum has nothing else), then SUCCEEDED or FAILED."""
    if run.status is not RunStatus.ENDED:
        return RunState.RUNNING
    return RunState.SUCCEEDED if run.end_reason is EndReason.SUCCESS else RunState.FAILED


def triggered_by(run: Run) -> str:
    """The run's source (`manual`, a parent task's name, ...), or how it started."""
    if run.source:
        return run.source
    return "schedule" if run.triggered_by is TriggeredBy.CRON else run.triggered_by.value


#: `metadata.disabledCode` for each reason the engine disables a task (the page's enum has no
#: word for a stop, which only the daemon face makes: a stop is a manual disable).
DISABLED_CODES = {
    DisabledReason.REQUESTED: "MANUALLY",
    DisabledReason.STOPPED: "MANUALLY",
    DisabledReason.CONSECUTIVE_FAILURES: "CONSECUTIVE-FAILURES",
}


def worker_type(task: Task) -> str:
    """The function table's `workerType` for the task's function, else the function's name."""
    ref_name = task.spec.executor_config.get("ref_name")
    return (functions.entry(ref_name).get("workerType") if ref_name else None) or ref_name or "function"


def last_run_summary(run: Run, task: Task) -> dict[str, Any]:
    """`metadata.orchestration.lastRun`; also the first fields of a run."""
    return {
        "id": run.run_id,
        "status": run_status(run),
        "endedAt": to_api(run.ended_at),
        "workerId": run.worker_id or run.run_id,
        "startedAt": to_api(run.started_at),
        "executedAs": run.extra.get("executedAs") or owner_of(task),
        "workerType": run.extra.get("workerType") or worker_type(task),
        "triggeredBy": triggered_by(run),
    }


def owner_of(task: Task) -> str | None:
    return access.owner_of(task.document)


def action_id(task: Task) -> str:
    """The `actionId` of the task's runs: the action's name, else its function's."""
    config = task.spec.executor_config
    return config.get("action_name") or config.get("ref_name") or ""


@dataclass(frozen=True, kw_only=True)
class TaskContext:
    """What rendering a task needs beyond the task: the tenant's edges and its newest run."""

    adjacency: Adjacency
    last_run: Run | None = None


def render_task(task: Task, context: TaskContext) -> dict[str, Any]:
    """A task in the page's shape."""
    stored = copy.deepcopy(task.document or {})
    metadata = stored.pop("metadata", {}) or {}
    resource_id = stored.pop("resourceId", None)
    stored.pop("enabled", None)
    body: dict[str, Any] = {"id": task.task_id, **stored, "enabled": task.enabled}
    if resource_id is not None:
        body["resourceId"] = resource_id
    meta = dict(metadata)
    meta["trigger"] = {"id": task.task_id, "type": trigger_type(stored)}
    meta["topology"] = {"isChild": context.adjacency.is_child(task.task_id),
                        "isParent": context.adjacency.is_parent(task.task_id)}
    meta["createdAt"] = to_api(task.created_at)
    meta["updatedAt"] = to_api(task.updated_at)
    if not task.enabled and task.disabled_code:
        meta["disabledCode"] = DISABLED_CODES[task.disabled_code]
    orchestration: dict[str, Any] = {"id": task.task_id, "type": ORCHESTRATION_TYPE, "attrs": {}}
    if context.last_run is not None:
        last = last_run_summary(context.last_run, task)
        orchestration["attrs"] = {
            "last_run_status": last["status"],
            "last_run_endedAt": last["endedAt"],
            "last_run_startedAt": last["startedAt"],
            "last_run_worker_type": last["workerType"],
        }
        orchestration["lastRun"] = last
    meta["orchestration"] = orchestration
    body["metadata"] = meta
    return body


def filter_record(rendered: Mapping[str, Any]) -> dict[str, Any]:
    """A rendered task as the SCIM filter and the sort see it (the documented field names)."""
    meta = rendered.get("metadata") or {}
    last = (meta.get("orchestration") or {}).get("lastRun") or {}
    return {
        "id": rendered.get("id"),
        "name": rendered.get("name"),
        "enabled": rendered.get("enabled"),
        "resourceId": rendered.get("resourceId"),
        "ownerId": meta.get("ownerId"),
        "spaceId": meta.get("spaceId"),
        "createdAt": meta.get("createdAt"),
        "updatedAt": meta.get("updatedAt"),
        "updatedBy": meta.get("updatedBy"),
        "lastStatus": last.get("status"),
        "lastTriggeredBy": last.get("triggeredBy"),
        "lastStartedAt": last.get("startedAt"),
        "lastEndedAt": last.get("endedAt"),
        "lastExecutedAs": last.get("executedAs"),
        "triggerType": (meta.get("trigger") or {}).get("type"),
    }


def listing_record(listing: TaskListing, last_run: Run | None = None) -> dict[str, Any]:
    """`filter_record(render_task(task, ...))` of the task a listing was read from, made from
    the listing without rendering (no copy of the document; the topology is not a field)."""
    document = listing.document or {}
    metadata = document.get("metadata", {}) or {}
    summary: dict[str, Any] = {}
    if last_run is not None:
        summary = {"status": run_status(last_run), "triggeredBy": triggered_by(last_run),
                   "startedAt": to_api(last_run.started_at), "endedAt": to_api(last_run.ended_at),
                   "executedAs": last_run.extra.get("executedAs") or access.owner_of(listing.document)}
    return {
        "id": document["id"] if "id" in document else listing.task_id,
        "name": document.get("name"),
        "enabled": listing.enabled,
        "resourceId": document.get("resourceId"),
        "ownerId": metadata.get("ownerId"),
        "spaceId": metadata.get("spaceId"),
        "createdAt": to_api(listing.created_at),
        "updatedAt": to_api(listing.updated_at),
        "updatedBy": metadata.get("updatedBy"),
        "lastStatus": summary.get("status"),
        "lastTriggeredBy": summary.get("triggeredBy"),
        "lastStartedAt": summary.get("startedAt"),
        "lastEndedAt": summary.get("endedAt"),
        "lastExecutedAs": summary.get("executedAs"),
        "triggerType": trigger_type(document),
    }


def task_meta_snapshot(rendered: Mapping[str, Any]) -> dict[str, Any]:
    """The task's metadata as a run records it (without the run history it would nest)."""
    meta = copy.deepcopy(dict(rendered.get("metadata") or {}))
    meta.pop("orchestration", None)
    return meta


def render_run(run: Run, task: Task, *, current_meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A run in the page's shape. `taskMeta` is the snapshot taken when the run was started from
    the API; runs the engine starts by itself (schedule, chain) show the task's current metadata."""
    return {
        **last_run_summary(run, task),
        "taskId": run.task_id,
        "actionId": run.extra.get("actionId") or action_id(task),
        "taskMeta": run.extra.get("taskMeta") or dict(current_meta or {}),
        "taskName": run.extra.get("taskName") or task.name,
        "resourceId": run.extra.get("resourceId") or (task.document or {}).get("resourceId") or "",
    }
