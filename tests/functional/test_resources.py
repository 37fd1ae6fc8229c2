"""The local runtime creates exactly what template.yaml declares."""

from __future__ import annotations

import boto3

from chalicelib.runtime.resources import load_template


def test_every_table_in_the_template_exists_with_its_indexes_and_ttl(aws):
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    template = load_template()["Resources"]
    for logical, table_name in (("TasksTable", aws.tasks_table), ("RunsTable", aws.runs_table),
                                ("EventsTable", aws.events_table)):
        described = ddb.describe_table(TableName=table_name)["Table"]
        declared = {g["IndexName"] for g in template[logical]["Properties"].get("GlobalSecondaryIndexes", [])}
        assert {g["IndexName"] for g in described.get("GlobalSecondaryIndexes", [])} == declared
        ttl = ddb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "expires_at"


def test_the_due_and_queued_indexes_are_declared():
    resources = load_template()["Resources"]
    tasks = {g["IndexName"]: g for g in resources["TasksTable"]["Properties"]["GlobalSecondaryIndexes"]}
    runs = {g["IndexName"]: g for g in resources["RunsTable"]["Properties"]["GlobalSecondaryIndexes"]}
    assert [k["AttributeName"] for k in tasks["due"]["KeySchema"]] == ["due_shard", "next_fire_at"]
    assert [k["AttributeName"] for k in runs["queued"]["KeySchema"]] == ["queue_partition", "queue_rank"]


def test_the_runs_queue_redrives_to_the_dead_letter_queue(aws):
    sqs = boto3.client("sqs", region_name="us-east-1")
    attrs = sqs.get_queue_attributes(QueueUrl=aws.runs_queue_url, AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=aws.dead_letter_queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    assert dlq_arn in attrs["RedrivePolicy"]
    assert '"maxReceiveCount": 5' in attrs["RedrivePolicy"]


def test_the_log_bucket_exists(aws):
    s3 = boto3.client("s3", region_name="us-east-1")
    assert aws.log_bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}
