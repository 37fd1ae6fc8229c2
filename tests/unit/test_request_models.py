"""Request models: msgspec's findings in each face's words, located at the field's path."""

from __future__ import annotations

import pytest

from chalicelib.errors import ValidationError
from chalicelib.faces.daemon.requests import DaemonRunListQuery, DaemonTaskDefinition, DaemonTriggerQuery
from chalicelib.faces.request_models import decode, decode_query, query_parameters
from chalicelib.faces.scheduling.requests import SchedulingTaskBody


def refused(model, data, location="body") -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        decode(model, data, location=location)
    return caught.value


@pytest.mark.parametrize(
    ("body", "location", "message"),
    [
        ({}, "body.run", "body.run is required"),
        ({"run": 7}, "body.run", "body.run must be a string"),
        ({"run": "x", "instances": 65}, "body.instances", "body.instances must be a whole number from 1 to 64"),
        ({"run": "x", "instances": True}, "body.instances", "body.instances must be a whole number from 1 to 64"),
        ({"run": "x", "restart": "sometimes"}, "body.restart", "body.restart must be one of always, never, on_failure"),
        ({"run": "x", "timeout": 1.5}, "body.timeout", "body.timeout must be a whole number or a string"),
        ({"run": "x", "env": {"A": False}}, "body.env", "body.env must be a string or a whole number or a number"),
        ({"run": "x", "colour": "red"}, "body.colour", "body.colour is not a known key (unknown key 'colour')"),
        ({"run": "x", "params": [{"env": "A", "type": "date"}]}, "body.params[0].type",
         "body.params[0].type must be one of number, string"),
    ],
)
def test_a_daemon_definition_problem_is_located_and_worded_from_the_model(body, location, message):
    error = refused(DaemonTaskDefinition, body)
    assert (error.location, error.message) == (location, message)


def test_a_scheduling_problem_is_located_without_a_prefix_through_unions_and_lists():
    body = {"name": "t", "specVersion": "0.8", "states": [{"onEvents": [{"actions": [{"functionRef": {}}]}]}]}
    error = refused(SchedulingTaskBody, body, location="")
    assert error.location == "states[0].onEvents[0].actions[0].functionRef.refName"
    assert error.message == "states[0].onEvents[0].actions[0].functionRef.refName is required"


def test_the_first_problem_reported_follows_the_model_not_the_clients_key_order():
    first = {"name": 1, "specVersion": "0.8", "events": 5}
    second = {"events": 5, "specVersion": "0.8", "name": 1}
    assert refused(SchedulingTaskBody, first, "").location == refused(SchedulingTaskBody, second, "").location == "name"


def test_query_values_are_read_from_text_and_an_empty_one_is_absent():
    assert decode_query(DaemonTriggerQuery, {}) == DaemonTriggerQuery(wait=False, wait_timeout=300)
    assert decode_query(DaemonTriggerQuery, {"wait": "TRUE", "wait_timeout": "60"}).wait_timeout == 60
    assert decode_query(DaemonTriggerQuery, {"wait": "1"}).wait is True
    assert decode_query(DaemonTriggerQuery, {"wait": "0", "wait_timeout": ""}) == DaemonTriggerQuery(wait=False)
    assert decode_query(DaemonRunListQuery, {"unknown": "x", "limit": "7"}).limit == 7


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ({"wait": "yes"}, "query.wait"),
        ({"wait_timeout": "0"}, "query.wait_timeout"),
        ({"wait_timeout": "1e3"}, "query.wait_timeout"),
        ({"wait_timeout": "5.0"}, "query.wait_timeout"),
        ({"wait_timeout": "9" * 5000}, "query.wait_timeout"),
    ],
)
def test_a_bad_query_value_is_refused_naming_the_parameter(query, location):
    with pytest.raises(ValidationError) as caught:
        decode_query(DaemonTriggerQuery, query)
    assert caught.value.location == location


def test_query_parameters_are_documented_from_the_model_without_nulls():
    parameters = {p["name"]: p for p in query_parameters(DaemonRunListQuery)}
    assert parameters["offset"] == {"name": "offset", "in": "query", "required": False,
                                    "schema": {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0}}
    assert parameters["since"]["schema"] == {"type": "string", "format": "date-time"}
