"""Agents racing for work against a real moto server (threads over HTTP, a tiny GIL switch
interval so check-then-write windows interleave): no run is claimed twice, none is lost."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections import Counter

import pytest

from chalicelib.engine import agent_runs, agent_tasks
from chalicelib.engine.agent_model import Actor
from chalicelib.engine.agent_tasks import TaskFilter
from chalicelib.engine.pull_status import TaskStatus
from tests.functional.agent_support import T0
from tests.racing import race

pytestmark = pytest.mark.slow

ALICE = Actor(kind="human", ref="alice")


@pytest.fixture
def tiny_switch_interval():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_racing_agents_claim_each_run_once_and_finish_every_task(server_aws, tiny_switch_interval):
    tasks = [agent_runs.create("acme", actor=ALICE, now=T0, title=f"job {n}",
                               priority=("urgent", "high", "medium", "low")[n % 4]).task.task_id for n in range(16)]
    claimed: list[str] = []
    lock = threading.Lock()
    sessions = itertools.count()

    def agent() -> int:
        session = f"s{next(sessions)}"
        done = 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = agent_runs.claim_next("acme", session, actor=Actor(kind="agent_session", ref=session), now=T0)
            if got is None:
                return done
            with lock:
                claimed.append(got.claim.run.run_id)
            agent_runs.complete("acme", session, got.claim.run.run_id,
                                actor=Actor(kind="agent_session", ref=session), now=T0)
            done += 1
        raise AssertionError(f"{session} still found work after 120 s")

    finished = race(agent, threads=6)
    assert sum(finished) == len(claimed) == 16
    assert Counter(claimed).most_common(1)[0][1] == 1  # no double claim
    statuses = {t.task_id: t.status for t in agent_tasks.list_tasks("acme", filters=TaskFilter(), limit=100)[0]}
    assert statuses == {task_id: TaskStatus.COMPLETED for task_id in tasks}


def test_racing_claims_of_one_run_have_one_winner(server_aws, tiny_switch_interval):
    agent_runs.create("acme", actor=ALICE, now=T0, title="only")
    sessions = itertools.count()

    def grab():
        session = f"s{next(sessions)}"
        return agent_runs.claim_next("acme", session, actor=Actor(kind="agent_session", ref=session), now=T0)

    results = race(grab, threads=8)
    assert len([r for r in results if r is not None]) == 1
