"""The task document of the Scheduling face: validate a create/replace body and derive from it.

A Qlik scheduling task is a Serverless Workflow document. `validate_task_document` checks a
request body with its model (`requests.SchedulingTaskBody`: the types and shapes of seed 000),
then the rules the model cannot state (unique names, event type and source paired, chain
correlations, values compared case-insensitively), keeps only the fields a client owns, and
derives what the engine needs: the resource, the time schedule (`schedule_form`), the parent
tasks (chaining) and the actions.

Choices where the page is silent or contradicts itself:

- ``eventRefs`` that name no event definition are accepted (the page's own example refers to
  ``app1-dataset-updated`` while its only event is ``event1``); such a reference never fires.
- State ``type`` is ``event`` (the page's example; the typings spell it ``EVENT``) or
  ``operation`` (Serverless Workflow's state that runs actions straight away, for scheduled or
  manual tasks), compared case-insensitively and stored as sent.
- A schedule object holds exactly one of ``cron``, ``interval`` and ``recurrence`` (see
  `schedule_form`).
- Every action needs a ``functionRef``: tasklane runs functions, nothing else.
- ``metadata.disabledCode`` and ``metadata.scriptOwnerId`` are treated as server-owned like
  ``ownerId``: the service records why it disabled a task, and who a run executes as is not the
  caller's to choose.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.errors import BadRequest
from chalicelib.faces.request_models import decode, filled, one_of, refuse
from chalicelib.faces.scheduling.requests import (
    CorrelationAttribute,
    EventSource,
    EventType,
    SchedulingAction,
    SchedulingEvent,
    SchedulingMetadata,
    SchedulingState,
    SchedulingTaskBody,
    Usage,
)
from chalicelib.faces.scheduling.schedule_form import Schedule, parse_start

#: Names take no control characters (NUL, CR, LF, ...), which would break the log lines,
#: headers and client lists they are shown in.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_CHARACTERS = _CONTROL_CHARACTERS

#: The source each event type comes from (the page pairs them in its enums and examples).
_SOURCE_OF = {
    EventType.TASK_RUN_FINISHED: EventSource.TASK,
    EventType.ACTIVE_ANALYTICS_ORCH: EventSource.DATASET_UPDATED,
}


class ParentOutcome(StrEnum):
    """How a parent's run must finish to start the child (the `status` correlation)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


class StateType(StrEnum):
    """`states[].type` (compared case-insensitively)."""

    #: Waits for the events in `onEvents`, then runs their actions.
    EVENT = "event"
    #: Runs its `actions` when the workflow starts (scheduled or manual start).
    OPERATION = "operation"


_ACTION_MODES = frozenset({"sequential", "parallel"})
_INVOKE_MODES = frozenset({"sync", "async"})
#: `metadata` fields a client sets; everything else there is computed by the service.
_USER_METADATA_STRINGS = ("spaceId", "resourceName", "resourceType", "resourceSubType", "migratedFrom")

# -- derived values ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ParentLink:
    """An edge of the dependency graph: this task runs when `task_id` finishes."""

    task_id: str
    #: The outcome the parent's run must have; None: any.
    status: ParentOutcome | None = None


@dataclass(frozen=True, kw_only=True)
class Action:
    """One function call the task makes, in document order."""

    name: str | None
    #: The function's name (`app.reload`), resolved through the engine's function table.
    ref_name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TaskDocument:
    """A validated task document: the client-owned fields, normalised, and what derives from them."""

    name: str
    spec_version: str
    version: str | None = None
    key: str | None = None
    description: str | None = None
    annotations: list[str] | None = None
    #: Disabled unless the body says otherwise.
    enabled: bool = False
    keep_active: bool | None = None
    start: dict[str, Any] | None = None
    events: list[dict[str, Any]] | None = None
    states: list[dict[str, Any]] | None = None
    #: The client part of `metadata` (`usage` defaulted to `ANALYTICS`).
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The `appId` argument of the first action's function, if any.
    resource_id: str | None = None
    schedule: Schedule | None = None
    parents: list[ParentLink] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        """The client-owned fields in the API's spelling (absent ones left out), for storage."""
        document: dict[str, Any] = {"name": self.name, "specVersion": self.spec_version, "enabled": self.enabled}
        optional = {
            "version": self.version,
            "key": self.key,
            "description": self.description,
            "annotations": self.annotations,
            "keepActive": self.keep_active,
            "start": self.start,
            "events": self.events,
            "states": self.states,
        }
        document.update({name: copy.deepcopy(value) for name, value in optional.items() if value is not None})
        document["metadata"] = dict(self.metadata)
        return document


# -- the document -----------------------------------------------------------------------------


def validate_task_document(body: Any) -> TaskDocument:
    """Validate a create/replace body and derive resource, schedule, parents and actions.

    Server-owned fields (`id`, `resourceId`, and `metadata.ownerId`, `createdAt`, `createdBy`,
    `updatedAt`, `deletedAt`, `tenantId`, `topology`, `orchestration`, `trigger`,
    `disabledCode`, `scriptOwnerId`) and unknown top-level fields are ignored. Raises
    `BadRequest` when the body is not a JSON object, and `ValidationError` whose `location` is
    the path of the offending value (`states[0].onEvents[0].actions[0].functionRef.refName`).
    """
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object (a task document)")
    model: SchedulingTaskBody = decode(SchedulingTaskBody, body)
    name = filled(model.name, "name")
    if _CONTROL_CHARACTERS.search(name):
        refuse("name", "must not contain control characters (NUL, CR, LF, tab, ...)")
    filled(model.specVersion, "specVersion")
    events, states = model.events or [], model.states or []
    _check_events(events)
    _check_states(states)
    schedule = parse_start(model.start, {state.name for state in states} if model.states else None)
    actions, resource_id = _actions(states)
    return TaskDocument(
        name=name,
        spec_version=model.specVersion,
        version=model.version,
        key=model.key,
        description=model.description,
        annotations=list(model.annotations) if model.annotations is not None else None,
        enabled=bool(model.enabled),
        keep_active=model.keepActive,
        start=copy.deepcopy(body["start"]) if model.start is not None else None,
        events=copy.deepcopy(body["events"]) if model.events is not None else None,
        states=copy.deepcopy(body["states"]) if model.states is not None else None,
        metadata=_metadata(model.metadata or SchedulingMetadata()),
        resource_id=resource_id,
        schedule=schedule,
        parents=_parents(events, states),
        actions=actions,
    )


def _metadata(metadata: SchedulingMetadata) -> dict[str, Any]:
    result: dict[str, Any] = {key: getattr(metadata, key) for key in _USER_METADATA_STRINGS
                              if getattr(metadata, key) is not None}
    result["usage"] = (metadata.usage or Usage.ANALYTICS).value
    if metadata.spaceType is not None:
        result["spaceType"] = metadata.spaceType.value
    return result


def _check_unique(names: list[str | None], what: str, container: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name is None:
            continue
        if name in seen:
            refuse(f"{container}[{index}].name", f"repeats the {what} name '{name}'; {what} names must be unique", name)
        seen.add(name)


def _check_events(events: list[SchedulingEvent]) -> None:
    _check_unique([event.name for event in events], "event", "events")
    for index, event in enumerate(events):
        path = f"events[{index}]"
        if event.type and event.source and _SOURCE_OF[event.type] != event.source:
            refuse(f"{path}.source", f"must be '{_SOURCE_OF[event.type]}' for events of type '{event.type}'",
                   event.source.value)
        if event.type == EventType.TASK_RUN_FINISHED:
            _check_chain_correlations(event, path)


def _check_chain_correlations(event: SchedulingEvent, path: str) -> None:
    found = [(item.contextAttributeName, item.contextAttributeValue, f"{path}.correlation[{n}].contextAttributeValue")
             for n, item in enumerate(event.correlation or [])]
    ids = [(value, where) for attribute, value, where in found if attribute == CorrelationAttribute.ID]
    if len(ids) != 1:
        refuse(f"{path}.correlation", "needs exactly one 'id' correlation (the parent task id)")
    parent, where = ids[0]
    if not parent or not parent.strip():
        refuse(where, "must name the parent task id", parent)
    statuses = [(value, where) for attribute, value, where in found if attribute == CorrelationAttribute.STATUS]
    if len(statuses) > 1:
        refuse(f"{path}.correlation", "may hold at most one 'status' correlation")
    for value, where in statuses:
        if value is None:
            refuse(where, "is required for a 'status' correlation (succeeded or failed)")
        one_of(value, ParentOutcome, where, fold=True)


def _check_states(states: list[SchedulingState]) -> None:
    _check_unique([state.name for state in states], "state", "states")
    for index, state in enumerate(states):
        path = f"states[{index}]"
        # `type` is optional in the typings; the only documented kind is the event state.
        kind = one_of(state.type, StateType, f"{path}.type", fold=True) or StateType.EVENT
        if kind == StateType.EVENT:
            for position, handler in enumerate(state.onEvents or []):
                where = f"{path}.onEvents[{position}]"
                if handler.eventRefs is None:
                    refuse(f"{where}.eventRefs", "is required (the names of the events this state waits for)")
                _check_actions(handler.actionMode, handler.actions or [], where)
        else:
            _check_actions(state.actionMode, state.actions or [], path)


def _check_actions(mode: str | None, actions: list[SchedulingAction], path: str) -> None:
    one_of(mode, _ACTION_MODES, f"{path}.actionMode", fold=True)
    for index, action in enumerate(actions):
        where = f"{path}.actions[{index}].functionRef"
        ref = action.functionRef
        if ref is None:
            refuse(where, "is required (tasklane actions call functions)")
        if isinstance(ref, str):
            filled(ref, where)
            continue
        filled(ref.refName, f"{where}.refName")
        one_of(ref.invoke, _INVOKE_MODES, f"{where}.invoke", fold=True)


# -- derivations (on a document already checked above) ----------------------------------------


def _is_event_state(state: SchedulingState) -> bool:
    return state.type is None or state.type.casefold() == StateType.EVENT


def _action_sites(states: list[SchedulingState]) -> list[tuple[SchedulingAction, str]]:
    """Every action with its path, in document order."""
    sites = []
    for index, state in enumerate(states):
        if _is_event_state(state):
            for position, handler in enumerate(state.onEvents or []):
                base = f"states[{index}].onEvents[{position}].actions"
                sites += [(action, f"{base}[{n}]") for n, action in enumerate(handler.actions or [])]
        else:
            sites += [(action, f"states[{index}].actions[{n}]") for n, action in enumerate(state.actions or [])]
    return sites


def _actions(states: list[SchedulingState]) -> tuple[list[Action], str | None]:
    actions = []
    resource_id = None
    for position, (action, path) in enumerate(_action_sites(states)):
        ref = action.functionRef
        if ref is None:  # refused by _check_actions before this runs
            continue
        ref_name, arguments = (ref, {}) if isinstance(ref, str) else (ref.refName, ref.arguments or {})
        actions.append(Action(name=action.name, ref_name=ref_name, arguments=copy.deepcopy(arguments)))
        if position == 0 and "appId" in arguments:
            app_id = arguments["appId"]
            if not isinstance(app_id, str) or not app_id.strip():
                refuse(f"{path}.functionRef.arguments.appId", "must be a non-empty string (the resource id)", app_id)
            resource_id = app_id
    return actions, resource_id


def _parents(events: list[SchedulingEvent], states: list[SchedulingState]) -> list[ParentLink]:
    links: dict[str, ParentLink] = {}
    for event in events:
        if event.type == EventType.TASK_RUN_FINISHED and event.name is not None:
            values = {item.contextAttributeName: item.contextAttributeValue for item in event.correlation or []}
            status = values.get(CorrelationAttribute.STATUS)
            parent = values.get(CorrelationAttribute.ID)
            if parent is None:  # refused by _check_chain_correlations before this runs
                continue
            links[event.name] = ParentLink(
                task_id=parent, status=ParentOutcome(status.casefold()) if status else None
            )
    parents: list[ParentLink] = []
    for state in states:
        if not _is_event_state(state):
            continue
        for handler in state.onEvents or []:
            for ref in handler.eventRefs or []:
                link = links.get(ref)
                if link is not None and link not in parents:
                    parents.append(link)
    return parents
