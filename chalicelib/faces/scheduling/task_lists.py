"""Task lists: which strategy answers a list, filtered by access and SCIM, sorted and paged.

The default sort (`-updatedAt`) pages by key over the update index, reading a page's worth of
tasks; any other sort reads the caller's tasks, filters and sorts them in memory and cuts pages
by offset (`listing`). A task's newest run is read for every candidate only when the filter or
the sort needs it; otherwise for the page's tasks only, all of them together.
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib.engine import runs as run_engine
from chalicelib.engine import tasks as task_engine
from chalicelib.engine.model import Run, Task, TaskListing
from chalicelib.faces.http import Call, json_response
from chalicelib.faces.scheduling import access, catalog
from chalicelib.faces.scheduling.documents import FACE, TaskContext, filter_record, listing_record, render_task
from chalicelib.faces.scheduling.graph import Adjacency
from chalicelib.faces.scheduling.listing import ListQuery, keyset_paginate, order, paginate, parse_list_query
from chalicelib.faces.scheduling.scim import DEFAULT_TASK_SORT, TASK_FILTER_FIELDS, TASK_SORT_FIELDS


def _needs_every_run(query: ListQuery) -> bool:
    """A task's newest run costs one read: read it for every candidate only when the filter or
    the sort looks at the last run (`last...` fields), otherwise only for the page's tasks."""
    filter_text = query.filter.text.lower() if query.filter is not None else ""
    return query.sort_field.startswith("last") or "last" in filter_text


def _candidate(call: Call, query: ListQuery, adjacency: Adjacency, every_run: bool):
    """The list record of a task the caller sees and the filter matches, or None."""

    def record(task: Task) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if not access.can_reach(call.principal, task.document):
            return None
        body = catalog.render(task, adjacency, with_last_run=every_run)
        fields = filter_record(body)
        if query.filter is not None and not query.filter.matches(fields):
            return None
        return fields, body

    return record


def list_response(
    call: Call, tasks: list[Task], *, list_name: str, query: ListQuery | None = None,
    adjacency: Adjacency | None = None,
) -> Response:
    """Filter, sort and paginate tasks in memory, as every task list of the page does."""
    query = query or _task_list_query(call, list_name)
    adjacency = adjacency if adjacency is not None else catalog.tenant_adjacency(call.principal.tenant)
    every_run = _needs_every_run(query)
    candidate = _candidate(call, query, adjacency, every_run)
    by_id = {task.task_id: task for task in tasks}
    records = [pair for pair in map(candidate, by_id.values()) if pair is not None]
    records = order(records, lambda pair: pair[0].get(query.sort_field), descending=query.descending,
                    tie=lambda pair: pair[0]["id"])
    page = paginate(call, query, records)
    if every_run:
        data = [body for _, body in page.items]
    else:
        data = catalog.render_all([by_id[body["id"]] for _, body in page.items], adjacency)
    return json_response({"data": data, "links": page.links})


def _task_list_query(call: Call, list_name: str) -> ListQuery:
    return parse_list_query(call, list_name=list_name, sort_fields=TASK_SORT_FIELDS,
                            default_sort=DEFAULT_TASK_SORT, filter_fields=TASK_FILTER_FIELDS)


def task_list(call: Call) -> Response:
    """The tasks the caller may reach (of one resource with `resourceId`), filtered, sorted and
    paginated."""
    tenant = call.principal.tenant
    resource_id = call.params.resourceId
    query = _task_list_query(call, "tasks")
    if query.sort_field != "updatedAt":
        tasks = catalog.tenant_tasks(tenant)
        if resource_id:
            tasks = [task for task in tasks if (task.document or {}).get("resourceId") == resource_id]
        return list_response(call, tasks, list_name="tasks", query=query)
    # The default sort: page by key over the `updatedAt` index. Candidates are read as listings
    # (what the filter and access need); the page's tasks are then read whole, together.
    every_run = _needs_every_run(query)

    def accept(listing: TaskListing) -> tuple[TaskListing, Run | None] | None:
        if resource_id and (listing.document or {}).get("resourceId") != resource_id:
            return None
        if not access.can_reach(call.principal, listing.document):
            return None
        last = run_engine.last_run(tenant, listing.task_id) if every_run else None
        if query.filter is not None and not query.filter.matches(listing_record(listing, last)):
            return None
        return listing, last

    page = keyset_paginate(
        call, query, lambda descending, after: task_engine.listings_by_update(
            tenant, FACE, descending=descending, after=after, first_chunk=query.limit + 1), accept)
    adjacency = catalog.tenant_adjacency(tenant)
    found = task_engine.get_tasks(tenant, [listing.task_id for listing, _ in page.items])
    shown = [(found[listing.task_id], last) for listing, last in page.items if listing.task_id in found]
    if every_run:
        data = [render_task(task, TaskContext(adjacency=adjacency, last_run=last)) for task, last in shown]
    else:
        data = catalog.render_all([task for task, _ in shown], adjacency)
    return json_response({"data": data, "links": page.links})
