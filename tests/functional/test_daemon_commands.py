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
