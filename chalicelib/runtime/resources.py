"""Create the AWS resources that template.yaml declares, on an AWS-compatible endpoint.

The local runtime and the tests call this instead of keeping a second, hand-written list of
tables and queues: template.yaml is the single source of truth. Only the resource types the
engine uses are understood (DynamoDB tables, SQS queues, S3 buckets); others are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that turns CloudFormation short tags (!Ref, !Sub, ...) into their long form."""


def _tag_constructor(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"!{tag_suffix} on an unknown node", node.start_mark)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag_constructor)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse template.yaml (CloudFormation tags included) into plain data."""
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass(frozen=True, kw_only=True)
class CreatedResources:
    """What was created: environment variable name -> table name, queue URL or bucket name."""

    env: dict[str, str]


class _Resolver:
    """Resolves the few intrinsic functions the template uses, for a given stage."""

    def __init__(self, stage: str, region: str, account: str = "123456789012") -> None:
        self.params = {"TasklaneStage": stage, "AWS::Region": region, "AWS::AccountId": account}
        self.attrs: dict[tuple[str, str], str] = {}

    def value(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.params[arg]
            if key == "Fn::Sub":
                text = arg
                for name, val in self.params.items():
                    text = text.replace("${" + name + "}", val)
                return text
            if key == "Fn::GetAtt":
                return self.attrs[(arg[0], arg[1])]
        if isinstance(node, dict):
            return {k: self.value(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.value(v) for v in node]
        return node


def _create_table(client: Any, name: str, props: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    try:
        client.create_table(**kwargs)
    except client.exceptions.ResourceInUseException:
        return
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )


def _create_queue(client: Any, name: str, props: dict[str, Any]) -> tuple[str, str]:
    attributes: dict[str, str] = {}
    for key, value in props.items():
        if key == "QueueName":
            continue
        attributes[key] = json.dumps(value) if isinstance(value, dict) else str(value)
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def create_resources(
    *,
    stage: str,
    region: str,
    endpoint_url: str | None,
    template: dict[str, Any] | None = None,
    session: boto3.session.Session | None = None,
) -> CreatedResources:
    """Create every table, queue and bucket in the template; idempotent. Returns their env vars."""
    template = template or load_template()
    session = session or boto3.session.Session()
    clients = {
        svc: session.client(svc, region_name=region, endpoint_url=endpoint_url)
        for svc in ("dynamodb", "sqs", "s3")
    }
    resolver = _Resolver(stage, region)
    env: dict[str, str] = {}
    resources = template.get("Resources", {})
    # Queues first in dependency order: a queue's redrive policy names its dead-letter queue.
    ordered = sorted(resources.items(), key=lambda item: "RedrivePolicy" in item[1].get("Properties", {}))
    for logical_id, resource in ordered:
        kind = resource.get("Type")
        env_name = resource.get("Metadata", {}).get("Tasklane", {}).get("Env")
        if kind is None or env_name is None:
            continue
        props = resolver.value(resource.get("Properties", {}))
        if kind == "AWS::DynamoDB::Table":
            name = props.get("TableName") or f"tasklane-{stage}-{logical_id}"
            _create_table(clients["dynamodb"], name, props)
            resolver.params[logical_id] = name
            env[env_name] = name
        elif kind == "AWS::SQS::Queue":
            name = props.get("QueueName") or f"tasklane-{stage}-{logical_id}"
            url, arn = _create_queue(clients["sqs"], name, props)
            resolver.params[logical_id] = url
            resolver.attrs[(logical_id, "Arn")] = arn
            resolver.attrs[(logical_id, "QueueName")] = name
            env[env_name] = url
        elif kind == "AWS::S3::Bucket":
            name = props.get("BucketName") or f"tasklane-{stage}-{logical_id}".lower()
            s3 = clients["s3"]
            try:
                if region == "us-east-1":
                    s3.create_bucket(Bucket=name)
                else:
                    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
            except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
                pass
            resolver.params[logical_id] = name
            env[env_name] = name
    return CreatedResources(env=env)
