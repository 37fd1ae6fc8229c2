"""Strategy validation past the types, and the strategy secret and key file."""

from __future__ import annotations

import base64
import os
import stat

import msgspec
import pytest

from chalicelib.engine.execution.definition import ExecutionStrategyBody
from chalicelib.engine.execution.secrets import hash_secret, presented_secret, secret_matches
from chalicelib.engine.execution.validation import check_strategy
from chalicelib.engine.execution.values import StoredStrategy
from chalicelib.errors import ValidationError
from chalicelib.store.execution_keys import FileDataKeys, ensure_key_file
from tests.functional.execution_support import variant


def check(**overrides) -> None:
    check_strategy(msgspec.convert(variant(**overrides), ExecutionStrategyBody), environment="test")


def assert_valid(**overrides) -> None:
    """The strategy with these overrides passes validation (raises nothing)."""
    check(**overrides)


def test_the_sample_strategy_is_valid():
    assert_valid()


def test_an_optional_error_branch_can_reach_the_final_step():
    assert_valid(**{"settings.tasks[0].steps[0].nextStepRules": [{"if": "onError", "nextStep": "receipt"}]})


@pytest.mark.parametrize(("overrides", "location"), [
    ({"settings.tasks[0].steps[1].key": "authorize"}, "settings.tasks[0].steps[1].key"),
    ({"settings.tasks[0].steps[0].nextStepRules": [{"if": "onError", "nextStep": "gone"}]},
     "settings.tasks[0].steps[0].nextStepRules[0].nextStep"),
    ({"settings.tasks[0].steps[0].nextStepRules": [{"if": "callback", "nextStep": "capture"}]},
     "settings.tasks[0].steps[0].nextStepRules[0].if"),
    ({"settings.services[0].baseUrls[0].url": "ftp://x"}, "settings.services[0].baseUrls[0].url"),
    ({"settings.onCreateTasks[0].createIf": "isVip"}, "settings.onCreateTasks[0].createIf"),
    ({"settings.schedule.calendars[0].task": "DELETE"}, "settings.schedule.calendars[0].task"),
    ({"settings.schedule.calendars[0].leadingUpTasks[0].task": "gone"},
     "settings.schedule.calendars[0].leadingUpTasks[0].task"),
    ({"settings.actions[1].key": "charge"}, "settings.actions[1].key"),
])
def test_each_rule_names_its_path(overrides, location):
    with pytest.raises(ValidationError) as refused:
        check(**overrides)
    assert refused.value.location == location


def test_an_unreachable_final_step_is_refused_even_when_one_exists():
    with pytest.raises(ValidationError) as refused:
        check(**{"settings.tasks[0].steps[0].nextStep": "authorize"})
    assert refused.value.location == "settings.tasks[0].steps"


def test_a_service_needs_a_base_url_for_the_environment():
    with pytest.raises(ValidationError, match="environment 'prod'"):
        check_strategy(msgspec.convert(variant(), ExecutionStrategyBody), environment="prod")


def stored(secret: str) -> StoredStrategy:
    salt = "00" * 16
    return msgspec.convert({"sid": "s", "name": "n", "version": 1, "secretHash": hash_secret(secret, salt),
                            "secretSalt": salt, "createdAt": "2027-01-01T00:00:00Z",
                            "updatedAt": "2027-01-01T00:00:00Z",
                            "settings": variant()["settings"] | {"encryptedSettings": None}}, StoredStrategy)


def test_the_secret_is_base64_and_matches_only_itself():
    strategy = stored("open sesame")
    assert secret_matches(strategy, base64.b64encode(b"open sesame").decode())
    for wrong in [None, "", "open sesame", base64.b64encode(b"open sesame!").decode(), "***"]:
        assert not secret_matches(strategy, wrong)
    assert presented_secret("%%%") is None


def test_the_key_file_is_created_owner_only_and_reused(tmp_path):
    path = tmp_path / "keys" / "execution.key"
    key = ensure_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and len(key) == 32
    assert ensure_key_file(path) == key
    keys = FileDataKeys(path)
    plain, wrapped = keys.new_data_key({"tenant": "a"})
    assert FileDataKeys(path).unwrap_data_key(wrapped, {"tenant": "a"}) == plain
    with pytest.raises(Exception):  # noqa: B017 - another context does not open it
        keys.unwrap_data_key(wrapped, {"tenant": "b"})


SCHEMA = {"properties": {"customer": {"type": "string"}, "seats": {"type": "uint8"},
                         "plan": {"enum": ["basic", "pro"]}},
          "optionalProperties": {"tags": {"elements": {"type": "string"}}, "trialEnd": {"type": "timestamp"},
                                 "limits": {"values": {"type": "float64"}},
                                 "note": {"type": "string", "nullable": True}}}


def test_instance_attributes_are_checked_against_the_strategys_type_definition():
    from chalicelib.engine.execution import jtd

    good = {"customer": "c-1", "seats": 3, "plan": "pro", "tags": ["a"], "trialEnd": "2027-01-01T00:00:00Z",
            "limits": {"cpu": 1.5}, "note": None}
    jtd.validate(SCHEMA, good, "attributes")
    for broken, path in [({**good, "seats": 300}, "attributes.seats"), ({**good, "plan": "gold"}, "attributes.plan"),
                         ({k: v for k, v in good.items() if k != "customer"}, "attributes.customer"),
                         ({**good, "tags": ["a", 1]}, "attributes.tags[1]"),
                         ({**good, "trialEnd": "2027-01-01"}, "attributes.trialEnd"),
                         ({**good, "limits": {"cpu": "x"}}, "attributes.limits.cpu"),
                         ({**good, "extra": 1}, "attributes.extra"), ({**good, "seats": True}, "attributes.seats")]:
        with pytest.raises(jtd.SchemaProblem) as problem:
            jtd.validate(SCHEMA, broken, "attributes")
        assert problem.value.path == path


@pytest.mark.parametrize(("schema", "location"), [
    ({"ref": "x"}, "settings.config.instanceValidation.ref"),
    ({"discriminator": "kind", "mapping": {}}, "settings.config.instanceValidation.discriminator"),
    ({"type": "int64"}, "settings.config.instanceValidation.type"),
    ({"type": "string", "enum": ["a"]}, "settings.config.instanceValidation"),
    ({"properties": {"a": {"type": "nope"}}}, "settings.config.instanceValidation.properties.a.type"),
])
def test_a_type_definition_tasklane_cannot_enforce_whole_is_refused(schema, location):
    with pytest.raises(ValidationError) as refused:
        check(**{"settings.config.instanceValidation": schema})
    assert refused.value.location == location


@pytest.mark.parametrize("path", [
    "settings.tasks[0].retryConfig.retryAfter",
    "settings.schedule.calendars[0].leadingUpTasks[0].scheduleBefore",
])
def test_a_code_hook_is_refused_wherever_it_sits(path):
    body = variant()
    from tests.functional.execution_support import set_path
    set_path(body, path, {"unit": "days", "amount": 1, "retryEventCallback": "custom"})
    with pytest.raises(ValidationError) as refused:
        check_strategy(msgspec.convert(body, ExecutionStrategyBody), environment="test")
    assert refused.value.location == f"{path}.retryEventCallback"


def test_the_tenants_own_data_may_use_any_key():
    assert_valid(**{"settings.actions[0].data": {"controller": "x", "createIf": "y"},
             "settings.encryptedSettings": {"ifCallback": "z"}})
