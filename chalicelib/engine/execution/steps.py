"""The step machine: how one execution event runs its task's steps.

Pure: no clock, storage or HTTP of its own. The event runner hands it the task's definition,
the event's progress so far, a caller for one step and a journal; it walks the steps
from `initialStep` along `nextStep` (or a `nextStepRules` detour) to a `final` step and answers
a `Verdict`: processed, waiting for an asynchronous step's resume, retry after a wait, pause or
cancel the instance (retries used up), failed, or lost (another worker moved the event on).

Rules, as tasklane reads the strategy (the README says the same):

- A step without an action succeeds without a call (a marker or a join point).
- A failed `optional` step does not fail the event: the walk goes on to its `nextStep`.
- A failed step with an `onError` rule goes on at the rule's step; reaching a `final` step from
  there ends the event processed (the error was handled).
- Any other failure ends the attempt. With a `retryConfig` (the step's own, else the task's) and
  attempts left, the event is retried `retryStrategy[attempt - 1]` (else `retryAfter`) later,
  after the failed step's `onBeforeRetry` steps if it has that rule. With none left, the instance
  is paused (`pauseBeforeCancel`, after the `onBeforePause` steps) or canceled (`MAX_ATTEMPTS`).
  Without a `retryConfig` the event fails and the instance is left as it is.
- On a retry, a step that succeeded in an earlier attempt is not called again (its result is
  reused, `fromCache: true`) unless it says `repeatOnRetry`.
- A step whose service method is asynchronous leaves the event waiting; `resume` makes the body
  it is given that step's result (the first answer kept as `afterResumeData`, the results before
  the resume kept in `cached_results` with that step `fromCache`), and the walk goes on.
- A step that was being called when its worker died is never called again in that attempt: an
  event walked again from that progress records it failed ("interrupted") and follows the
  failure rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

from chalicelib.engine.execution.definition import (
    ExecutionNextStepIf,
    ExecutionRetryConfig,
    ExecutionRetryStep,
    ExecutionStep,
    ExecutionTask,
    ExecutionTimeDelta,
)

#: Steps one attempt may take before the walk is judged a loop.
MAX_STEPS_PER_ATTEMPT = 100

INTERRUPTED = "interrupted: the worker stopped during this step's call; it is not called twice"


#: What the machine reads of a strategy: the definition model's task and step.
TaskPlan = ExecutionTask
StepPlan = ExecutionStep
#: The wait before a retry: `retryStrategy[n]` or `retryAfter`.
RetryWait = ExecutionTimeDelta | ExecutionRetryStep


# The event's progress.


class Phase(StrEnum):
    """Where the walk stands."""

    #: The cursor step is the next to run.
    READY = "ready"
    #: The cursor step's call has started and its result is not recorded.
    CALLING = "calling"
    #: An asynchronous step answered; the event waits for its resume.
    WAITING = "waiting"
    #: The current path reached its end; the verdict follows from the path.
    PATH_END = "path_end"


class Path(StrEnum):
    """Which walk the cursor is on."""

    #: From `initialStep` (and `onError` detours) to a final step.
    MAIN = "main"
    #: The `onBeforeRetry` steps of the step that failed the attempt.
    BEFORE_RETRY = "before_retry"
    #: The `onBeforePause` steps of the step that failed the last attempt.
    BEFORE_PAUSE = "before_pause"


@dataclass(frozen=True, kw_only=True)
class StepResult:
    """One step's result, as `taskStatus.taskResults` shows it."""

    step: str
    success: bool
    #: The attempt in which the step was called.
    attempt: int
    #: The answer's body (JSON), or the resume body after a resume.
    data: Any = None
    #: Why it failed.
    message: str | None = None
    #: What was sent and received (`request`, `response`), secrets left out.
    http: Mapping[str, Any] | None = None
    correlation_id: str | None = None
    #: Reused from an earlier attempt (or, in `cached_results`, replaced by a resume).
    from_cache: bool = False
    #: The asynchronous step's first answer, once a resume replaced it.
    after_resume_data: Any = None

    def to_document(self) -> dict[str, Any]:
        """The seed's `taskResults[]` entry."""
        document: dict[str, Any] = {"step": self.step, "success": self.success}
        if self.from_cache:
            document["fromCache"] = True
        if self.message is not None:
            document["message"] = self.message
        if self.http is not None:
            document["httpData"] = dict(self.http)
        if self.data is not None:
            document["data"] = self.data
        if self.after_resume_data is not None:
            document["afterResumeData"] = self.after_resume_data
        if self.correlation_id is not None:
            document["correlationId"] = self.correlation_id
        return document


@dataclass(frozen=True, kw_only=True)
class Progress:
    """An event's walk through its task: what ran, what runs next."""

    #: The attempt under way, from 1.
    attempt: int = 1
    #: One result per step (the latest), in the order the steps first ran.
    results: tuple[StepResult, ...] = ()
    #: The results as they stood before the last resume (None before any resume).
    cached_results: tuple[StepResult, ...] | None = None
    last_step: str | None = None
    #: The step to run next (READY), being called (CALLING) or waited on (WAITING).
    cursor: str | None = None
    phase: Phase = Phase.READY
    path: Path = Path.MAIN
    #: Steps taken in this attempt (calls and reuses).
    taken: int = 0
    #: The step whose failure ended the main path, and why.
    failed_step: str | None = None
    error: str | None = None
    #: The correlation id the event waits on (WAITING).
    correlation_id: str | None = None

    @staticmethod
    def first(task: TaskPlan, attempt: int = 1) -> Progress:
        """A new event's progress: at the initial step."""
        return Progress(attempt=attempt, cursor=task.initial_step)

    def next_attempt(self, task: TaskPlan) -> Progress:
        """The progress a retry starts from: the next attempt at the initial step, results kept."""
        return Progress(attempt=self.attempt + 1, results=self.results, cached_results=self.cached_results,
                        last_step=self.last_step, cursor=task.initial_step)

    def result_of(self, step: str) -> StepResult | None:
        """The latest result recorded for `step`."""
        return next((r for r in self.results if r.step == step), None)

    def to_task_status(self) -> dict[str, Any]:
        """The seed's `taskStatus`."""
        return {"lastStep": self.last_step or "", "taskResults": [r.to_document() for r in self.results]}

    def to_cached_task_status(self) -> dict[str, Any] | None:
        """The seed's `cachedTaskStatus`: the results as they stood before the last resume."""
        if self.cached_results is None:
            return None
        return {"lastStep": self.last_step or "", "taskResults": [r.to_document() for r in self.cached_results]}

    def to_stored(self) -> dict[str, Any]:
        """A JSON-able form for storage (`from_stored` reads it back)."""
        return {
            "attempt": self.attempt, "results": [_stored_result(r) for r in self.results],
            "cached": None if self.cached_results is None else [_stored_result(r) for r in self.cached_results],
            "lastStep": self.last_step, "cursor": self.cursor, "phase": self.phase.value, "path": self.path.value,
            "taken": self.taken, "failedStep": self.failed_step, "error": self.error,
            "correlationId": self.correlation_id,
        }

    @staticmethod
    def from_stored(stored: Mapping[str, Any]) -> Progress:
        """The progress `to_stored` wrote."""
        cached = stored.get("cached")
        return Progress(
            attempt=int(stored["attempt"]), results=tuple(_read_result(r) for r in stored.get("results") or ()),
            cached_results=None if cached is None else tuple(_read_result(r) for r in cached),
            last_step=stored.get("lastStep"), cursor=stored.get("cursor"), phase=Phase(stored["phase"]),
            path=Path(stored["path"]), taken=int(stored.get("taken") or 0), failed_step=stored.get("failedStep"),
            error=stored.get("error"), correlation_id=stored.get("correlationId"),
        )


class VerdictKind(StrEnum):
    """How a run of the machine ended."""

    #: The main path reached its end: the event is processed.
    PROCESSED = "processed"
    #: An asynchronous step answered; the event waits for its resume.
    WAITING = "waiting"
    #: The attempt failed; retry at `retry_at`.
    RETRY = "retry"
    #: The attempt failed and none are left: pause the instance.
    PAUSE_INSTANCE = "pause_instance"
    #: The attempt failed and none are left: cancel the instance (`MAX_ATTEMPTS`).
    CANCEL_INSTANCE = "cancel_instance"
    #: The attempt failed and the task has no retry configuration: the event failed.
    FAILED = "failed"
    #: The journal refused a write: another worker (or a cancel) moved the event on. Stop.
    LOST = "lost"


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The outcome of `run_steps`, with the progress to store beside it."""

    kind: VerdictKind
    progress: Progress
    #: RETRY: how long after now the next attempt is due (None: at once).
    retry_wait: RetryWait | None = None
    #: Why the event failed (RETRY, PAUSE_INSTANCE, CANCEL_INSTANCE, FAILED).
    message: str | None = None


@dataclass(frozen=True, kw_only=True)
class StepCall:
    """What calling one step's action gave."""

    success: bool
    data: Any = None
    message: str | None = None
    http: Mapping[str, Any] | None = None
    #: The service method is asynchronous and accepted the call: wait for a resume.
    waits: bool = False


@dataclass(frozen=True, kw_only=True)
class StepContext:
    """What a caller knows of the walk when it calls a step."""

    attempt: int
    #: Sent to the service; an asynchronous step's resume names it.
    correlation_id: str
    #: The data of the steps that succeeded so far, by step key.
    results: Mapping[str, Any] = field(default_factory=dict)


#: Calls one step's action; never raises for a failure of the call (answers `success=False`).
StepCaller = Callable[[StepPlan, StepContext], StepCall]


class Journal(Protocol):
    """Where the runner keeps an event's progress between steps."""

    def save(self, progress: Progress) -> bool:
        """Store `progress` if the event is still this worker's to move; False otherwise."""
        ...


class ResumeRefused(Exception):
    """The event is not waiting on that correlation id (the message says why)."""


def retry_delay(config: ExecutionRetryConfig, attempt: int) -> RetryWait | None:
    """The wait before the retry that follows failed `attempt` (None: at once)."""
    strategy = config.retry_strategy or []
    if attempt - 1 < len(strategy):
        return strategy[attempt - 1]
    return config.retry_after or (strategy[-1] if strategy else None)


def run_steps(task: TaskPlan, progress: Progress, *, call: StepCaller, journal: Journal,
              correlation_of: Callable[[str, int], str],
              max_steps: int = MAX_STEPS_PER_ATTEMPT) -> Verdict:
    """Walk `task` from `progress` until a verdict. Before each call the progress (the step
    marked CALLING) goes to `journal`; a refused save ends the walk LOST, so a step is called at
    most once per attempt however often its event is delivered. The verdict's progress is not
    saved here: the runner stores it with the event's new status in one write."""
    steps = {step.key: step for step in task.steps}
    while True:
        if progress.phase is Phase.WAITING:
            return Verdict(kind=VerdictKind.WAITING, progress=progress)
        if progress.phase is Phase.PATH_END:
            return _path_verdict(task, steps, progress)
        step = steps[str(progress.cursor)]
        if progress.phase is Phase.CALLING:
            result = StepResult(step=step.key, success=False, attempt=progress.attempt, message=INTERRUPTED)
            progress = _follow(task, steps, _recorded(progress, result), step, result)
            continue
        if progress.taken >= max_steps:
            result = StepResult(step=step.key, success=False, attempt=progress.attempt,
                                message=f"more than {max_steps} steps in one attempt: the steps loop")
            progress = _recorded(progress, result)
            if progress.path is Path.MAIN:
                progress = _fail_attempt(task, step, progress, result)
            else:
                progress = replace(progress, phase=Phase.PATH_END, cursor=None)
            continue
        progress = replace(progress, taken=progress.taken + 1)
        reusable = _reusable(progress, step)
        if reusable is not None:
            result = replace(reusable, from_cache=True)
        elif not step.action:
            result = StepResult(step=step.key, success=True, attempt=progress.attempt)
        else:
            correlation_id = correlation_of(step.key, progress.attempt)
            progress = replace(progress, phase=Phase.CALLING, last_step=step.key)
            if not journal.save(progress):
                return Verdict(kind=VerdictKind.LOST, progress=progress)
            context = StepContext(attempt=progress.attempt, correlation_id=correlation_id,
                                  results={r.step: r.data for r in progress.results if r.success})
            answer = call(step, context)
            result = StepResult(step=step.key, success=answer.success, attempt=progress.attempt, data=answer.data,
                                message=answer.message, http=answer.http,
                                correlation_id=correlation_id if answer.waits else None)
            if answer.success and answer.waits:
                return Verdict(kind=VerdictKind.WAITING,
                               progress=replace(_recorded(progress, result), phase=Phase.WAITING,
                                                cursor=step.key, correlation_id=correlation_id))
        progress = _follow(task, steps, _recorded(progress, result), step, result)


def resume(task: TaskPlan, progress: Progress, *, correlation_id: str, body: Any) -> Progress:
    """The progress of a waiting event once its asynchronous step is resumed with `body`: that
    becomes the step's result (the first answer kept as `afterResumeData`; the results before
    the resume kept as `cached_results`, that step's marked `fromCache`) and the walk goes on.
    `ResumeRefused` when the event is not waiting on `correlation_id`."""
    if progress.phase is not Phase.WAITING:
        raise ResumeRefused("the event is not waiting for a resume")
    if progress.correlation_id != correlation_id:
        raise ResumeRefused("the event waits on another correlation id")
    steps = {step.key: step for step in task.steps}
    step = steps[str(progress.cursor)]
    first = progress.result_of(step.key)
    if first is None:
        raise ResumeRefused("the event has no result for the step it waits on")
    cached = tuple(replace(r, from_cache=True) if r.step == step.key else r for r in progress.results)
    resumed = replace(first, data=body, after_resume_data=first.data, from_cache=False)
    progress = replace(_recorded(progress, resumed), cached_results=cached, phase=Phase.READY, correlation_id=None)
    return _follow(task, steps, progress, step, resumed)


def _stored_result(result: StepResult) -> dict[str, Any]:
    document = result.to_document()
    document["fromCache"] = result.from_cache
    document["attempt"] = result.attempt
    return document


def _read_result(stored: Mapping[str, Any]) -> StepResult:
    http = stored.get("httpData")
    return StepResult(step=str(stored["step"]), success=bool(stored["success"]), attempt=int(stored["attempt"]),
                      data=stored.get("data"), message=stored.get("message"),
                      http=None if http is None else dict(http), correlation_id=stored.get("correlationId"),
                      from_cache=bool(stored.get("fromCache")), after_resume_data=stored.get("afterResumeData"))


def _reusable(progress: Progress, step: StepPlan) -> StepResult | None:
    """An earlier attempt's success of `step` that a retry reuses instead of calling again."""
    if progress.path is not Path.MAIN or step.repeat_on_retry:
        return None
    earlier = progress.result_of(step.key)
    if earlier is not None and earlier.success and earlier.attempt < progress.attempt:
        return earlier
    return None


def _recorded(progress: Progress, result: StepResult) -> Progress:
    """`progress` with `result` as its step's latest result."""
    if any(r.step == result.step for r in progress.results):
        results = tuple(result if r.step == result.step else r for r in progress.results)
    else:
        results = (*progress.results, result)
    return replace(progress, results=results, last_step=result.step, phase=Phase.READY)


def _rule(step: StepPlan, kind: ExecutionNextStepIf) -> str | None:
    rules = step.next_step_rules or []
    return next((rule.next_step for rule in rules if rule.if_ is kind and rule.next_step), None)


def _follow(task: TaskPlan, steps: Mapping[str, StepPlan], progress: Progress, step: StepPlan,
            result: StepResult) -> Progress:
    """Where the walk goes after `step` gave `result`."""
    if result.success or step.optional:
        if step.final or not step.next_step:
            return replace(progress, phase=Phase.PATH_END, cursor=None)
        return replace(progress, cursor=step.next_step)
    if progress.path is not Path.MAIN:
        # A failure on the way to a retry or a pause ends that way; the verdict is already chosen.
        return replace(progress, phase=Phase.PATH_END, cursor=None)
    on_error = _rule(step, ExecutionNextStepIf.ON_ERROR)
    if on_error is not None:
        return replace(progress, cursor=on_error)
    return _fail_attempt(task, step, progress, result)


def _fail_attempt(task: TaskPlan, step: StepPlan, progress: Progress, result: StepResult) -> Progress:
    """The attempt failed at `step`: set off on the way to a retry or a pause, or end the path."""
    failed = replace(progress, failed_step=step.key, error=result.message or f"step {step.key!r} failed")
    config = step.retry_config or task.retry_config
    if config is None:
        return replace(failed, phase=Phase.PATH_END, cursor=None)
    if progress.attempt <= config.times:
        path, before = Path.BEFORE_RETRY, _rule(step, ExecutionNextStepIf.ON_BEFORE_RETRY)
    elif config.pause_before_cancel:
        path, before = Path.BEFORE_PAUSE, _rule(step, ExecutionNextStepIf.ON_BEFORE_PAUSE)
    else:
        return replace(failed, phase=Phase.PATH_END, cursor=None)
    if before is None:
        return replace(failed, phase=Phase.PATH_END, cursor=None, path=path)
    return replace(failed, cursor=before, path=path)


def _path_verdict(task: TaskPlan, steps: Mapping[str, StepPlan], progress: Progress) -> Verdict:
    """The verdict at the end of the current path."""
    if progress.failed_step is None:
        return Verdict(kind=VerdictKind.PROCESSED, progress=progress)
    message = progress.error
    if progress.path is Path.BEFORE_PAUSE:
        return Verdict(kind=VerdictKind.PAUSE_INSTANCE, progress=progress, message=message)
    failed = steps[progress.failed_step]
    config = failed.retry_config or task.retry_config
    if progress.path is Path.BEFORE_RETRY and config is not None:
        return Verdict(kind=VerdictKind.RETRY, progress=progress, retry_wait=retry_delay(config, progress.attempt),
                       message=message)
    if config is None:
        return Verdict(kind=VerdictKind.FAILED, progress=progress, message=message)
    # The main path ended on a failure with retries configured and none left, no pause asked.
    return Verdict(kind=VerdictKind.CANCEL_INSTANCE, progress=progress, message=message)
