"""Where the worker has a command run: a subprocess here, or the command function.

The command executor hands "run this argv with this env, timeout and log cap" to a runner that
settings choose (`TASKLANE_COMMAND_RUNNER`): `local` (default) runs a subprocess of this process
(`command_process`); `lambda` invokes the function named by `TASKLANE_COMMAND_FUNCTION`
(`command_runner.handle_invocation` on the other side) and writes the lines it returns to the
run's log. Deployed, that keeps tenant code out of the worker, whose role reaches the tables.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib import settings
from chalicelib.engine.command_process import LineSink, ProcessOutcome, ProcessRequest, run_process
from chalicelib.errors import ValidationError

_OUTCOMES = frozenset({"success", "failed", "timeout", "log_overflow", "start_failed"})
#: Longest the worker waits for the command function (its own timeout is at most 900 s).
INVOKE_READ_TIMEOUT = 910


class CommandRunner(Protocol):
    def run(self, request: ProcessRequest, sink: LineSink, *, stop_event: threading.Event,
            log_max_bytes: int | None) -> ProcessOutcome: ...


class SubprocessRunner:
    """Runs the command as a subprocess of this process."""

    def __init__(self, user: str | None) -> None:
        self._user = user

    def run(self, request: ProcessRequest, sink: LineSink, *, stop_event: threading.Event,
            log_max_bytes: int | None) -> ProcessOutcome:
        return run_process(request, sink, stop_event=stop_event, user=self._user)


def to_event(request: ProcessRequest, log_max_bytes: int | None) -> dict[str, Any]:
    """The command function's event for `request` (format in `command_runner`)."""
    return {"args": list(request.args), "env": dict(request.env), "working_dir": request.working_dir,
            "timeout_seconds": request.timeout.total_seconds() if request.timeout else None,
            "log_max_bytes": log_max_bytes}


@dataclass
class LambdaRunner:
    """Invokes the command function synchronously and replays its lines into the run's log.

    A stop request ends the run at once as `stopped`; the invocation itself runs on to the
    command's timeout (a synchronous invocation cannot be cancelled)."""

    function_name: str
    client_factory: Callable[[], Any]
    _client: Any = None

    def _lambda(self) -> Any:
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def run(self, request: ProcessRequest, sink: LineSink, *, stop_event: threading.Event,
            log_max_bytes: int | None) -> ProcessOutcome:
        if not self.function_name:
            sink.write("system", "cannot start: TASKLANE_COMMAND_FUNCTION names no command function")
            return ProcessOutcome(outcome="start_failed", exit_code=-1, detail="no command function configured")
        answer: dict[str, Any] = {}
        thread = threading.Thread(target=self._invoke, args=(to_event(request, log_max_bytes), answer),
                                  name="command-invoke", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(timeout=0.2)
            if stop_event.is_set() and thread.is_alive():
                sink.write("system", "stopped; the command function runs on until its timeout")
                return ProcessOutcome(outcome="stopped", exit_code=-1, detail="stopped")
        if "error" in answer:
            sink.write("system", f"cannot start: the command function failed: {answer['error']}")
            return ProcessOutcome(outcome="start_failed", exit_code=-1, detail=answer["error"][:500])
        response = answer["response"]
        for line in response.get("lines") or []:
            size = line.get("size")
            sink.write(str(line.get("stream", "stdout")), str(line.get("text", "")),
                       size=size if isinstance(size, int) else None)
        if response.get("truncated") and log_max_bytes is None:
            sink.write("system", "[the command function's response was capped; later lines were not returned]")
        outcome = str(response.get("outcome"))
        return ProcessOutcome(outcome=outcome if outcome in _OUTCOMES else "failed",
                              exit_code=int(response.get("exit_code", -1)), detail=str(response.get("detail", "")))

    def _invoke(self, event: dict[str, Any], answer: dict[str, Any]) -> None:
        try:
            result = self._lambda().invoke(FunctionName=self.function_name, InvocationType="RequestResponse",
                                           Payload=json.dumps(event).encode("utf-8"))
            payload = result["Payload"].read()
            body = json.loads(payload) if payload else {}
            if result.get("FunctionError"):
                answer["error"] = str(body.get("errorMessage") if isinstance(body, dict) else body)
            elif not isinstance(body, dict):
                answer["error"] = "the command function answered something other than an object"
            else:
                answer["response"] = body
        except Exception as exc:  # noqa: BLE001 - any failure to reach the function is a failed start
            answer["error"] = f"{type(exc).__name__}: {exc}"


def _lambda_client() -> Any:
    import boto3
    from botocore.config import Config

    current = settings.current()
    # No retries: a retried invocation would run the command twice.
    return boto3.session.Session().client(
        "lambda", region_name=current.region,
        config=Config(read_timeout=INVOKE_READ_TIMEOUT, connect_timeout=10, retries={"max_attempts": 0}))


_runners: dict[tuple[str, str, str], CommandRunner] = {}


def current_runner() -> CommandRunner:
    """The runner the settings choose (one per configuration, so the client is reused)."""
    current = settings.current()
    key = (current.command_runner, current.command_function, current.command_user)
    runner = _runners.get(key)
    if runner is None:
        if current.command_runner == "lambda":
            runner = LambdaRunner(function_name=current.command_function, client_factory=_lambda_client)
        elif current.command_runner == "local":
            runner = SubprocessRunner(current.command_user)
        else:
            raise ValidationError(f"TASKLANE_COMMAND_RUNNER is local or lambda, not {current.command_runner!r}",
                                  location="TASKLANE_COMMAND_RUNNER")
        _runners[key] = runner
    return runner
