"""Runs in memory, moved between states under the deployed store's conditions (store/runs.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from chalicelib.engine.model import EndReason, Run, RunStatus
from chalicelib.errors import NotFound
from chalicelib.store.memory.state import MemoryState, RunRow, copied, instant
from chalicelib.timefmt import to_iso

#: The most of a run's detail that is kept when it ends (as the deployed store does).
DETAIL_LIMIT = 2000


def stored_run(run: Run) -> Run:
    """A new run as the deployed store keeps it: only what creation writes, instants in UTC."""
    return dataclasses.replace(
        run, created_at=instant(run.created_at), nominal_at=instant(run.nominal_at),
        started_at=instant(run.started_at), ended_at=instant(run.ended_at), params=copied(run.params),
        extra=copied(run.extra or {}), worker_id=None, lease_until=None, stop_requested=False, http_status=None,
        log_lines=0, log_truncated=False,
    )


def _out(row: RunRow) -> Run:
    return dataclasses.replace(row.run, params=copied(row.run.params), extra=copied(row.run.extra))


class MemoryRunStore:
    """`RunStore` in memory."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def _row(self, tenant: str, task_id: str, run_id: str) -> RunRow | None:
        return self._state.runs.get((tenant, task_id, run_id))

    def create_run(self, run: Run) -> bool:
        with self._state.lock:
            key = (run.tenant, run.task_id, run.run_id)
            if key in self._state.runs:
                return False
            self._state.runs[key] = RunRow(run=stored_run(run))
            return True

    def get_run(self, tenant: str, task_id: str, run_id: str) -> Run:
        with self._state.lock:
            row = self._row(tenant, task_id, run_id)
            if row is None:
                raise NotFound(f"run {run_id} not found")
            return _out(row)

    def find_run(self, tenant: str, run_id: str) -> Run:
        with self._state.lock:
            for (t, _, r), row in self._state.runs.items():
                if t == tenant and r == run_id:
                    return _out(row)
        raise NotFound(f"run {run_id} not found")

    def list_runs(self, tenant: str, task_id: str, *, newest_first: bool = True,
                  limit: int | None = None) -> Iterator[Run]:
        with self._state.lock:
            rows = sorted(((r, row) for (t, k, r), row in self._state.runs.items() if t == tenant and k == task_id),
                          key=lambda entry: entry[0], reverse=newest_first)
            runs = [_out(row) for _, row in rows[:limit]]
        return iter(runs)

    def newest_runs(self, tenant: str, task_ids: Sequence[str]) -> dict[str, Run]:
        with self._state.lock:
            newest: dict[str, tuple[str, RunRow]] = {}
            wanted = set(task_ids)
            for (t, k, r), row in self._state.runs.items():
                if t == tenant and k in wanted and (k not in newest or r > newest[k][0]):
                    newest[k] = (r, row)
            return {task_id: _out(row) for task_id, (_, row) in newest.items()}

    def list_tenant_runs(self, tenant: str, *, newest_first: bool = True) -> Iterator[Run]:
        with self._state.lock:
            rows = sorted((row for (t, _, _), row in self._state.runs.items() if t == tenant),
                          key=lambda row: f"{to_iso(row.run.created_at)}#{row.run.run_id}", reverse=newest_first)
            runs = [_out(row) for row in rows]
        return iter(runs)

    def _update(self, tenant: str, task_id: str, run_id: str, holds: Any, **changes: Any) -> Run | None:
        """Apply `changes` if the run exists and `holds(run)`; the run as left, or None."""
        with self._state.lock:
            row = self._row(tenant, task_id, run_id)
            if row is None or not holds(row.run):
                return None
            row.run = dataclasses.replace(row.run, **changes)
            return _out(row)

    def start_run(self, tenant: str, task_id: str, run_id: str, *, worker_id: str, now: datetime,
                  lease_until: datetime) -> Run | None:
        return self._update(
            tenant, task_id, run_id, lambda run: run.status is RunStatus.PENDING and not run.stop_requested,
            status=RunStatus.RUNNING, worker_id=worker_id, started_at=instant(now), lease_until=instant(lease_until))

    def renew_lease(self, tenant: str, task_id: str, run_id: str, *, worker_id: str,
                    lease_until: datetime) -> bool | None:
        renewed = self._update(
            tenant, task_id, run_id, lambda run: run.status is RunStatus.RUNNING and run.worker_id == worker_id,
            lease_until=instant(lease_until))
        return None if renewed is None else renewed.stop_requested

    def finish_run(self, tenant: str, task_id: str, run_id: str, *, reason: EndReason, exit_code: int,
                   now: datetime, expected_status: RunStatus, worker_id: str | None = None,
                   detail: str | None = None, http_status: int | None = None, log_lines: int | None = None,
                   log_truncated: bool | None = None, expires_at: int | None = None) -> Run | None:
        changes: dict[str, Any] = {"status": RunStatus.ENDED, "end_reason": reason, "exit_code": exit_code,
                                   "ended_at": instant(now), "lease_until": None}
        for name, value in (("detail", detail[:DETAIL_LIMIT] if detail is not None else None),
                            ("http_status", http_status), ("log_lines", log_lines), ("log_truncated", log_truncated)):
            if value is not None:
                changes[name] = value
        with self._state.lock:
            ended = self._update(
                tenant, task_id, run_id,
                lambda run: run.status is expected_status and (worker_id is None or run.worker_id == worker_id),
                **changes)
            if ended is not None and expires_at is not None:
                self._state.runs[(tenant, task_id, run_id)].expires_at = expires_at
            return ended

    def request_stop(self, tenant: str, task_id: str, run_id: str) -> bool:
        return self._update(tenant, task_id, run_id, lambda run: run.status is not RunStatus.ENDED,
                            stop_requested=True) is not None

    def delete_run(self, tenant: str, task_id: str, run_id: str) -> None:
        with self._state.lock:
            row = self._row(tenant, task_id, run_id)
            if row is None or row.run.status is not RunStatus.ENDED:
                raise NotFound(f"run {run_id} is not an ended run of this task")
            del self._state.runs[(tenant, task_id, run_id)]

    def expired_leases(self, now: datetime) -> Iterator[tuple[str, str, str]]:
        with self._state.lock:
            expired = sorted((row.run.lease_until, key) for key, row in self._state.runs.items()
                             if row.run.lease_until is not None and row.run.lease_until < now)
        return iter([key for _, key in expired])
