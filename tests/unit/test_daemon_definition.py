"""Daemon definitions, parameters, durations, sizes and runwisp.toml parsing (no AWS)."""

from __future__ import annotations

import subprocess

import pytest

from chalicelib.engine.model import Backoff, CatchUpPolicy, LogOnFull, Overlap, Restart
from chalicelib.errors import ValidationError
from chalicelib.faces.daemon import params
from chalicelib.faces.daemon.command_config import command_config
from chalicelib.faces.daemon.config_file import parse_config
from chalicelib.faces.daemon.definition import parse_definition
from chalicelib.faces.daemon.units import bytes_from, seconds_from


def test_durations_are_nanoseconds_as_numbers_and_go_style_as_strings():
    assert seconds_from(2_000_000_000, location="body.timeout") == 2.0
    assert seconds_from("1h30m", location="body.timeout") == 5400.0
    assert seconds_from("2w", location="body.keep_for") == 14 * 86400.0
    with pytest.raises(ValidationError) as caught:
        seconds_from("soon", location="body.timeout")
    assert caught.value.location == "body.timeout"


@pytest.mark.parametrize(("text", "size"), [("500mb", 500_000_000), ("64KiB", 65536), ("1g", 10**9), (42, 42)])
def test_sizes_accept_units(text, size):
    assert bytes_from(text, location="body.log_max_size") == size


def test_a_bad_size_names_its_field():
    with pytest.raises(ValidationError) as caught:
        bytes_from("lots", location="tasks.x.log_max_size")
    assert caught.value.location == "tasks.x.log_max_size"


def test_defaults_are_the_products():
    d = parse_definition("nightly", {"run": "echo hi", "cron": "0 3 * * *"})
    spec = d.spec
    assert (spec.catch_up, spec.on_overlap, spec.restart, spec.retry_backoff, spec.log_on_full) == (
        CatchUpPolicy.LATEST, Overlap.QUEUE, Restart.NEVER, Backoff.CONSTANT, LogOnFull.DROP_NEW)
    assert (spec.parallelism, spec.queue_max, spec.max_catch_up_runs) == (1, 100, 100)


def test_newer_key_spellings_are_accepted():
    spec = parse_definition("t", {"run": "x", "max_concurrent": 3, "max_queued": 7, "on_overlap": "kill"}).spec
    assert (spec.parallelism, spec.queue_max, spec.on_overlap) == (3, 7, Overlap.TERMINATE)


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"run": "x", "cron": "61 * * * *"}, "body.cron"),
        ({"run": "x", "cron": "* * * * *", "timezone": "Mars/Base"}, "body.timezone"),
        ({"cron": "* * * * *"}, "body.run"),
        ({"run": "x", "on_overlap": "sometimes"}, "body.on_overlap"),
        ({"run": "x", "instances": 65, "kind": "service"}, "body.instances"),
        ({"run": "x", "colour": "red"}, "body.colour"),
        ({"run": "x", "timeout": "never"}, "body.timeout"),
        ({"run": "x", "params": [{"arg": "a", "env": "B"}]}, "body.params[0]"),
        ({"run": "x", "cron": "* * * * *", "params": [{"arg": "who", "required": True}]}, "body.params"),
    ],
)
def test_invalid_definitions_name_the_field(body, location):
    with pytest.raises(ValidationError) as caught:
        parse_definition("t", body)
    assert caught.value.location == location


def test_params_travel_as_argv_and_env_and_null_empty_absent_differ():
    decls = params.parse_declarations(
        [{"arg": "target"}, {"option": "--region", "default": "eu-west-1"}, {"option": "--tag="},
         {"flag": "--force"}, {"env": "LEVEL", "default": "info"}],
        location="body.params",
    )
    inv = params.resolve(decls, {"target": "db", "--tag=": "x", "--force": "true", "LEVEL": ""})
    assert inv.argv == ("db", "--region", "eu-west-1", "--tag=x", "--force")
    assert inv.env == {"LEVEL": ""}  # empty string passes an empty value
    inv = params.resolve(decls, {"--region": None})  # null omits, overriding the default
    assert "--region" not in inv.argv
    assert inv.env == {"LEVEL": "info"}  # absent uses the default


def test_param_values_are_checked_against_their_declarations():
    decls = params.parse_declarations(
        [{"arg": "n", "type": "number", "required": True}, {"env": "MODE", "choices": ["a", "b"]}],
        location="body.params",
    )
    with pytest.raises(ValidationError) as caught:
        params.resolve(decls, {"n": "ten", "MODE": "c", "extra": "1"})
    locations = {p.location for p in caught.value.problems}
    assert locations == {"body.params.n", "body.params.MODE", "body.params.extra"}
    with pytest.raises(ValidationError) as caught:
        params.resolve(decls, {})
    assert caught.value.location == "body.params.n"


def test_an_injection_attempt_stays_an_inert_argument(tmp_path):
    marker = tmp_path / "pwned"
    decls = params.parse_declarations([{"arg": "name"}], location="body.params")
    inv = params.resolve(decls, {"name": f"; touch {marker}"})
    config = command_config("greet", run="echo hello", shell="/bin/sh", working_dir=None, env={}, invocation=inv)
    out = subprocess.run(config["args"], capture_output=True, text=True, check=True).stdout
    assert out == f"hello ; touch {marker}\n"
    assert not marker.exists()


CONFIG = """
[scheduler]
timezone = "Europe/Paris"

[defaults]
timeout = "10m"
retry_attempts = 1

[tasks.backup]
run = "pg_dump app"
cron = "0 3 * * *"
keep_for = "7d"
log_max_size = "5mb"

[tasks.deploy]
run = "./deploy.sh"
api_trigger = true
params = [{arg = "target", required = true}, {option = "--region", default = "eu"}]

[services.web]
run = "python -m http.server"
instances = 2
restart = "on_failure"
"""


def test_a_config_file_yields_every_definition_with_defaults_and_scheduler_zone():
    config = parse_config(CONFIG)
    assert sorted(config.definitions) == ["backup", "deploy", "web"]
    backup = config.definitions["backup"]
    assert backup.spec.trigger.timezone == "Europe/Paris"
    assert backup.spec.timeout == 600.0 and backup.spec.retry_attempts == 1
    assert backup.spec.keep_for == 7 * 86400.0 and backup.spec.log_max_size == 5_000_000
    web = config.definitions["web"]
    assert (web.kind, web.spec.instances, web.spec.restart) == ("service", 2, Restart.ON_FAILURE)


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ('[tasks.a]\nrun = "x"\ncron = "nope"\n', "tasks.a.cron"),
        ('[tasks.a]\nrun = "x"\n[services.a]\nrun = "y"\n', "services.a"),
        ('[tasks."bad name"]\nrun = "x"\n', "tasks.bad name"),
        ('[jobs.a]\nrun = "x"\n', "jobs"),
        ('[tasks.a\nrun = "x"\n', "file"),
        ('[defaults]\ncron = "* * * * *"\n', "defaults.cron"),
    ],
)
def test_a_broken_file_names_the_key(text, location):
    with pytest.raises(ValidationError) as caught:
        parse_config(text)
    assert caught.value.location == location
