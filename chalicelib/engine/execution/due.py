"""The seam between the engine's triggers and the event runner: what happens when an event is due.

`run_due_event` is the python callable every event trigger names (see `arming.py`); the worker
calls it in a run of that trigger. It calls `due_event`, which checks and claims the event and
hands it to the runner: `chalicelib.engine.execution.event_runner.run_event(strategy, instance,
event, now=..., tenant=...)`, looked up when an event is due (so that module must not import this one: it
would close an import circle). The runner gets the event already EXECUTING with `attempt`,
`executedAt` and `lockOwner` set, and records everything that follows (steps, results, retries,
the next cycle, the final status) itself.

The watchdog: before the claim, the event's trigger is armed again for the end of the claim's
lease (`arming.watch_until`: `executedAt` plus `arming.lease_of(task)`), and the runner takes it
away when it records the outcome (retires it once the event has finished, moves it to the retry's
instant, takes it off while the event waits for a resume or is held PAUSED). A worker that dies
mid-event (a Lambda timeout, a SIGKILL of `tasklane local`) leaves the event EXECUTING and its
watchdog armed: it fires when the lease has run out, and `due_event` takes the event over (a
conditional write at the revision it read, so of two takers one wins) and hands it to the runner,
which goes on from the progress stored on the event (a step left being called is never called
again in that attempt: see `steps.py`). An event waiting for a resume is not its worker's any
more and is never taken over.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import msgspec

from chalicelib.engine.execution import arming, records
from chalicelib.engine.execution.definition import task_named
from chalicelib.engine.execution.steps import Phase, Progress
from chalicelib.engine.execution.values import Event, EventStatus, Instance, InstanceStatus, StoredStrategy
from chalicelib.errors import NotFound
from chalicelib.observability import get_logger, log_event
from chalicelib.timefmt import utcnow

_log = get_logger("execution.due")

#: Where the runner lives (execrun's module); looked up when an event is due.
RUNNER_MODULE = "chalicelib.engine.execution.event_runner"


class Runner(Protocol):
    """Runs a claimed (EXECUTING) event's steps and records the outcome."""

    def __call__(self, strategy: StoredStrategy, instance: Instance, event: Event, *, now: datetime,
                 tenant: str) -> None: ...


class DueOutcome(StrEnum):
    """What `due_event` did with a due event."""

    #: Handed to the runner.
    RAN = "ran"
    #: The tenant's queue is paused: the event is QUEUED and parked until `POST /queue`.
    PARKED = "parked"
    #: Nothing to do: the event is gone, not PENDING/QUEUED, its instance is not active, or
    #: another worker claimed it first (at-least-once delivery); or it is EXECUTING and waits
    #: for a resume, or its lease has not run out (its watchdog is armed again for then).
    SKIPPED = "skipped"
    #: EXECUTING past its lease (its worker died): taken over and handed to the runner again.
    TAKEN_OVER = "taken_over"
    #: Its instance is not stored yet (being created): the event is armed again a little later.
    WAITING = "waiting"
    #: This build has no event runner; the event is FAILED saying so.
    NO_RUNNER = "no_runner"


#: A runner installed by hand (tests); None: the one in RUNNER_MODULE.
_installed: Runner | None = None


@contextmanager
def using_runner(runner: Runner) -> Iterator[Runner]:
    """Hand due events to `runner` inside the block."""
    global _installed
    previous, _installed = _installed, runner
    try:
        yield runner
    finally:
        _installed = previous


def _runner() -> Runner | None:
    if _installed is not None:
        return _installed
    try:
        module = importlib.import_module(RUNNER_MODULE)
    except ModuleNotFoundError:
        return None
    found: Runner | None = getattr(module, "run_event", None)
    return found


def lock_owner() -> str:
    """Who is executing: host, process and thread."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


#: The clock `run_due_event` reads (tests with an injected clock set it; see `using_clock`).
_clock: Callable[[], datetime] = utcnow


@contextmanager
def using_clock(clock: Callable[[], datetime]) -> Iterator[Callable[[], datetime]]:
    """Read `clock` instead of the wall clock when events fall due inside the block."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield clock
    finally:
        _clock = previous


def run_due_event(tenant: str, instance_sid: str, event_sid: str, context: Any = None) -> str:
    """The python executor's entry point for an event trigger's run; answers what it did."""
    return due_event(tenant, instance_sid, event_sid, now=_clock(), clock=_clock).value


def due_event(tenant: str, instance_sid: str, event_sid: str, *, now: datetime,
              clock: Callable[[], datetime] = utcnow) -> DueOutcome:
    """Check, claim and hand over one due event (see the module docstring)."""
    try:
        event = records.get_event(tenant, instance_sid, event_sid)
    except NotFound:
        return DueOutcome.SKIPPED
    try:
        instance = records.get_instance(tenant, instance_sid)
    except NotFound:
        return _wait_for_instance(tenant, event, now=now)
    if event.status is EventStatus.EXECUTING:
        return _take_over(tenant, instance, event, now=now)
    if event.status not in (EventStatus.PENDING, EventStatus.QUEUED):
        return DueOutcome.SKIPPED
    if instance.status is not InstanceStatus.ACTIVE and not event.after_cancellation:
        return DueOutcome.SKIPPED
    if records.queue_state(tenant).paused:
        return _park(tenant, event, now=now, clock=clock)
    strategy = records.get_strategy(tenant, instance.strategy_sid, event.exec_strategy_version)
    claim = msgspec.structs.replace(
        event, status=EventStatus.EXECUTING, attempt=event.attempt + 1, executed_at=now,
        execution_delta=(now - event.date).total_seconds(), lock_owner=lock_owner(), updated_at=now)
    return _claim(tenant, strategy, instance, claim, now=now)


def _claim(tenant: str, strategy: StoredStrategy, instance: Instance, claim: Event, *, now: datetime,
           outcome: DueOutcome = DueOutcome.RAN) -> DueOutcome:
    """Store `claim` (the event EXECUTING, conditional on the revision read) and hand it over.
    The watchdog is armed first: a worker dying right after the claim leaves it armed."""
    task = task_named(strategy.settings, claim.task)
    arming.arm(tenant, claim.instance_sid, claim.sid, at=arming.watch_until(claim, task), now=now)
    claimed = records.try_save_event(tenant, claim)
    if claimed is None:
        return DueOutcome.SKIPPED
    runner = _runner()
    if runner is None:
        records.try_save_event(tenant, msgspec.structs.replace(
            claimed, status=EventStatus.FAILED, finished_at=now, error_message="this build has no event runner"))
        arming.retire(tenant, claimed.sid)
        log_event(_log, logging.ERROR, "no event runner", event_sid=claimed.sid)
        return DueOutcome.NO_RUNNER
    runner(strategy, instance, claimed, now=now, tenant=tenant)
    return outcome


def _take_over(tenant: str, instance: Instance, event: Event, *, now: datetime) -> DueOutcome:
    """The watchdog fired for an EXECUTING event: take it over if its lease has run out and it
    does not wait for a resume. It goes on whatever befell its instance or the queue meanwhile,
    as its first worker would have; its attempt is the same one (the runner goes on from the
    stored progress), only `executedAt` (the new lease's start) and `lockOwner` change."""
    if _waits_for_resume(event):
        return DueOutcome.SKIPPED
    strategy = records.get_strategy(tenant, instance.strategy_sid, event.exec_strategy_version)
    until = arming.watch_until(event, task_named(strategy.settings, event.task))
    if now < until:  # fired early (or delivered twice): keep watching
        arming.arm(tenant, event.instance_sid, event.sid, at=until, now=now)
        return DueOutcome.SKIPPED
    log_event(_log, logging.WARNING, "taking over an event whose lease ran out", event_sid=event.sid,
              previous_owner=event.lock_owner, executed_at=event.executed_at.isoformat() if event.executed_at else None)
    claim = msgspec.structs.replace(event, executed_at=now, lock_owner=lock_owner(), updated_at=now)
    return _claim(tenant, strategy, instance, claim, now=now, outcome=DueOutcome.TAKEN_OVER)


def _waits_for_resume(event: Event) -> bool:
    return event.progress is not None and Progress.from_stored(event.progress).phase is Phase.WAITING


#: An event whose instance is not stored yet is tried again this much later, for this long after
#: its creation (an instance is written just after its events' triggers are armed; past this, the
#: creation failed and the event is an orphan nobody can see).
INSTANCE_WAIT = timedelta(seconds=5)
INSTANCE_WAIT_LIMIT = timedelta(minutes=5)


def _wait_for_instance(tenant: str, event: Event, *, now: datetime) -> DueOutcome:
    if now - event.created_at < INSTANCE_WAIT_LIMIT:
        arming.arm(tenant, event.instance_sid, event.sid, at=now + INSTANCE_WAIT, now=now)
        return DueOutcome.WAITING
    return DueOutcome.SKIPPED


def _park(tenant: str, event: Event, *, now: datetime, clock: Callable[[], datetime]) -> DueOutcome:
    """Hold a due event while the queue is paused. The status first, then the parked record,
    then a second look at the queue: a resume that listed the parked events before this record
    existed has unpaused the queue by then, so the event re-arms itself and is not lost."""
    if event.status is EventStatus.PENDING:
        saved = records.try_save_event(tenant, msgspec.structs.replace(event, status=EventStatus.QUEUED,
                                                                       updated_at=now))
        if saved is None:
            return DueOutcome.SKIPPED
    records.park(tenant, event)
    if not records.queue_state(tenant).paused:
        release_parked(tenant, now=clock())
    return DueOutcome.PARKED


def release_parked(tenant: str, *, now: datetime) -> int:
    """Re-arm every parked event to fire now (after `POST /queue`); how many were re-armed."""
    count = 0
    for instance_sid, event_sid in records.parked(tenant):
        arming.arm(tenant, instance_sid, event_sid, at=now, now=now)
        records.unpark(tenant, instance_sid, event_sid)
        count += 1
    return count
