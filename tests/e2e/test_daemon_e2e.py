"""The daemon face over real HTTP: `tasklane local --daemon-config runwisp.toml`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.timefmt import from_iso
from tests.e2e.conftest import start_runtime, stop_runtime
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

CONFIG = """
[defaults]
timeout = "30s"

[tasks.heartbeat]
run = "echo beat"
cron = "*/2 * * * * *"

[tasks.greet]
run = 'echo "hello $WHO"; printf "[%s]" "$@"'
params = [{env = "WHO", required = true}, {option = "--mood", default = "calm"}]

[services.ticker]
run = "while true; do echo alive; sleep 0.2; done"
graceful_stop = "1s"
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    path = tmp_path_factory.mktemp("daemon") / "runwisp.toml"
    path.write_text(CONFIG)
    runtime = start_runtime("--daemon-config", str(path))
    yield runtime
    stop_runtime(runtime)


def test_the_file_is_loaded_at_start_up(daemon):
    tasks = {t["name"]: t for t in daemon.get("/daemon/api/tasks").json()}
    assert set(tasks) == {"heartbeat", "greet", "ticker"}
    assert tasks["ticker"]["kind"] == "service" and tasks["heartbeat"]["timeout"] == 30_000_000_000


def test_a_seconds_field_cron_task_fires_on_time(daemon):
    def ended_cron_runs():
        runs = daemon.get("/daemon/api/tasks/heartbeat/runs?triggered_by=cron&status=success").json()["runs"]
        return runs if len(runs) >= 2 else None

    runs = wait_until(ended_cron_runs, timeout=20)
    for run in runs:
        scheduled, started = from_iso(run["scheduled_at"]), from_iso(run["start_at"])
        assert scheduled.second % 2 == 0 and scheduled.microsecond == 0
        # It started on its second: SQS DelaySeconds has one-second resolution, plus
        # polling; the bound leaves a second for a loaded CI machine (2 CPUs running the
        # runtime, moto and the test). Lateness itself is measured by bench/fire_lateness.py.
        assert timedelta(0) <= started - scheduled < timedelta(seconds=3)


def test_a_manual_run_with_params_and_wait_returns_its_outcome_and_log(daemon):
    response = daemon.post("/daemon/api/tasks/greet/run?wait=true&wait_timeout=30",
                           json={"params": {"WHO": "world; rm -rf /", "--mood": "glad"}})
    assert response.status_code == 201
    run = response.json()
    assert (run["status"], run["end_reason"], run["exit_code"]) == ("ended", "success", 0)
    base = f"/daemon/api/tasks/greet/runs/{run['id']}/log"
    page = daemon.get(base + "?from=1&limit=1").json()
    assert page["lines"][0]["text"] == "hello world; rm -rf /" and page["finalized"] is True
    assert daemon.get(base + "/raw").text.endswith("[--mood][glad]\n")
    stream = daemon.get(base + "/stream")
    assert stream.headers["Content-Type"] == "text/event-stream"
    assert "event: line\nid: 1\n" in stream.text and "event: done" in stream.text


def test_the_service_runs_and_stops(daemon):
    def running_instance():
        runs = daemon.get("/daemon/api/tasks/ticker/runs?status=running").json()["runs"]
        return runs[0] if runs else None

    live = wait_until(running_instance, timeout=20)
    assert live["triggered_by"] == "service" and live["instance_index"] == 0
    assert daemon.post("/daemon/api/tasks/ticker/stop").status_code == 200

    def stopped():
        run = daemon.get(f"/daemon/api/tasks/ticker/runs/{live['id']}").json()
        return run if run["status"] == "ended" else None

    assert wait_until(stopped, timeout=20)["end_reason"] == "stopped"
    assert daemon.get("/daemon/api/tasks/ticker/runs?status=running").json()["total"] == 0


def test_errors_over_http_are_problem_json(daemon):
    response = daemon.post("/daemon/api/tasks/greet/run", json={"params": {}})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["location"] == "body.params.WHO"
