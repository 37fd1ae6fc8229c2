"""Runs: created once per id, moved through their states by conditional writes, listed, deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.engine.model import EndReason, RunStatus
from chalicelib.errors import NotFound
from tests.contract.conftest import T0, pending
from tests.racing import race

LEASE = T0 + timedelta(minutes=1)


def finish(store, run_id, *, expected=RunStatus.RUNNING, worker_id=None, **fields):
    return store.runs.finish_run("acme", "t1", run_id, reason=EndReason.SUCCESS, exit_code=0,
                                 now=T0 + timedelta(seconds=5), expected_status=expected, worker_id=worker_id,
                                 **fields)


def test_a_run_id_is_created_once(racing_store):
    created = race(lambda: racing_store.runs.create_run(pending("t1", "r1", params={"a": 1})), threads=4)
    assert created.count(True) == 1
    run = racing_store.runs.get_run("acme", "t1", "r1")
    assert (run.status, run.params, run.extra) == (RunStatus.PENDING, {"a": 1}, {})
    assert racing_store.runs.find_run("acme", "r1") == run
    with pytest.raises(NotFound):
        racing_store.runs.find_run("other", "r1")


def test_a_run_starts_once_renews_only_for_its_worker_and_ends_once(store):
    store.runs.create_run(pending("t1", "r1"))
    started = store.runs.start_run("acme", "t1", "r1", worker_id="w1", now=T0, lease_until=LEASE)
    assert (started.status, started.worker_id, started.lease_until) == (RunStatus.RUNNING, "w1", LEASE)
    assert store.runs.start_run("acme", "t1", "r1", worker_id="w2", now=T0, lease_until=LEASE) is None
    assert store.runs.renew_lease("acme", "t1", "r1", worker_id="w2", lease_until=LEASE) is None
    assert store.runs.renew_lease("acme", "t1", "r1", worker_id="w1", lease_until=LEASE) is False
    assert store.runs.request_stop("acme", "t1", "r1")
    assert store.runs.renew_lease("acme", "t1", "r1", worker_id="w1", lease_until=LEASE) is True
    assert finish(store, "r1", worker_id="w2") is None
    ended = finish(store, "r1", worker_id="w1", detail="x" * 3000, log_lines=7, log_truncated=True, http_status=204)
    assert (ended.status, ended.end_reason, ended.lease_until, len(ended.detail)) == (
        RunStatus.ENDED, EndReason.SUCCESS, None, 2000)
    assert (ended.log_lines, ended.log_truncated, ended.http_status) == (7, True, 204)
    assert finish(store, "r1") is None
    assert not store.runs.request_stop("acme", "t1", "r1")


def test_a_run_asked_to_stop_before_it_started_never_starts(store):
    store.runs.create_run(pending("t1", "r1"))
    assert store.runs.request_stop("acme", "t1", "r1")
    assert store.runs.start_run("acme", "t1", "r1", worker_id="w1", now=T0, lease_until=LEASE) is None
    assert finish(store, "r1", expected=RunStatus.PENDING).status is RunStatus.ENDED


def test_racing_workers_start_a_run_once(racing_store):
    racing_store.runs.create_run(pending("t1", "r1"))
    starts = race(lambda: racing_store.runs.start_run("acme", "t1", "r1", worker_id="w", now=T0, lease_until=LEASE),
                  threads=4)
    assert sum(1 for s in starts if s is not None) == 1


def test_runs_list_newest_first_per_task_and_by_creation_per_tenant(store):
    for n, task_id in enumerate(["t1", "t2", "t1", "t1"]):
        store.runs.create_run(pending(task_id, f"000{n}", created_at=T0 + timedelta(seconds=n)))
    assert [r.run_id for r in store.runs.list_runs("acme", "t1")] == ["0003", "0002", "0000"]
    assert [r.run_id for r in store.runs.list_runs("acme", "t1", newest_first=False, limit=2)] == ["0000", "0002"]
    assert [r.run_id for r in store.runs.list_tenant_runs("acme")] == ["0003", "0002", "0001", "0000"]


def test_only_ended_runs_are_deleted_and_expired_leases_are_found(store):
    for run_id in ("r1", "r2"):
        store.runs.create_run(pending("t1", run_id))
        store.runs.start_run("acme", "t1", run_id, worker_id="w", now=T0,
                             lease_until=LEASE if run_id == "r1" else LEASE + timedelta(hours=1))
    assert list(store.runs.expired_leases(LEASE + timedelta(seconds=1))) == [("acme", "t1", "r1")]
    with pytest.raises(NotFound):
        store.runs.delete_run("acme", "t1", "r1")
    finish(store, "r1", expires_at=int(T0.timestamp()) + 3600)
    assert list(store.runs.expired_leases(LEASE + timedelta(seconds=1))) == []
    store.runs.delete_run("acme", "t1", "r1")
    with pytest.raises(NotFound):
        store.runs.get_run("acme", "t1", "r1")
    with pytest.raises(NotFound):
        store.runs.delete_run("acme", "t1", "r1")



def test_newest_runs_are_each_tasks_newest_and_leave_out_tasks_that_never_ran(store):
    for n, task_id in enumerate(["t1", "t2", "t1", "t3", "t1"]):
        store.runs.create_run(pending(task_id, f"000{n}", created_at=T0 + timedelta(seconds=n)))
    store.runs.create_run(pending("t1", "0009", tenant="other"))
    newest = store.runs.newest_runs("acme", ["t1", "t2", "never", "t1"])
    assert {task_id: run.run_id for task_id, run in newest.items()} == {"t1": "0004", "t2": "0001"}
    assert newest["t1"] == next(store.runs.list_runs("acme", "t1", limit=1))
    assert store.runs.newest_runs("acme", []) == {}
    assert {k: r.run_id for k, r in store.runs.newest_runs("other", ["t1", "t3"]).items()} == {"t1": "0009"}
