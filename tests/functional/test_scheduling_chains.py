"""Scheduling face chains, runs, logs and graphs, executed through the engine harness."""

from __future__ import annotations

import json

import pytest

from chalicelib import settings
from tests.functional.engine_harness import make_harness
from tests.functional.scheduling_support import BASE, Api, task_body
from tests.functional.test_scheduling_tasks import assert_error

#: The deployer's function table: `job.ok` succeeds, `job.fail` fails, both via the command executor.
FUNCTIONS = {
    "job.ok": {"executor": "command", "workerType": "shell",
               "config": {"args": ["/bin/sh", "-c", "echo ran-ok $TASKLANE_ARGUMENTS"]}},
    "job.fail": {"executor": "command", "workerType": "shell",
                 "config": {"args": ["/bin/sh", "-c", "echo boom; exit 3"]}},
}


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def h(aws, monkeypatch):
    monkeypatch.setenv("TASKLANE_FUNCTIONS", json.dumps(FUNCTIONS))
    return make_harness(monkeypatch, aws)


def start(api, task_id, source=None):
    suffix = f"?source={source}" if source else ""
    answer = api.call("POST", f"{BASE}/{task_id}/actions/start{suffix}")
    assert answer.status == 200, answer.raw


def runs_of(api, task_id):
    answer = api.get(f"{BASE}/{task_id}/runs")
    assert answer.status == 200, answer.raw
    return answer.json["data"]


@pytest.fixture
def chain(api, h):
    """A -> B (when A succeeded) -> C (when B failed); D runs when A failed (it must not)."""
    a = api.create(task_body("A", ref_name="job.ok", app_id="app-a", enabled=True))
    b = api.create(task_body("B", ref_name="job.fail", app_id="app-b", enabled=True, parent=a["id"],
                             parent_status="succeeded"))
    c = api.create(task_body("C", ref_name="job.ok", app_id="app-c", enabled=True, parent=b["id"],
                             parent_status="failed"))
    d = api.create(task_body("D", ref_name="job.ok", app_id="app-d", enabled=True, parent=a["id"],
                             parent_status="failed"))
    return {"A": a, "B": b, "C": c, "D": d}


def test_a_chain_runs_on_matching_outcomes_only(api, h, chain):
    start(api, chain["A"]["id"])
    h.deliver()
    (run_a,) = runs_of(api, chain["A"]["id"])
    (run_b,) = runs_of(api, chain["B"]["id"])
    (run_c,) = runs_of(api, chain["C"]["id"])
    assert runs_of(api, chain["D"]["id"]) == []
    assert (run_a["status"], run_a["triggeredBy"]) == ("SUCCEEDED", "manual")
    assert (run_b["status"], run_b["triggeredBy"]) == ("FAILED", "A")
    assert (run_c["status"], run_c["triggeredBy"]) == ("SUCCEEDED", "B")
    for run, task in ((run_a, chain["A"]), (run_c, chain["C"])):
        assert run["taskId"] == task["id"] and run["taskName"] == task["name"]
        assert run["resourceId"] == task["resourceId"] and run["workerType"] == "shell"
        assert run["actionId"] == "job.ok" and run["executedAs"] == "alice"
        assert run["startedAt"] and run["endedAt"] and run["workerId"]
        assert run["taskMeta"]["ownerId"] == "alice"


def test_logs_come_back_as_json_or_raw_text(api, h, chain):
    start(api, chain["A"]["id"])
    h.deliver()
    (run_b,) = runs_of(api, chain["B"]["id"])
    path = f"{BASE}/{chain['B']['id']}/runs/{run_b['id']}/log"
    as_json = api.get(path)
    assert as_json.status == 200 and "boom" in as_json.json["logContent"]
    as_text = api.get(path, headers={"Accept": "text/plain"})
    assert as_text.status == 200 and as_text.headers["content-type"].startswith("text/plain")
    assert "boom" in as_text.raw and as_text.raw == as_json.json["logContent"]
    (run_a,) = runs_of(api, chain["A"]["id"])
    a_log = api.get(f"{BASE}/{chain['A']['id']}/runs/{run_a['id']}/log").json["logContent"]
    assert "ran-ok" in a_log and '"appId": "app-a"' in a_log  # the action's arguments reach the function
    assert_error(api.get(f"{BASE}/{chain['B']['id']}/runs/nope/log"), 404)


def test_runs_last_and_orchestration_carry_the_newest_run(api, h, chain):
    assert_error(api.get(f"{BASE}/{chain['A']['id']}/runs/last"), 404)
    start(api, chain["A"]["id"])
    h.deliver()
    last = api.get(f"{BASE}/{chain['B']['id']}/runs/last")
    assert last.status == 200 and last.json["status"] == "FAILED"
    orchestration = api.get(f"{BASE}/{chain['B']['id']}").json["metadata"]["orchestration"]
    assert orchestration["attrs"]["last_run_status"] == "FAILED"
    assert orchestration["attrs"]["last_run_worker_type"] == "shell"
    assert orchestration["lastRun"]["id"] == last.json["id"]
    failed = api.get(f'{BASE}?filter=lastStatus eq "failed"').json["data"]
    assert [t["name"] for t in failed] == ["B"]
    assert [t["name"] for t in api.get(f'{BASE}?filter=lastTriggeredBy eq "A"').json["data"]] == ["B"]
    plain = api.get(f'{BASE}?filter=name eq "b"').json["data"]  # no last* field: page-only run reads
    assert plain[0]["metadata"]["orchestration"]["lastRun"]["status"] == "FAILED"


def test_runs_are_sorted_and_paginated(api, h, chain):
    for _ in range(3):
        start(api, chain["D"]["id"])
        h.clock.advance(1)
    h.deliver()
    newest_first = runs_of(api, chain["D"]["id"])
    assert len(newest_first) == 3
    started = [r["startedAt"] for r in newest_first]
    assert started == sorted(started, reverse=True)
    page = api.get(f"{BASE}/{chain['D']['id']}/runs?limit=2&sort=%2BstartedAt")
    assert [r["startedAt"] for r in page.json["data"]] == sorted(started)[:2]
    rest = api.follow(page.json["links"]["next"]["href"])
    assert [r["startedAt"] for r in rest.json["data"]] == sorted(started)[2:]
    assert_error(api.get(f"{BASE}/{chain['D']['id']}/runs?sort=-name"), 400, "sort")


def test_resource_runs_gather_the_runs_of_the_resources_tasks(api, h, chain):
    twin = api.create(task_body("A-twin", ref_name="job.ok", app_id="app-a"))
    start(api, chain["A"]["id"])
    start(api, twin["id"])
    h.deliver()
    runs = api.get(f"{BASE}/resources/app-a/runs").json["data"]
    assert sorted(r["taskName"] for r in runs) == ["A", "A-twin"]
    assert api.get(f"{BASE}/resources/unknown/runs").json["data"] == []
    assert api.as_("bob").get(f"{BASE}/resources/app-a/runs").json["data"] == []  # personal tasks


def test_a_disabled_child_is_not_started_by_its_parent(api, h, chain):
    api.call("PATCH", f"{BASE}/{chain['B']['id']}", [{"op": "replace", "path": "/enabled", "value": False}])
    start(api, chain["A"]["id"])
    h.deliver()
    assert runs_of(api, chain["B"]["id"]) == [] and runs_of(api, chain["C"]["id"]) == []


def test_an_unconfigured_function_fails_the_run_with_a_log_line(api, h):
    task = api.create(task_body("ghost", ref_name="app.reload"))
    start(api, task["id"])
    h.deliver()
    (run,) = runs_of(api, task["id"])
    assert run["status"] == "FAILED"
    log = api.get(f"{BASE}/{task['id']}/runs/{run['id']}/log").json["logContent"]
    assert "app.reload" in log and "not configured" in log


def test_consecutive_failures_disable_the_task(api, h, monkeypatch):
    monkeypatch.setenv("TASKLANE_DISABLE_AFTER_FAILURES", "2")
    settings.reset()
    task = api.create(task_body("flaky", ref_name="job.fail", enabled=True))
    start(api, task["id"])
    h.deliver()
    assert api.get(f"{BASE}/{task['id']}").json["enabled"] is True
    start(api, task["id"])
    h.deliver()
    after = api.get(f"{BASE}/{task['id']}").json
    assert after["enabled"] is False and after["metadata"]["disabledCode"] == "CONSECUTIVE-FAILURES"
    again = api.call("PATCH", f"{BASE}/{task['id']}", [{"op": "replace", "path": "/enabled", "value": True}]).json
    assert again["enabled"] is True and "disabledCode" not in again["metadata"]


def test_topology_follows_chains_as_they_change(api, h, chain):
    a, b, c = chain["A"]["id"], chain["B"]["id"], chain["C"]["id"]
    topology = lambda task_id: api.get(f"{BASE}/{task_id}").json["metadata"]["topology"]  # noqa: E731
    assert topology(a) == {"isChild": False, "isParent": True}
    assert topology(b) == {"isChild": True, "isParent": True}
    assert topology(c) == {"isChild": True, "isParent": False}
    assert api.get(f"{BASE}/{c}").json["metadata"]["trigger"]["type"] == 2
    api.call("PUT", f"{BASE}/{c}", task_body("C", ref_name="job.ok", app_id="app-c"))  # no longer chained
    assert topology(c) == {"isChild": False, "isParent": False}
    assert topology(b) == {"isChild": True, "isParent": False}
    assert api.call("DELETE", f"{BASE}/{a}").status == 204
    assert topology(b) == {"isChild": False, "isParent": False}


def test_a_chain_to_an_unknown_task_or_a_loop_is_a_400(api, h, chain):
    assert_error(api.call("POST", BASE, task_body("X", parent="no-such-task")), 400, "events")
    looped = task_body("A", ref_name="job.ok", app_id="app-a", parent=chain["C"]["id"])
    assert_error(api.call("PUT", f"{BASE}/{chain['A']['id']}", looped), 400, "loop")


def test_graphs_traverse_breadth_first_to_a_level(api, h, chain):
    a, b, c, d = (chain[k]["id"] for k in "ABCD")
    descendants = api.get(f"{BASE}/{a}/graphs/descendants").json
    assert descendants["taskId"] == a
    depths = {v["taskId"]: v["attrs"]["depth"] for v in descendants["vertices"]}
    assert depths == {a: 0, b: 1, d: 1, c: 2}
    assert descendants["vertices"][0]["attrs"] == {"depth": 0, "isChild": False, "isParent": True}
    assert {(e["source"], e["target"], e["attrs"]["depth"]) for e in descendants["edges"]} == {
        (b, a, 1), (d, a, 1), (c, b, 2)}
    assert "task" not in descendants["vertices"][0]
    one = api.get(f"{BASE}/{a}/graphs/descendants?level=1").json
    assert {v["taskId"] for v in one["vertices"]} == {a, b, d}
    ancestors = api.get(f"{BASE}/{c}/graphs/ancestors?withTask=true").json
    assert [v["taskId"] for v in ancestors["vertices"]] == [c, b, a]
    assert ancestors["vertices"][2]["task"]["name"] == "A"
    sub = api.get(f"{BASE}/{b}/graphs/subgraph?level=1").json
    assert {v["taskId"] for v in sub["vertices"]} == {a, b, c}
    assert_error(api.get(f"{BASE}/{a}/graphs/subgraph?level=-1"), 400, "level")
    assert_error(api.get(f"{BASE}/{a}/graphs/subgraph?withTask=maybe"), 400, "withTask")


def test_a_vertex_the_caller_cannot_see_has_no_document(api, h):
    parent = api.create(task_body("mine", ref_name="job.ok", space_type="shared"))
    bob = api.as_("bob")
    child = bob.create(task_body("shared-child", ref_name="job.ok", parent=parent["id"], space_type="shared"))
    # Chaining needs the parent to be readable; it can turn personal afterwards.
    assert api.call("PUT", f"{BASE}/{parent['id']}", task_body("mine", ref_name="job.ok")).status == 200
    graph = bob.get(f"{BASE}/{child['id']}/graphs/ancestors?withTask=true").json
    by_id = {v["taskId"]: v for v in graph["vertices"]}
    assert by_id[child["id"]]["task"]["name"] == "shared-child"
    assert "task" not in by_id[parent["id"]]
    assert bob.get(f"{BASE}/{child['id']}/graphs/parents").json["data"] == []
    assert [t["name"] for t in api.get(f"{BASE}/{parent['id']}/graphs/children").json["data"]] == ["shared-child"]


def test_children_and_parents_are_task_lists(api, h, chain):
    a, b = chain["A"]["id"], chain["B"]["id"]
    children = api.get(f"{BASE}/{a}/graphs/children?sort=%2Bname")
    assert [t["name"] for t in children.json["data"]] == ["B", "D"]
    assert [t["name"] for t in api.get(f'{BASE}/{a}/graphs/children?filter=name eq "d"').json["data"]] == ["D"]
    first = api.get(f"{BASE}/{a}/graphs/children?sort=%2Bname&limit=1")
    assert [t["name"] for t in first.json["data"]] == ["B"]
    assert [t["name"] for t in api.follow(first.json["links"]["next"]["href"]).json["data"]] == ["D"]
    assert [t["name"] for t in api.get(f"{BASE}/{b}/graphs/parents").json["data"]] == ["A"]
    assert_error(api.get(f"{BASE}/{a}/graphs/children?filter=bogus pr"), 400, "bogus")
    assert_error(api.get(f"{BASE}/nope/graphs/children"), 404)


def test_a_task_without_states_fails_its_run_saying_there_is_nothing_to_run(api, h):
    task = api.create({"name": "empty", "specVersion": "1.16.0"})
    start(api, task["id"])
    h.deliver()
    (run,) = runs_of(api, task["id"])
    assert run["status"] == "FAILED"
    log = api.get(f"{BASE}/{task['id']}/runs/{run['id']}/log").json["logContent"]
    assert "no action to run" in log
