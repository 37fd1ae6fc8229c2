"""`tasklane local`'s concurrency bound: the flag, the environment variable, their checks."""

from __future__ import annotations

import pytest

from chalicelib.cli import build_parser, main
from chalicelib.runtime.local import DEFAULT_CONCURRENCY, concurrency_from_env


def test_the_bound_defaults_to_32_runs_in_flight():
    assert DEFAULT_CONCURRENCY == 32
    assert concurrency_from_env({}) == 32
    assert concurrency_from_env({"TASKLANE_WORKER_CONCURRENCY": " 8 "}) == 8


@pytest.mark.parametrize("raw", ["0", "-3", "many", "2.5"])
def test_a_bad_environment_value_is_refused_naming_the_variable(raw):
    with pytest.raises(ValueError, match="TASKLANE_WORKER_CONCURRENCY"):
        concurrency_from_env({"TASKLANE_WORKER_CONCURRENCY": raw})


def test_tasklane_local_refuses_a_bad_environment_value_before_starting(monkeypatch, capsys):
    monkeypatch.setenv("TASKLANE_WORKER_CONCURRENCY", "lots")
    assert main(["local", "--port", "1"]) == 2
    assert "TASKLANE_WORKER_CONCURRENCY" in capsys.readouterr().err


def test_the_flag_sets_the_bound_and_workers_stay_the_number_of_pollers():
    args = build_parser().parse_args(["local", "--concurrency", "5", "--workers", "3"])
    assert (args.concurrency, args.workers) == (5, 3)
    for bad in ("0", "x"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["local", "--concurrency", bad])


def test_the_data_directory_defaults_to_dot_tasklane_and_ephemeral_keeps_none():
    args = build_parser().parse_args(["local"])
    assert (args.data_dir, args.ephemeral) == (".tasklane", False)
    assert build_parser().parse_args(["local", "--data-dir", "/srv/tl"]).data_dir == "/srv/tl"
    assert build_parser().parse_args(["local", "--ephemeral"]).ephemeral is True
    with pytest.raises(SystemExit):  # one or the other, never one silently ignored
        build_parser().parse_args(["local", "--data-dir", "/srv/tl", "--ephemeral"])
