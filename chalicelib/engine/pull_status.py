"""The status of a pull-mode task, derived from its own state, its runs and its dependencies,
and the cascade of a change to the tasks that depend on it. Pure: no store, time is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.engine.model import EndReason, Run, RunStatus


class TaskStatus(StrEnum):
    """Where a pull-mode task stands."""

    #: Not published yet: nothing may be enqueued or claimed.
    DRAFT = "draft"
    #: A dependency is not completed, or approval is required and not given.
    BLOCKED = "blocked"
    #: Runnable: nothing is holding it back and no agent is working on it.
    READY = "ready"
    #: An agent session holds one of its runs under a lease that has not run out.
    IN_PROGRESS = "in_progress"
    #: Its latest run completed.
    COMPLETED = "completed"
    #: Its latest run failed and no attempt is left.
    FAILED = "failed"
    #: Canceled by a user (with its subtree); final.
    CANCELED = "canceled"


#: Statuses after which nothing changes any more by itself.
SETTLED = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELED})
#: Run statuses under a lease.
HELD = frozenset({RunStatus.CLAIMED, RunStatus.STARTING, RunStatus.RUNNING})


@dataclass(frozen=True, kw_only=True)
class TaskState:
    """What a user set on a pull-mode task (as opposed to what its runs did)."""

    published: bool = True
    #: `approval_policy: manual`: blocked until approved.
    approval_required: bool = False
    approved: bool = False
    canceled: bool = False
    #: How many runs (attempts) the task may have, 1..10.
    max_attempts: int = 3


def latest_run(runs: Iterable[Run]) -> Run | None:
    """The newest run (run ids are time-ordered)."""
    return max(runs, key=lambda run: run.run_id, default=None)


def derive_status(state: TaskState, runs: Iterable[Run], dependency_statuses: Iterable[TaskStatus], *,
                  now: datetime) -> TaskStatus:
    """The task's status at `now`. A held run whose lease ran out by `now` no longer counts as
    in progress (it is requeued); a failed latest run leaves the task runnable while attempts remain."""
    if state.canceled:
        return TaskStatus.CANCELED
    if not state.published:
        return TaskStatus.DRAFT
    runs = list(runs)
    latest = latest_run(runs)
    if latest is not None:
        if latest.status in HELD and latest.lease_until is not None and latest.lease_until > now:
            return TaskStatus.IN_PROGRESS
        if latest.status is RunStatus.ENDED and latest.end_reason is EndReason.SUCCESS:
            return TaskStatus.COMPLETED
        if latest.status is RunStatus.ENDED and latest.end_reason is EndReason.FAILED and \
                len(runs) >= state.max_attempts:
            return TaskStatus.FAILED
    if any(status is not TaskStatus.COMPLETED for status in dependency_statuses):
        return TaskStatus.BLOCKED
    if state.approval_required and not state.approved:
        return TaskStatus.BLOCKED
    return TaskStatus.READY


def cascade(changed: str, statuses: Mapping[str, TaskStatus], *, dependents: Mapping[str, Iterable[str]],
            status_of: Callable[[str, Mapping[str, TaskStatus]], TaskStatus]) -> dict[str, TaskStatus]:
    """The tasks whose status changes after `changed` took `statuses[changed]`: each dependent (and
    theirs, transitively) is re-derived by `status_of(task id, statuses so far)`; only those whose
    status moved are returned, with their new status. Settled tasks stay as they are."""
    current = dict(statuses)
    moved: dict[str, TaskStatus] = {}
    todo = list(dependents.get(changed, ()))
    while todo:
        task_id = todo.pop(0)
        before = current.get(task_id)
        if before in SETTLED:
            continue
        after = status_of(task_id, current)
        if after is before:
            continue
        current[task_id] = moved[task_id] = after
        todo.extend(dependents.get(task_id, ()))
    return moved
