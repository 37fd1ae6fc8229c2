"""The local event source hands batches off: a slow run never holds back other tasks, up to the
concurrency bound, past which messages wait in the queue. Over real HTTP, default `--workers`."""

from __future__ import annotations

import time
import uuid

import boto3
import pytest

from tests.e2e.conftest import Runtime, start_runtime, stop_runtime
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HOG_SECONDS = 8


def _task(runtime: Runtime, name: str, **spec) -> str:
    response = runtime.request("PUT", f"/daemon/api/tasks/{name}", json=spec)
    assert response.status_code in (200, 201), response.text
    return name


def _trigger(runtime: Runtime, name: str, query: str = "") -> dict:
    response = runtime.post(f"/daemon/api/tasks/{name}/run{query}", json={})
    assert response.status_code == 201, response.text
    return response.json()


def _run(runtime: Runtime, name: str, run_id: str) -> dict:
    return runtime.get(f"/daemon/api/tasks/{name}/runs/{run_id}").json()


def _start_hog(runtime: Runtime, prefix: str) -> tuple[str, str]:
    """A `sleep` task triggered and seen running; returns (task name, run id)."""
    name = _task(runtime, f"{prefix}-{uuid.uuid4().hex[:6]}", run=f"sleep {HOG_SECONDS}")
    run_id = _trigger(runtime, name)["id"]
    wait_until(lambda: _run(runtime, name, run_id)["status"] == "running", timeout=10)
    return name, run_id


def _still_running(runtime: Runtime, hogs: list[tuple[str, str]]) -> bool:
    return all(_run(runtime, name, run_id)["status"] == "running" for name, run_id in hogs)


def test_a_quick_run_answers_at_once_while_two_long_runs_are_in_flight(runtime):
    hogs = [_start_hog(runtime, "hog-a"), _start_hog(runtime, "hog-b")]
    quick = _task(runtime, f"quick-{uuid.uuid4().hex[:6]}", run="echo hi")
    started = time.monotonic()
    run = _trigger(runtime, quick, "?wait=true&wait_timeout=30")
    elapsed = time.monotonic() - started
    assert (run["status"], run["end_reason"]) == ("ended", "success")
    assert elapsed < 4, f"the quick run waited {elapsed:.1f}s behind the long ones"
    assert _still_running(runtime, hogs)


def test_a_skip_task_triggered_twice_while_others_are_busy_records_a_skip(runtime):
    hogs = [_start_hog(runtime, "busy-a"), _start_hog(runtime, "busy-b")]
    lonely = _task(runtime, f"lonely-{uuid.uuid4().hex[:6]}", run=f"sleep {HOG_SECONDS}", on_overlap="skip")
    first = _trigger(runtime, lonely)["id"]
    wait_until(lambda: _run(runtime, lonely, first)["status"] == "running", timeout=4)
    second = _trigger(runtime, lonely)["id"]
    skipped = wait_until(lambda: (r := _run(runtime, lonely, second))["status"] == "ended" and r, timeout=4)
    assert skipped["end_reason"] == "skipped"
    assert _run(runtime, lonely, first)["status"] == "running"
    assert _still_running(runtime, hogs)


def test_past_the_concurrency_bound_messages_wait_in_the_queue():
    bounded = start_runtime(env={"TASKLANE_WORKER_CONCURRENCY": "1"})
    try:
        sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=bounded.backend,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        queue_url = sqs.get_queue_url(QueueName="tasklane-local-runs")["QueueUrl"]
        hog = _start_hog(bounded, "hog")
        quick = _task(bounded, "quick", run="echo hi")
        waiting = _trigger(bounded, quick)["id"]

        def visible() -> int:
            attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
            return int(attrs["Attributes"]["ApproximateNumberOfMessages"])

        assert wait_until(visible, timeout=3) == 1

        def hog_ended() -> bool:
            # Sampled before the hog's status: if the hog still runs, its slot was taken throughout.
            waiting_visible, waiting_status = visible(), _run(bounded, quick, waiting)["status"]
            if _still_running(bounded, [hog]):
                assert (waiting_visible, waiting_status) == (1, "pending")
                return False
            return True

        wait_until(hog_ended, timeout=HOG_SECONDS + 5, interval=0.5)
        # Once the long run ends its slot frees, and the waiting run goes.
        done = wait_until(lambda: (r := _run(bounded, quick, waiting))["status"] == "ended" and r,
                        timeout=HOG_SECONDS + 10)
        assert done["end_reason"] == "success"
    finally:
        stop_runtime(bounded)
