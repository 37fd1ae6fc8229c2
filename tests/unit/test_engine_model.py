from __future__ import annotations

import pytest

from chalicelib.engine.model import Backoff, EndReason, TaskSpec, restart_wait, retry_wait
from chalicelib.engine.runs import derived_run_id, outcome_of


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        (Backoff.CONSTANT, [10, 10, 10, 10]),
        (Backoff.LINEAR, [10, 20, 30, 40]),
        (Backoff.EXPONENTIAL, [10, 20, 40, 80]),
    ],
)
def test_retry_wait_follows_the_backoff_curve(backoff, expected):
    spec = TaskSpec(retry_delay=10, retry_backoff=backoff)
    assert [retry_wait(spec, n) for n in range(1, 5)] == expected


def test_every_retry_wait_is_capped_at_five_minutes():
    spec = TaskSpec(retry_delay=100, retry_backoff=Backoff.EXPONENTIAL)
    assert retry_wait(spec, 10) == 300


def test_restart_wait_grows_with_consecutive_quick_failures_and_is_capped():
    spec = TaskSpec(restart_delay=2, restart_backoff=Backoff.EXPONENTIAL)
    assert [restart_wait(spec, n) for n in range(4)] == [2, 4, 8, 16]
    assert restart_wait(spec, 30) == 300


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        (EndReason.SUCCESS, "succeeded"),
        (EndReason.FAILED, "failed"),
        (EndReason.TIMEOUT, "failed"),
        (EndReason.CRASHED, "failed"),
        (EndReason.LOG_OVERFLOW, "failed"),
        (EndReason.STOPPED, None),
        (EndReason.SKIPPED, None),
        (EndReason.MISSED, None),
        (EndReason.DST_SKIPPED, None),
    ],
)
def test_outcomes_for_chaining(reason, outcome):
    assert outcome_of(reason) == outcome


def test_derived_run_ids_are_stable_and_time_ordered():
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 1, 1, tzinfo=UTC)
    assert derived_run_id(t, "k") == derived_run_id(t, "k")
    assert derived_run_id(t, "k") != derived_run_id(t, "other")
    assert derived_run_id(t, "z") < derived_run_id(t + timedelta(milliseconds=1), "a")
