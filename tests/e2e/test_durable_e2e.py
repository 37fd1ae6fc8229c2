"""`tasklane local` keeps its state in its data directory: a stop and start, a SIGKILL mid-run,
downtime over cron ticks, and a directory it cannot read."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib.timefmt import from_iso, utcnow
from tests.e2e.conftest import ROOT, free_port, start_runtime, stop_runtime
from tests.functional.scheduling_support import task_body
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

TASKS = "/daemon/api/tasks"
SCHEDULING = "/api/scheduling/tasks"
FUNCTIONS = {"job.ok": {"executor": "command", "workerType": "shell",
                        "config": {"args": ["/bin/sh", "-c", "echo chained-ok"]}}}


def put(runtime, name: str, **definition) -> dict:
    response = runtime.request("PUT", f"{TASKS}/{name}", json=definition)
    assert response.status_code in (200, 201), response.text
    return response.json()


def runs(runtime, name: str, query: str = "") -> list[dict]:
    response = runtime.get(f"{TASKS}/{name}/runs{query}{'&' if query else '?'}limit=500")
    assert response.status_code == 200, response.text
    return response.json()["runs"]


def run(runtime, name: str, run_id: str) -> dict:
    return runtime.get(f"{TASKS}/{name}/runs/{run_id}").json()


def trigger(runtime, name: str) -> str:
    response = runtime.post(f"{TASKS}/{name}/run")
    assert response.status_code == 201, response.text
    return response.json()["id"]


def definitions(runtime) -> list[dict]:
    """The daemon face's tasks without their next fire time (the clock moves on)."""
    return [{k: v for k, v in task.items() if k != "next_run_at"} for task in runtime.get(TASKS).json()]


def chain_runs(runtime, task_id: str) -> list[dict]:
    response = runtime.get(f"{SCHEDULING}/{task_id}/runs")
    assert response.status_code == 200, response.text
    return [r for r in response.json()["data"] if r["status"] != "RUNNING"]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (the embedded backend, commands and their children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def kill_everything(runtime) -> None:
    """SIGKILL the runtime and every process below it at once: nothing gets to stop cleanly."""
    pids = [*descendants(runtime.process.pid), runtime.process.pid]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # it exited as its parent died
            os.kill(pid, signal.SIGKILL)
    runtime.process.wait(timeout=10)


def test_tasks_runs_logs_and_a_chain_come_back_after_a_stop_and_start(tmp_path):
    data, env = str(tmp_path / "data"), {"TASKLANE_FUNCTIONS": json.dumps(FUNCTIONS)}
    first = start_runtime("--data-dir", data, env=env)
    try:
        put(first, "beat", run="echo beat", cron="*/2 * * * * *")
        put(first, "greet", run="echo hello-durable", retry_attempts=2)
        done = first.post(f"{TASKS}/greet/run?wait=true&wait_timeout=30").json()
        assert done["end_reason"] == "success"
        parent = first.post(SCHEDULING, json=task_body("A", ref_name="job.ok", app_id="a", enabled=True,
                                                       schedule={"cron": "*/2 * * * * *"})).json()
        child = first.post(SCHEDULING, json=task_body("B", ref_name="job.ok", app_id="b", enabled=True,
                                                      parent=parent["id"], parent_status="succeeded")).json()
        wait_until(lambda: runs(first, "beat", "?status=success"), timeout=30)
        chained_before = wait_until(lambda: chain_runs(first, child["id"]), timeout=30)
        tasks_before = definitions(first)
        beat_before = {r["id"] for r in runs(first, "beat", "?status=success")}
    finally:
        assert stop_runtime(first) == 0
    restarted_at = utcnow()

    second = start_runtime("--data-dir", data, env=env, secret=first.secret)
    try:
        assert "restored" in "".join(second.output)
        assert definitions(second) == tasks_before
        again = run(second, "greet", done["id"])
        assert (again["status"], again["end_reason"], again["retry_attempt"]) == ("ended", "success", 0)
        log = second.get(f"{TASKS}/greet/runs/{done['id']}/log/raw")
        assert log.status_code == 200 and log.text == "hello-durable\n"
        assert beat_before <= {r["id"] for r in runs(second, "beat")}
        # The cron trigger kept its place: it goes on firing, on its seconds, after the restart.
        wait_until(lambda: [r for r in runs(second, "beat", "?status=success")
                          if from_iso(r["scheduled_at"]) > restarted_at], timeout=30)
        # The chain's edges came back: the parent's next success starts the child again.
        graph = second.get(f"{SCHEDULING}/{child['id']}/graphs/subgraph").json()
        assert {(e["source"], e["target"]) for e in graph["edges"]} == {(child["id"], parent["id"])}
        before = {r["id"] for r in chained_before}
        new_child_run = wait_until(lambda: [r for r in chain_runs(second, child["id"]) if r["id"] not in before],
                                 timeout=30)[0]
        assert new_child_run["status"] == "SUCCEEDED" and new_child_run["triggeredBy"] == "A"
        assert before <= {r["id"] for r in chain_runs(second, child["id"])}
    finally:
        assert stop_runtime(second) == 0


@pytest.fixture
def shared_dir():
    """A directory the commands can write to (they run as `nobody` when the tests run as root)."""
    path = Path(tempfile.mkdtemp(prefix="tasklane-e2e-shared-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_run_in_flight_when_the_runtime_is_killed_ends_crashed_and_is_retried(tmp_path, shared_dir):
    data, marker = str(tmp_path / "data"), shared_dir / "first-attempt-started"
    first = start_runtime("--data-dir", data, "--concurrency", "1")
    try:
        put(first, "fragile", retry_attempts=1,
            run=f"if [ -e {marker} ]; then echo second attempt; else touch {marker}; sleep 60; fi")
        put(first, "behind", run="echo it ran")
        fragile = trigger(first, "fragile")
        wait_until(lambda: marker.exists() and run(first, "fragile", fragile)["status"] == "running", timeout=30)
        # With one run in flight at most, this one's message waits in the queue, which dies with
        # the runtime: its run must be sent again after the restart.
        behind = trigger(first, "behind")
        assert run(first, "behind", behind)["status"] == "pending"
    except BaseException:
        stop_runtime(first)
        raise
    kill_everything(first)

    started = time.monotonic()
    second = start_runtime("--data-dir", data, secret=first.secret)
    try:
        crashed = wait_until(lambda: (r := run(second, "fragile", fragile)).get("end_reason") and r, timeout=30)
        assert (crashed["end_reason"], crashed["exit_code"]) == ("crashed", -2)
        # At start, not when its 60 s lease would have run out.
        assert time.monotonic() - started < 45
        retried = wait_until(lambda: [r for r in runs(second, "fragile", "?status=success")], timeout=30)
        assert retried[0]["retry_of_run_id"] == fragile and retried[0]["retry_attempt"] == 1
        assert second.get(f"{TASKS}/fragile/runs/{retried[0]['id']}/log/raw").text == "second attempt\n"
        ran = wait_until(lambda: run(second, "behind", behind).get("end_reason"), timeout=30)
        assert ran == "success" and len(runs(second, "behind")) == 1
    finally:
        stop_runtime(second)


def test_a_catch_up_all_task_gets_its_missed_record_and_its_runs_after_downtime(tmp_path):
    data = str(tmp_path / "data")
    # Ticks are claimed when due (no look-ahead) and a tick 2 s overdue is a gap, so downtime of a
    # few seconds is downtime over ticks (the deployed defaults, 60 s and 90 s, suit a 1 min tick).
    env = {"TASKLANE_LOOKAHEAD_SECONDS": "0", "TASKLANE_MISSED_GRACE_SECONDS": "2"}
    first = start_runtime("--data-dir", data, env=env)
    try:
        put(first, "every3", run="echo tick", cron="*/3 * * * * *", catch_up="all")
        fired = wait_until(lambda: runs(first, "every3", "?status=success"), timeout=30)
    finally:
        stop_runtime(first)
    stopped, seen = utcnow(), max(from_iso(r["scheduled_at"]) for r in fired)
    # Down over three ticks at least: downtime is the behaviour under test, so it waits it out.
    wait_until(lambda: utcnow() >= stopped + timedelta(seconds=3 * 3 + 1), timeout=20)

    second = start_runtime("--data-dir", data, env=env, secret=first.secret)
    try:
        missed = wait_until(lambda: runs(second, "every3", "?status=missed"), timeout=30)
        assert len(missed) == 1 and missed[0]["exit_code"] == -1
        detail = missed[0]["detail"]
        count = int(detail.split(" ", 1)[0])
        assert count >= 3 and detail.endswith(f"catch_up=all runs {count}")
        first_missed = from_iso(detail.split(" from ", 1)[1].split(" to ", 1)[0])
        expected = {first_missed + timedelta(seconds=3 * k) for k in range(count)}
        assert first_missed > seen

        def caught_up():
            done = {from_iso(r["scheduled_at"]) for r in runs(second, "every3", "?status=success")}
            return expected <= done

        wait_until(caught_up, timeout=30)
    finally:
        stop_runtime(second)


def test_a_data_dir_of_another_format_is_refused_with_what_to_do(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "meta.json").write_text(json.dumps({"format": 999, "generation": 0}))
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", "local", "--port", str(free_port()), "--data-dir", str(data)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "TASKLANE_JWT_SECRET": "e2e-refusal-secret"},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "format 999" in result.stderr and "nothing was loaded" in result.stderr
    assert "rm -rf" in result.stderr and "--ephemeral" in result.stderr
    assert "ready" not in result.stdout
    assert json.loads((data / "meta.json").read_text()) == {"format": 999, "generation": 0}
    assert sorted(p.name for p in data.iterdir()) == ["lock", "meta.json"]
