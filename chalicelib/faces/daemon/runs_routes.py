"""Daemon runs: trigger (with `wait`), list, read, stop, delete, summary.

Triggering, stopping and deleting runs take the `operator` role (permissions.py)."""

from __future__ import annotations

from chalice import Response

from chalicelib import settings
from chalicelib.engine import runs as run_engine
from chalicelib.engine.model import Run, Task, TriggeredBy
from chalicelib.errors import BadRequest, Forbidden, NotFound
from chalicelib.faces import held_requests
from chalicelib.faces.daemon import catalog
from chalicelib.faces.daemon.command_config import run_override
from chalicelib.faces.daemon.face import face
from chalicelib.faces.daemon.names import TASK_ID_PREFIX, check_name, task_id_for
from chalicelib.faces.daemon.openapi_doc import ref
from chalicelib.faces.daemon.requests import DaemonRunListQuery, DaemonRunRequest, DaemonTriggerQuery
from chalicelib.faces.daemon.runs_view import parse_run_query, render_run, summary
from chalicelib.faces.http import Call, json_response
from chalicelib.permissions import Role
from chalicelib.timefmt import utcnow

#: How often a `wait=true` request looks at its run, seconds.
WAIT_POLL_SECONDS = 0.25


@face.route("/api/tasks/{taskName}/run", ["POST"], role=Role.OPERATOR, query=DaemonTriggerQuery,
            body=DaemonRunRequest, body_required=False, status=201, response=ref("DaemonRun"),
            summary="Trigger a new run")
def trigger(call: Call, taskName: str) -> Response:  # noqa: N803 - the product's path parameter name
    """Create a run now (201); with `wait=true`, hold until it ends or `wait_timeout` passes."""
    check_name(taskName)
    wait, wait_timeout = call.params.wait, call.params.wait_timeout
    raw = call.json_body(required=False)
    raw = {} if raw is None else raw  # no body (or null): no parameter values
    # The product answers a body of the wrong shape with a 400, not a field problem ([] and
    # false are bodies of the wrong shape too, not "no body").
    if not isinstance(raw, dict):
        raise BadRequest("the body is an object such as {\"params\": {...}}")
    if raw.get("params") is not None and not isinstance(raw["params"], dict):
        raise BadRequest("params is an object of parameter values")
    supplied = call.body(required=False).params if raw else None
    task = catalog.get(call.principal.tenant, taskName)
    if task.spec.kind == "service":
        raise Forbidden(f"{taskName!r} is a service; use its restart endpoint")
    if not (task.document or {}).get("api_trigger", True):
        raise Forbidden(f"task {taskName!r} does not allow API triggers (api_trigger = false)")
    override, values = run_override(task, supplied)
    if not wait:
        return json_response(render_run(_trigger(task, override, values)), 201)
    hold = min(float(wait_timeout), settings.current().max_hold_seconds)
    # The slot is taken before the run is created, so a refused request (429) writes nothing.
    with held_requests.hold(call.principal.tenant, seconds=hold):
        run = _trigger(task, override, values)
        run = held_requests.poll_until(run, lambda: run_engine.get_run(run.tenant, run.task_id, run.run_id),
                                       lambda current: current.is_terminal, seconds=hold, poll=WAIT_POLL_SECONDS)
    return json_response(render_run(run), 201)


def _trigger(task: Task, override: dict, values: dict) -> Run:
    return run_engine.trigger_run(task, triggered_by=TriggeredBy.API, now=utcnow(), source="api", params=values,
                                  extra={"exec": override})


@face.route("/api/runs", query=DaemonRunListQuery, response=ref("DaemonRunList"))
def list_all_runs(call: Call) -> Response:
    """Every daemon run of the tenant, newest first: `{runs, total}`."""
    query = parse_run_query(call.params)
    runs = (r for r in run_engine.list_tenant_runs(call.principal.tenant) if r.task_id.startswith(TASK_ID_PREFIX))
    return json_response(query.page(runs))


@face.route("/api/runs/summary", summary="Counts of ended runs: {total, success, failed, missed}")
def runs_summary(call: Call) -> Response:
    """`{total, success, failed, missed}` over the tenant's ended daemon runs."""
    runs = (r for r in run_engine.list_tenant_runs(call.principal.tenant) if r.task_id.startswith(TASK_ID_PREFIX))
    return json_response(summary(runs))


@face.route("/api/tasks/{taskName}/runs", query=DaemonRunListQuery, response=ref("DaemonRunList"))
def list_task_runs(call: Call, taskName: str) -> Response:  # noqa: N803
    """One task's runs, newest first: `{runs, total}`."""
    check_name(taskName)
    query = parse_run_query(call.params)
    task = catalog.get(call.principal.tenant, taskName)
    return json_response(query.page(run_engine.runs_of(task.tenant, task.task_id)))


@face.route("/api/tasks/{taskName}/runs/{runId}", response=ref("DaemonRun"))
def get_run(call: Call, taskName: str, runId: str) -> Response:  # noqa: N803
    """Get a run."""
    return json_response(render_run(find(call, taskName, runId)[1]))


@face.route("/api/tasks/{taskName}/runs/{runId}", ["DELETE"], role=Role.OPERATOR, status=204)
def delete_run(call: Call, taskName: str, runId: str) -> Response:  # noqa: N803
    """Delete an ended run and its log (409 while it is in flight)."""
    _, run = find(call, taskName, runId)
    run_engine.delete_run(run.tenant, run.task_id, run.run_id)
    return Response(body="", status_code=204)


@face.route("/api/tasks/{taskName}/runs/{runId}/stop", ["POST"], role=Role.OPERATOR, response=ref("DaemonRun"))
def stop_run(call: Call, taskName: str, runId: str) -> Response:  # noqa: N803
    """Stop a run: pending ends now; running ends `stopped` after the graceful stop window."""
    _, run = find(call, taskName, runId)
    return json_response(render_run(run_engine.stop_run(run.tenant, run.task_id, run.run_id, now=utcnow())))


def find(call: Call, task_name: str, run_id: str) -> tuple[Task, Run]:
    """The task and one of its runs, or `NotFound` naming which is missing."""
    check_name(task_name)
    task = catalog.get(call.principal.tenant, task_name)
    try:
        return task, run_engine.get_run(task.tenant, task_id_for(task_name), run_id)
    except NotFound:
        raise NotFound(f"run {run_id!r} of task {task_name!r} not found") from None
