"""What a command may see: an explicit environment, no value of the service's, not even
through `/proc/<ancestor>/environ`; run as an unprivileged user when the service is root."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chalicelib import settings
from chalicelib.engine.command_process import ProcessRequest, base_environment, make_undumpable, run_process
from chalicelib.engine.executors import CommandExecutor, ExecutionContext

ROOT = Path(__file__).resolve().parents[2]
SENTINELS = {"TASKLANE_JWT_SECRET": "sentinel-jwt-6d1f", "AWS_SECRET_ACCESS_KEY": "sentinel-aws-93ab",
             "TASKLANE_AWS_ENDPOINT": "http://127.0.0.1:59999/sentinel-endpoint"}
#: `env`, then every ancestor's environ up to pid 1, as the issue's probe did.
WALK = ('env; echo "user=$(id -un)"; p=$PPID; while [ "$p" -gt 1 ]; do echo "pid $p"; '
        "cat /proc/$p/environ 2>&1 | tr '\\0' '\\n'; p=$(awk '/^PPid:/{print $2}' /proc/$p/status); done; true")
#: A service process: started with the sentinels in its environment, it runs one command
#: through the executor (the worker's path) and prints the command's lines as JSON.
SERVICE = """
import json, sys, threading
sys.path.insert(0, sys.argv[1])
from chalicelib.engine.executors import CommandExecutor, ExecutionContext
class Sink:
    kill_requested = False
    def __init__(self): self.lines = []
    def write(self, stream, text, size=None): self.lines.append(text)
sink = Sink()
result = CommandExecutor().execute({"args": ["/bin/sh", "-e", "-c", sys.argv[2], "probe"], "env": {"OWN": "mine"}},
                                   ExecutionContext(log=sink, env={"TASKLANE_RUN_ID": "r-1"}))
print(json.dumps({"outcome": result.outcome, "lines": sink.lines}))
"""


class Sink:
    kill_requested = False

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, stream: str, text: str, *, size: int | None = None) -> None:
        self.lines.extend(text.splitlines())


def run_service(script: str, **env: str) -> dict:
    service_env = {**os.environ, **SENTINELS, **env}
    out = subprocess.run([sys.executable, "-c", SERVICE, str(ROOT), script], env=service_env, capture_output=True,
                         text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_command_sees_only_its_own_environment_and_no_ancestor_reveals_the_services():
    result = run_service(WALK)
    text = "\n".join(result["lines"])
    assert result["outcome"] == "success", text
    for value in SENTINELS.values():
        assert value not in text
    env_lines = text.split("user=")[0].splitlines()
    names = {line.split("=", 1)[0] for line in env_lines if "=" in line}
    assert names <= {"PATH", "HOME", "LANG", "TZ", "OWN", "TASKLANE_RUN_ID", "PWD", "SHLVL", "_", "OLDPWD"}
    assert {"PATH", "HOME", "LANG", "TZ", "OWN", "TASKLANE_RUN_ID"} <= names
    if os.geteuid() == 0:
        assert "user=nobody" in text and "Permission denied" in text


def _python_for(user_is_nobody: bool) -> str:
    # The venv's interpreter may sit under a directory `nobody` cannot enter.
    return "/usr/bin/python3" if user_is_nobody and Path("/usr/bin/python3").exists() else sys.executable


@pytest.mark.parametrize("undumpable", [False, True])
def test_a_non_dumpable_service_hides_its_environ_from_a_command_of_the_same_user(undumpable):
    """Run a service and its command as one unprivileged user; only non-dumpable hides it."""
    script = ("import sys, threading; sys.path.insert(0, sys.argv[1])\n"
              "from chalicelib.engine import command_process as cp\n"
              "if sys.argv[2] == '1': assert cp.make_undumpable()\n"
              "else: cp._undumpable = True  # the control: skip it\n"
              "class S:\n kill_requested = False\n def write(self, s, t, size=None): print(t)\n"
              "probe = 'cat /proc/$PPID/environ | tr \"\\\\0\" \"\\\\n\"'\n"
              "cp.run_process(cp.ProcessRequest(args=['/bin/sh', '-c', probe], env={}), S(),"
              " stop_event=threading.Event(), user=None)\n")
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] if os.geteuid() == 0 else []
    out = subprocess.run([*prefix, _python_for(bool(prefix)), "-c", script, str(ROOT), "1" if undumpable else "0"],
                         env={"PATH": "/usr/bin:/bin", "SENTINEL": "sentinel-same-user"}, capture_output=True,
                         text=True, timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    if undumpable:
        assert "sentinel-same-user" not in out.stdout and "Permission denied" in out.stdout
    else:
        assert "SENTINEL=sentinel-same-user" in out.stdout  # the probe does find what is readable


def test_make_undumpable_is_in_force_for_this_process():
    import ctypes

    assert make_undumpable()
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE


def test_as_root_a_command_runs_as_nobody_with_a_fresh_writable_home_per_run():
    homes = []
    for _ in range(2):
        sink = Sink()
        outcome = run_process(ProcessRequest(args=["/bin/sh", "-c", 'id -un; echo "$HOME"; touch "$HOME/x"'], env={}),
                              sink, stop_event=threading.Event(), user="nobody")
        assert outcome.outcome == "success", sink.lines
        assert sink.lines[0] == ("nobody" if os.geteuid() == 0 else sink.lines[0])
        homes.append(sink.lines[1])
        assert not Path(sink.lines[1]).exists()  # removed after the run
    assert homes[0] != homes[1]


def test_the_command_user_setting_can_keep_root_and_an_unknown_user_fails_to_start():
    sink = Sink()
    assert run_process(ProcessRequest(args=["id", "-u"], env={"PATH": "/usr/bin:/bin"}), sink,
                       stop_event=threading.Event(), user="root").outcome == "success"
    assert sink.lines == [str(os.geteuid())]
    if os.geteuid() == 0:  # only a root service switches users
        sink = Sink()
        outcome = run_process(ProcessRequest(args=["true"], env={}), sink, stop_event=threading.Event(),
                              user="no-such-user-x")
        assert outcome.outcome == "start_failed" and "no-such-user-x" in sink.lines[0]


def test_the_base_environment_is_fixed_and_the_tasks_own_env_may_override_it():
    assert base_environment("/h") == {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                      "HOME": "/h", "LANG": "C.UTF-8", "TZ": "UTC"}
    sink = Sink()
    result = CommandExecutor().execute({"args": ["/bin/sh", "-c", 'echo "$PATH|$TZ"'], "env": {"TZ": "Europe/Paris"}},
                                       ExecutionContext(log=sink))
    assert result.outcome == "success"
    assert sink.lines == ["/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|Europe/Paris"]


@pytest.mark.parametrize("config, problem", [
    ({"args": ["/bin/echo", "a\0b"]}, "NUL"),
    ({"args": ["/bin/true"], "env": {"A=B": "1"}}, "'='"),
    ({"args": ["/bin/true"], "env": {"A": "x\0y"}}, "NUL"),
    ({"args": ["/bin/true"], "working_dir": "/no/such/dir"}, "could not start"),
])
def test_a_command_that_cannot_start_is_start_failed_not_an_exception(config, problem):
    sink = Sink()
    result = CommandExecutor().execute(config, ExecutionContext(log=sink))
    assert result.outcome == "start_failed" and problem in " ".join(sink.lines)


def test_the_runner_follows_the_settings(monkeypatch):
    from chalicelib.engine import command_delegate

    monkeypatch.setenv("TASKLANE_COMMAND_RUNNER", "lambda")
    monkeypatch.setenv("TASKLANE_COMMAND_FUNCTION", "tasklane-dev-command_runner")
    settings.reset()
    try:
        runner = command_delegate.current_runner()
        assert isinstance(runner, command_delegate.LambdaRunner)
        assert runner.function_name == "tasklane-dev-command_runner" and runner._client is None  # lazy
    finally:
        monkeypatch.delenv("TASKLANE_COMMAND_RUNNER")
        settings.reset()
    assert isinstance(command_delegate.current_runner(), command_delegate.SubprocessRunner)
