"""The scheduling face over real HTTP: a three-task chain on the local runtime.

A fires on a seconds-field cron; B runs when A succeeds and fails; C runs when B fails; D
(when A fails) must never run. Runs, logs and the subgraph are read back over HTTP.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import start_runtime, stop_runtime
from tests.functional.scheduling_support import task_body
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

BASE = "/api/scheduling/tasks"
FUNCTIONS = {
    "job.ok": {"executor": "command", "workerType": "shell", "config": {"args": ["/bin/sh", "-c", "echo ran-ok"]}},
    "job.fail": {"executor": "command", "workerType": "shell",
                 "config": {"args": ["/bin/sh", "-c", "echo boom; exit 3"]}},
}


@pytest.fixture(scope="module")
def local():
    runtime = start_runtime(env={"TASKLANE_FUNCTIONS": json.dumps(FUNCTIONS)})
    yield runtime
    stop_runtime(runtime)


def create(local, body):
    response = local.post(BASE, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def runs(local, task_id):
    response = local.get(f"{BASE}/{task_id}/runs")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_three_task_chain_runs_over_http(local):
    a = create(local, task_body("A", ref_name="job.ok", app_id="app-a", enabled=True,
                                schedule={"cron": "*/2 * * * * *"}))
    b = create(local, task_body("B", ref_name="job.fail", app_id="app-b", enabled=True, parent=a["id"],
                                parent_status="succeeded"))
    c = create(local, task_body("C", ref_name="job.ok", app_id="app-c", enabled=True, parent=b["id"],
                                parent_status="failed"))
    d = create(local, task_body("D", ref_name="job.ok", app_id="app-d", enabled=True, parent=a["id"],
                                parent_status="failed"))

    ended = lambda task_id: [r for r in runs(local, task_id) if r["status"] != "RUNNING"]  # noqa: E731
    run_c = wait_until(lambda: ended(c["id"]), timeout=30)[0]
    assert run_c["status"] == "SUCCEEDED" and run_c["triggeredBy"] == "B"
    run_b = ended(b["id"])[-1]
    assert run_b["status"] == "FAILED" and run_b["triggeredBy"] == "A"
    run_a = ended(a["id"])[-1]
    assert run_a["status"] == "SUCCEEDED" and run_a["triggeredBy"] == "schedule"
    # stop the schedule; D follows A's failures, and a child's run is created as its parent's run
    # ends, so with every ended run of A a success, D has no run (no waiting needed)
    patch = local.request("PATCH", f"{BASE}/{a['id']}", json=[{"op": "replace", "path": "/enabled", "value": False}])
    assert patch.status_code == 200 and patch.json()["metadata"]["disabledCode"] == "MANUALLY"
    ended_a = ended(a["id"])
    assert ended_a and {r["status"] for r in ended_a} == {"SUCCEEDED"}
    assert runs(local, d["id"]) == []

    log = local.get(f"{BASE}/{b['id']}/runs/{run_b['id']}/log", headers={"Accept": "text/plain"})
    assert log.status_code == 200 and "boom" in log.text
    assert "ran-ok" in local.get(f"{BASE}/{c['id']}/runs/{run_c['id']}/log").json()["logContent"]
    last = local.get(f"{BASE}/{c['id']}/runs/last").json()  # A fired more than once: C may have run again
    assert last["taskId"] == c["id"] and last["id"] in {r["id"] for r in runs(local, c["id"])}

    graph = local.get(f"{BASE}/{b['id']}/graphs/subgraph?withTask=true").json()
    assert {v["taskId"] for v in graph["vertices"]} == {a["id"], b["id"], c["id"], d["id"]}
    assert all("task" in v for v in graph["vertices"])
    assert {(e["source"], e["target"]) for e in graph["edges"]} == {
        (b["id"], a["id"]), (c["id"], b["id"]), (d["id"], a["id"])}
