from __future__ import annotations

from chalicelib.runtime.resources import _Resolver, load_template


def test_the_template_reader_understands_cloudformation_short_tags():
    template = load_template()
    queue = template["Resources"]["RunsQueue"]["Properties"]
    assert queue["QueueName"] == {"Fn::Sub": "tasklane-${TasklaneStage}-runs"}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["RunsDeadLetterQueue", "Arn"]}


def test_the_resolver_names_resources_for_the_stage():
    resolver = _Resolver("local", "us-east-1")
    resolver.attrs[("RunsDeadLetterQueue", "Arn")] = "arn:dlq"
    assert resolver.value({"Fn::Sub": "tasklane-${TasklaneStage}-runs"}) == "tasklane-local-runs"
    assert resolver.value({"a": [{"Fn::GetAtt": ["RunsDeadLetterQueue", "Arn"]}]}) == {"a": ["arn:dlq"]}


def test_every_resource_the_code_uses_names_its_environment_variable():
    resources = load_template()["Resources"]
    env = {r["Metadata"]["Tasklane"]["Env"] for r in resources.values() if "Metadata" in r}
    assert env == {"TASKLANE_TASKS_TABLE", "TASKLANE_RUNS_TABLE", "TASKLANE_EVENTS_TABLE",
                   "TASKLANE_RUNS_QUEUE_URL", "TASKLANE_DEAD_LETTER_QUEUE_URL", "TASKLANE_LOG_BUCKET"}
