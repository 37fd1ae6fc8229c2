"""What an observer of pull-mode work sees: the dashboard (counts, active runs and which are stuck,
queue depth per channel, claim and start latency, freshness, health) and each actor's inbox
(lanes of tasks that want attention, with the actor's triage of each).

Pure: the caller reads the tasks and runs (`TaskFacts`, `RunFacts`) and passes `now`; nothing
here reads a store or the clock, so the rules are unit-tested on an injected instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chalicelib.engine.ports import Triage
from chalicelib.engine.pull_status import TaskStatus

#: A run claimed or starting this long without moving on is stuck.
STUCK_HELD = timedelta(minutes=5)
#: A run running this long is stuck.
STUCK_RUNNING = timedelta(minutes=30)
#: The queue is backlogged when its oldest claimable run has waited this long.
BACKLOG_AFTER = timedelta(minutes=5)
#: Live work (open runs) with no activity for this long is stale.
STALE_AFTER = timedelta(minutes=15)

#: Run statuses as agents see them (`pull.run_status`), open ones first.
OPEN_RUN_STATUSES = ("queued", "claimed", "starting", "running")
ENDED_RUN_STATUSES = ("completed", "failed", "canceled")
HELD_RUN_STATUSES = frozenset({"claimed", "starting", "running"})


class Health(StrEnum):
    """How a part of the dashboard is doing."""

    #: Nothing to look at.
    OK = "ok"
    #: Something wants a look (a stuck run, a backlog, a failure with attempts left).
    WARNING = "warning"
    #: Something is broken for good (a task failed with no attempt left, an orphaned run).
    CRITICAL = "critical"


class Lane(StrEnum):
    """Inbox lanes; a task sits in the first that applies, in this order (archived overrides all)."""

    #: Tasks waiting for someone's approval (`approval_policy: manual`).
    APPROVALS = "approvals"
    #: Tasks whose latest run failed.
    FAILED_RUNS = "failed_runs"
    #: Tasks blocked on a dependency that has not completed.
    BLOCKED = "blocked"
    #: The actor's own open tasks, and the runs its session holds.
    MY_WORK = "my_work"
    #: Tasks the actor archived.
    ARCHIVED = "archived"


LANES = (Lane.MY_WORK, Lane.APPROVALS, Lane.FAILED_RUNS, Lane.BLOCKED, Lane.ARCHIVED)


@dataclass(frozen=True, kw_only=True)
class TaskFacts:
    """What the observer needs of one pull-mode task."""

    task_id: str
    title: str = ""
    identifier: str = ""
    status: TaskStatus
    priority: str = "medium"
    scope: str = "global"
    workspace_id: str | None = None
    owner_kind: str = "human"
    owner_ref: str = ""
    origin_kind: str | None = None
    network_channel: str | None = None
    #: `approval_policy: manual` and not approved yet (while not settled).
    awaiting_approval: bool = False
    #: A dependency has not completed.
    awaiting_dependencies: bool = False
    max_attempts: int = 3
    #: When the task itself last changed.
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class RunFacts:
    """What the observer needs of one pull-mode run."""

    run_id: str
    task_id: str
    #: `queued | claimed | starting | running | completed | failed | canceled`.
    status: str
    attempt: int = 1
    network_channel: str | None = None
    #: The agent session holding (or that last held) it.
    session_id: str | None = None
    queued_at: datetime
    claimed_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    heartbeat_at: datetime | None = None
    lease_until: datetime | None = None
    error: str | None = None
    #: Queued behind a blocked task: not claimable, not part of the queue depth.
    parked: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_RUN_STATUSES

    def entered_status_at(self) -> datetime:
        """When the run entered its current status (what its age is measured from)."""
        if self.status == "claimed":
            return self.claimed_at or self.queued_at
        if self.status in ("starting", "running"):
            return self.started_at or self.claimed_at or self.queued_at
        if self.status in ENDED_RUN_STATUSES:
            return self.ended_at or self.queued_at
        return self.queued_at

    def last_activity_at(self) -> datetime:
        """Its latest recorded moment."""
        moments = [self.queued_at, self.claimed_at, self.started_at, self.ended_at, self.heartbeat_at]
        return max(moment for moment in moments if moment is not None)


def milliseconds(span: timedelta) -> int:
    """A span in whole milliseconds (never negative: clocks of two writers may disagree a little)."""
    return max(0, int(span.total_seconds() * 1000))


def is_stuck(run: RunFacts, now: datetime) -> bool:
    """Claimed or starting for over `STUCK_HELD`, running for over `STUCK_RUNNING`."""
    age = now - run.entered_status_at()
    if run.status in ("claimed", "starting"):
        return age > STUCK_HELD
    return run.status == "running" and age > STUCK_RUNNING


def is_orphaned(run: RunFacts, now: datetime) -> bool:
    """Held under a lease that ran out: its agent is gone and the run waits to be requeued."""
    return run.status in HELD_RUN_STATUSES and run.lease_until is not None and run.lease_until <= now


def latest_activity(task: TaskFacts, runs: Iterable[RunFacts]) -> datetime:
    """The task's latest activity: its own last change or its runs' latest moment."""
    return max([task.updated_at, *(run.last_activity_at() for run in runs)])


@dataclass(frozen=True, kw_only=True)
class ActiveRun:
    """An open run, as the dashboard lists it."""

    run: RunFacts
    task: TaskFacts | None
    age: timedelta
    stuck: bool
    health: Health
    last_activity_at: datetime


@dataclass(frozen=True, kw_only=True)
class Latency:
    """Average and maximum of a latency over its samples (zero without samples)."""

    average: timedelta = timedelta(0)
    maximum: timedelta = timedelta(0)
    samples: int = 0


def latency(spans: Iterable[timedelta]) -> Latency:
    """The latency over `spans` (negative spans, from skewed clocks, count as zero)."""
    values = [max(span, timedelta(0)) for span in spans]
    if not values:
        return Latency()
    return Latency(average=sum(values, timedelta(0)) / len(values), maximum=max(values), samples=len(values))


@dataclass(frozen=True, kw_only=True)
class ChannelDepth:
    """The claimable queued runs of one network channel."""

    network_channel: str | None
    count: int
    oldest_queued_at: datetime


@dataclass(frozen=True, kw_only=True)
class Dashboard:
    """Everything the dashboard shows, at `observed_at`."""

    observed_at: datetime
    task_counts: Mapping[TaskStatus, int]
    run_counts: Mapping[str, int]
    awaiting_approval: int
    awaiting_dependencies: int
    active: tuple[ActiveRun, ...]
    depth: tuple[ChannelDepth, ...]
    claim_latency: Latency
    start_latency: Latency
    forced_stops: int
    latest_activity_at: datetime | None
    stuck_runs: int
    orphaned_runs: int
    backlog_after: timedelta = BACKLOG_AFTER
    stale_after: timedelta = STALE_AFTER

    @property
    def tasks_total(self) -> int:
        return sum(self.task_counts.values())

    @property
    def runs_total(self) -> int:
        return sum(self.run_counts.values())

    @property
    def queued_total(self) -> int:
        return sum(channel.count for channel in self.depth)

    @property
    def oldest_queued_at(self) -> datetime | None:
        return min((channel.oldest_queued_at for channel in self.depth), default=None)

    @property
    def backlog(self) -> bool:
        """The oldest claimable run has waited longer than `backlog_after`."""
        oldest = self.oldest_queued_at
        return oldest is not None and self.observed_at - oldest > self.backlog_after

    @property
    def has_live_work(self) -> bool:
        return bool(self.active)

    @property
    def stale(self) -> bool:
        """Live work, and nothing happened for longer than `stale_after`."""
        latest = self.latest_activity_at
        return self.has_live_work and (latest is None or self.observed_at - latest > self.stale_after)

    @property
    def health(self) -> Health:
        if self.orphaned_runs:
            return Health.CRITICAL
        if self.stuck_runs or self.backlog or self.stale:
            return Health.WARNING
        return Health.OK


def dashboard(tasks: Sequence[TaskFacts], runs: Sequence[RunFacts], *, now: datetime) -> Dashboard:
    """The dashboard over `tasks` and their `runs` at `now` (runs of other tasks are ignored)."""
    by_id = {task.task_id: task for task in tasks}
    runs = [run for run in runs if run.task_id in by_id]
    task_counts = {status: 0 for status in TaskStatus}
    for task in tasks:
        task_counts[task.status] += 1
    run_counts = {status: 0 for status in (*OPEN_RUN_STATUSES, *ENDED_RUN_STATUSES)}
    for run in runs:
        run_counts[run.status] = run_counts.get(run.status, 0) + 1
    active = []
    for run in sorted((r for r in runs if r.is_open), key=lambda r: (r.entered_status_at(), r.run_id)):
        stuck, orphaned = is_stuck(run, now), is_orphaned(run, now)
        active.append(ActiveRun(run=run, task=by_id.get(run.task_id), age=now - run.entered_status_at(),
                                stuck=stuck, last_activity_at=run.last_activity_at(),
                                health=Health.CRITICAL if orphaned else Health.WARNING if stuck else Health.OK))
    channels: dict[str | None, list[datetime]] = {}
    for run in runs:
        if run.status == "queued" and not run.parked:
            channels.setdefault(run.network_channel, []).append(run.queued_at)
    depth = tuple(ChannelDepth(network_channel=channel, count=len(times), oldest_queued_at=min(times))
                  for channel, times in sorted(channels.items(), key=lambda item: item[0] or ""))
    moments = [task.updated_at for task in tasks] + [run.last_activity_at() for run in runs]
    blocked = [task for task in tasks if task.status is TaskStatus.BLOCKED]
    return Dashboard(
        observed_at=now, task_counts=task_counts, run_counts=run_counts,
        awaiting_approval=sum(1 for task in blocked if task.awaiting_approval),
        awaiting_dependencies=sum(1 for task in blocked if task.awaiting_dependencies),
        active=tuple(active), depth=depth,
        claim_latency=latency(run.claimed_at - run.queued_at for run in runs if run.claimed_at is not None),
        start_latency=latency(run.started_at - run.claimed_at for run in runs
                              if run.started_at is not None and run.claimed_at is not None),
        forced_stops=sum(1 for run in runs if run.status == "canceled" and run.claimed_at is not None),
        latest_activity_at=max(moments, default=None),
        stuck_runs=sum(1 for item in active if item.stuck),
        orphaned_runs=sum(1 for item in active if item.health is Health.CRITICAL),
    )


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who looks at the inbox: the token's actor kind and its reference (user id or session)."""

    kind: str
    ref: str
    #: The agent session of the caller, if any (the runs it holds are its work).
    session: str | None = None


@dataclass(frozen=True, kw_only=True)
class InboxItem:
    """One task in one lane of an actor's inbox."""

    lane: Lane
    task: TaskFacts
    #: The task's latest run, if it has any.
    run: RunFacts | None
    latest_activity_at: datetime
    #: The actor's triage as it applies now (read only while nothing happened since).
    triage: Triage
    blocking_reason: str | None

    @property
    def unread(self) -> bool:
        return not self.triage.read


@dataclass(frozen=True, kw_only=True)
class InboxLane:
    lane: Lane
    #: Every item of the lane (before `limit`).
    count: int
    unread_count: int
    items: tuple[InboxItem, ...]


@dataclass(frozen=True, kw_only=True)
class Inbox:
    lanes: tuple[InboxLane, ...]
    #: Items in the lanes shown, archived excluded unless asked for.
    total: int
    unread_total: int
    archived_total: int


@dataclass(frozen=True, kw_only=True)
class InboxQuery:
    """What the caller asked for."""

    lane: Lane | None = None
    #: Only unread items.
    unread: bool = False
    #: A case-insensitive substring of the title or identifier.
    text: str | None = None
    limit: int = 50


def effective_triage(record: Triage | None, task_id: str, actor: Actor, activity: datetime) -> Triage:
    """The actor's triage as it applies at the task's latest `activity`: `read` and `dismissed`
    hold only while nothing happened after `last_seen_activity_at`; `archived` holds until undone."""
    if record is None:
        return Triage(task_id=task_id, actor_kind=actor.kind, actor_ref=actor.ref)
    seen = record.last_seen_activity_at
    current = seen is not None and activity <= seen
    return Triage(task_id=task_id, actor_kind=record.actor_kind, actor_ref=record.actor_ref,
                  read=record.read and current, dismissed=record.dismissed and current,
                  archived=record.archived, last_seen_activity_at=seen, updated_at=record.updated_at)


def lane_of(task: TaskFacts, latest: RunFacts | None, actor: Actor) -> Lane | None:
    """The lane a task belongs in for `actor` (before triage), or None when it wants no attention."""
    if task.status in (TaskStatus.CANCELED, TaskStatus.COMPLETED):
        return None
    if task.status is TaskStatus.BLOCKED and task.awaiting_approval and not task.awaiting_dependencies:
        return Lane.APPROVALS
    if latest is not None and latest.status == "failed":
        return Lane.FAILED_RUNS
    if task.status is TaskStatus.BLOCKED:
        return Lane.BLOCKED
    owned = (task.owner_kind, task.owner_ref) == (actor.kind, actor.ref)
    holding = actor.session is not None and latest is not None and latest.is_open \
        and latest.session_id == actor.session
    return Lane.MY_WORK if owned or holding else None


def blocking_reason(task: TaskFacts) -> str | None:
    """Why a blocked task waits, in words."""
    if task.status is not TaskStatus.BLOCKED:
        return None
    reasons = []
    if task.awaiting_dependencies:
        reasons.append("waiting for dependencies to complete")
    if task.awaiting_approval:
        reasons.append("waiting for approval")
    return " and ".join(reasons) or "blocked"


def inbox(tasks: Sequence[TaskFacts], runs: Sequence[RunFacts], triage: Iterable[Triage], *, actor: Actor,
          query: InboxQuery) -> Inbox:
    """The actor's inbox over `tasks` (their `runs`, the actor's `triage` records). A dismissed item
    leaves the inbox until new activity; an archived one moves to the `archived` lane."""
    runs_of: dict[str, list[RunFacts]] = {}
    for run in runs:
        runs_of.setdefault(run.task_id, []).append(run)
    records = {record.task_id: record for record in triage}
    needle = (query.text or "").casefold()
    items: dict[Lane, list[InboxItem]] = {lane: [] for lane in LANES}
    for task in tasks:
        task_runs = runs_of.get(task.task_id, [])
        latest = max(task_runs, key=lambda run: (run.queued_at, run.run_id), default=None)
        lane = lane_of(task, latest, actor)
        record = records.get(task.task_id)
        if lane is None and not (record is not None and record.archived):
            continue
        activity = latest_activity(task, task_runs)
        state = effective_triage(record, task.task_id, actor, activity)
        if state.archived:
            lane = Lane.ARCHIVED
        elif state.dismissed or lane is None:
            continue
        if needle and needle not in task.title.casefold() and needle not in task.identifier.casefold():
            continue
        items[lane].append(InboxItem(lane=lane, task=task, run=latest, latest_activity_at=activity, triage=state,
                                     blocking_reason=blocking_reason(task)))
    shown = [query.lane] if query.lane is not None else list(LANES)
    lanes = []
    budget = query.limit
    for lane in shown:
        found = sorted(sorted(items[lane], key=lambda item: item.task.task_id),  # ties: by id
                       key=lambda item: item.latest_activity_at, reverse=True)
        if query.unread:
            found = [item for item in found if item.unread]
        kept = tuple(found[:max(budget, 0)])
        budget -= len(kept)
        lanes.append(InboxLane(lane=lane, count=len(found), unread_count=sum(1 for item in found if item.unread),
                               items=kept))
    open_lanes = [lane for lane in lanes if lane.lane is not Lane.ARCHIVED]
    return Inbox(lanes=tuple(lanes), total=sum(lane.count for lane in lanes),
                 unread_total=sum(lane.unread_count for lane in open_lanes),
                 archived_total=len(items[Lane.ARCHIVED]))
