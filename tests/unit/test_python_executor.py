"""The `python` executor: a callable named `module:function`, and every way it can fail."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from chalicelib.engine.executors import ExecutionContext, Outcome, PythonExecutor

HERE = "tests.unit.test_python_executor"
GATE = threading.Event()
NOT_CALLABLE = 42


class RecordingLog:
    kill_requested = False

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def write(self, stream: str, text: str, *, size: int | None = None) -> None:
        self.lines.append((stream, text))


def returns(value=None):
    return value


def raises():
    raise RuntimeError("the job broke")


def blocks():
    GATE.wait(10)


def sees_context(context, name):
    return f"{name} sees {type(context).__name__}"


@pytest.fixture(autouse=True)
def open_gate():
    GATE.clear()
    yield
    GATE.set()  # a thread the executor abandoned finishes


def run(config: dict, **context) -> tuple[object, RecordingLog]:
    log = RecordingLog()
    return PythonExecutor().execute(config, ExecutionContext(log=log, **context)), log


def test_a_callable_that_returns_succeeds_and_logs_what_it_returned():
    result, log = run({"callable": f"{HERE}:returns", "kwargs": {"value": "done"}})
    assert (result.outcome, result.exit_code) == (Outcome.SUCCESS, 0)
    assert log.lines == [("stdout", "done")]


def test_a_callable_that_takes_context_is_given_it():
    result, log = run({"callable": f"{HERE}:sees_context", "kwargs": {"name": "job"}})
    assert result.outcome is Outcome.SUCCESS
    assert log.lines == [("stdout", "job sees ExecutionContext")]


def test_a_callable_that_raises_fails_with_its_traceback_on_stderr():
    result, log = run({"callable": f"{HERE}:raises"})
    assert (result.outcome, result.exit_code, result.detail) == (Outcome.FAILED, 1, "exception")
    stderr = [text for stream, text in log.lines if stream == "stderr"]
    assert stderr[0].startswith("Traceback") and stderr[-1] == "RuntimeError: the job broke"


def test_a_callable_given_an_argument_it_does_not_take_fails():
    result, log = run({"callable": f"{HERE}:returns", "kwargs": {"unexpected": 1}})
    assert result.outcome is Outcome.FAILED
    assert any("TypeError" in text for _, text in log.lines)


@pytest.mark.parametrize("reference", [
    "",                               # nothing named
    "no_colon_here",                  # a module but no function
    "tests.unit.no_such_module:run",  # the module does not import
    f"{HERE}:no_such_function",       # the module has no such attribute
    f"{HERE}:NOT_CALLABLE",           # the attribute cannot be called
    ":returns",                       # an empty module name
])
def test_a_reference_that_names_no_callable_fails_to_start(reference):
    result, log = run({"callable": reference})
    assert (result.outcome, result.exit_code, result.detail) == (Outcome.START_FAILED, -1, "bad callable")
    assert log.lines[-1] == ("system", f"{reference!r} is not a callable 'module:function'")


def test_a_reference_whose_import_fails_logs_the_import_error():
    _, log = run({"callable": "tests.unit.no_such_module:run"})
    assert log.lines[0][1].startswith("cannot import 'tests.unit.no_such_module:run': No module named")


def test_a_callable_past_its_timeout_ends_the_run_timeout_without_waiting_for_it():
    result, log = run({"callable": f"{HERE}:blocks"}, timeout=timedelta(seconds=0.2))
    assert (result.outcome, result.exit_code, result.detail) == (Outcome.TIMEOUT, 1, "timeout")
    assert log.lines == [("system", "timed out after 0.2s")]
    assert not GATE.is_set()  # the call was abandoned, not waited for


def test_a_stop_request_ends_a_running_callable_stopped():
    stop = threading.Event()
    stop.set()
    result, _ = run({"callable": f"{HERE}:blocks"}, stop_event=stop)
    assert (result.outcome, result.exit_code) == (Outcome.STOPPED, 1)
