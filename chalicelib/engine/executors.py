"""Executors: how a run does its work. A small registry: `command`, `http`, `python`.

Each takes the executor configuration and an `ExecutionContext` (the log, timeout, graceful
stop window, and an event set when someone asks the run to stop) and returns an
`ExecutionResult`. Executors never raise for a failure of the work itself.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import signal
import subprocess
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

from chalicelib.engine.run_log import MAX_LINE_BYTES
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
    #: Extra environment variables for the run.
    env: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


class Executor(Protocol):
    def execute(self, config: dict[str, Any], context: ExecutionContext) -> ExecutionResult: ...


_POLL = 0.05


class CommandExecutor:
    """A subprocess in its own process group; stdout and stderr stream into the log."""

    def execute(self, config: dict[str, Any], context: ExecutionContext) -> ExecutionResult:
        args = config.get("args")
        if not args or not isinstance(args, list):
            context.log.write("system", "command executor needs a non-empty 'args' list")
            return ExecutionResult(outcome=Outcome.START_FAILED, exit_code=-1, detail="no command")
        env = {**os.environ, **(config.get("env") or {}), **context.env}
        try:
            process = subprocess.Popen(  # noqa: S603 - argv list, never a shell string from input
                [str(a) for a in args],
                cwd=config.get("working_dir") or None,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            context.log.write("system", f"could not start {args[0]!r}: {exc.strerror or exc}")
            return ExecutionResult(outcome=Outcome.START_FAILED, exit_code=-1, detail=str(exc))
        readers = [
            threading.Thread(target=_pump, args=(process.stdout, "stdout", context.log), daemon=True),
            threading.Thread(target=_pump, args=(process.stderr, "stderr", context.log), daemon=True),
        ]
        for reader in readers:
            reader.start()
        outcome = self._supervise(process, context)
        for reader in readers:
            reader.join(timeout=5)
        code = process.returncode if process.returncode is not None else -1
        if outcome is None and context.log.kill_requested:
            # A fast process can exit before its readers have pumped the line that overflowed
            # the log; decide once the whole output has been read.
            outcome = Outcome.LOG_OVERFLOW
        if outcome is None:
            outcome = Outcome.SUCCESS if code == 0 else Outcome.FAILED
        if outcome is Outcome.TIMEOUT:
            context.log.write("system", f"timed out after {context.timeout.total_seconds():g}s")
        return ExecutionResult(outcome=outcome, exit_code=code, detail=f"exit code {code}")

    def _supervise(self, process: subprocess.Popen, context: ExecutionContext) -> Outcome | None:
        deadline = time.monotonic() + context.timeout.total_seconds() if context.timeout else None
        while process.poll() is None:
            if context.log.kill_requested:
                _kill_group(process, timedelta(0))
                return Outcome.LOG_OVERFLOW
            if context.stop_event.is_set():
                _kill_group(process, context.graceful_stop)
                return Outcome.STOPPED
            if deadline is not None and time.monotonic() >= deadline:
                _kill_group(process, context.graceful_stop)
                return Outcome.TIMEOUT
            try:
                process.wait(timeout=_POLL)
            except subprocess.TimeoutExpired:
                continue
        return Outcome.LOG_OVERFLOW if context.log.kill_requested else None


def _pump(pipe: Any, stream: str, log: LogSink) -> None:
    """Copy a pipe into the log line by line, never holding more than the line cap of one line:
    the rest of a longer line is read and counted, not kept (the log marks the cut)."""
    for raw in iter(lambda: pipe.readline(MAX_LINE_BYTES + 1), b""):
        ended = raw.endswith(b"\n")
        head = raw[:-1] if ended else raw
        size = len(head)
        if not ended and size > MAX_LINE_BYTES:
            for rest in iter(lambda: pipe.readline(MAX_LINE_BYTES), b""):
                if rest.endswith(b"\n"):
                    size += len(rest) - 1
                    break
                size += len(rest)
        log.write(stream, head.decode("utf-8", errors="replace"), size=size)
    pipe.close()


def _kill_group(process: subprocess.Popen, grace: timedelta) -> None:
    """SIGTERM the process group, wait `grace`, then SIGKILL it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=max(0.0, grace.total_seconds()))
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


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
        deadline = time.monotonic() + context.timeout.total_seconds() if context.timeout else None
        while thread.is_alive():
            thread.join(timeout=_POLL)
            if context.stop_event.is_set():
                return ExecutionResult(outcome=Outcome.STOPPED, exit_code=1, detail="stopped")
            if deadline is not None and time.monotonic() >= deadline:
                context.log.write("system", f"timed out after {context.timeout.total_seconds():g}s")
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
