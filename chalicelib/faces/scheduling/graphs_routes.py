"""The dependency graph: ancestors, descendants, subgraph, and the children / parents lists."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.faces.http import Call, json_response
from chalicelib.faces.scheduling import access, catalog
from chalicelib.faces.scheduling.face import face
from chalicelib.faces.scheduling.graph import Direction, traverse
from chalicelib.faces.scheduling.openapi_paths import GRAPH, TASK_LIST, tier
from chalicelib.faces.scheduling.rate_limit import Tier, enforce
from chalicelib.faces.scheduling.requests import SchedulingGraphQuery, SchedulingListQuery
from chalicelib.faces.scheduling.task_lists import list_response

BASE = "/api/scheduling/tasks"


def _graph(call: Call, id: str, direction: Direction) -> Response:
    enforce(call, Tier.READ)
    catalog.reachable_task(call, id)
    level, with_task = call.params.level, call.params.withTask
    adjacency = catalog.tenant_adjacency(call.principal.tenant)
    graph = traverse(id, adjacency, direction, level)
    tasks = {task.task_id: task for task in catalog.tenant_tasks(call.principal.tenant)} if with_task else {}
    vertices = []
    for vertex in graph.vertices:
        item = {"taskId": vertex.task_id,
                "attrs": {"depth": vertex.depth, "isChild": vertex.is_child, "isParent": vertex.is_parent}}
        task = tasks.get(vertex.task_id)
        # A task the caller cannot reach stays a vertex, without its document.
        if task is not None and access.can_reach(call.principal, task.document):
            item["task"] = catalog.render(task, adjacency)
        vertices.append(item)
    edges = [{"source": e.source, "target": e.target, "attrs": {"depth": e.depth}} for e in graph.edges]
    return json_response({"taskId": id, "vertices": vertices, "edges": edges})


_GRAPH_ROUTE: dict[str, Any] = {"query": SchedulingGraphQuery, "response": GRAPH, "description": tier(1)}
_LIST_ROUTE: dict[str, Any] = {"query": SchedulingListQuery, "response": TASK_LIST, "description": tier(1)}


@face.route(BASE + "/{id}/graphs/ancestors", methods=["GET"], **_GRAPH_ROUTE)
def ancestors(call: Call, id: str) -> Response:
    """The task and the tasks upstream of it, breadth-first to `level`."""
    return _graph(call, id, Direction.ANCESTORS)


@face.route(BASE + "/{id}/graphs/descendants", methods=["GET"], **_GRAPH_ROUTE)
def descendants(call: Call, id: str) -> Response:
    """The task and the tasks downstream of it, breadth-first to `level`."""
    return _graph(call, id, Direction.DESCENDANTS)


@face.route(BASE + "/{id}/graphs/subgraph", methods=["GET"], **_GRAPH_ROUTE)
def subgraph(call: Call, id: str) -> Response:
    """Upstream and downstream at once, breadth-first to `level`."""
    return _graph(call, id, Direction.BOTH)


def _neighbours(call: Call, id: str, *, children: bool) -> Response:
    enforce(call, Tier.READ)
    catalog.reachable_task(call, id)
    adjacency = catalog.tenant_adjacency(call.principal.tenant)
    wanted = set((adjacency.children if children else adjacency.parents).get(id, []))
    tasks = [task for task in catalog.tenant_tasks(call.principal.tenant) if task.task_id in wanted]
    return list_response(call, tasks, list_name=f"{'children' if children else 'parents'}:{id}", adjacency=adjacency)


@face.route(BASE + "/{id}/graphs/children", methods=["GET"], **_LIST_ROUTE)
def children(call: Call, id: str) -> Response:
    """The tasks that run when this task finishes (those the caller may reach), as a task list."""
    return _neighbours(call, id, children=True)


@face.route(BASE + "/{id}/graphs/parents", methods=["GET"], **_LIST_ROUTE)
def parents(call: Call, id: str) -> Response:
    """The tasks whose finish runs this task (those the caller may reach), as a task list."""
    return _neighbours(call, id, children=False)
