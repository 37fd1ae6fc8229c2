"""The daemon face (RunWisp API under /daemon) through chalice.test.Client against moto."""

from __future__ import annotations

import json
import threading

import pytest

from chalicelib.engine import worker
from chalicelib.engine.roles import QueueMessage
from chalicelib.faces import held_requests
from chalicelib.identity import mint_token
from chalicelib.store import queue
from chalicelib.timefmt import utcnow
from tests.conftest import TEST_SECRET
from tests.functional.engine_harness import make_harness


def auth(tenant: str = "acme", user: str = "ops", admin: bool = True) -> dict:
    token = mint_token(TEST_SECRET, tenant=tenant, user=user, admin=admin)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


ADMIN = auth()


def call(client, method: str, path: str, body=None, headers=None, raw: str | None = None):
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    response = getattr(client.http, method.lower())("/daemon" + path, headers=headers or ADMIN, body=data)
    content = response.body.decode() if isinstance(response.body, bytes) else response.body
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = content
    return response.status_code, parsed, response.headers


@pytest.fixture
def h(client, aws, monkeypatch):
    # The routes stamp tasks with the real time; the harness clock starts there too.
    return make_harness(monkeypatch, aws, utcnow())


def put(client, name: str, **definition):
    status, body, _ = call(client, "PUT", f"/api/tasks/{name}", definition)
    assert status in (200, 201), body
    return body


def run_now(client, h, name: str, params=None, query: str = ""):
    status, body, _ = call(client, "POST", f"/api/tasks/{name}/run{query}", {"params": params} if params else None)
    assert status == 201, body
    h.deliver()
    return call(client, "GET", f"/api/tasks/{name}/runs/{body['id']}")[1]


def test_put_creates_then_replaces_and_get_shows_every_policy_in_api_units(client, h):
    status, body, _ = call(client, "PUT", "/api/tasks/nightly",
                           {"run": "echo hi", "cron": "0 3 * * *", "timeout": "90s", "secrets": {"TOKEN": "s3cr3t"}})
    assert status == 201
    assert body["timeout"] == 90_000_000_000 and body["kind"] == "task" and body["next_run_at"].endswith("Z")
    assert body["secrets"] == ["TOKEN"] and "s3cr3t" not in json.dumps(body)
    for key in ("catch_up", "on_overlap", "restart", "restart_backoff", "retry_backoff", "log_on_full", "api_trigger",
                "parallelism", "keep_for", "keep_runs", "instances", "restart_delay", "retry_delay", "log_max_size"):
        assert key in body
    status, body, _ = call(client, "PUT", "/api/tasks/nightly", {"run": "echo bye"})
    assert status == 200 and body["cron"] == "" and "next_run_at" not in body
    (listed,) = call(client, "GET", "/api/tasks")[1]
    assert listed["name"] == "nightly" and listed["run"] == "echo bye"


def test_errors_are_problem_json_naming_the_field_and_write_nothing(client, h):
    status, body, headers = call(client, "PUT", "/api/tasks/t", {"run": "x", "cron": "99 * * * *"})
    assert status == 422 and headers["Content-Type"] == "application/problem+json"
    assert body["errors"][0]["location"] == "body.cron" and body["title"] == "Unprocessable Entity"
    assert call(client, "GET", "/api/tasks/t")[0] == 404
    status, body, _ = call(client, "PUT", "/api/tasks/bad%20name", {"run": "x"})
    assert status == 422 and body["errors"][0]["location"] == "path.taskName"
    status, body, _ = call(client, "PUT", "/api/tasks/t", raw="{not json")
    assert status == 400 and body["status"] == 400
    put(client, "t", run="true")
    status, body, _ = call(client, "POST", "/api/tasks/t/run?wait_timeout=0&wait=true")
    assert status == 422 and body["errors"][0]["location"] == "query.wait_timeout"
    status, body, _ = call(client, "GET", "/api/runs?limit=5000")
    assert status == 422 and body["errors"][0]["location"] == "query.limit"
    status, body, headers = call(client, "PATCH", "/api/tasks/t", {})
    assert status == 405 and headers["Content-Type"] == "application/problem+json"
    status, body, _ = call(client, "GET", "/api/tasks/missing")
    assert status == 404 and "missing" in body["detail"] and body["traceId"]


def test_a_run_reports_exit_code_end_reason_and_its_log(client, h):
    put(client, "hello", run="echo hello; sleep 0.2; echo oops >&2; exit 3")
    run = run_now(client, h, "hello")
    assert (run["status"], run["end_reason"], run["exit_code"], run["triggered_by"]) == ("ended", "failed", 3, "api")
    path = f"/api/tasks/hello/runs/{run['id']}/log"
    log = call(client, "GET", path)[1]
    assert [(line["stream"], line["text"]) for line in log["lines"]] == [("stdout", "hello"), ("stderr", "oops")]
    assert log["finalized"] is True and log["total_lines"] == 2
    assert call(client, "GET", path + "?from=-1")[1]["lines"][0]["text"] == "oops"
    assert call(client, "GET", path + "/raw")[1] == "hello\noops\n"
    status, stream, headers = call(client, "GET", path + "/stream", headers={**ADMIN, "Last-Event-ID": "1"})
    assert headers["Content-Type"] == "text/event-stream"
    assert "id: 2\n" in stream and "id: 1\n" not in stream and "event: done" in stream


def test_params_reach_the_command_as_argv_and_env_and_injection_stays_inert(client, h, tmp_path):
    marker = tmp_path / "pwned"
    put(client, "greet", run='echo "hi $WHO from $REGION"; printf "%s|" "$@"',
        params=[{"env": "WHO", "required": True}, {"env": "REGION", "default": "eu"}, {"arg": "extra"}])
    run = run_now(client, h, "greet", params={"WHO": f"x; touch {marker}", "extra": "$(id)"})
    assert run["end_reason"] == "success" and run["params"]["WHO"] == f"x; touch {marker}"
    text = call(client, "GET", f"/api/tasks/greet/runs/{run['id']}/log/raw")[1]
    assert f"hi x; touch {marker} from eu" in text and "$(id)|" in text
    assert not marker.exists()
    status, body, _ = call(client, "POST", "/api/tasks/greet/run", {"params": {"nobody": "1"}})
    assert status == 422 and {e["location"] for e in body["errors"]} == {"body.params.nobody", "body.params.WHO"}


@pytest.mark.parametrize(
    "cron",
    [
        "R/2026-01-01T00:00:00Z/PT0.001S",  # under the one minimum interval, 1 s
        "@every 500ms",
        "@every 99999999999h",  # values past what the calendar can hold
        "R/2026-01-01T00:00:00Z/PT99999999999H",
        "FREQ=SECONDLY;INTERVAL=99999999999999",
        "0001-01-01T00:00:00+01:00",
    ],
)
def test_a_schedule_too_fast_or_out_of_range_is_refused_naming_the_field(client, h, cron):
    status, body, headers = call(client, "PUT", "/api/tasks/t", {"run": "true", "cron": cron})
    assert status == 422 and headers["Content-Type"] == "application/problem+json"
    assert body["errors"][0]["location"] == "body.cron"
    assert call(client, "GET", "/api/tasks/t")[0] == 404


def test_api_trigger_false_is_403(client, h):
    put(client, "locked", run="true", api_trigger=False)
    status, body, _ = call(client, "POST", "/api/tasks/locked/run")
    assert status == 403 and body["status"] == 403


def test_wait_true_holds_until_the_run_ends(client, aws, monkeypatch):
    holding, deliveries, seen_holding = threading.Event(), [], []
    hold_loop = held_requests.poll_until

    def poll_until(*args, **kwargs):
        holding.set()  # the request holds from here on: only now may its run execute
        return hold_loop(*args, **kwargs)

    def deliver_once_holding(tenant, task_id, run_id, *, delay_seconds=0.0):
        payload = {"v": 1, "tenant": tenant, "task_id": task_id, "run_id": run_id}

        def deliver() -> None:
            seen_holding.append(holding.wait(timeout=20))
            worker.handle_message(payload, QueueMessage(message_id=run_id, body=""))

        deliveries.append(threading.Thread(target=deliver))
        deliveries[-1].start()

    monkeypatch.setattr(held_requests, "poll_until", poll_until)
    monkeypatch.setattr(queue, "send_run", deliver_once_holding)
    put(client, "quick", run="echo done; exit 0")
    status, body, _ = call(client, "POST", "/api/tasks/quick/run?wait=true&wait_timeout=20")
    for delivery in deliveries:
        delivery.join(timeout=30)
    assert seen_holding == [True]  # the run executed while the request held
    assert status == 201 and (body["status"], body["end_reason"], body["exit_code"]) == ("ended", "success", 0)


def test_runs_lists_filter_and_page_and_summary_counts(client, h):
    put(client, "ok", run="true")
    put(client, "bad", run="false")
    for _ in range(3):
        run_now(client, h, "ok")
    run_now(client, h, "bad")
    everything = call(client, "GET", "/api/runs")[1]
    assert everything["total"] == 4
    page = call(client, "GET", "/api/runs?limit=2&offset=1")[1]
    assert page["total"] == 4 and [r["id"] for r in page["runs"]] == [r["id"] for r in everything["runs"][1:3]]
    failed = call(client, "GET", "/api/runs?status=failed")[1]
    assert failed["total"] == 1 and failed["runs"][0]["task_name"] == "bad"
    assert call(client, "GET", "/api/tasks/ok/runs?status=ended&triggered_by=api")[1]["total"] == 3
    assert call(client, "GET", "/api/runs/summary")[1] == {"total": 4, "success": 3, "failed": 1, "missed": 0}


def test_delete_run_and_stop_run(client, h):
    put(client, "t", run="true")
    done = run_now(client, h, "t")
    status, body, _ = call(client, "POST", "/api/tasks/t/run")
    pending = body["id"]
    status, body, _ = call(client, "POST", f"/api/tasks/t/runs/{pending}/stop")
    assert status == 200 and (body["status"], body["end_reason"], body["exit_code"]) == ("ended", "stopped", -1)
    assert call(client, "DELETE", f"/api/tasks/t/runs/{done['id']}")[0] == 204
    assert call(client, "GET", f"/api/tasks/t/runs/{done['id']}")[0] == 404


def test_deleting_a_task_cancels_its_pending_runs(client, h):
    put(client, "t", run="true")
    run_id = call(client, "POST", "/api/tasks/t/run")[1]["id"]
    assert call(client, "DELETE", "/api/tasks/t")[0] == 204
    assert call(client, "GET", "/api/tasks/t")[0] == 404
    h.deliver()  # the queued message finds nothing to run
    assert call(client, "GET", f"/api/tasks/t/runs/{run_id}")[0] == 404


def test_service_stop_keeps_it_down_and_restart_brings_it_back(client, h):
    put(client, "web", kind="service", run="sleep 0", instances=2)
    h.tick()
    live = [r for r in call(client, "GET", "/api/tasks/web/runs")[1]["runs"] if r["status"] != "ended"]
    assert sorted(r["instance_index"] for r in live) == [0, 1]
    assert all(r["triggered_by"] == "service" for r in live)
    status, body, _ = call(client, "POST", "/api/tasks/web/stop")
    assert status == 200 and body["enabled"] is False and len(body["stopped_runs"]) == 2
    h.deliver()
    h.clock.advance(120)
    h.tick()
    assert all(r["status"] == "ended" for r in call(client, "GET", "/api/tasks/web/runs")[1]["runs"])
    status, body, _ = call(client, "POST", "/api/tasks/web/restart")
    assert status == 200 and body["started_instances"] == 2 and body["enabled"] is True
    status, body, _ = call(client, "POST", "/api/tasks/hello-not-a-service/stop")
    assert status == 404


def test_a_tenant_never_sees_another_tenants_daemon_tasks(client, h):
    put(client, "secret-job", run="true")
    other = auth(tenant="globex")
    assert call(client, "GET", "/api/tasks", headers=other)[1] == []
    assert call(client, "GET", "/api/tasks/secret-job", headers=other)[0] == 404
    assert call(client, "POST", "/api/tasks/secret-job/run", headers=other)[0] == 404
    assert call(client, "DELETE", "/api/tasks/secret-job", headers=other)[0] == 404


def test_changing_definitions_needs_an_admin(client, h):
    status, body, _ = call(client, "PUT", "/api/tasks/t", {"run": "true"}, headers=auth(admin=False))
    assert status == 403 and body["title"] == "Forbidden"


def test_reload_applies_a_file_atomically_and_a_broken_file_changes_nothing(client, h, tmp_path, monkeypatch):
    path = tmp_path / "runwisp.toml"
    path.write_text('[tasks.a]\nrun = "true"\ncron = "*/5 * * * *"\n[tasks.b]\nrun = "true"\n')
    monkeypatch.setenv("TASKLANE_DAEMON_CONFIG", str(path))
    monkeypatch.setenv("TASKLANE_DAEMON_TENANT", "acme")
    put(client, "made-over-http", run="true")
    assert call(client, "POST", "/api/reload")[1] == {"added": ["a", "b"], "removed": [], "changed": []}
    path.write_text('[tasks.a]\nrun = "echo changed"\ncron = "*/5 * * * *"\n[tasks.c]\nrun = "true"\n')
    assert call(client, "POST", "/api/reload")[1] == {"added": ["c"], "removed": ["b"], "changed": ["a"]}
    path.write_text('[tasks.a]\nrun = "true"\n[tasks.d]\nrun = "true"\ncron = "every tuesday"\n')
    status, body, headers = call(client, "POST", "/api/reload")
    assert status == 422 and body["errors"][0]["location"] == "tasks.d.cron"
    names = sorted(t["name"] for t in call(client, "GET", "/api/tasks")[1])
    assert names == ["a", "c", "made-over-http"]
    assert call(client, "POST", "/api/reload", headers=auth(tenant="globex"))[0] == 403
    assert call(client, "POST", "/api/reload", headers=auth(admin=False))[0] == 403


def test_health_needs_no_token(client):
    status, body, _ = call(client, "GET", "/health", headers={})
    assert (status, body) == (200, {"status": "ok"})


def test_every_protected_route_needs_a_token(client):
    status, body, headers = call(client, "GET", "/api/tasks", headers={"Authorization": "Bearer nope"})
    assert status == 401 and headers["Content-Type"] == "application/problem+json"


def test_the_openapi_document_describes_the_daemon_face(client):
    paths = json.loads(client.http.get("/openapi.json").body)["paths"]
    assert "/daemon/api/tasks/{taskName}/run" in paths and "/daemon/api/reload" in paths


def test_an_unexpected_failure_is_a_500_problem_with_a_trace_id_and_no_traceback(client, monkeypatch, caplog):
    from chalicelib.faces.daemon import catalog

    def explode(tenant):
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(catalog, "daemon_tasks", explode)
    status, body, headers = call(client, "GET", "/api/tasks")
    assert status == 500 and headers["Content-Type"] == "application/problem+json"
    assert body["traceId"] and "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    logged = [r for r in caplog.records if r.getMessage() == "unexpected failure"]
    assert logged and logged[-1].trace_id == body["traceId"] and logged[-1].exc_info  # the traceback is logged
