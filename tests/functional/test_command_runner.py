"""The command function (`handle_invocation`) and the worker's side of it (`LambdaRunner`)."""

from __future__ import annotations

import io
import json
import threading

from chalicelib.engine.command_delegate import LambdaRunner
from chalicelib.engine.command_process import ProcessRequest
from chalicelib.engine.command_runner import handle_invocation
from chalicelib.engine.executors import CommandExecutor, ExecutionContext


def event(script: str, **extra) -> dict:
    return {"args": ["/bin/sh", "-c", script], "env": {"WHO": "me"}, "working_dir": None,
            "timeout_seconds": None, "log_max_bytes": None, **extra}


def test_an_invocation_runs_the_command_with_only_its_env_and_returns_its_lines():
    answer = handle_invocation(event('echo "hi $WHO"; echo "secret=${TASKLANE_JWT_SECRET:-none}"; echo oops >&2; '
                                     "exit 3"))
    assert answer["outcome"] == "failed" and answer["exit_code"] == 3 and answer["truncated"] is False
    assert {"stream": "stdout", "text": "hi me"} in answer["lines"]
    assert {"stream": "stdout", "text": "secret=none"} in answer["lines"]
    assert {"stream": "stderr", "text": "oops"} in answer["lines"]
    assert json.loads(json.dumps(answer)) == answer


def test_an_invocation_times_out_and_overflows_as_asked():
    answer = handle_invocation(event("echo start; sleep 5", timeout_seconds=0.3))
    assert answer["outcome"] == "timeout" and answer["lines"][0]["text"] == "start"
    assert answer["lines"][-1]["stream"] == "system"
    answer = handle_invocation(event("yes line | head -n 100000; sleep 5", log_max_bytes=2000))
    assert answer["outcome"] == "log_overflow" and answer["truncated"] is True
    assert sum(len(line["text"]) for line in answer["lines"]) <= 2000


def test_a_bad_invocation_or_a_command_that_cannot_start_is_start_failed():
    assert handle_invocation({"args": []})["outcome"] == "start_failed"
    assert handle_invocation(event("true", log_max_bytes="x"))["outcome"] == "start_failed"
    answer = handle_invocation({"args": ["/no/such/program"], "env": {}})
    assert answer["outcome"] == "start_failed" and "could not start" in answer["lines"][0]["text"]


class FakeLambda:
    """A Lambda client that runs `handle_invocation` in-process, as the function would."""

    def __init__(self, error: str | None = None) -> None:
        self.calls: list[dict] = []
        self.error = error

    def invoke(self, **kwargs) -> dict:
        self.calls.append(kwargs)
        if self.error:
            body = json.dumps({"errorMessage": self.error}).encode()
            return {"FunctionError": "Unhandled", "Payload": io.BytesIO(body)}
        answer = handle_invocation(json.loads(kwargs["Payload"]))
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


class Sink:
    kill_requested = False

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def write(self, stream: str, text: str, *, size: int | None = None) -> None:
        self.lines.append((stream, text))


def test_the_worker_invokes_the_command_function_and_writes_what_it_returns_to_the_log():
    fake = FakeLambda()
    created = []
    runner = LambdaRunner(function_name="tasklane-dev-command_runner",
                          client_factory=lambda: created.append(1) or fake)
    assert created == []  # the client is made on first use
    sink = Sink()
    result = CommandExecutor(runner=lambda: runner).execute(
        {"args": ["/bin/sh", "-c", 'echo "$0 $1 $TASKLANE_RUN_ID"', "greet", "v"], "env": {"A": "1"}},
        ExecutionContext(log=sink, env={"TASKLANE_RUN_ID": "r-9"}, log_kill_bytes=4096))
    assert result.outcome == "success" and result.exit_code == 0
    assert sink.lines == [("stdout", "greet v r-9")]
    (call,) = fake.calls
    sent = json.loads(call["Payload"])
    assert call["FunctionName"] == "tasklane-dev-command_runner" and call["InvocationType"] == "RequestResponse"
    assert sent == {"args": ["/bin/sh", "-c", 'echo "$0 $1 $TASKLANE_RUN_ID"', "greet", "v"],
                    "env": {"A": "1", "TASKLANE_RUN_ID": "r-9"}, "working_dir": None, "timeout_seconds": None,
                    "log_max_bytes": 4096}
    assert created == [1]


def test_a_function_error_or_no_configured_function_is_start_failed():
    sink = Sink()
    runner = LambdaRunner(function_name="f", client_factory=lambda: FakeLambda(error="Task timed out"))
    result = runner.run(ProcessRequest(args=["true"], env={}), sink, stop_event=threading.Event(), log_max_bytes=None)
    assert result.outcome == "start_failed" and "Task timed out" in sink.lines[0][1]
    result = LambdaRunner(function_name="", client_factory=FakeLambda).run(
        ProcessRequest(args=["true"], env={}), sink, stop_event=threading.Event(), log_max_bytes=None)
    assert result.outcome == "start_failed"


def test_a_stop_request_ends_the_run_without_waiting_for_the_function():
    release = threading.Event()

    class SlowLambda:
        def invoke(self, **kwargs):
            release.wait(10)
            return {"Payload": io.BytesIO(b"{}")}

    stop = threading.Event()
    stop.set()
    result = LambdaRunner(function_name="f", client_factory=SlowLambda).run(
        ProcessRequest(args=["true"], env={}), Sink(), stop_event=stop, log_max_bytes=None)
    release.set()
    assert result.outcome == "stopped"


def test_the_app_registers_the_command_function_and_it_answers_an_invocation():
    import app as app_module

    handler = app_module.app.handler_map["command_runner"]
    answer = handler(event("echo via-app"), None)
    assert answer["outcome"] == "success" and answer["lines"] == [{"stream": "stdout", "text": "via-app"}]
