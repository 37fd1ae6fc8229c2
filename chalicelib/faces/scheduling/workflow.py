"""The task document of the Scheduling face: validate a create/replace body and derive from it.

A Qlik scheduling task is a Serverless Workflow document. `validate_task_document` checks a
request body against the schema on the API page (seed 000; where the page truncates nested
schemas, the published ``@qlik/api`` typings of the same API fill in ``Schedule``, ``Crondef``,
``Eventstate``, ``Onevents``, ``Action`` and ``Functionref``), keeps only the fields a client
owns, and derives what the engine needs: the resource, the time schedule, the parent tasks
(chaining) and the actions.

Choices where the page is silent or contradicts itself:

- ``eventRefs`` that name no event definition are accepted (the page's own example refers to
  ``app1-dataset-updated`` while its only event is ``event1``); such a reference never fires.
- State ``type`` is ``event`` (the page's example; the typings spell it ``EVENT``) or
  ``operation`` (Serverless Workflow's state that runs actions straight away, for scheduled or
  manual tasks), compared case-insensitively and stored as sent.
- A schedule object holds exactly one of ``cron``, ``interval`` and ``recurrence``; a string
  schedule is an ISO 8601 repeating interval. Naive ``startDateTime``/``endDateTime``/
  ``validUntil`` are read in the schedule's ``timezone``.
- Every action needs a ``functionRef``: tasklane runs functions, nothing else.
- ``metadata.disabledCode`` and ``metadata.scriptOwnerId`` are treated as server-owned like
  ``ownerId``: the service records why it disabled a task, and who a run executes as is not the
  caller's to choose.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.engine.schedule import Schedule, schedule_of
from chalicelib.errors import BadRequest, ValidationError

# -- enums from the page ----------------------------------------------------------------------


class EventType(StrEnum):
    """`events[].type`."""

    #: A task run finished; correlated on the parent's `id` (and optionally `status`).
    TASK_RUN_FINISHED = "com.qlik.v1.task.run.finished"
    #: A data event (a dataset was updated).
    ACTIVE_ANALYTICS_ORCH = "com.qlik/active-analytics-orch"


class EventSource(StrEnum):
    """`events[].source`."""

    TASK = "system-events.task"
    DATASET_UPDATED = "dataset.updated"


#: Longest task name, in characters; names also take no control characters (NUL, CR, LF, ...),
#: which would break the log lines, headers and client lists they are shown in.
MAX_TASK_NAME_LENGTH = 256
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")

#: The source each event type comes from (the page pairs them in its enums and examples).
_SOURCE_OF = {
    EventType.TASK_RUN_FINISHED: EventSource.TASK,
    EventType.ACTIVE_ANALYTICS_ORCH: EventSource.DATASET_UPDATED,
}


class CorrelationAttribute(StrEnum):
    """`events[].correlation[].contextAttributeName`."""

    ID = "id"
    STATUS = "status"
    APP_ID = "appId"
    SPACE_ID = "spaceId"
    DATASET_ID = "datasetId"


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


class Usage(StrEnum):
    """`metadata.usage`; `ANALYTICS` when absent."""

    ANALYTICS = "ANALYTICS"
    DATA_PREPARATION = "DATA_PREPARATION"
    DATAFLOW_PREP = "DATAFLOW_PREP"
    SINGLE_TABLE_PREP = "SINGLE_TABLE_PREP"


class SpaceType(StrEnum):
    """`metadata.spaceType`."""

    PERSONAL = "personal"
    SHARED = "shared"
    MANAGED = "managed"


_ACTION_MODES = frozenset({"sequential", "parallel"})
_INVOKE_MODES = frozenset({"sync", "async"})
_TIMEOUT_KEYS = ("actionExecTimeout", "eventTimeout", "stateExecTimeout")
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


# -- small checks -----------------------------------------------------------------------------


def _fail(path: str, message: str, value: Any = None) -> NoReturn:
    raise ValidationError(f"{path} {message}", location=path, value=value)


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, "must be an object", value)
    return value


def _array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        _fail(path, "must be an array", value)
    return value


def _string(obj: Mapping[str, Any], key: str, path: str, *, required: bool = False, nonempty: bool = False) -> Any:
    where = f"{path}.{key}" if path else key
    if key not in obj or obj[key] is None:
        if required:
            _fail(where, "is required")
        return None
    value = obj[key]
    if not isinstance(value, str):
        _fail(where, "must be a string", value)
    if nonempty and not value.strip():
        _fail(where, "must not be empty", value)
    return value


def _boolean(obj: Mapping[str, Any], key: str, path: str) -> bool | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        _fail(f"{path}.{key}" if path else key, "must be true or false", value)
    return value


def _strings(obj: Mapping[str, Any], key: str, path: str) -> list[str] | None:
    where = f"{path}.{key}" if path else key
    if obj.get(key) is None:
        return None
    items = _array(obj[key], where)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            _fail(f"{where}[{index}]", "must be a string", item)
    return list(items)


def _choice(value: str | None, allowed: type[StrEnum] | frozenset[str], path: str, *, fold: bool = False) -> Any:
    if value is None:
        return None
    options = [str(option) for option in allowed]
    for option in options:
        if value == option or (fold and value.casefold() == option.casefold()):
            return option
    _fail(path, "must be one of " + ", ".join(sorted(options)), value)


def _instant(text: str, path: str, zone: ZoneInfo | None = None) -> datetime:
    """An aware UTC datetime from ISO 8601 text; naive text is read in `zone` (or refused)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        _fail(path, "must be an ISO 8601 date-time such as 2025-01-01T08:00:00Z", text)
    if value.tzinfo is None or value.utcoffset() is None:
        if zone is None:
            _fail(path, "must carry a zone ('Z' or an offset)", text)
        value = value.replace(tzinfo=zone)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        _fail(path, "is out of range: in UTC it falls outside years 1 to 9999", text)


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
    name = _string(body, "name", "", required=True, nonempty=True)
    if len(name) > MAX_TASK_NAME_LENGTH:
        _fail("name", f"must be at most {MAX_TASK_NAME_LENGTH} characters")
    if _CONTROL_CHARACTERS.search(name):
        _fail("name", "must not contain control characters (NUL, CR, LF, tab, ...)")
    spec_version = _string(body, "specVersion", "", required=True, nonempty=True)
    enabled = _boolean(body, "enabled", "")
    events = _events(body.get("events"))
    states = _states(body.get("states"))
    state_names = {state.get("name") for state in states or []}
    start, schedule = _start(body.get("start"), state_names if states else None)
    actions, resource_id = _actions(states or [])
    return TaskDocument(
        name=name,
        spec_version=spec_version,
        version=_string(body, "version", ""),
        key=_string(body, "key", ""),
        description=_string(body, "description", ""),
        annotations=_strings(body, "annotations", ""),
        enabled=bool(enabled),
        keep_active=_boolean(body, "keepActive", ""),
        start=start,
        events=events,
        states=states,
        metadata=_metadata(body.get("metadata")),
        resource_id=resource_id,
        schedule=schedule,
        parents=_parents(events or [], states or []),
        actions=actions,
    )


def _metadata(value: Any) -> dict[str, Any]:
    metadata = _object(value, "metadata") if value is not None else {}
    result: dict[str, Any] = {}
    for key in _USER_METADATA_STRINGS:
        if (text := _string(metadata, key, "metadata")) is not None:
            result[key] = text
    usage = _choice(_string(metadata, "usage", "metadata"), Usage, "metadata.usage")
    result["usage"] = usage or Usage.ANALYTICS.value
    space_type = _choice(_string(metadata, "spaceType", "metadata"), SpaceType, "metadata.spaceType")
    if space_type is not None:
        result["spaceType"] = space_type
    return result


def _events(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    seen: set[str] = set()
    for index, raw in enumerate(_array(value, "events")):
        path = f"events[{index}]"
        event = _object(raw, path)
        name = _string(event, "name", path)
        if name is not None:
            if name in seen:
                _fail(f"{path}.name", f"repeats the event name '{name}'; event names must be unique", name)
            seen.add(name)
        kind = _choice(_string(event, "type", path), EventType, f"{path}.type")
        source = _choice(_string(event, "source", path), EventSource, f"{path}.source")
        if kind and source and _SOURCE_OF[EventType(kind)] != source:
            _fail(f"{path}.source", f"must be '{_SOURCE_OF[EventType(kind)]}' for events of type '{kind}'", source)
        _boolean(event, "dataOnly", path)
        correlations = _correlations(event, path)
        if kind == EventType.TASK_RUN_FINISHED:
            _check_chain_correlations(correlations, path)
    return copy.deepcopy(value)


def _correlations(event: Mapping[str, Any], path: str) -> list[tuple[str, str | None, str]]:
    """(attribute, value, path of the value) for each correlation of an event."""
    if event.get("correlation") is None:
        return []
    found = []
    for index, raw in enumerate(_array(event["correlation"], f"{path}.correlation")):
        where = f"{path}.correlation[{index}]"
        item = _object(raw, where)
        attribute = _string(item, "contextAttributeName", where, required=True)
        attribute = _choice(attribute, CorrelationAttribute, f"{where}.contextAttributeName")
        found.append((attribute, _string(item, "contextAttributeValue", where), f"{where}.contextAttributeValue"))
    return found


def _check_chain_correlations(correlations: list[tuple[str, str | None, str]], path: str) -> None:
    ids = [(value, where) for attribute, value, where in correlations if attribute == CorrelationAttribute.ID]
    if len(ids) != 1:
        _fail(f"{path}.correlation", "needs exactly one 'id' correlation (the parent task id)")
    parent, where = ids[0]
    if not parent or not parent.strip():
        _fail(where, "must name the parent task id", parent)
    statuses = [(value, where) for attribute, value, where in correlations if attribute == CorrelationAttribute.STATUS]
    if len(statuses) > 1:
        _fail(f"{path}.correlation", "may hold at most one 'status' correlation")
    for value, where in statuses:
        if value is None:
            _fail(where, "is required for a 'status' correlation (succeeded or failed)")
        _choice(value, ParentOutcome, where, fold=True)


def _states(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    seen: set[str] = set()
    for index, raw in enumerate(_array(value, "states")):
        path = f"states[{index}]"
        state = _object(raw, path)
        name = _string(state, "name", path)
        if name is not None:
            if name in seen:
                _fail(f"{path}.name", f"repeats the state name '{name}'; state names must be unique", name)
            seen.add(name)
        # `type` is optional in the typings; the only documented kind is the event state.
        kind = _choice(_string(state, "type", path), StateType, f"{path}.type", fold=True) or StateType.EVENT
        for key in ("end", "exclusive"):
            _boolean(state, key, path)
        _string(state, "compensatedBy", path)
        if state.get("timeouts") is not None:
            timeouts = _object(state["timeouts"], f"{path}.timeouts")
            for key in _TIMEOUT_KEYS:
                _string(timeouts, key, f"{path}.timeouts")
        if kind == StateType.EVENT:
            handlers = _array(state["onEvents"], f"{path}.onEvents") if state.get("onEvents") is not None else []
            for position, handler in enumerate(handlers):
                where = f"{path}.onEvents[{position}]"
                if _object(handler, where).get("eventRefs") is None:
                    _fail(f"{where}.eventRefs", "is required (the names of the events this state waits for)")
                _strings(handler, "eventRefs", where)
                _action_list(handler, where)
        else:
            _action_list(state, path)
    return copy.deepcopy(value)


def _action_list(container: Mapping[str, Any], path: str) -> None:
    _choice(_string(container, "actionMode", path), _ACTION_MODES, f"{path}.actionMode", fold=True)
    for index, raw in enumerate(_array(container.get("actions") or [], f"{path}.actions")):
        where = f"{path}.actions[{index}]"
        action = _object(raw, where)
        for key in ("name", "condition", "retryRef"):
            _string(action, key, where)
        for key in ("retryableErrors", "nonRetryableErrors"):
            _strings(action, key, where)
        ref = action.get("functionRef")
        if ref is None:
            _fail(f"{where}.functionRef", "is required (tasklane actions call functions)")
        if isinstance(ref, str):
            if not ref.strip():
                _fail(f"{where}.functionRef", "must not be empty", ref)
            continue
        ref = _object(ref, f"{where}.functionRef")
        _string(ref, "refName", f"{where}.functionRef", required=True, nonempty=True)
        if ref.get("arguments") is not None:
            _object(ref["arguments"], f"{where}.functionRef.arguments")
        invoke = _string(ref, "invoke", f"{where}.functionRef")
        _choice(invoke, _INVOKE_MODES, f"{where}.functionRef.invoke", fold=True)
        _string(ref, "selectionSet", f"{where}.functionRef")


# -- derivations (on a document already checked above) ----------------------------------------


def _is_event_state(state: Mapping[str, Any]) -> bool:
    return state.get("type") is None or state["type"].casefold() == StateType.EVENT


def _action_sites(states: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Every action with its path, in document order."""
    sites = []
    for index, state in enumerate(states):
        if _is_event_state(state):
            for position, handler in enumerate(state.get("onEvents") or []):
                base = f"states[{index}].onEvents[{position}].actions"
                sites += [(action, f"{base}[{n}]") for n, action in enumerate(handler.get("actions") or [])]
        else:
            sites += [(action, f"states[{index}].actions[{n}]") for n, action in enumerate(state.get("actions") or [])]
    return sites


def _actions(states: list[dict[str, Any]]) -> tuple[list[Action], str | None]:
    actions = []
    resource_id = None
    for position, (action, path) in enumerate(_action_sites(states)):
        ref = action["functionRef"]
        ref_name, arguments = (ref, {}) if isinstance(ref, str) else (ref["refName"], ref.get("arguments") or {})
        actions.append(Action(name=action.get("name"), ref_name=ref_name, arguments=copy.deepcopy(arguments)))
        if position == 0 and "appId" in arguments:
            app_id = arguments["appId"]
            if not isinstance(app_id, str) or not app_id.strip():
                _fail(f"{path}.functionRef.arguments.appId", "must be a non-empty string (the resource id)", app_id)
            resource_id = app_id
    return actions, resource_id


def _parents(events: list[dict[str, Any]], states: list[dict[str, Any]]) -> list[ParentLink]:
    links: dict[str, ParentLink] = {}
    for event in events:
        if event.get("type") == EventType.TASK_RUN_FINISHED and event.get("name") is not None:
            values = {item["contextAttributeName"]: item.get("contextAttributeValue") for item in event["correlation"]}
            status = values.get(CorrelationAttribute.STATUS)
            links[event["name"]] = ParentLink(
                task_id=values[CorrelationAttribute.ID], status=ParentOutcome(status.casefold()) if status else None
            )
    parents: list[ParentLink] = []
    for state in states:
        if not _is_event_state(state):
            continue
        for handler in state.get("onEvents") or []:
            for ref in handler.get("eventRefs") or []:
                link = links.get(ref)
                if link is not None and link not in parents:
                    parents.append(link)
    return parents


# -- start and schedule -----------------------------------------------------------------------

_DURATION = re.compile(r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?", re.IGNORECASE)
_REPEAT = re.compile(r"R\d*", re.IGNORECASE)


def _start(value: Any, state_names: set[Any] | None) -> tuple[dict[str, Any] | None, Schedule | None]:
    if value is None:
        return None, None
    start = _object(value, "start")
    state_name = _string(start, "stateName", "start")
    if state_name is not None and state_names is not None and state_name not in state_names:
        _fail("start.stateName", f"names no state of this task ('{state_name}')", state_name)
    if start.get("schedule") is None:
        _fail("start.schedule", "is required")
    return copy.deepcopy(start), _schedule(start["schedule"], "start.schedule")


def _schedule(value: Any, path: str) -> Schedule:
    """The engine's schedule of a `start.schedule`: its shape checked here, its expression by the
    engine when the task is saved. The end is `endDateTime` or `cron.validUntil`, the earlier."""
    if isinstance(value, str):
        return schedule_of(_interval(value, path))
    schedule = _object(value, path)
    forms = [key for key in ("cron", "interval", "recurrence") if schedule.get(key) is not None]
    if len(forms) != 1:
        _fail(path, "must hold exactly one of cron, interval, recurrence", sorted(forms) or None)
    timezone = _string(schedule, "timezone", path)
    zone = _zone(timezone, f"{path}.timezone") if timezone is not None else ZoneInfo("UTC")
    begin = _string(schedule, "startDateTime", path)
    finish = _string(schedule, "endDateTime", path)
    start = _instant(begin, f"{path}.startDateTime", zone) if begin is not None else None
    end = _instant(finish, f"{path}.endDateTime", zone) if finish is not None else None
    if start and end and end <= start:
        _fail(f"{path}.endDateTime", "must be after startDateTime", finish)
    form = forms[0]
    if form == "interval":
        expression = _interval(_string(schedule, "interval", path), f"{path}.interval")
    elif form == "recurrence":
        expression = _recurrence(_string(schedule, "recurrence", path), f"{path}.recurrence")
    else:
        expression, valid_until = _cron(schedule["cron"], f"{path}.cron", zone)
        end = min(end, valid_until) if end and valid_until else end or valid_until
    return schedule_of(expression, timezone=timezone or "UTC", start=start, end=end)


def _zone(name: str, path: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        _fail(path, "must be an IANA time zone name such as UTC or Europe/Stockholm", name)


def _interval(text: str, path: str) -> str:
    parts = text.split("/")
    if len(parts) not in (2, 3) or not _REPEAT.fullmatch(parts[0]):
        _fail(path, "must be an ISO 8601 repeating interval such as R/2025-01-01T00:00:00Z/PT1H", text)
    rest = parts[1:]
    durations = [part for part in rest if _DURATION.fullmatch(part)]
    if len(durations) != 1:
        _fail(path, "must hold exactly one ISO 8601 duration such as PT1H", text)
    for part in rest:
        if part not in durations:
            _instant(part, path, ZoneInfo("UTC"))
    return text


def _recurrence(text: str, path: str) -> str:
    rule = text.strip()
    if rule[:6].upper() == "RRULE:":
        rule = rule[6:]
    if not rule.upper().startswith("FREQ="):
        _fail(path, "must be an RRULE such as RRULE:FREQ=DAILY;INTERVAL=1 (starting RRULE: or FREQ=)", text)
    return "RRULE:" + rule


def _cron(value: Any, path: str, zone: ZoneInfo) -> tuple[str, datetime | None]:
    if isinstance(value, str):
        if not value.strip():
            _fail(path, "must not be empty", value)
        return value, None
    cron = _object(value, path)
    expression = _string(cron, "expression", path, required=True, nonempty=True)
    valid_until = _string(cron, "validUntil", path)
    return expression, _instant(valid_until, f"{path}.validUntil", zone) if valid_until is not None else None
