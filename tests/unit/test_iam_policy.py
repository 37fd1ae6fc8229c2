"""The deployed functions' IAM policy grants tasklane's own resources and nothing else.

.chalice/policy.json names every resource through CloudFormation substitutions of the merged
template (`chalice package --merge-template` copies the policy into each function's role), so a
grant reaches exactly this stack's tables, queues, bucket and log groups and this stage's token
secret. One more statement is expected: the worker invoking the command-runner function.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib.runtime.resources import load_template

ROOT = Path(__file__).resolve().parents[2]
PSEUDO = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::StackName", "TasklaneStage"}


def _policy() -> dict:
    return json.loads((ROOT / ".chalice" / "policy.json").read_text(encoding="utf-8"))


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _of_type(kind: str) -> list[str]:
    return [name for name, res in load_template()["Resources"].items() if res.get("Type") == kind]


def _secret_name() -> str:
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    return variables["TASKLANE_JWT_SECRET_NAME"]["Fn::Sub"]


def _allowed_resources() -> dict[str, set[str]]:
    """Service prefix -> every resource (as a Fn::Sub text) the policy may name for it."""
    arn = "arn:${AWS::Partition}"
    here = "${AWS::Region}:${AWS::AccountId}"
    tables = _of_type("AWS::DynamoDB::Table")
    queues = _of_type("AWS::SQS::Queue")
    buckets = _of_type("AWS::S3::Bucket")
    return {
        "dynamodb": {f"${{{t}.Arn}}" for t in tables} | {f"${{{t}.Arn}}/index/*" for t in tables},
        "sqs": {f"${{{q}.Arn}}" for q in queues},
        "s3": {f"{arn}:s3:::${{{b}}}" for b in buckets} | {f"{arn}:s3:::${{{b}}}/*" for b in buckets},
        "logs": {f"{arn}:logs:{here}:log-group:/aws/lambda/${{AWS::StackName}}-*"},
        "secretsmanager": {f"{arn}:secretsmanager:{here}:secret:{_secret_name()}-??????"},
        "kms": {f"${{{k}.Arn}}" for k in _of_type("AWS::KMS::Key")},
    }


def _is_command_runner_grant(statement: dict) -> bool:
    """The one extra statement: the worker may invoke the command-runner function."""
    actions = set(_listed(statement["Action"]))
    text = re.sub(r"[-_]", "", json.dumps(statement["Resource"])).lower()
    return actions == {"lambda:InvokeFunction"} and "commandrunner" in text


def _service_statements() -> list[dict]:
    return [s for s in _policy()["Statement"] if not _is_command_runner_grant(s)]


def test_no_action_is_a_wildcard_and_nothing_is_denied_or_negated():
    for statement in _policy()["Statement"]:
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "Principal"} & set(statement)
        for action in _listed(statement["Action"]):
            assert "*" not in action, action


def test_at_most_one_statement_reaches_beyond_tasklanes_data_and_only_to_invoke_the_command_runner():
    extra = [s for s in _policy()["Statement"] if _is_command_runner_grant(s)]
    assert len(extra) <= 1
    for statement in extra:
        assert "*" not in _listed(statement["Resource"])


def test_every_resource_is_one_of_tasklanes_own_for_the_statements_service():
    allowed = _allowed_resources()
    for statement in _service_statements():
        services = {action.split(":", 1)[0] for action in _listed(statement["Action"])}
        assert len(services) == 1, f"one service per statement: {statement['Sid']}"
        (service,) = services
        assert service in allowed, f"{statement['Sid']} grants {service}, which tasklane does not use"
        for resource in _listed(statement["Resource"]):
            assert set(resource) == {"Fn::Sub"}, f"{statement['Sid']}: {resource} is not scoped to the stack"
            assert resource["Fn::Sub"] in allowed[service], f"{statement['Sid']}: {resource['Fn::Sub']}"


def test_every_substitution_names_the_stack_or_a_resource_of_the_template():
    names = set(load_template()["Resources"]) | PSEUDO
    for statement in _service_statements():
        for resource in _listed(statement["Resource"]):
            for reference in re.findall(r"\$\{([^}]+)\}", resource["Fn::Sub"]):
                assert reference.removesuffix(".Arn") in names, reference


def test_the_one_secret_granted_is_the_one_the_functions_are_told_to_read():
    granted = [
        resource["Fn::Sub"]
        for statement in _service_statements()
        for resource in _listed(statement["Resource"])
        if ":secretsmanager:" in resource["Fn::Sub"]
    ]
    assert granted == [f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:"
                       f"{_secret_name()}-??????"]
    assert _secret_name() == "tasklane/${TasklaneStage}/jwt-secret"


def test_every_resource_the_functions_use_is_granted():
    granted = {
        resource["Fn::Sub"] for statement in _service_statements() for resource in _listed(statement["Resource"])
    }
    for texts in _allowed_resources().values():
        assert texts <= granted


def test_the_deployed_stages_use_this_policy_and_no_generated_one():
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    for stage in ("dev", "prod"):
        assert config["stages"][stage]["autogen_policy"] is False
        assert config["stages"][stage]["iam_policy_file"] == "policy.json"
