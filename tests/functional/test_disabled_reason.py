"""Why a task is disabled: one engine enum, each face's own words, the stored spelling unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from chalicelib.engine import tasks
from chalicelib.engine.model import DisabledReason, TaskSpec
from chalicelib.identity import mint_token
from chalicelib.store.models import TaskItem
from tests.conftest import TEST_SECRET

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
ADMIN = {"Authorization": f"Bearer {mint_token(TEST_SECRET, tenant='acme', user='ops', admin=True)}",
         "Content-Type": "application/json"}


def stored_code(task_id: str) -> str | None:
    (item,) = [i for i in TaskItem.query("acme") if getattr(i, "task_id", None) == task_id]
    return item.disabled_code


def define(task_id: str, *, enabled: bool = True):
    return tasks.save_task(tenant="acme", task_id=task_id, face="test", name=task_id, spec=TaskSpec(),
                           enabled=enabled, document=None, now=T0)


def test_each_reason_is_stored_with_the_spelling_items_had_before_the_enum(aws):
    spellings = {DisabledReason.REQUESTED: "MANUALLY", DisabledReason.STOPPED: "STOPPED",
                 DisabledReason.CONSECUTIVE_FAILURES: "CONSECUTIVE-FAILURES"}
    for reason, spelling in spellings.items():
        task = define(f"t-{reason.value}")
        disabled = tasks.set_enabled(task, False, now=T0, disabled_code=reason)
        assert disabled.disabled_code is reason
        assert stored_code(task.task_id) == spelling
        assert tasks.get_task("acme", task.task_id).disabled_code is reason


def test_enabling_a_task_forgets_why_it_was_disabled(aws):
    task = tasks.set_enabled(define("again"), False, now=T0, disabled_code=DisabledReason.REQUESTED)
    enabled = tasks.set_enabled(task, True, now=T0)
    assert enabled.disabled_code is None and stored_code("again") is None


def test_a_daemon_service_stop_is_recorded_as_a_stop(client):
    body = {"run": "sleep 30", "kind": "service"}
    assert client.http.put("/daemon/api/tasks/web", headers=ADMIN, body=json.dumps(body)).status_code == 201
    assert client.http.post("/daemon/api/tasks/web/stop", headers=ADMIN).status_code == 200
    task = next(t for t in tasks.list_tasks("acme", face="daemon") if t.name == "web")
    assert task.disabled_code is DisabledReason.STOPPED and stored_code(task.task_id) == "STOPPED"


def test_the_daemon_face_still_takes_its_product_s_daemon_stopped_filter(client):
    answer = client.http.get("/daemon/api/runs?status=daemon_stopped", headers=ADMIN)
    assert answer.status_code == 200 and json.loads(answer.body)["runs"] == []
