"""Daemon commands through the API: how params reach every shape of `run`, and bad values."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.functional.test_daemon_api import call, put, run_now
from tests.functional.test_daemon_api import h as h  # noqa: F401 - the fixture, shared

SHAPES = {
    "for-loop": ('for a in "$@"; do echo "arg=$a"; done', "arg={v}"),
    "if-fi": ('if [ -n "$1" ]; then echo "arg=$1"; fi', "arg={v}"),
    "group": ('{ echo start; echo "arg=$1"; }', "arg={v}"),
    "comment": ('echo "arg=$1" # a trailing comment', "arg={v}"),
    "and": ('echo "arg=$1" &&\necho end', "arg={v}"),
    "pipe": ('echo "arg=$1" |\ncat', "arg={v}"),
    "simple": ("echo arg=", "arg= {v}"),
}


@pytest.fixture
def open_dir():
    """A directory anyone may write in, so an injected `touch` would succeed whoever runs it."""
    path = Path(tempfile.mkdtemp(prefix="tasklane-inject-"))
    path.chmod(0o777)
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


def log_of(client, name: str, run: dict) -> str:
    return call(client, "GET", f"/api/tasks/{name}/runs/{run['id']}/log/raw")[1]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_of_run_gets_the_values_as_positionals_and_injection_stays_inert(client, h, shape, open_dir):
    script, expected = SHAPES[shape]
    put(client, "greet", run=script, params=[{"arg": "thing", "default": "x"}])
    assert run_now(client, h, "greet")["end_reason"] == "success"
    for value in (f"; touch {open_dir}/pwned", "$(id)", "x"):
        run = run_now(client, h, "greet", params={"thing": value})
        text = log_of(client, "greet", run)
        assert run["end_reason"] == "success", text
        assert expected.format(v=value) in text
    assert not os.listdir(open_dir)


def test_dollar_zero_is_the_task_name(client, h):
    put(client, "named", run='echo "$0 has $# values: $*"', params=[{"arg": "a"}, {"option": "--b"}])
    run = run_now(client, h, "named", params={"a": "1", "--b": "2"})
    assert log_of(client, "named", run) == "named has 3 values: 1 --b 2\n"


def test_a_multi_line_run_from_the_file_gets_its_values(client, h, tmp_path, monkeypatch, open_dir):
    path = tmp_path / "runwisp.toml"
    path.write_text('[tasks.multi]\nrun = """\nfor a in "$@"; do\n  echo "arg=$a"\ndone\necho end\n"""\n'
                    'params = [{arg = "one"}, {arg = "two", default = "d"}]\n')
    monkeypatch.setenv("TASKLANE_DAEMON_CONFIG", str(path))
    monkeypatch.setenv("TASKLANE_DAEMON_TENANT", "acme")
    assert call(client, "POST", "/api/reload")[1]["added"] == ["multi"]
    run = run_now(client, h, "multi", params={"one": f"; touch {open_dir}/x"})
    assert run["end_reason"] == "success"
    assert log_of(client, "multi", run) == f"arg=; touch {open_dir}/x\narg=d\nend\n"
    assert not os.listdir(open_dir)


def allow_commands(monkeypatch, value: str | None) -> None:
    from chalicelib import settings

    if value is None:
        monkeypatch.delenv("TASKLANE_COMMAND_TENANTS", raising=False)
    else:
        monkeypatch.setenv("TASKLANE_COMMAND_TENANTS", value)
    settings.reset()


@pytest.fixture
def restore_settings():
    from chalicelib import settings

    yield
    settings.reset()


def test_a_tenant_not_allowed_to_run_commands_gets_a_403_saying_why_and_nothing_is_written(
        client, h, monkeypatch, tmp_path, restore_settings):
    allow_commands(monkeypatch, "globex, initech")
    status, body, headers = call(client, "PUT", "/api/tasks/t", {"run": "true"})
    assert status == 403 and headers["Content-Type"] == "application/problem+json"
    assert "may not run commands" in body["detail"] and "TASKLANE_COMMAND_TENANTS" in body["detail"]
    path = tmp_path / "runwisp.toml"
    path.write_text('[tasks.a]\nrun = "true"\n')
    monkeypatch.setenv("TASKLANE_DAEMON_CONFIG", str(path))
    monkeypatch.setenv("TASKLANE_DAEMON_TENANT", "acme")
    status, body, _ = call(client, "POST", "/api/reload")
    assert status == 403 and "may not run commands" in body["detail"]
    assert call(client, "GET", "/api/tasks")[1] == []
    allow_commands(monkeypatch, None)  # a deployment without the setting allows no tenant
    assert call(client, "PUT", "/api/tasks/t", {"run": "true"})[0] == 403
    allow_commands(monkeypatch, "acme")
    assert call(client, "PUT", "/api/tasks/t", {"run": "true"})[0] == 201


def test_the_engine_refuses_a_command_run_of_a_tenant_no_longer_allowed(client, h, monkeypatch, restore_settings):
    put(client, "t", run="echo ran")
    allow_commands(monkeypatch, "globex")
    run = run_now(client, h, "t")
    assert run["end_reason"] == "start_failed"
    assert "may not run commands" in log_of(client, "t", run) and "ran" not in log_of(client, "t", run)


@pytest.mark.parametrize("params, location", [
    ({"V": "a\u0000b"}, "body.params.V"),
    ({"V": "x" * (32 * 1024 + 1)}, "body.params.V"),
    ({"V": "é" * (16 * 1024 + 1)}, "body.params.V"),
    ({"V": "x" * 250_000}, "body.params.V"),
])
def test_a_nul_or_an_oversized_param_is_a_422_naming_it_and_starts_nothing(client, h, params, location):
    put(client, "p", run='echo "$V"', params=[{"env": "V"}])
    status, body, headers = call(client, "POST", "/api/tasks/p/run", {"params": params})
    assert status == 422 and headers["Content-Type"] == "application/problem+json"
    assert body["errors"][0]["location"] == location and "value" not in body["errors"][0]
    assert call(client, "GET", "/api/tasks/p/runs")[1]["total"] == 0
    assert run_now(client, h, "p", params={"V": "x" * (32 * 1024)})["end_reason"] == "success"


@pytest.mark.parametrize("definition, location", [
    ({"run": "true", "params": [{"env": "A=B"}]}, "body.params[0].env"),
    ({"run": "true", "params": [{"env": "A\u0000"}]}, "body.params[0].env"),
    ({"run": "true", "env": {"A=B": "1"}}, "body.env.A=B"),
    ({"run": "true", "secrets": {"K": "a\u0000b"}}, "body.secrets.K"),
    ({"run": "tr\u0000ue"}, "body.run"),
    ({"run": "true", "working_dir": "/tmp\u0000"}, "body.working_dir"),
])
def test_an_env_name_with_equals_or_any_nul_is_refused_at_write_time(client, h, definition, location):
    status, body, _ = call(client, "PUT", "/api/tasks/bad", definition)
    assert status == 422 and body["errors"][0]["location"] == location
    assert call(client, "GET", "/api/tasks/bad")[0] == 404


def test_a_run_whose_command_fails_to_start_ends_start_failed_at_once_and_frees_its_slot(
        client, h, monkeypatch):
    from chalicelib.engine import command_process

    put(client, "fragile", run="echo fine")
    real_popen = command_process.subprocess.Popen
    monkeypatch.setattr(command_process.subprocess, "Popen",
                        lambda *a, **k: (_ for _ in ()).throw(ValueError("embedded null byte")))
    failed = run_now(client, h, "fragile")
    assert failed["end_reason"] == "start_failed"
    assert "embedded null byte" in log_of(client, "fragile", failed)
    monkeypatch.setattr(command_process.subprocess, "Popen", real_popen)
    started_at = h.clock()
    after = run_now(client, h, "fragile")
    assert after["end_reason"] == "success" and h.clock() == started_at  # no wait for a lease to expire


def test_an_executor_that_raises_ends_its_run_start_failed_and_frees_its_slot(client, h, monkeypatch):
    from chalicelib.engine import executors

    put(client, "broken", run="echo fine")

    class Exploding:
        def execute(self, config, context):
            raise RuntimeError("boom")

    monkeypatch.setitem(executors.EXECUTORS, "command", Exploding())
    assert run_now(client, h, "broken")["end_reason"] == "start_failed"
    monkeypatch.setitem(executors.EXECUTORS, "command", executors.CommandExecutor())
    assert run_now(client, h, "broken")["end_reason"] == "success"
