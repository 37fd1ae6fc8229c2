"""The command function: runs one command in its own Lambda function, whose role reaches
nothing of the service's (no table, queue, bucket or secret), and returns what it printed.

The worker invokes it synchronously with

    {"args": [str], "env": {str: str}, "working_dir": str | null,
     "timeout_seconds": float | null, "log_max_bytes": int | null}

and gets back

    {"outcome": "success|failed|timeout|log_overflow|start_failed", "exit_code": int,
     "detail": str, "lines": [{"stream": "stdout|stderr|system", "text": str, "size"?: int}],
     "truncated": bool}

(`size` only on a line the reader cut at the line cap: its full size, so the log marks the cut once.)

`log_max_bytes` set: past that many bytes of output the command is killed (`log_overflow`).
Unset: lines past `RESPONSE_MAX_BYTES` (what fits a synchronous Lambda response) are dropped
and `truncated` is true; the command runs on.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import Any

from chalicelib.engine.command_process import ProcessRequest, run_process

#: The most output one response carries (Lambda caps a synchronous response at 6 MB).
RESPONSE_MAX_BYTES = 5 * 1024 * 1024
#: Per-line overhead counted against the caps (the JSON around a line).
_LINE_OVERHEAD = 32
OUTCOMES = ("success", "failed", "timeout", "log_overflow", "start_failed")


class _Collector:
    """Keeps lines up to a byte budget; asks for a kill past it when the caller set a cap."""

    def __init__(self, max_bytes: int | None) -> None:
        self._budget = max_bytes if max_bytes is not None else RESPONSE_MAX_BYTES
        self._kill_past = max_bytes is not None
        self._lock = threading.Lock()
        self._used = 0
        self.lines: list[dict[str, Any]] = []
        self.truncated = False
        self.kill_requested = False

    def write(self, stream: str, text: str, *, size: int | None = None) -> None:
        """Keep `text`'s lines; `size` is the full byte length of a single line the reader
        already cut, passed back so the run's log marks the cut once."""
        lines = text.splitlines() or [""]
        with self._lock:
            for line in lines:
                cost = len(line.encode("utf-8", errors="replace")) + _LINE_OVERHEAD
                if self.truncated or self._used + cost > self._budget:
                    self.truncated = True
                    self.kill_requested = self._kill_past
                    continue
                self._used += cost
                kept: dict[str, Any] = {"stream": stream, "text": line}
                if size is not None and len(lines) == 1 and size > len(line.encode("utf-8", errors="replace")):
                    kept["size"] = size  # the reader cut this line: its full size
                self.lines.append(kept)


def parse_event(event: Any) -> ProcessRequest:
    """The request an invocation carries; `ValueError` naming the first bad field."""
    if not isinstance(event, dict):
        raise ValueError("the event is an object")
    args = event.get("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise ValueError("args is a non-empty list of strings")
    env = event.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ValueError("env is an object of strings")
    working_dir = event.get("working_dir")
    if working_dir is not None and not isinstance(working_dir, str):
        raise ValueError("working_dir is a string or null")
    timeout = event.get("timeout_seconds")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise ValueError("timeout_seconds is a positive number or null")
    return ProcessRequest(args=list(args), env=dict(env), working_dir=working_dir,
                          timeout=timedelta(seconds=timeout) if timeout else None)


def handle_invocation(event: dict[str, Any]) -> dict[str, Any]:
    """Run the command an invocation describes; the response format is in the module docstring."""
    log_max = event.get("log_max_bytes") if isinstance(event, dict) else None
    if log_max is not None and (isinstance(log_max, bool) or not isinstance(log_max, int) or log_max < 0):
        return _refused("log_max_bytes is a whole number or null")
    try:
        request = parse_event(event)
    except ValueError as exc:
        return _refused(str(exc))
    collector = _Collector(log_max)
    result = run_process(request, collector, stop_event=threading.Event(),
                         user=os.environ.get("TASKLANE_COMMAND_USER", "nobody"))
    outcome = result.outcome if result.outcome in OUTCOMES else "failed"
    return {"outcome": outcome, "exit_code": result.exit_code, "detail": result.detail,
            "lines": collector.lines, "truncated": collector.truncated}


def _refused(reason: str) -> dict[str, Any]:
    return {"outcome": "start_failed", "exit_code": -1, "detail": f"bad invocation: {reason}",
            "lines": [{"stream": "system", "text": f"cannot start: {reason}"}], "truncated": False}
