"""The dispatcher follows the schedule model's DST rule (DESIGN.md section 4), on an injected clock,
over the in-memory twin.

A *wildcard job* has a minute or hour field that starts with `*`; every other job is *fixed*.
America/New_York in 2026: gap 2026-03-08 02:00-03:00 local (07:00Z); fold 2026-11-01 01:00-02:00
local, first pass -04:00 (05:00Z-06:00Z), second pass -05:00 (06:00Z-07:00Z).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.engine import runs, tasks
from chalicelib.engine.model import EndReason, RunStatus, TaskSpec, TriggerSpec
from tests.functional.engine_harness import Harness, make_twin_harness

NY = "America/New_York"


def define(name: str, expression: str, now: datetime) -> None:
    spec = TaskSpec(executor="command", executor_config={"args": ["true"]},
                    trigger=TriggerSpec(expression=expression, timezone=NY))
    tasks.save_task(tenant="acme", task_id=name, face="test", name=name, spec=spec, enabled=True,
                    document=None, now=now)


def dispatch_until(h: Harness, end: datetime) -> None:
    """Tick once a minute, as the dispatcher Lambda does, delivering what each tick sends."""
    for _ in range(math.ceil((end - h.clock()) / timedelta(minutes=1))):
        h.clock.advance(60)
        h.tick()
        h.deliver()


def outcomes(task_id: str) -> list[tuple[str, str]]:
    """(nominal time in UTC, end reason) of the task's runs, oldest first."""
    ended = sorted(runs.runs_of("acme", task_id), key=lambda run: run.nominal_at)
    assert all(run.status is RunStatus.ENDED for run in ended)
    return [(run.nominal_at.isoformat(), run.end_reason.value) for run in ended]


@pytest.fixture
def fold(twin, monkeypatch):
    start = datetime(2026, 11, 1, 4, 50, tzinfo=UTC)  # 00:50-04:00
    h = make_twin_harness(monkeypatch, twin, start)
    define("fixed", "30 1 * * *", start)
    define("wildcard", "*/30 1 * * *", start)
    dispatch_until(h, start + timedelta(hours=2))
    return h


def test_the_fall_back_repeat_of_a_fixed_job_is_recorded_dst_skipped_and_never_executed(fold):
    assert outcomes("fixed") == [
        ("2026-11-01T05:30:00+00:00", "success"),  # 01:30-04:00
        ("2026-11-01T06:30:00+00:00", "dst_skipped"),  # 01:30-05:00
    ]
    repeat = next(run for run in runs.runs_of("acme", "fixed") if run.end_reason is EndReason.DST_SKIPPED)
    assert repeat.started_at is None and repeat.exit_code == -1


def test_the_fall_back_repeat_of_a_wildcard_job_executes(fold):
    assert outcomes("wildcard") == [
        ("2026-11-01T05:00:00+00:00", "success"),  # 01:00-04:00
        ("2026-11-01T05:30:00+00:00", "success"),  # 01:30-04:00
        ("2026-11-01T06:00:00+00:00", "success"),  # 01:00-05:00
        ("2026-11-01T06:30:00+00:00", "success"),  # 01:30-05:00
    ]


def test_in_the_spring_forward_gap_a_fixed_job_is_caught_up_and_a_wildcard_job_is_not(twin, monkeypatch):
    start = datetime(2026, 3, 8, 6, 20, tzinfo=UTC)  # 01:20-05:00
    h = make_twin_harness(monkeypatch, twin, start)
    define("fixed", "30 2 * * *", start)
    define("wildcard", "30 * * * *", start)
    dispatch_until(h, start + timedelta(hours=1, minutes=20))
    assert outcomes("fixed") == [("2026-03-08T07:00:00+00:00", "success")]  # 03:00-04:00, the gap's end
    assert outcomes("wildcard") == [
        ("2026-03-08T06:30:00+00:00", "success"),  # 01:30-05:00
        ("2026-03-08T07:30:00+00:00", "success"),  # 03:30-04:00; 02:30 never existed
    ]
