"""The strategy document: what a recurring per-customer workflow is made of.

msgspec Structs with the wire names (`rename="camel"`), pure values: no storage, no HTTP. The
execution face decodes `POST /execution-strategy` bodies into `StrategyBody` (the same classes
describe it in `/openapi.json`); `validation.check_strategy` then states the rules a type cannot
(names that must resolve, a reachable `final` step, a base URL for the environment).

Callback fields of the product (`controller`, `*Callback`, `createIf`, `if: callback`) name code
hooks of the original service; tasklane runs no tenant code in-process, so validation refuses them
by name rather than ignore them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

#: Units of a time delta.
TimeUnit = Literal["years", "months", "days", "hours", "minutes"]
#: HTTP methods a service method or an authorization call uses.
HttpMethod = Literal["get", "delete", "post", "put", "patch"]

Key = Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
Text = Annotated[str, Meta(max_length=2048)]
Amount = Annotated[int, Meta(ge=0, le=100_000)]
Object = dict[str, Any]


class Doc(Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True, rename="camel"):
    """Base of every document part: wire names in camelCase, unknown keys refused, unset
    optional fields left out when encoded."""


class ExecutionNextStepIf(StrEnum):
    """When a `nextStepRules` entry applies."""

    #: The step failed: continue at the rule's step instead of failing the event.
    ON_ERROR = "onError"
    #: The event is about to be retried: run the rule's step first.
    ON_BEFORE_RETRY = "onBeforeRetry"
    #: The instance is about to be paused (retries ran out, `pauseBeforeCancel`): run it first.
    ON_BEFORE_PAUSE = "onBeforePause"
    #: A product callback decides (refused by validation: no code hooks here).
    CALLBACK = "callback"


class ExecutionResetTo(Doc, kw_only=True):
    """Wall-clock fields set after a delta is applied (in the strategy's time zone)."""

    month: Annotated[int, Meta(ge=1, le=12)] | None = None
    day: Annotated[int, Meta(ge=1, le=31)] | None = None
    #: 24 is midnight at the end of the day.
    hour: Annotated[int, Meta(ge=0, le=24)] | None = None
    minute: Annotated[int, Meta(ge=0, le=59)] | None = None


class ExecutionTimeDelta(Doc, kw_only=True):
    """`amount` `unit`s after (or before) a date; `from` reads the base date from the instance's
    attributes; `resetTo` then pins wall-clock fields."""

    unit: TimeUnit
    amount: Amount
    from_: Annotated[str, Meta(min_length=1, max_length=128)] | None = msgspec.field(default=None, name="from")
    reset_to: ExecutionResetTo | None = None
    retry_event_callback: Text | None = None


class ExecutionRetryStep(Doc, kw_only=True):
    """The wait before one retry (`retryStrategy[n]` is the wait before retry n+1)."""

    unit: TimeUnit
    amount: Amount


class ExecutionRetryConfig(Doc, kw_only=True):
    """How often a failed event is tried again and how long it waits in between."""

    times: Annotated[int, Meta(ge=0, le=100)]
    retry_after: ExecutionTimeDelta | None = None
    #: When retries run out: pause the instance instead of canceling it (`MAX_ATTEMPTS`).
    pause_before_cancel: bool | None = None
    retry_strategy: list[ExecutionRetryStep] | None = None


class ExecutionNextStepRule(Doc, kw_only=True):
    """Where a task continues when something happens to a step."""

    if_: ExecutionNextStepIf = msgspec.field(name="if")
    if_callback: Text | None = None
    description: Text | None = None
    next_step: Key | None = None


class ExecutionStep(Doc, kw_only=True):
    """One step of a task: runs its action (an HTTP call), then continues at `nextStep`."""

    key: Key
    description: Text | None = None
    retry_config: ExecutionRetryConfig | None = None
    reset_attempts: bool | None = None
    #: Key of an entry of `settings.actions`; a step without one does nothing but move on.
    action: Key | None = None
    #: The task ends after this step.
    final: bool | None = None
    controller: Text | None = None
    controller_callback: Text | None = None
    resume_controller_callback: Text | None = None
    #: A failure of this step does not fail the event.
    optional: bool | None = None
    #: Run again on a retry even if it succeeded before.
    repeat_on_retry: bool | None = None
    next_step: Key | None = None
    next_step_rules: list[ExecutionNextStepRule] | None = None


class ExecutionTask(Doc, kw_only=True):
    """A named piece of work: steps from `initialStep` to a `final` one."""

    key: Key
    description: Text | None = None
    retry_config: ExecutionRetryConfig | None = None
    steps: Annotated[list[ExecutionStep], Meta(min_length=1, max_length=100)]
    initial_step: Key


class ExecutionAction(Doc, kw_only=True):
    """A call of one service method, with the headers, query params and JSON body to send."""

    key: Key
    service: Key
    method: Key
    headers: Object | None = None
    params: Object | None = None
    data: Object | None = None
    attributes: Object | None = None


class ExecutionBaseUrl(Doc, kw_only=True):
    """Where a service lives in one environment."""

    environment: Annotated[str, Meta(min_length=1, max_length=64)]
    url: Annotated[str, Meta(min_length=1, max_length=2048)]


class ExecutionAuthorization(Doc, kw_only=True):
    """How to obtain a credential for a service in one environment (encrypted at rest)."""

    environment: Annotated[str, Meta(min_length=1, max_length=64)]
    url: Annotated[str, Meta(min_length=1, max_length=2048)]
    method: HttpMethod
    headers: Object | None = None
    params: Object | None = None
    data: Object | None = None
    attributes: Object | None = None
    #: Ask for a credential on every call instead of reusing one.
    no_cache: bool | None = None


class ExecutionServiceMethod(Doc, kw_only=True):
    """One endpoint of a service."""

    key: Key
    url: Annotated[str, Meta(max_length=2048)]
    method: HttpMethod
    description: Text | None = None
    #: The call answers at once and the event waits for `/execution-event/{correlationId}/resume`.
    async_: bool | None = msgspec.field(default=None, name="async")
    request_validation: Text | None = None
    response_validation: Object | None = None


class ExecutionService(Doc, kw_only=True):
    """An HTTP service the steps call, per environment."""

    key: Key
    base_urls: Annotated[list[ExecutionBaseUrl], Meta(min_length=1)]
    methods: Annotated[list[ExecutionServiceMethod], Meta(min_length=1)]
    description: Text | None = None
    authorization: list[ExecutionAuthorization] | None = None
    #: Where the credential sits in the authorization call's JSON answer (`a.b.token`).
    credential_path: Text | None = None
    #: The credential's scheme in the `Authorization` header (`Bearer`).
    credential_type: Text | None = None


class ExecutionTaskTrigger(Doc, kw_only=True):
    """A task run once when an instance is created (`onCreateTasks`) or canceled (`onCancelTasks`)."""

    task: Key
    delay_by: ExecutionTimeDelta | None = None
    #: Created `ONHOLD`: not queued automatically.
    manual_trigger: bool | None = None
    create_if: Text | None = None


class ExecutionLeadingUpTask(Doc, kw_only=True):
    """A task run `scheduleBefore` each main date of its calendar."""

    task: Key
    schedule_before: ExecutionTimeDelta | None = None


class ExecutionCalendar(Doc, kw_only=True):
    """How one cycle's main date follows the previous one, and what runs then."""

    key: Key
    schedule_after: ExecutionTimeDelta
    description: Text | None = None
    #: This calendar places only this cycle; a calendar without it places every other cycle.
    run_on_cycle: Annotated[int, Meta(ge=1)] | None = None
    run_on_cycle_callback: Text | None = None
    next_cycle_date_callback: Text | None = None
    #: The main task of the cycles it places.
    task: Key | None = None
    leading_up_tasks: list[ExecutionLeadingUpTask] | None = None


class ExecutionSchedule(Doc, kw_only=True):
    """When cycles happen."""

    calendars: Annotated[list[ExecutionCalendar], Meta(min_length=1, max_length=50)]
    #: Cycle 1's main date is the start date shifted by this (none: the start date).
    initial_delay: ExecutionTimeDelta | None = None


class ExecutionConfig(Doc, kw_only=True):
    """Strategy-wide configuration."""

    #: Milliseconds to wait before each service call.
    request_delay_time: Annotated[int, Meta(ge=0, le=5000)] | None = None
    #: Every event is created `ONHOLD` (not queued automatically).
    manual_trigger: bool | None = None
    #: IANA zone dates are computed in (default UTC).
    timezone: Annotated[str, Meta(max_length=64)] | None = None
    instance_validation: Object | None = None


class ExecutionEncryptedSettings(Doc, kw_only=True):
    """Sealed settings as stored and shown: AES-GCM nonce, tag and ciphertext (base64)."""

    iv: str
    hash: str
    encrypted_text: str


class ExecutionSettings(Doc, kw_only=True):
    """Everything a strategy does."""

    schedule: ExecutionSchedule
    services: Annotated[list[ExecutionService], Meta(max_length=50)]
    tasks: Annotated[list[ExecutionTask], Meta(min_length=1, max_length=100)]
    actions: Annotated[list[ExecutionAction], Meta(max_length=500)]
    config: ExecutionConfig | None = None
    on_create_tasks: list[ExecutionTaskTrigger] | None = None
    on_cancel_tasks: list[ExecutionTaskTrigger] | None = None
    #: On write: any JSON object of credentials, sealed before it is stored; shown sealed.
    encrypted_settings: Object | None = None


class ExecutionStrategyBody(Doc, kw_only=True):
    """`POST /execution-strategy`: a strategy, or a new version of one (same `name`)."""

    name: Annotated[str, Meta(min_length=1, max_length=256)]
    secret: Annotated[str, Meta(min_length=8, max_length=1024)]
    settings: ExecutionSettings
    version: Annotated[int, Meta(ge=1, le=1_000_000)] = 1
    description: Text | None = None


def task_named(settings: ExecutionSettings, key: str) -> ExecutionTask | None:
    """The task with `key`, if any."""
    return next((task for task in settings.tasks if task.key == key), None)


def calendar_for_cycle(schedule: ExecutionSchedule, cycle: int) -> ExecutionCalendar | None:
    """The calendar that places `cycle`: the one with `runOnCycle == cycle`, else the first
    without `runOnCycle`; None when no calendar places it (the instance has no more cycles)."""
    pinned = next((c for c in schedule.calendars if c.run_on_cycle == cycle), None)
    if pinned is not None:
        return pinned
    return next((c for c in schedule.calendars if c.run_on_cycle is None), None)


def to_wire(value: Any) -> Any:
    """A definition value as JSON-ready builtins (wire names, absent fields left out)."""
    return msgspec.to_builtins(value)
