"""Executors: how a run does its work. A small registry: `command`, `http`, `python`.

Each takes the executor configuration and an `ExecutionContext` (the log, timeout, graceful
stop window, and an event set when someone asks the run to stop) and returns an
`ExecutionResult`. Executors never raise for a failure of the work itself.
"""

from __future__ import annotations

import importlib
import inspect
import json
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from chalicelib.engine.command_delegate import CommandRunner, current_runner
from chalicelib.engine.command_process import ProcessRequest
from chalicelib.errors import ValidationError


class Outcome(StrEnum):
    """How an execution ended."""

    SUCCESS = "success"
    FAILED = "failed"
    TIMEOUT = "timeout"
    STOPPED = "stopped"
    LOG_OVERFLOW = "log_overflow"
    START_FAILED = "start_failed"


class LogSink(Protocol):
    kill_requested: bool

    def write(self, stream: str, text: str, *, size: int | None = None) -> None: ...


@dataclass(frozen=True, kw_only=True)
class ExecutionResult:
    outcome: Outcome
    #: Process exit code; for http 0 on 2xx else 1; -1 never executed.
    exit_code: int
    http_status: int | None = None
    detail: str = ""


@dataclass(kw_only=True)
class ExecutionContext:
    log: LogSink
    timeout: timedelta | None = None
    graceful_stop: timedelta = timedelta(seconds=5)
    stop_event: threading.Event = field(default_factory=threading.Event)
    #: Extra environment variables for the run (tasklane's run metadata).
    env: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    #: With `log_on_full = kill_task`: the log size past which a command is killed.
    log_kill_bytes: int | None = None


class Executor(Protocol):
    def execute(self, config: dict[str, Any], context: ExecutionContext) -> ExecutionResult: ...


_POLL = 0.05


class CommandExecutor:
    """A subprocess with exactly the environment it is given (see `command_process`), run by
    the runner settings choose (`command_delegate`); its lines stream into the run's log."""

    def __init__(self, runner: Callable[[], CommandRunner] | None = None) -> None:
        self._runner = runner

    def execute(self, config: dict[str, Any], context: ExecutionContext) -> ExecutionResult:
        args = config.get("args")
        if not args or not isinstance(args, list):
            context.log.write("system", "command executor needs a non-empty 'args' list")
            return ExecutionResult(outcome=Outcome.START_FAILED, exit_code=-1, detail="no command")
        args = [str(a) for a in args]
        env = {str(k): str(v) for k, v in {**(config.get("env") or {}), **context.env}.items()}
        problem = command_problem(args, env)
        if problem:
            context.log.write("system", f"cannot start: {problem}")
            return ExecutionResult(outcome=Outcome.START_FAILED, exit_code=-1, detail=problem)
        request = ProcessRequest(args=args, env=env, working_dir=config.get("working_dir") or None,
                                 timeout=context.timeout, graceful_stop=context.graceful_stop)
        runner = (self._runner or current_runner)()
        result = runner.run(request, context.log, stop_event=context.stop_event,
                            log_max_bytes=context.log_kill_bytes)
        return ExecutionResult(outcome=Outcome(result.outcome), exit_code=result.exit_code, detail=result.detail)


def command_problem(args: list[str], env: dict[str, str]) -> str | None:
    """Why this argv and environment cannot start a process (NUL bytes, `=` in a name), or None."""
    if any("\0" in a for a in args):
        return "an argument contains a NUL character"
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            return f"environment variable name {name!r} is empty or contains '=' or NUL"
        if "\0" in value:
            return f"environment variable {name!r} contains a NUL character"
    return None


class HttpExecutor:
    """One HTTP request; 2xx is success. Header values are never logged (they may hold secrets)."""

    def execute(self, config: dict[str, Any], context: ExecutionContext) -> ExecutionResult:
        method = str(config.get("method", "GET")).upper()
        url = config.get("url")
        if not url or not str(url).startswith(("http://", "https://")):
            context.log.write("system", "http executor needs an http(s) 'url'")
            return ExecutionResult(outcome=Outcome.START_FAILED, exit_code=-1, detail="no url")
        body = config.get("body")
        data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
        headers = dict(config.get("headers") or {})
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        timeout = context.timeout.total_seconds() if context.timeout else 300.0
        context.log.write("system", f"{method} {url} (headers: {', '.join(sorted(headers)) or 'none'})")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status, payload = response.status, response.read(8192)
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read(8192)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            timed_out = isinstance(reason, TimeoutError) or "timed out" in str(reason)
            context.log.write("system", f"request failed: {reason}")
            if timed_out:
                return ExecutionResult(outcome=Outcome.TIMEOUT, exit_code=1, detail=str(reason))
            return ExecutionResult(outcome=Outcome.FAILED, exit_code=1, detail=f"request failed: {reason}")
        elapsed = time.monotonic() - started
        context.log.write("system", f"HTTP {status} in {elapsed * 1000:.0f} ms")
        if payload:
            context.log.write("stdout", payload.decode("utf-8", errors="replace"))
        ok = 200 <= status < 300
        return ExecutionResult(outcome=Outcome.SUCCESS if ok else Outcome.FAILED, exit_code=0 if ok else 1,
                               http_status=status, detail=f"HTTP {status}")


class PythonExecutor:
    """Calls `module:function(context=..., **kwargs)` in a worker thread.

    A timeout or stop abandons the thread (Python cannot kill it); the run ends at once and the
    thread finishes on its own. Use `command` for work that must be killed.
    """

    def execute(self, config: dict[str, Any], context: ExecutionContext) -> ExecutionResult:
        reference = str(config.get("callable", ""))
        module_name, _, attr = reference.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), attr) if attr else None
        except (ImportError, AttributeError, ValueError) as exc:
            target = None
            context.log.write("system", f"cannot import {reference!r}: {exc}")
        if not callable(target):
            context.log.write("system", f"{reference!r} is not a callable 'module:function'")
            return ExecutionResult(outcome=Outcome.START_FAILED, exit_code=-1, detail="bad callable")
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                kwargs = dict(config.get("kwargs") or {})
                if _accepts_context(target):
                    kwargs["context"] = context
                outcome["value"] = target(**kwargs)
            except BaseException:  # noqa: BLE001 - the run fails with the traceback in its log
                outcome["error"] = traceback.format_exc()

        thread = threading.Thread(target=call, daemon=True, name=f"python-{reference}")
        thread.start()
        seconds = context.timeout.total_seconds() if context.timeout else None
        deadline = time.monotonic() + seconds if seconds is not None else None
        while thread.is_alive():
            thread.join(timeout=_POLL)
            if context.stop_event.is_set():
                return ExecutionResult(outcome=Outcome.STOPPED, exit_code=1, detail="stopped")
            if deadline is not None and time.monotonic() >= deadline:
                context.log.write("system", f"timed out after {seconds:g}s")
                return ExecutionResult(outcome=Outcome.TIMEOUT, exit_code=1, detail="timeout")
        if "error" in outcome:
            for line in outcome["error"].splitlines():
                context.log.write("stderr", line)
            return ExecutionResult(outcome=Outcome.FAILED, exit_code=1, detail="exception")
        if outcome.get("value") is not None:
            context.log.write("stdout", str(outcome["value"]))
        return ExecutionResult(outcome=Outcome.SUCCESS, exit_code=0)


def _accepts_context(target: Callable[..., Any]) -> bool:
    """Whether `target` takes a `context` keyword (builtins without a signature do not)."""
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return "context" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


EXECUTORS: dict[str, Executor] = {
    "command": CommandExecutor(),
    "http": HttpExecutor(),
    "python": PythonExecutor(),
}


def get_executor(kind: str) -> Executor:
    """The executor registered as `kind`; `ValidationError` for an unknown kind."""
    try:
        return EXECUTORS[kind]
    except KeyError:
        raise ValidationError(f"unknown executor {kind!r}; known: {', '.join(sorted(EXECUTORS))}",
                              location="executor") from None
