"""Pull-mode runs: no executor picks them up; an agent session claims one under a lease,
heartbeats, and reports how it ended. The operations a face calls to offer such work.

A queued run waits in one of `QUEUE_SHARDS` partitions of its channel in the `queued` index,
ranked by priority (`urgent > high > medium > low`) then `queued_at`. `claim_next` reads the head
of each partition, tries the best first with one conditional write (the run's state and the
session's lease record in one transaction), and moves on to the next when another claimer won.
A claim hands out the raw claim token once; only its `sha256:` hash is stored. Each later call
of the holder holds only while its session still holds the run and the lease has not run out;
otherwise it is a `Conflict` (the stale holder). Expired leases are requeued by the maintenance
role (`requeue_expired`) and lazily when a claim finds nothing queued or the claiming session's
own lease ran out.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.engine import backend
from chalicelib.engine.model import EndReason, Run, RunStatus, TriggeredBy
from chalicelib.engine.pull_status import HELD, TaskStatus
from chalicelib.errors import Conflict, NotFound, ValidationError
from chalicelib.timefmt import to_iso

#: Claim order: lower rank first.
PRIORITIES = ("urgent", "high", "medium", "low")
DEFAULT_PRIORITY = "medium"
#: Partitions of one channel's queue, so no single key takes every enqueue and claim.
QUEUE_SHARDS = 4
#: Lease-index partitions of held pull-mode runs (apart from the worker's `0`..`7`).
LEASE_SHARDS = tuple(f"pull#{n}" for n in range(4))
DEFAULT_LEASE = timedelta(minutes=5)
MAX_LEASE = timedelta(hours=24)
MAX_ATTEMPTS = 10
#: Queue heads read per partition by one claim; claims lost to racing claimers move down them.
HEADS = 4
#: Most queue heads per partition a filtered claim (`accept`) reads, growing from HEADS by x4 while
#: none of those read is accepted; a matching run further back is not found (204).
MAX_FILTERED_HEADS = 1024
#: Rounds of reading heads before a claim under heavy contention gives up (answers nothing).
ROUNDS = 3
#: Expired leases requeued lazily by one claim that found nothing queued.
LAZY_REQUEUE = 10


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A run claimed by an agent session."""

    run: Run
    #: The raw claim token, given out here only; the run stores `sha256:` of it.
    token: str


def token_hash(token: str) -> str:
    """The stored form of a claim token."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def _shard(run_id: str, shards: int) -> int:
    return int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:4], "big") % shards


def queue_partition(tenant: str, channel: str | None, shard: int) -> str:
    """A partition of a tenant's channel queue (channel "" when none)."""
    return f"{tenant}#{channel or ''}#{shard}"


def queue_rank(priority: str, queued_at: datetime, run_id: str) -> str:
    """The sort key in the queue: priority first, then oldest `queued_at`, then id."""
    return f"{PRIORITIES.index(priority)}#{to_iso(queued_at)}#{run_id}"


def priority_of(run: Run) -> str:
    """The priority a queued run was given."""
    return PRIORITIES[int((run.queue_rank or "2").split("#", 1)[0])]


def attempt_of(run: Run) -> int:
    """The run's attempt number (1 for a task's first run)."""
    return run.retry_attempt + 1


def lease_length(seconds: float | None) -> timedelta:
    """The lease asked for (default 5 minutes), refused outside (0, 24 h]."""
    if seconds is None:
        return DEFAULT_LEASE
    if not 0 < seconds <= MAX_LEASE.total_seconds():
        raise ValidationError(f"lease_seconds must be between 1 and {int(MAX_LEASE.total_seconds())}",
                              location="body.lease_seconds", value=seconds)
    return timedelta(seconds=seconds)


def enqueue(tenant: str, task_id: str, *, now: datetime, priority: str = DEFAULT_PRIORITY,
            channel: str | None = None, max_attempts: int = 3, status: TaskStatus | None = None,
            extra: dict[str, Any] | None = None) -> Run:
    """Queue a new run of the task (attempt = previous + 1). Refused (`Conflict`) for a draft or
    canceled task, while the task has an open run, and past `max_attempts`. A blocked task's run
    is queued parked: no claim sees it until `set_claimable` (when the task turns ready)."""
    if priority not in PRIORITIES:
        raise ValidationError(f"priority must be one of {', '.join(PRIORITIES)}", location="body.priority",
                              value=priority)
    if not 1 <= max_attempts <= MAX_ATTEMPTS:
        raise ValidationError(f"max_attempts must be between 1 and {MAX_ATTEMPTS}", location="body.max_attempts",
                              value=max_attempts)
    if status in (TaskStatus.DRAFT, TaskStatus.CANCELED):
        raise Conflict(f"task {task_id} is {status.value}: nothing can be enqueued")
    runs = list(backend.current().runs.list_runs(tenant, task_id))
    if any(not run.is_terminal for run in runs):
        raise Conflict(f"task {task_id} has an open run")
    if len(runs) >= max_attempts:
        raise Conflict(f"task {task_id} has used its {max_attempts} attempts")
    attempt = max((run.retry_attempt for run in runs), default=-1) + 1
    run_id = attempt_run_id(task_id, attempt + 1)
    run = Run(tenant=tenant, task_id=task_id, run_id=run_id, status=RunStatus.QUEUED, triggered_by=TriggeredBy.API,
              created_at=now, source="agent", retry_attempt=attempt, extra=extra or {},
              queue_partition=queue_partition(tenant, channel, _shard(run_id, QUEUE_SHARDS)),
              queue_rank=queue_rank(priority, now, run_id), parked=status is TaskStatus.BLOCKED)
    if not backend.current().runs.create_run(run):
        raise Conflict(f"task {task_id} has an open run")  # a concurrent enqueue took this attempt
    return backend.current().runs.get_run(tenant, task_id, run_id)


def attempt_run_id(task_id: str, attempt: int) -> str:
    """The id of a task's `attempt`-th run (from 1): derived from its cause, so two enqueues
    racing for the same attempt write one run (the conditional put refuses the second), and a
    task's runs sort by attempt."""
    return f"{task_id}-r{attempt:02d}"


def set_claimable(tenant: str, task_id: str, run_id: str, *, claimable: bool) -> Run | None:
    """Let claims see a queued run again (its task turned ready) or hide it (its task turned
    blocked); None when the run is not queued."""
    return backend.current().pull.set_parked(tenant, task_id, run_id, parked=not claimable)


def _heads(tenant: str, channel: str | None, limit: int = HEADS) -> tuple[list[tuple[str, str, str, str]], bool]:
    """The first `limit` queued keys of each partition in rank order, and whether any partition
    has more than were read."""
    pull = backend.current().pull
    keys: list[tuple[str, str, str, str]] = []
    more = False
    for shard in range(QUEUE_SHARDS):
        read = pull.queued_keys(queue_partition(tenant, channel, shard), limit=limit)
        more = more or len(read) >= limit
        keys.extend(read)
    return sorted(keys), more


def _accepted_heads(tenant: str, channel: str | None,
                    accept: Callable[[str], bool] | None) -> list[tuple[str, str, str, str]]:
    """The queue heads a claim tries: with `accept`, those of accepted tasks, reading deeper into
    the partitions (up to MAX_FILTERED_HEADS each) while none read is accepted."""
    limit = HEADS
    verdicts: dict[str, bool] = {}
    while True:
        heads, more = _heads(tenant, channel, limit)
        if accept is None:
            return heads
        for head in heads:
            if head[2] not in verdicts:
                verdicts[head[2]] = accept(head[2])
        accepted = [head for head in heads if verdicts[head[2]]]
        if accepted or not more or limit >= MAX_FILTERED_HEADS:
            return accepted
        limit = min(limit * 4, MAX_FILTERED_HEADS)


def claim_next(tenant: str, session: str, *, now: datetime, channel: str | None = None,
               lease_seconds: float | None = None, on_requeued: Callable[[Run], None] | None = None,
               accept: Callable[[str], bool] | None = None) -> Claim | None:
    """Claim the best queued run of the tenant's channel for `session`, or None when nothing is
    claimable. `Conflict` while the session holds a lease that has not run out. `on_requeued` is
    told of each expired lease this claim requeued on the way. `accept(task id)`, when given,
    skips the runs of tasks it refuses; the claim reads deeper into the queue while none of the
    heads read is accepted (at most MAX_FILTERED_HEADS per partition)."""
    lease = lease_length(lease_seconds)
    claim = _claim_from_heads(tenant, session, now=now, channel=channel, lease=lease, accept=accept)
    if claim is None and requeue_expired(now, limit=LAZY_REQUEUE, on_requeued=on_requeued):
        claim = _claim_from_heads(tenant, session, now=now, channel=channel, lease=lease, accept=accept)
    return claim


def _claim_from_heads(tenant: str, session: str, *, now: datetime, channel: str | None,
                      lease: timedelta, accept: Callable[[str], bool] | None = None) -> Claim | None:
    pull = backend.current().pull
    for _ in range(ROUNDS):
        heads = _accepted_heads(tenant, channel, accept)
        if not heads:
            return None
        for _rank, run_tenant, task_id, run_id in heads:
            token = "clt_" + secrets.token_urlsafe(32)
            try:
                run = pull.claim_run(run_tenant, task_id, run_id, session=session, token_hash=token_hash(token),
                                     now=now, lease_until=now + lease,
                                     lease_shard=LEASE_SHARDS[_shard(run_id, len(LEASE_SHARDS))])
            except Conflict:
                if not _free_own_expired_lease(tenant, session, now):
                    raise
                continue
            if run is not None:
                return Claim(run=run, token=token)
    return None


def claim(tenant: str, session: str, task_id: str, run_id: str, *, now: datetime,
          lease_seconds: float | None = None, idempotency_key: str | None = None) -> Claim | None:
    """Claim one named queued run for `session` (an operator's claim); None when it is not queued
    (`NotFound` for no such run). `Conflict` while the session holds a live lease elsewhere."""
    lease = lease_length(lease_seconds)
    backend.current().runs.get_run(tenant, task_id, run_id)
    pull = backend.current().pull
    token = "clt_" + secrets.token_urlsafe(32)
    for _ in range(2):
        try:
            run = pull.claim_run(tenant, task_id, run_id, session=session, token_hash=token_hash(token), now=now,
                                 lease_until=now + lease, lease_shard=LEASE_SHARDS[_shard(run_id, len(LEASE_SHARDS))],
                                 idempotency_key=idempotency_key)
        except Conflict:
            if not _free_own_expired_lease(tenant, session, now):
                raise
            continue
        return None if run is None else Claim(run=run, token=token)
    return None


def _free_own_expired_lease(tenant: str, session: str, now: datetime) -> bool:
    """Requeue the run `session` holds if its lease ran out; True if the session is free now."""
    pull = backend.current().pull
    held = pull.session_lease(tenant, session)
    if held is None:
        return True
    return pull.requeue_run(tenant, *held, session=None, token_hash=None, now=now, expired_only=True) is not None


def _refusal(tenant: str, session: str, run_id: str) -> Conflict:
    """Why a holder's call did not hold: `NotFound` for no such run of the tenant, else `Conflict`."""
    backend.current().runs.find_run(tenant, run_id)  # NotFound for another tenant's run
    return Conflict(f"session {session} does not hold a live lease on run {run_id}")


def _held(tenant: str, session: str, run_id: str) -> tuple[str, str]:
    held = backend.current().pull.session_lease(tenant, session)
    if held is None or held[1] != run_id:
        raise _refusal(tenant, session, run_id)
    return held


def session_run(tenant: str, session: str) -> Run | None:
    """The run `session` holds, if any (what the agent's calls are resolved from)."""
    held = backend.current().pull.session_lease(tenant, session)
    if held is None:
        return None
    try:
        return backend.current().runs.get_run(tenant, *held)
    except NotFound:
        return None


def _touch(tenant: str, session: str, run_id: str, *, now: datetime, token: str | None,
           expected: frozenset[RunStatus], status: RunStatus | None = None,
           lease: timedelta | None = None, idempotency_key: str | None = None) -> Run:
    task_id, _ = _held(tenant, session, run_id)
    run = backend.current().pull.touch_run(
        tenant, task_id, run_id, session=session, token_hash=token_hash(token) if token else None, now=now,
        expected=expected, status=status, lease_until=now + lease if lease else None,
        idempotency_key=idempotency_key)
    if run is None:
        current = backend.current().runs.get_run(tenant, task_id, run_id)
        live = current.lease_until is not None and current.lease_until > now
        if current.worker_id == session and current.status in HELD and live and current.status not in expected:
            raise Conflict(f"run {run_id} is {run_status(current)} already")  # held, but past this step
        raise _refusal(tenant, session, run_id)
    return run


def heartbeat(tenant: str, session: str, run_id: str, *, now: datetime, lease_seconds: float | None = None,
              token: str | None = None) -> Run:
    """Extend the holder's lease to `now + lease`."""
    return _touch(tenant, session, run_id, now=now, token=token, expected=HELD, lease=lease_length(lease_seconds))


def start(tenant: str, session: str, run_id: str, *, now: datetime, token: str | None = None,
          idempotency_key: str | None = None) -> Run:
    """claimed -> starting."""
    return _touch(tenant, session, run_id, now=now, token=token, expected=frozenset({RunStatus.CLAIMED}),
                  status=RunStatus.STARTING, idempotency_key=idempotency_key)


def mark_running(tenant: str, session: str, run_id: str, *, now: datetime, token: str | None = None,
                 idempotency_key: str | None = None) -> Run:
    """claimed | starting -> running."""
    return _touch(tenant, session, run_id, now=now, token=token,
                  expected=frozenset({RunStatus.CLAIMED, RunStatus.STARTING}), status=RunStatus.RUNNING,
                  idempotency_key=idempotency_key)


def _end(tenant: str, session: str, run_id: str, reason: EndReason, *, now: datetime, token: str | None,
         detail: str | None, result: Any = None) -> Run:
    task_id, _ = _held(tenant, session, run_id)
    run = backend.current().pull.end_held_run(tenant, task_id, run_id, session=session,
                                              token_hash=token_hash(token) if token else None, now=now,
                                              reason=reason, detail=detail, result=result)
    if run is None:
        raise _refusal(tenant, session, run_id)
    return run


def complete(tenant: str, session: str, run_id: str, *, now: datetime, token: str | None = None,
             detail: str | None = None, result: Any = None) -> Run:
    """The holder's run completed: it ends `success` (keeping `result`) and the session is free."""
    return _end(tenant, session, run_id, EndReason.SUCCESS, now=now, token=token, detail=detail, result=result)


def fail(tenant: str, session: str, run_id: str, *, now: datetime, token: str | None = None,
         detail: str | None = None) -> Run:
    """The holder's run failed: it ends `failed`, the session is free. A failure is not retried by
    itself: the task is runnable again while attempts remain (`enqueue` counts them)."""
    return _end(tenant, session, run_id, EndReason.FAILED, now=now, token=token, detail=detail)


def release(tenant: str, session: str, run_id: str, *, now: datetime, token: str | None = None) -> Run:
    """Give the run back: queued again in its place, its claim cleared, the session free."""
    task_id, _ = _held(tenant, session, run_id)
    run = backend.current().pull.requeue_run(tenant, task_id, run_id, session=session,
                                             token_hash=token_hash(token) if token else None, now=now,
                                             expired_only=False)
    if run is None:
        raise _refusal(tenant, session, run_id)
    return run


def attach_session(tenant: str, task_id: str, run_id: str, *, session_id: str) -> Run:
    """Record the agent session working an open run; `Conflict` once it has ended."""
    backend.current().runs.get_run(tenant, task_id, run_id)
    run = backend.current().pull.attach_session(tenant, task_id, run_id, session_id=session_id)
    if run is None:
        raise Conflict(f"run {run_id} has ended: no session can be attached")
    return run


def requeue_expired(now: datetime, *, limit: int | None = None,
                    on_requeued: Callable[[Run], None] | None = None) -> int:
    """Requeue every held pull-mode run whose lease ran out by `now` (the maintenance role's
    sweep; claims call it lazily), telling `on_requeued` of each. How many this call requeued."""
    pull = backend.current().pull
    requeued = 0
    for tenant, task_id, run_id in list(pull.expired_pull_leases(now, shards=LEASE_SHARDS, limit=limit)):
        run = pull.requeue_run(tenant, task_id, run_id, session=None, token_hash=None, now=now, expired_only=True)
        if run is not None:
            requeued += 1
            if on_requeued is not None:
                on_requeued(run)
    return requeued


def cancel(tenant: str, task_id: str, run_id: str, *, now: datetime, detail: str | None = None) -> Run | None:
    """End an open pull-mode run `stopped` (canceled), queued or held (its session is freed);
    None when it had ended already. `NotFound` for no such run."""
    runs = backend.current().runs
    run = runs.get_run(tenant, task_id, run_id)
    for _ in range(3):  # a claim or release may move it between the read and the write
        if run.status is RunStatus.QUEUED:
            ended = runs.finish_run(tenant, task_id, run_id, reason=EndReason.STOPPED, exit_code=1, now=now,
                                    expected_status=RunStatus.QUEUED, detail=detail)
        elif run.status in HELD:
            ended = backend.current().pull.end_held_run(tenant, task_id, run_id, session=None, token_hash=None,
                                                        now=now, reason=EndReason.STOPPED, detail=detail)
        else:
            return None
        if ended is not None:
            return ended
        run = runs.get_run(tenant, task_id, run_id)
    raise Conflict(f"run {run_id} kept changing while it was canceled")


#: A pull-mode run's status as agents see it, for each ended run's reason.
_ENDED_AS: dict[EndReason | None, str] = {EndReason.SUCCESS: "completed", EndReason.STOPPED: "canceled"}


def run_status(run: Run) -> str:
    """`queued | claimed | starting | running | completed | failed | canceled`."""
    if run.status is RunStatus.ENDED:
        return _ENDED_AS.get(run.end_reason, "failed") if run.end_reason is not None else "failed"
    return run.status.value
