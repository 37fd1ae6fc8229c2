"""Daemon run logs: paged lines, raw text, and an SSE stream.

Chalice (and API Gateway's REST integration) send a response whole, so the "stream" is a
long poll in SSE framing: it holds until the run ends or the hold cap passes (well inside the
gateway's 29 s), answers every line since `Last-Event-ID` as `line` events whose `id:` is the
line number, then `done` if the run has ended. A client's EventSource reconnects on its own
(`retry:` is set) and resumes from the last id it saw.
"""

from __future__ import annotations

import json

from chalice import Response

from chalicelib import settings
from chalicelib.engine import logs
from chalicelib.engine import runs as run_engine
from chalicelib.engine.log_values import LogLine
from chalicelib.engine.model import Run
from chalicelib.errors import ValidationError
from chalicelib.faces import held_requests
from chalicelib.faces.daemon.face import face
from chalicelib.faces.daemon.requests import DaemonLogQuery, DaemonRawLogQuery, DaemonStreamQuery
from chalicelib.faces.daemon.runs_routes import find
from chalicelib.faces.http import NEXT_FROM_HEADER, Call, json_response
from chalicelib.timefmt import to_api

#: How long one stream response holds at most, seconds (further capped by max_hold_seconds).
STREAM_HOLD_SECONDS = 20.0
_POLL_SECONDS = 0.5


def _line(line: LogLine) -> dict:
    return {"n": line.n, "ts": to_api(line.ts), "stream": line.stream, "text": line.text}


def _json_cost(line: LogLine) -> int:
    return len(json.dumps(_line(line))) + 2


@face.route("/api/tasks/{taskName}/runs/{runId}/log", query=DaemonLogQuery)
def read_log(call: Call, taskName: str, runId: str) -> Response:  # noqa: N803 - the product's names
    """`{lines, first_available, total_lines, truncated, finalized, cut, next_from}`; a negative
    `from` counts back from the end; `cut` says the page stopped at the response byte cap and
    `next_from` is the `from` that continues it (null at the end)."""
    _, run = find(call, taskName, runId)
    start, limit = call.params.start, call.params.limit
    page = logs.page(run, from_line=start, limit=limit, cost=_json_cost)
    return json_response({
        "lines": [_line(line) for line in page.lines],
        "first_available": page.first_available,
        "total_lines": page.total_lines,
        "truncated": page.truncated,
        "finalized": run.is_terminal,
        "cut": page.cut,
        "next_from": page.next_from,
    })


@face.route("/api/tasks/{taskName}/runs/{runId}/log/raw", query=DaemonRawLogQuery)
def read_raw_log(call: Call, taskName: str, runId: str) -> Response:  # noqa: N803
    """The stored log as text/plain from line `from` (default 1), at most the response byte cap;
    `X-Log-Next-From` names the `from` that continues a cut response."""
    _, run = find(call, taskName, runId)
    start = call.params.start
    text, page = logs.text(run, from_line=start)
    headers: dict[str, str | list[str]] = {"Content-Type": "text/plain; charset=utf-8"}
    if page.next_from is not None:
        headers[NEXT_FROM_HEADER] = str(page.next_from)
    return Response(body=text, status_code=200, headers=headers)


@face.route("/api/tasks/{taskName}/runs/{runId}/log/stream", query=DaemonStreamQuery)
def stream_log(call: Call, taskName: str, runId: str) -> Response:  # noqa: N803
    """SSE: `line` events after `Last-Event-ID`, then `done` once the run has ended and every
    line is sent. Holds while the run is going and nothing new is stored."""
    _, run = find(call, taskName, runId)
    after = _last_event_id(call)
    hold = min(STREAM_HOLD_SECONDS, settings.current().max_hold_seconds)
    with held_requests.hold(call.principal.tenant, seconds=hold):
        run = held_requests.poll_until(run, lambda: run_engine.get_run(run.tenant, run.task_id, run.run_id),
                                       lambda current: current.is_terminal or logs.last_line(current) > after,
                                       seconds=hold, poll=_POLL_SECONDS)
        body = _events(run, after)
    return Response(body=body, status_code=200,
                    headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})


def _frame(line: LogLine) -> str:
    return f"event: line\nid: {line.n}\ndata: {json.dumps(_line(line))}\n\n"


def _events(run: Run, after: int) -> str:
    """The lines after `after` from the chunk that holds the next one, up to the response cap;
    `done` only when nothing is left to send (a cut stream is resumed from its last id)."""
    page = logs.page(run, from_line=after + 1, limit=10**9, cost=lambda line: len(_frame(line)))
    parts = ["retry: 1000\n\n", *(_frame(line) for line in page.lines)]
    if run.is_terminal and page.next_from is None:
        done = {"status": run.status.value, "end_reason": run.end_reason.value if run.end_reason else None,
                "exit_code": run.exit_code, "total_lines": page.total_lines}
        parts.append(f"event: done\ndata: {json.dumps(done)}\n\n")
    return "".join(parts)


def _last_event_id(call: Call) -> int:
    raw = call.header("last-event-id") or call.params.last_event_id
    if raw is None or raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError("Last-Event-ID is a line number", location="header.Last-Event-ID",
                              value=raw) from None
    return max(0, value)
