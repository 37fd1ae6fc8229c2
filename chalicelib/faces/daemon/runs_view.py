"""Runs as the daemon API shows them (seed 003), and the run-list query parameters."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.engine.instants import instant_field
from chalicelib.engine.model import FAILURES, EndReason, Run, RunStatus, TriggeredBy
from chalicelib.errors import ValidationError
from chalicelib.faces.daemon.names import name_of
from chalicelib.faces.daemon.requests import DaemonRunListQuery
from chalicelib.timefmt import to_api

#: The product's `triggered_by` values; chained (event) runs have no daemon equivalent.
_TRIGGERED_BY = {TriggeredBy.EVENT: "api"}
_PHASES = {s.value for s in RunStatus}
#: The product's end reasons: the engine's, and `daemon_stopped` (a run cut short by the daemon's
#: own shutdown), which tasklane never gives, so filtering on it finds nothing.
_REASONS = {r.value for r in EndReason} | {"daemon_stopped"}
_TRIGGERS = {"cron", "api", "cloud", "service", "startup"}
DEFAULT_LIMIT = 50


def render_run(run: Run) -> dict[str, Any]:
    """One run object."""
    body: dict[str, Any] = {
        "id": run.run_id,
        "task_name": name_of(run.task_id),
        "status": run.status.value,
        "triggered_by": _TRIGGERED_BY.get(run.triggered_by, run.triggered_by.value),
        "created_at": to_api(run.created_at),
        "exit_code": run.exit_code if run.exit_code is not None else 0,
        "retry_attempt": run.retry_attempt,
        "instance_index": run.instance_index or 0,
        "params": dict(run.params or {}),
    }
    if run.started_at:
        body["start_at"] = to_api(run.started_at)
    if run.status is RunStatus.ENDED:
        body["end_reason"] = run.end_reason.value if run.end_reason else None
        if run.ended_at:
            body["end_at"] = to_api(run.ended_at)
    if run.retry_of_run_id:
        body["retry_of_run_id"] = run.retry_of_run_id
    if run.nominal_at:
        body["scheduled_at"] = to_api(run.nominal_at)  # the cron tick it belongs to (tasklane's addition)
    if run.detail:
        body["detail"] = run.detail
    return body


@dataclass(frozen=True, kw_only=True)
class RunQuery:
    """The run-list filters: `status` (phases or end reasons), `triggered_by`, `since`/`until`."""

    statuses: frozenset[str] = frozenset()
    triggered_by: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def matches(self, run: Run) -> bool:
        if self.statuses and run.status.value not in self.statuses and (
            run.end_reason is None or run.end_reason.value not in self.statuses
        ):
            return False
        if self.triggered_by and _TRIGGERED_BY.get(run.triggered_by, run.triggered_by.value) not in self.triggered_by:
            return False
        if self.since and run.created_at < self.since:
            return False
        return not (self.until and run.created_at >= self.until)

    def page(self, runs: Iterable[Run]) -> dict[str, Any]:
        """`{runs, total}`: the matching runs' count and the requested window of them."""
        matching = [run for run in runs if self.matches(run)]
        window = matching[self.offset:self.offset + self.limit]
        return {"runs": [render_run(run) for run in window], "total": len(matching)}


def parse_run_query(query: DaemonRunListQuery) -> RunQuery:
    """The list parameters, past their model: the comma lists and the instants; errors name
    `query.<parameter>`."""
    statuses = _csv(query.status)
    for value in statuses:
        if value not in _PHASES | _REASONS:
            raise ValidationError(f"status {value!r} is neither a phase ({', '.join(sorted(_PHASES))}) nor an end "
                                  "reason", location="query.status", value=value)
    triggers = _csv(query.triggered_by)
    for value in triggers:
        if value not in _TRIGGERS:
            raise ValidationError(f"triggered_by is one of {', '.join(sorted(_TRIGGERS))}",
                                  location="query.triggered_by", value=value)
    return RunQuery(
        statuses=frozenset(statuses),
        triggered_by=frozenset(triggers),
        since=instant_field(query.since, field="query.since") if query.since else None,
        until=instant_field(query.until, field="query.until") if query.until else None,
        limit=query.limit,
        offset=query.offset,
    )


def summary(runs: Iterable[Run]) -> dict[str, int]:
    """`{total, success, failed, missed}` over ended runs."""
    counts = {"total": 0, "success": 0, "failed": 0, "missed": 0}
    for run in runs:
        if run.status is not RunStatus.ENDED:
            continue
        counts["total"] += 1
        if run.end_reason is EndReason.SUCCESS:
            counts["success"] += 1
        elif run.end_reason in FAILURES:
            counts["failed"] += 1
        elif run.end_reason is EndReason.MISSED:
            counts["missed"] += 1
    return counts


def _csv(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]
