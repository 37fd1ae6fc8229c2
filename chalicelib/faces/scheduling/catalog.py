"""The caller's view of the tenant's scheduling tasks: look one up with access checked, list
the visible ones, and render them with their topology and last run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from chalicelib.engine import runs as run_engine
from chalicelib.engine import tasks as task_engine
from chalicelib.engine.model import Task
from chalicelib.errors import NotFound
from chalicelib.faces.http import Call
from chalicelib.faces.scheduling import access
from chalicelib.faces.scheduling.documents import FACE, TaskContext, render_task, task_meta_snapshot
from chalicelib.faces.scheduling.graph import Adjacency


def tenant_adjacency(tenant: str) -> Adjacency:
    """Every chain edge of the tenant (one query)."""
    return Adjacency.from_edges((parent, child) for parent, child, _ in task_engine.chain_edges(tenant))


def task_adjacency(task: Task) -> Adjacency:
    """The chain edges touching one task: its parents (its spec's, if their edge stands: one read
    each) and its children (one query of the edges from it, skipped when the task item says no
    task subscribes to it: an edge is written before its parent is marked, so a read that sees
    no mark saw no finished save of a child). Enough for its topology, without reading the
    tenant's edges."""
    parents = [(parent, task.task_id) for parent in task_engine.parents_of(task)]
    children = [(task.task_id, child) for child in task_engine.children_of(task.tenant, task.task_id)
                ] if task.may_have_subscribers else []
    return Adjacency.from_edges(parents + children)


def find_task(call: Call, task_id: str) -> Task:
    """A scheduling task of the caller's tenant, or `NotFound` (also for another face's task)."""
    task = task_engine.get_task(call.principal.tenant, task_id)
    if task.face != FACE:
        raise NotFound(f"task {task_id} not found")
    return task


def reachable_task(call: Call, task_id: str) -> Task:
    """A task the caller may reach: `NotFound` or `Forbidden` otherwise."""
    task = find_task(call, task_id)
    access.require_reach(call.principal, task.document, task_id)
    return task


def tenant_tasks(tenant: str) -> list[Task]:
    """Every scheduling task of the tenant."""
    return list(task_engine.list_tasks(tenant, face=FACE))


def visible(call: Call, tasks: Iterable[Task]) -> list[Task]:
    """The tasks the caller may reach."""
    return [task for task in tasks if access.can_reach(call.principal, task.document)]


def metadata_snapshot(task: Task, adjacency: Adjacency | None = None) -> dict[str, Any]:
    """The task's metadata as a run records it (no run history, so no last-run read)."""
    return task_meta_snapshot(render(task, adjacency, with_last_run=False))


def render(task: Task, adjacency: Adjacency | None = None, *, with_last_run: bool = True) -> dict[str, Any]:
    """A task in the page's shape, with its topology and (one more read) its newest run."""
    adjacency = adjacency if adjacency is not None else task_adjacency(task)
    last = run_engine.last_run(task.tenant, task.task_id) if with_last_run else None
    return render_task(task, TaskContext(adjacency=adjacency, last_run=last))


def render_all(tasks: Sequence[Task], adjacency: Adjacency) -> list[dict[str, Any]]:
    """Tasks of one tenant in the page's shape, as `render` makes each, their newest runs read
    together (a list page)."""
    if not tasks:
        return []
    last = run_engine.last_runs(tasks[0].tenant, [task.task_id for task in tasks])
    return [render_task(task, TaskContext(adjacency=adjacency, last_run=last.get(task.task_id))) for task in tasks]
