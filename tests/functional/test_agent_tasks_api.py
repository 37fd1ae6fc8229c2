"""The agent face's task endpoints (seed 001) through chalice.test.Client against moto."""

from __future__ import annotations

import pytest

from tests.functional.agent_support import AGENT1, call, claim, create, pin_clock


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    return pin_clock(monkeypatch)


def test_create_answers_the_task_owned_by_the_caller_and_queues_its_first_run(client):
    task = create(client, "write docs", priority="high", max_attempts=5, metadata={"k": 1})
    assert task["status"] == "ready" and task["draft"] is False and task["identifier"] == "T-1"
    assert task["owner"] == {"kind": "human", "ref": "alice"} == task["created_by"]
    assert (task["priority"], task["max_attempts"], task["metadata"]) == ("high", 5, {"k": 1})
    assert task["approval_policy"] == "none" and task["approval_state"] == "not_required"
    status, body, _ = call(client, "GET", f"/api/tasks/{task['id']}/runs")
    assert status == 200 and [r["status"] for r in body["runs"]] == ["queued"]
    assert body["runs"][0]["attempt"] == 1
    agent_task = create(client, "by an agent", headers=AGENT1)
    assert agent_task["owner"] == {"kind": "agent_session", "ref": "s1"}


def test_create_refuses_bad_fields_naming_them_and_writes_nothing(client):
    cases = [({"scope": "global", "title": "x", "max_attempts": 11}, "body.max_attempts"),
             ({"scope": "global", "title": "x", "max_attempts": 0}, "body.max_attempts"),
             ({"scope": "global", "title": "x", "priority": "asap"}, "body.priority"),
             ({"scope": "global", "title": "x", "approval_policy": "maybe"}, "body.approval_policy"),
             ({"title": "x"}, "body.scope"),
             ({"scope": "global"}, "body.title"),
             ({"scope": "global", "title": "   "}, "body.title"),
             ({"scope": "workspace", "title": "x"}, "body.workspace_id"),
             ({"scope": "global", "title": "x", "parent_task_id": "tsk_nope"}, "body.parent_task_id"),
             ({"scope": "global", "title": "x", "colour": "red"}, "body.colour")]
    for body, field in cases:
        status, answer, _ = call(client, "POST", "/api/tasks", body)
        assert status == 400 and field in answer["error"], (body, answer)
    status, answer, _ = call(client, "POST", "/api/tasks", raw="{not json")
    assert status == 400 and set(answer) == {"error"}
    assert call(client, "GET", "/api/tasks?include_drafts=true")[1]["tasks"] == []


def test_a_draft_is_listed_only_with_include_drafts_and_publish_queues_its_run(client):
    draft = create(client, "later", draft=True)
    assert draft["status"] == "draft"
    assert call(client, "GET", "/api/tasks")[1]["tasks"] == []
    listed = call(client, "GET", "/api/tasks?include_drafts=true")[1]["tasks"]
    assert [t["id"] for t in listed] == [draft["id"]]
    status, body, _ = call(client, "POST", f"/api/tasks/{draft['id']}/runs", {})
    assert status == 409 and "draft" in body["error"]
    status, body, _ = call(client, "POST", f"/api/tasks/{draft['id']}/publish")
    assert status == 200 and body["task"]["status"] == "ready" and body["run"]["status"] == "queued"
    status, body, _ = call(client, "POST", f"/api/tasks/{draft['id']}/publish", {})
    assert status == 409


def test_manual_approval_blocks_until_approved_and_reject_closes_the_task(client):
    gated = create(client, "gated", approval_policy="manual")
    assert (gated["status"], gated["approval_state"]) == ("blocked", "pending")
    assert claim(client)[0] == 204
    status, body, _ = call(client, "POST", f"/api/tasks/{gated['id']}/runs", {})
    assert status == 409 and "approval" in body["error"]
    status, body, _ = call(client, "POST", f"/api/tasks/{gated['id']}/approve")
    assert status == 200 and body["task"]["approval_state"] == "approved" and body["run"]["status"] == "queued"
    assert body["task"]["status"] == "ready"
    assert call(client, "POST", f"/api/tasks/{gated['id']}/approve")[0] == 409
    other = create(client, "refused", approval_policy="manual")
    status, body, _ = call(client, "POST", f"/api/tasks/{other['id']}/reject")
    assert status == 200 and body["task"]["status"] == "canceled" and body["task"]["approval_state"] == "rejected"


def test_list_filters_query_and_pages_with_a_cursor(client):
    made = [create(client, f"job {n}", priority="high" if n % 2 else "low", network_channel="gpu" if n < 2 else None)
            for n in range(5)]
    ids = [t["id"] for t in made]
    page1 = call(client, "GET", "/api/tasks?limit=2")[1]
    page2 = call(client, "GET", f"/api/tasks?limit=2&cursor={page1['next_cursor']}")[1]
    page3 = call(client, "GET", f"/api/tasks?limit=2&cursor={page2['next_cursor']}")[1]
    assert [t["id"] for t in page1["tasks"] + page2["tasks"] + page3["tasks"]] == ids
    assert page3["next_cursor"] is None
    assert [t["id"] for t in call(client, "GET", "/api/tasks?priority=high")[1]["tasks"]] == [ids[1], ids[3]]
    assert [t["id"] for t in call(client, "GET", "/api/tasks?network_channel=gpu")[1]["tasks"]] == ids[:2]
    assert [t["id"] for t in call(client, "GET", "/api/tasks?query=JOB%203")[1]["tasks"]] == [ids[3]]
    assert [t["id"] for t in call(client, "GET", "/api/tasks?query=T-5")[1]["tasks"]] == [ids[4]]
    assert call(client, "GET", "/api/tasks?owner_kind=human&owner_ref=alice")[1]["tasks"][0]["id"] == ids[0]
    assert call(client, "GET", "/api/tasks?owner_ref=bob")[1]["tasks"] == []
    assert len(call(client, "GET", "/api/tasks?status=ready")[1]["tasks"]) == 5
    assert call(client, "GET", "/api/tasks?status=pending")[1]["tasks"] == []
    assert call(client, "GET", "/api/tasks?approval_state=pending")[1]["tasks"] == []
    in_ws = create(client, "in a workspace", scope="workspace", workspace_id="w1")
    assert [t["id"] for t in call(client, "GET", "/api/tasks?scope=workspace")[1]["tasks"]] == [in_ws["id"]]
    assert [t["id"] for t in call(client, "GET", "/api/tasks?workspace=w1")[1]["tasks"]] == [in_ws["id"]]
    child = call(client, "POST", f"/api/tasks/{ids[0]}/children", {"scope": "global", "title": "kid"})[1]["task"]
    assert [t["id"] for t in call(client, "GET", f"/api/tasks?parent_task_id={ids[0]}")[1]["tasks"]] == [child["id"]]
    claimed = claim(client)[1]["claim"]["run"]
    by_session = call(client, "GET", f"/api/tasks/{claimed['task_id']}/runs?session_id=s1")[1]["runs"]
    assert [r["id"] for r in by_session] == [claimed["id"]]
    assert call(client, "GET", f"/api/tasks/{claimed['task_id']}/runs?session_id=s2")[1]["runs"] == []
    assert [t["id"] for t in call(client, "GET", "/api/tasks?status=in_progress")[1]["tasks"]] == [claimed["task_id"]]
    item = page1["tasks"][0]
    assert item["active_run"]["status"] == "queued" and item["active_run"]["max_attempts"] == 3
    assert (item["child_count"], item["dependency_count"]) == (0, 0)
    for bad in ("limit=0", "limit=501", "status=weird", "cursor=forged", "include_drafts=maybe"):
        status, body, _ = call(client, "GET", f"/api/tasks?{bad}")
        assert status == 400 and "query." in body["error"], bad


def test_patch_changes_the_given_fields_and_refuses_bad_ones(client):
    task = create(client, "old")
    status, body, _ = call(client, "PATCH", f"/api/tasks/{task['id']}",
                           {"title": "new", "priority": "urgent", "description": "d"})
    assert status == 200 and (body["task"]["title"], body["task"]["priority"]) == ("new", "urgent")
    assert body["task"]["description"] == "d"
    for patch, field in (({"max_attempts": 11}, "body.max_attempts"), ({"approval_policy": "manual"},
                                                                        "body.approval_policy"),
                         ({"owner": "x"}, "body.owner")):
        status, body, _ = call(client, "PATCH", f"/api/tasks/{task['id']}", patch)
        assert status == 400 and field in body["error"], body
    assert call(client, "GET", f"/api/tasks/{task['id']}")[1]["task"]["task"]["title"] == "new"


def test_children_tree_and_cancel_cascade_to_the_subtree_and_its_runs(client):
    root = create(client, "root")
    status, child, _ = call(client, "POST", f"/api/tasks/{root['id']}/children", {"scope": "global", "title": "c"})
    assert status == 201 and child["task"]["parent_task_id"] == root["id"]
    grandchild = call(client, "POST", f"/api/tasks/{child['task']['id']}/children",
                      {"scope": "global", "title": "g"})[1]["task"]
    status, tree, _ = call(client, "GET", f"/api/tasks/{root['id']}/tree")
    assert status == 200 and tree["tree"]["root"]["child_count"] == 1
    assert [(n["task"]["id"], n["depth"]) for n in tree["tree"]["descendants"]] == [(child["task"]["id"], 1),
                                                                                   (grandchild["id"], 2)]
    detail = call(client, "GET", f"/api/tasks/{root['id']}")[1]["task"]
    assert [c["id"] for c in detail["children"]] == [child["task"]["id"]]
    assert claim(client)[0] == 200  # the root's run is held by s1
    status, body, _ = call(client, "POST", f"/api/tasks/{root['id']}/cancel", {})
    assert status == 200 and body["task"]["status"] == "canceled"
    for task_id in (root["id"], child["task"]["id"], grandchild["id"]):
        got = call(client, "GET", f"/api/tasks/{task_id}")[1]["task"]
        assert got["task"]["status"] == "canceled" and got["task"]["closed_at"] is not None
        assert all(r["status"] == "canceled" for r in got["runs"])
    status, _, _ = call(client, "POST", f"/api/tasks/{root['id']}/children", {"scope": "global", "title": "late"})
    assert status == 409
    assert claim(client)[0] == 204  # s1's lease was freed with the run


def test_children_are_capped_at_64_and_trees_at_8_levels(client):
    parent = create(client, "wide")
    for n in range(64):
        call(client, "POST", f"/api/tasks/{parent['id']}/children",
             {"scope": "global", "title": f"c{n}", "draft": True})
    status, body, _ = call(client, "POST", f"/api/tasks/{parent['id']}/children", {"scope": "global", "title": "65"})
    assert status == 400 and "64" in body["error"] and "path.id" in body["error"]
    deep = create(client, "level 1")["id"]
    for level in range(2, 9):
        deep = call(client, "POST", f"/api/tasks/{deep}/children", {"scope": "global", "title": f"level {level}",
                                                                    "draft": True})[1]["task"]["id"]
    status, body, _ = call(client, "POST", f"/api/tasks/{deep}/children", {"scope": "global", "title": "level 9"})
    assert status == 400 and "8 levels" in body["error"]


def test_dependencies_block_until_completed_refuse_cycles_and_can_be_removed(client):
    a, b = create(client, "a"), create(client, "b")
    status, body, _ = call(client, "POST", f"/api/tasks/{b['id']}/dependencies", {"depends_on_task_id": a["id"]})
    assert status == 200 and body["task"]["task"]["status"] == "blocked"
    assert body["task"]["dependencies"][0]["depends_on_task_id"] == a["id"]
    assert body["task"]["dependency_references"][0]["depends_on"]["id"] == a["id"]
    status, body, _ = call(client, "POST", f"/api/tasks/{a['id']}/dependencies", {"depends_on_task_id": b["id"]})
    assert status == 400 and "cycle" in body["error"] and "body.depends_on_task_id" in body["error"]
    assert call(client, "POST", f"/api/tasks/{b['id']}/dependencies", {"depends_on_task_id": a["id"]})[0] == 409
    assert call(client, "POST", f"/api/tasks/{b['id']}/dependencies", {})[0] == 400
    status, body, _ = call(client, "DELETE", f"/api/tasks/{b['id']}/dependencies/{a['id']}")
    assert status == 200 and body["task"]["task"]["status"] == "ready" and body["task"]["dependencies"] == []
    assert call(client, "DELETE", f"/api/tasks/{b['id']}/dependencies/{a['id']}")[0] == 404


def test_dependencies_are_capped_at_32(client):
    task = create(client, "many", draft=True)
    blockers = [create(client, f"b{n}", draft=True)["id"] for n in range(33)]
    for blocker in blockers[:32]:
        assert call(client, "POST", f"/api/tasks/{task['id']}/dependencies",
                    {"depends_on_task_id": blocker})[0] == 200
    status, body, _ = call(client, "POST", f"/api/tasks/{task['id']}/dependencies",
                           {"depends_on_task_id": blockers[32]})
    assert status == 400 and "32" in body["error"]


def test_enqueue_counts_attempts_up_to_max_attempts_and_refuses_while_a_run_is_open(client):
    task = create(client, "flaky", max_attempts=2)
    assert call(client, "POST", f"/api/tasks/{task['id']}/runs", {})[0] == 409  # the first run is open
    run_id = claim(client)[1]["claim"]["run"]["id"]
    call(client, "POST", f"/api/agent/tasks/{run_id}/fail", {"error": "boom"}, AGENT1)
    assert call(client, "GET", f"/api/tasks/{task['id']}")[1]["task"]["task"]["status"] == "ready"
    status, body, _ = call(client, "POST", f"/api/tasks/{task['id']}/start", {"origin": {"kind": "cli"}})
    assert status == 200 and body["run"]["attempt"] == 2 and body["run"]["origin"] == {"kind": "cli", "ref": ""}
    run_id = claim(client)[1]["claim"]["run"]["id"]
    call(client, "POST", f"/api/agent/tasks/{run_id}/fail", {"error": "boom again"}, AGENT1)
    detail = call(client, "GET", f"/api/tasks/{task['id']}")[1]["task"]
    assert detail["task"]["status"] == "failed" and [r["error"] for r in detail["runs"]] == ["boom again", "boom"]
    status, body, _ = call(client, "POST", f"/api/tasks/{task['id']}/runs", {})
    assert status == 409 and "attempts" in body["error"]


def test_delete_refuses_a_task_others_need_and_removes_a_free_one(client):
    a, b = create(client, "a"), create(client, "b")
    call(client, "POST", f"/api/tasks/{b['id']}/dependencies", {"depends_on_task_id": a["id"]})
    status, body, _ = call(client, "DELETE", f"/api/tasks/{a['id']}")
    assert status == 409 and b["id"] in body["error"]
    b_run = call(client, "GET", f"/api/tasks/{b['id']}/runs")[1]["runs"][0]["id"]
    status, body, _ = call(client, "DELETE", f"/api/tasks/{b['id']}")
    assert status == 204 and body is None
    assert call(client, "GET", f"/api/tasks/{b['id']}")[0] == 404
    assert call(client, "GET", f"/api/task-runs/{b_run}")[0] == 404
    assert call(client, "DELETE", f"/api/tasks/{a['id']}")[0] == 204
