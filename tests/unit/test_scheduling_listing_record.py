"""A list filters on `listing_record(listing)`: it must be the filter record of the rendered
task the listing was read from, whatever the document and the last run hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.engine.model import DisabledReason, EndReason, Run, RunStatus, Task, TaskSpec, TriggeredBy, listing_of
from chalicelib.faces.scheduling.documents import TaskContext, filter_record, listing_record, render_task
from chalicelib.faces.scheduling.graph import Adjacency

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 2, 9, 5, 30, 123000, tzinfo=UTC)

DOCUMENTS = [
    None,
    {},
    {"name": "sales", "metadata": {"ownerId": "alice", "spaceId": "s1", "updatedBy": "bob", "spaceType": "shared"},
     "resourceId": "r1", "start": {"schedule": {"cron": "0 * * * *"}}},
    {"name": "chained", "metadata": None, "resourceId": None, "enabled": True,
     "events": [{"type": "com.qlik.v1.task.run.finished", "name": "x"}]},
    {"name": "data", "events": [{"type": "com.qlik.v1.active-analytics.orchestration"}],
     "metadata": {"createdAt": "stale", "updatedAt": "stale", "ownerId": "carol"}},
    {"id": "an-id-in-the-document", "name": "odd"},
]
RUNS = [
    None,
    Run(tenant="acme", task_id="t1", run_id="r1", status=RunStatus.PENDING, triggered_by=TriggeredBy.API,
        created_at=T0),
    Run(tenant="acme", task_id="t1", run_id="r2", status=RunStatus.ENDED, end_reason=EndReason.FAILED,
        triggered_by=TriggeredBy.CRON, created_at=T0, started_at=T0, ended_at=T1, extra={"executedAs": "svc"}),
    Run(tenant="acme", task_id="t1", run_id="r3", status=RunStatus.ENDED, end_reason=EndReason.SUCCESS,
        triggered_by=TriggeredBy.EVENT, source="parent-name", created_at=T0, started_at=T0, ended_at=T1),
]


@pytest.mark.parametrize("document", DOCUMENTS)
@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize(("enabled", "code"), [(True, None), (False, DisabledReason.CONSECUTIVE_FAILURES)])
def test_the_listing_record_is_the_rendered_tasks_filter_record(document, run, enabled, code):
    task = Task(tenant="acme", task_id="t1", face="scheduling", name="t1", enabled=enabled,
                spec=TaskSpec(executor="function", executor_config={"ref_name": "app.reload"}), document=document,
                next_fire_at=None, last_fire_at=None, created_at=T0, updated_at=T1, disabled_code=code)
    rendered = render_task(task, TaskContext(adjacency=Adjacency.from_edges([("t0", "t1")]), last_run=run))
    assert listing_record(listing_of(task), run) == filter_record(rendered)
