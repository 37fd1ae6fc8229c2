"""The scheduling face's request bodies and queries, declared once (seed 000).

Each model validates its request (`request_models.decode`: errors located at the field's path,
`states[0].onEvents[0].actions[0].functionRef.refName`, or `query.<parameter>`) and is its
schema in `/openapi.json`. The task document follows the API page and, where the page
truncates nested schemas, the published ``@qlik/api`` typings (``Schedule``, ``Crondef``,
``Eventstate``, ``Onevents``, ``Action``, ``Functionref``). Unknown fields are ignored, as the
product does; values compared case-insensitively (state `type`, `actionMode`, `invoke`) are
plain strings here and checked by `task_document`, with the rules across fields.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from chalicelib.faces.scheduling.scim import RUN_SORT_FIELDS, TASK_SORT_FIELDS

#: Longest task name, in characters.
MAX_TASK_NAME_LENGTH = 256


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


class CorrelationAttribute(StrEnum):
    """`events[].correlation[].contextAttributeName`."""

    ID = "id"
    STATUS = "status"
    APP_ID = "appId"
    SPACE_ID = "spaceId"
    DATASET_ID = "datasetId"


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


# -- the task document ------------------------------------------------------------------------


class SchedulingFunctionRef(Struct):
    """The function an action calls (`app.reload`), with its arguments."""

    refName: str  # noqa: N815 - the API's field names
    arguments: dict[str, Any] | None = None
    invoke: Annotated[str, Meta(description="sync or async (any case)")] | None = None
    selectionSet: str | None = None  # noqa: N815


class SchedulingAction(Struct):
    """One action; tasklane actions call functions, so `functionRef` is required."""

    name: str | None = None
    condition: str | None = None
    retryRef: str | None = None  # noqa: N815
    retryableErrors: list[str] | None = None  # noqa: N815
    nonRetryableErrors: list[str] | None = None  # noqa: N815
    functionRef: SchedulingFunctionRef | str | None = None  # noqa: N815


class SchedulingOnEvents(Struct):
    """The events an event state waits for (`eventRefs`, required) and what it then runs."""

    eventRefs: list[str] | None = None  # noqa: N815
    actionMode: Annotated[str, Meta(description="sequential or parallel (any case)")] | None = None  # noqa: N815
    actions: list[SchedulingAction] | None = None


class SchedulingTimeouts(Struct):
    """A state's timeouts (ISO 8601 durations)."""

    actionExecTimeout: str | None = None  # noqa: N815
    eventTimeout: str | None = None  # noqa: N815
    stateExecTimeout: str | None = None  # noqa: N815


class SchedulingState(Struct):
    """An `event` state (waits for `onEvents`) or an `operation` state (runs `actions`)."""

    name: str | None = None
    type: Annotated[str, Meta(description="event (default) or operation (any case)")] | None = None
    end: bool | None = None
    exclusive: bool | None = None
    compensatedBy: str | None = None  # noqa: N815
    timeouts: SchedulingTimeouts | None = None
    onEvents: list[SchedulingOnEvents] | None = None  # noqa: N815
    actionMode: str | None = None  # noqa: N815
    actions: list[SchedulingAction] | None = None


class SchedulingCorrelation(Struct):
    """One context attribute an event is matched on."""

    contextAttributeName: CorrelationAttribute  # noqa: N815
    contextAttributeValue: str | None = None  # noqa: N815


class SchedulingEvent(Struct):
    """An event definition; `com.qlik.v1.task.run.finished` chains this task after a parent."""

    name: str | None = None
    type: EventType | None = None
    source: EventSource | None = None
    dataOnly: bool | None = None  # noqa: N815
    correlation: list[SchedulingCorrelation] | None = None


class SchedulingCron(Struct):
    """A cron schedule with an end."""

    expression: str
    validUntil: Annotated[str, Meta(extra_json_schema={"format": "date-time"})] | None = None  # noqa: N815


class SchedulingScheduleObject(Struct):
    """Exactly one of `cron`, `interval`, `recurrence`; naive date-times are read in `timezone`."""

    cron: str | SchedulingCron | None = None
    interval: Annotated[str, Meta(description="ISO 8601 repeating interval")] | None = None
    recurrence: Annotated[str, Meta(description="RFC 5545 RRULE")] | None = None
    timezone: str | None = None
    startDateTime: str | None = None  # noqa: N815
    endDateTime: str | None = None  # noqa: N815


class SchedulingStart(Struct):
    """When the task starts by itself; `schedule` is required, a string is an ISO 8601 repeating
    interval."""

    schedule: SchedulingScheduleObject | str | None = None
    stateName: str | None = None  # noqa: N815


class SchedulingMetadata(Struct):
    """The client-owned part of `metadata`; server-owned fields are ignored."""

    spaceId: str | None = None  # noqa: N815
    resourceName: str | None = None  # noqa: N815
    resourceType: str | None = None  # noqa: N815
    resourceSubType: str | None = None  # noqa: N815
    migratedFrom: str | None = None  # noqa: N815
    usage: Usage | None = None
    spaceType: SpaceType | None = None  # noqa: N815


class SchedulingTaskBody(Struct):
    """A create/replace body: a Serverless Workflow task document. Server-owned fields (`id`,
    `resourceId`, most of `metadata`) and unknown fields are ignored."""

    name: Annotated[str, Meta(min_length=1, max_length=MAX_TASK_NAME_LENGTH)]
    specVersion: Annotated[str, Meta(min_length=1)]  # noqa: N815
    enabled: Annotated[bool, Meta(description="false when absent")] | None = None
    events: list[SchedulingEvent] | None = None
    states: list[SchedulingState] | None = None
    start: SchedulingStart | None = None
    version: str | None = None
    key: str | None = None
    description: str | None = None
    annotations: list[str] | None = None
    keepActive: bool | None = None  # noqa: N815
    metadata: SchedulingMetadata | None = None


class SchedulingPatchOperation(Struct, rename={"source": "from"}):
    """One RFC 6902 operation."""

    op: Literal["add", "copy", "move", "remove", "replace", "test"]
    path: Annotated[str, Meta(description="a JSON Pointer")]
    value: Any = None
    source: Annotated[str, Meta(description="a JSON Pointer (move, copy)")] | None = None

# -- queries ----------------------------------------------------------------------------------

#: Page sizes of every list.
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def _sort_values(fields: tuple[str, ...]) -> list[str]:
    return [f"{sign}{name}" for name in fields for sign in "+-"]


class SchedulingListQuery(Struct):
    """A task list's `filter` (SCIM), `sort` (`+field`/`-field`), page size and opaque `page` cursor."""

    filter: str | None = None
    sort: Annotated[str, Meta(description="+field or -field; default -updatedAt",
                              extra_json_schema={"enum": _sort_values(TASK_SORT_FIELDS)})] | None = None
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    page: str | None = None


class SchedulingRunListQuery(Struct):
    """A run list's `sort`, page size and `page` cursor; the page gives run lists no `filter`."""

    sort: Annotated[str, Meta(description="+field or -field; default -startedAt",
                              extra_json_schema={"enum": _sort_values(RUN_SORT_FIELDS)})] | None = None
    limit: Annotated[int, Meta(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    page: str | None = None


class SchedulingTaskListQuery(SchedulingListQuery):
    """The task list: a list query, and the tasks of one resource."""

    resourceId: str | None = None  # noqa: N815


class SchedulingGraphQuery(Struct):
    """How far a graph reaches (`level`, none: all the way) and whether vertices carry tasks."""

    level: Annotated[int, Meta(ge=0)] | None = None
    withTask: bool = False  # noqa: N815


class SchedulingStartQuery(Struct):
    """Who started the run (stored on it as `triggeredBy`: a name's rules, no control characters)."""

    source: Annotated[str, Meta(min_length=1, max_length=MAX_TASK_NAME_LENGTH,
                                extra_json_schema={"pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"})] = "manual"


class SchedulingLogQuery(Struct, rename={"start": "from"}):
    """The first log line to return."""

    start: Annotated[int, Meta(ge=1, le=10**12)] = 1
