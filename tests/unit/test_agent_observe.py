"""The observer's rules on an injected instant: stuck runs, queue depth, latency, freshness,
health, and the inbox's lanes and triage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.engine import agent_observe as observe
from chalicelib.engine.agent_observe import Actor, Health, InboxQuery, Lane, RunFacts, TaskFacts
from chalicelib.engine.ports import Triage
from chalicelib.engine.pull_status import TaskStatus

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
ALICE = Actor(kind="human", ref="alice")


def task(task_id: str, status: TaskStatus = TaskStatus.READY, *, at: datetime = T0, **fields) -> TaskFacts:
    return TaskFacts(task_id=task_id, title=fields.pop("title", f"Task {task_id}"), identifier=f"T-{task_id}",
                     status=status, updated_at=at, **fields)


def run(task_id: str, status: str, *, run_id: str | None = None, queued: datetime = T0, **fields) -> RunFacts:
    return RunFacts(run_id=run_id or f"r-{task_id}", task_id=task_id, status=status, queued_at=queued, **fields)


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def test_claimed_or_starting_runs_are_stuck_after_five_minutes_running_ones_after_thirty():
    claimed = run("a", "claimed", claimed_at=T0)
    starting = run("b", "starting", claimed_at=T0, started_at=T0)
    running = run("c", "running", claimed_at=T0, started_at=T0)
    at_five = T0 + timedelta(minutes=5)
    assert not observe.is_stuck(claimed, at_five) and not observe.is_stuck(starting, at_five)
    assert observe.is_stuck(claimed, at_five + seconds(1)) and observe.is_stuck(starting, at_five + seconds(1))
    assert not observe.is_stuck(running, at_five + seconds(1))
    assert not observe.is_stuck(running, T0 + timedelta(minutes=30))
    assert observe.is_stuck(running, T0 + timedelta(minutes=30, seconds=1))
    # Age counts from entering the status: a run claimed long after it was queued is not stuck.
    late = run("d", "claimed", queued=T0 - timedelta(hours=1), claimed_at=T0)
    assert not observe.is_stuck(late, T0 + timedelta(minutes=4))
    assert not observe.is_stuck(run("e", "queued", queued=T0 - timedelta(days=1)), T0)


def test_the_dashboard_counts_tasks_and_runs_by_status_and_lists_open_runs_with_age():
    tasks = [task("a", TaskStatus.IN_PROGRESS), task("b", TaskStatus.READY), task("c", TaskStatus.COMPLETED),
             task("d", TaskStatus.BLOCKED, awaiting_approval=True), task("e", TaskStatus.DRAFT)]
    now = T0 + timedelta(minutes=10)
    runs = [run("a", "running", claimed_at=T0, started_at=T0 + seconds(30), lease_until=now + seconds(60)),
            run("b", "queued", queued=T0 + timedelta(minutes=2)),
            run("c", "completed", run_id="r-c1", claimed_at=T0, started_at=T0, ended_at=T0 + seconds(5)),
            run("c", "failed", run_id="r-c0", claimed_at=T0, ended_at=T0),
            run("other", "queued")]  # a run of a task not observed: ignored
    board = observe.dashboard(tasks, runs, now=now)
    assert board.task_counts[TaskStatus.READY] == 1 and board.task_counts[TaskStatus.CANCELED] == 0
    assert board.tasks_total == 5 and board.runs_total == 4
    assert (board.run_counts["running"], board.run_counts["queued"], board.run_counts["completed"],
            board.run_counts["failed"]) == (1, 1, 1, 1)
    assert board.awaiting_approval == 1 and board.awaiting_dependencies == 0
    assert [(item.run.run_id, item.age, item.stuck) for item in board.active] == [
        ("r-a", now - T0 - seconds(30), False), ("r-b", timedelta(minutes=8), False)]
    assert board.active[0].task is tasks[0]


def test_stuck_and_orphaned_runs_set_the_health():
    tasks = [task("a", TaskStatus.IN_PROGRESS), task("b", TaskStatus.IN_PROGRESS)]
    now = T0 + timedelta(minutes=6)
    fine = observe.dashboard(tasks, [run("a", "claimed", claimed_at=now - seconds(10), lease_until=now + seconds(60))],
                             now=now)
    assert (fine.stuck_runs, fine.orphaned_runs, fine.health) == (0, 0, Health.OK)
    stuck = observe.dashboard(tasks, [run("a", "claimed", claimed_at=T0, lease_until=now + seconds(60))], now=now)
    assert (stuck.stuck_runs, stuck.health, stuck.active[0].health) == (1, Health.WARNING, Health.WARNING)
    orphan = observe.dashboard(tasks, [run("b", "running", claimed_at=now, started_at=now, lease_until=now)], now=now)
    assert (orphan.orphaned_runs, orphan.health, orphan.active[0].health) == (1, Health.CRITICAL, Health.CRITICAL)


def test_queue_depth_is_per_channel_with_the_oldest_claimable_run_and_a_backlog_past_five_minutes():
    tasks = [task(name) for name in "abcde"]
    runs = [run("a", "queued", queued=T0 + seconds(10)), run("b", "queued", queued=T0 + seconds(20)),
            run("c", "queued", queued=T0 + seconds(5), network_channel="gpu"),
            run("d", "queued", queued=T0 - timedelta(hours=1), parked=True),  # blocked: not claimable
            run("e", "claimed", claimed_at=T0)]
    board = observe.dashboard(tasks, runs, now=T0 + timedelta(minutes=5, seconds=10))
    assert [(c.network_channel, c.count, c.oldest_queued_at) for c in board.depth] == [
        (None, 2, T0 + seconds(10)), ("gpu", 1, T0 + seconds(5))]
    assert (board.queued_total, board.oldest_queued_at) == (3, T0 + seconds(5))
    assert board.backlog and board.health is Health.WARNING
    assert not observe.dashboard(tasks, runs, now=T0 + timedelta(minutes=5, seconds=5)).backlog
    assert observe.dashboard(tasks, [], now=T0).oldest_queued_at is None


def test_claim_and_start_latency_are_averaged_over_the_runs_that_have_them():
    tasks = [task("a"), task("b"), task("c")]
    runs = [run("a", "completed", claimed_at=T0 + seconds(2), started_at=T0 + seconds(3), ended_at=T0 + seconds(9)),
            run("b", "running", claimed_at=T0 + seconds(4), started_at=T0 + seconds(10)),
            run("c", "queued")]
    board = observe.dashboard(tasks, runs, now=T0 + seconds(20))
    assert board.claim_latency == observe.Latency(average=seconds(3), maximum=seconds(4), samples=2)
    assert board.start_latency == observe.Latency(average=seconds(3.5), maximum=seconds(6), samples=2)
    assert observe.dashboard(tasks, [], now=T0).claim_latency == observe.Latency()


def test_freshness_is_stale_only_with_live_work_and_no_activity_for_fifteen_minutes():
    tasks = [task("a", TaskStatus.IN_PROGRESS, at=T0)]
    held = run("a", "running", claimed_at=T0, started_at=T0, heartbeat_at=T0 + timedelta(minutes=10),
               lease_until=T0 + timedelta(hours=1))
    fresh = observe.dashboard(tasks, [held], now=T0 + timedelta(minutes=25))
    assert fresh.latest_activity_at == T0 + timedelta(minutes=10) and not fresh.stale
    stale = observe.dashboard(tasks, [held], now=T0 + timedelta(minutes=25, seconds=1))
    assert stale.stale and stale.has_live_work
    idle = observe.dashboard([task("b", TaskStatus.COMPLETED)], [], now=T0 + timedelta(days=1))
    assert not idle.stale and not idle.has_live_work and idle.health is Health.OK


def test_forced_stops_are_runs_canceled_while_an_agent_held_them():
    tasks = [task("a", TaskStatus.CANCELED), task("b", TaskStatus.CANCELED)]
    runs = [run("a", "canceled", claimed_at=T0, ended_at=T0), run("b", "canceled", ended_at=T0)]
    assert observe.dashboard(tasks, runs, now=T0).forced_stops == 1


def test_tasks_fall_in_the_first_lane_that_applies():
    bob = Actor(kind="agent_session", ref="sess-b", session="sess-b")
    tasks = [task("approve", TaskStatus.BLOCKED, awaiting_approval=True),
             task("failed", TaskStatus.READY),
             task("blocked", TaskStatus.BLOCKED, awaiting_dependencies=True, awaiting_approval=True),
             task("mine", TaskStatus.READY, owner_kind="human", owner_ref="alice"),
             task("held", TaskStatus.IN_PROGRESS, owner_ref="carol"),
             task("done", TaskStatus.COMPLETED, owner_ref="alice"),
             task("theirs", TaskStatus.READY, owner_ref="carol")]
    runs = [run("failed", "failed", ended_at=T0), run("held", "claimed", session_id="sess-b", claimed_at=T0)]
    lanes = {lane.lane: [item.task.task_id for item in lane.items]
             for lane in observe.inbox(tasks, runs, [], actor=ALICE, query=InboxQuery()).lanes}
    assert lanes == {Lane.MY_WORK: ["mine"], Lane.APPROVALS: ["approve"], Lane.FAILED_RUNS: ["failed"],
                     Lane.BLOCKED: ["blocked"], Lane.ARCHIVED: []}
    theirs = observe.inbox(tasks, runs, [], actor=bob, query=InboxQuery(lane=Lane.MY_WORK))
    assert [item.task.task_id for item in theirs.lanes[0].items] == ["held"]
    blocked = next(item for lane in observe.inbox(tasks, runs, [], actor=ALICE, query=InboxQuery()).lanes
                   for item in lane.items if item.task.task_id == "blocked")
    assert blocked.blocking_reason == "waiting for dependencies to complete and waiting for approval"


def triage(task_id: str, *, seen: datetime, **flags) -> Triage:
    return Triage(task_id=task_id, actor_kind="human", actor_ref="alice", last_seen_activity_at=seen,
                  updated_at=seen, **flags)


def test_read_and_dismissed_hold_until_new_activity_archived_holds_for_good():
    tasks = [task("a", owner_ref="alice"), task("b", owner_ref="alice"), task("c", owner_ref="alice"),
             task("d", TaskStatus.COMPLETED, owner_ref="alice")]
    records = [triage("a", seen=T0, read=True), triage("b", seen=T0, dismissed=True, read=True),
               triage("c", seen=T0, archived=True, read=True), triage("d", seen=T0, archived=True)]
    box = observe.inbox(tasks, [], records, actor=ALICE, query=InboxQuery())
    by_lane = {lane.lane: lane for lane in box.lanes}
    assert [(i.task.task_id, i.unread) for i in by_lane[Lane.MY_WORK].items] == [("a", False)]
    assert [i.task.task_id for i in by_lane[Lane.ARCHIVED].items] == ["c", "d"]  # even a settled task
    assert (box.unread_total, box.archived_total, box.total) == (0, 2, 3)
    # New activity on each: a is unread again, b is back (dismissal lapsed), c stays archived.
    later = [task(t.task_id, t.status, at=T0 + seconds(1), owner_ref="alice") for t in tasks]
    box = observe.inbox(later, [], records, actor=ALICE, query=InboxQuery())
    by_lane = {lane.lane: lane for lane in box.lanes}
    assert sorted((i.task.task_id, i.unread) for i in by_lane[Lane.MY_WORK].items) == [("a", True), ("b", True)]
    assert by_lane[Lane.MY_WORK].unread_count == 2 and box.unread_total == 2
    assert [i.task.task_id for i in by_lane[Lane.ARCHIVED].items] == ["c", "d"]
    # Activity on a run counts as activity of its task.
    runs = [run("a", "queued", queued=T0 + seconds(5))]
    box = observe.inbox(tasks, runs, records, actor=ALICE, query=InboxQuery(lane=Lane.MY_WORK))
    assert [(i.task.task_id, i.unread, i.latest_activity_at) for i in box.lanes[0].items] == [
        ("a", True, T0 + seconds(5))]


def test_inbox_filters_unread_text_lane_and_limit_newest_first():
    tasks = [task(f"t{n}", owner_ref="alice", at=T0 + seconds(n), title=f"Deploy {n}" if n % 2 else f"Build {n}")
             for n in range(6)]
    records = [triage("t5", seen=T0 + seconds(5), read=True)]
    box = observe.inbox(tasks, [], records, actor=ALICE, query=InboxQuery(lane=Lane.MY_WORK, limit=2))
    assert [lane.lane for lane in box.lanes] == [Lane.MY_WORK]
    assert [i.task.task_id for i in box.lanes[0].items] == ["t5", "t4"] and box.lanes[0].count == 6
    unread = observe.inbox(tasks, [], records, actor=ALICE, query=InboxQuery(unread=True))
    assert [i.task.task_id for i in unread.lanes[0].items] == ["t4", "t3", "t2", "t1", "t0"]
    text = observe.inbox(tasks, [], records, actor=ALICE, query=InboxQuery(text="deploy"))
    assert [i.task.task_id for i in text.lanes[0].items] == ["t5", "t3", "t1"]
    assert [i.task.task_id for i in observe.inbox(tasks, [], records, actor=ALICE,
                                                  query=InboxQuery(text="T-t2")).lanes[0].items] == ["t2"]
