"""Runs and logs: a task's runs, its last run, a run's log, and the runs of a resource."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.engine import logs
from chalicelib.engine import runs as run_engine
from chalicelib.engine.model import Task
from chalicelib.errors import NotFound, ValidationError
from chalicelib.faces.http import NEXT_FROM_HEADER, Call, json_response
from chalicelib.faces.scheduling import catalog
from chalicelib.faces.scheduling.documents import render_run
from chalicelib.faces.scheduling.face import face
from chalicelib.faces.scheduling.graph import Adjacency
from chalicelib.faces.scheduling.listing import order, paginate, parse_list_query
from chalicelib.faces.scheduling.openapi_paths import RUN_LIST, tier
from chalicelib.faces.scheduling.rate_limit import Tier, enforce
from chalicelib.faces.scheduling.requests import SchedulingLogQuery, SchedulingRunListQuery
from chalicelib.faces.scheduling.scim import DEFAULT_RUN_SORT, RUN_SORT_FIELDS

BASE = "/api/scheduling/tasks"


def _runs_of(task: Task, adjacency: Adjacency) -> list[dict[str, Any]]:
    meta = catalog.metadata_snapshot(task, adjacency)
    return [render_run(run, task, current_meta=meta) for run in run_engine.runs_of(task.tenant, task.task_id)]


def _run_list(call: Call, rendered: list[dict[str, Any]], *, list_name: str) -> Response:
    if call.query.get("filter"):
        # Ignored, it would answer every run as if they all matched.
        raise ValidationError("query.filter: run lists take no filter (only sort, limit and page)",
                              location="query.filter", value=call.query["filter"][:256])
    query = parse_list_query(call, list_name=list_name, sort_fields=RUN_SORT_FIELDS, default_sort=DEFAULT_RUN_SORT)
    ordered = order(rendered, lambda run: run.get(query.sort_field), descending=query.descending,
                    tie=lambda run: run["id"])
    page = paginate(call, query, ordered)
    return json_response({"data": page.items, "links": page.links})


_RUN_LIST_ROUTE: dict[str, Any] = {"query": SchedulingRunListQuery, "response": RUN_LIST, "description": tier(1)}


@face.route(BASE + "/{id}/runs", methods=["GET"], **_RUN_LIST_ROUTE)
def list_runs(call: Call, id: str) -> Response:
    """A task's runs, newest start first unless `sort` says otherwise."""
    enforce(call, Tier.READ)
    task = catalog.reachable_task(call, id)
    runs = _runs_of(task, catalog.task_adjacency(task))
    return _run_list(call, runs, list_name=f"runs:{id}")


@face.route(BASE + "/{id}/runs/last", methods=["GET"], description=tier(1))
def last_run(call: Call, id: str) -> Response:
    """The task's newest run; 404 when it never ran."""
    enforce(call, Tier.READ)
    task = catalog.reachable_task(call, id)
    run = run_engine.last_run(task.tenant, task.task_id)
    if run is None:
        raise NotFound(f"task {id} has never run")
    return json_response(render_run(run, task, current_meta=catalog.metadata_snapshot(task)))


@face.route(BASE + "/{id}/runs/{runId}/log", methods=["GET"], query=SchedulingLogQuery, description=tier(1))
def run_log(call: Call, id: str, runId: str) -> Response:  # noqa: N803 - the page's parameter name
    """A run's log: raw text for `Accept: text/plain`, else `{"logContent": ...}`. At most the
    response byte cap from line `from` (default 1, a tasklane addition); a cut response names
    the `from` that continues it (`X-Log-Next-From`, and `nextFrom` in JSON)."""
    enforce(call, Tier.READ)
    start = call.params.start
    task = catalog.reachable_task(call, id)
    run = run_engine.get_run(task.tenant, task.task_id, runId)
    text, page = logs.text(run, from_line=start)
    more = {} if page.next_from is None else {NEXT_FROM_HEADER: str(page.next_from)}
    accept = (call.header("accept") or "").lower()
    if "text/plain" in accept and "application/json" not in accept.split(",")[0]:
        return Response(body=text, status_code=200,
                        headers={"Content-Type": "text/plain; charset=utf-8",
                                 "Content-Disposition": f'attachment; filename="{runId}.log"', **more})
    body: dict[str, Any] = {"logContent": text}
    if page.next_from is not None:
        body["nextFrom"] = page.next_from
    return json_response(body, headers=more)


@face.route(BASE + "/resources/{id}/runs", methods=["GET"], **_RUN_LIST_ROUTE)
def resource_runs(call: Call, id: str) -> Response:
    """The runs of every task (that the caller may reach) operating on a resource."""
    enforce(call, Tier.READ)
    tasks = [task for task in catalog.visible(call, catalog.tenant_tasks(call.principal.tenant))
             if (task.document or {}).get("resourceId") == id]
    adjacency = catalog.tenant_adjacency(call.principal.tenant)
    runs = [run for task in tasks for run in _runs_of(task, adjacency)]
    return _run_list(call, runs, list_name=f"resource-runs:{id}")
