"""The embedded backend's data directory over in-process moto: every kind of write the engine
makes is journaled, and a fresh backend loaded from the directory holds the same items and
objects (runtime/durability.py)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from chalicelib.runtime import durability
from chalicelib.runtime.journal import DataDirError
from chalicelib.runtime.resources import create_resources

REGION = "us-east-1"


def _backend():
    """Resources as the runtime creates them, and clients to them."""
    env = create_resources(stage="t", region=REGION, endpoint_url=None).env
    return env, boto3.client("dynamodb", region_name=REGION), boto3.client("s3", region_name=REGION)


def _items(ddb, table: str) -> dict[tuple[str, str], dict]:
    items = ddb.scan(TableName=table, ConsistentRead=True)["Items"]
    return {(i["pk"]["S"], i["sk"]["S"]): i for i in items}


def _write_everything(env: dict, ddb, s3) -> None:
    runs, tasks, bucket = env["TASKLANE_RUNS_TABLE"], env["TASKLANE_TASKS_TABLE"], env["TASKLANE_LOG_BUCKET"]
    run = {"pk": {"S": "acme#t"}, "tenant": {"S": "acme"}, "task_id": {"S": "t"}, "run_key": {"S": "k"},
           "created_key": {"S": "c"}, "triggered_by": {"S": "api"}, "created_at": {"S": "x"}}
    ddb.put_item(TableName=runs, Item={**run, "sk": {"S": "r1"}, "status": {"S": "pending"}})
    ddb.put_item(TableName=runs, Item={**run, "sk": {"S": "r2"}, "status": {"S": "running"}})
    ddb.put_item(TableName=runs, Item={**run, "sk": {"S": "gone"}, "status": {"S": "ended"}})
    ddb.update_item(TableName=runs, Key={"pk": {"S": "acme#t"}, "sk": {"S": "r1"}},
                    UpdateExpression="SET attempts = if_not_exists(attempts, :z) + :one",
                    ExpressionAttributeValues={":z": {"N": "0"}, ":one": {"N": "1"}})
    ddb.delete_item(TableName=runs, Key={"pk": {"S": "acme#t"}, "sk": {"S": "gone"}})
    ddb.batch_write_item(RequestItems={tasks: [
        {"PutRequest": {"Item": {"pk": {"S": "acme"}, "sk": {"S": f"task#{n}"}, "n": {"N": str(n)}}}}
        for n in range(3)]})
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": tasks, "Key": {"pk": {"S": "acme"}, "sk": {"S": "task#0"}},
                    "UpdateExpression": "SET tags = :t", "ExpressionAttributeValues": {
                        ":t": {"M": {"a": {"L": [{"S": "x"}, {"N": "2"}]}, "on": {"BOOL": True}}}}}},
        {"Delete": {"TableName": tasks, "Key": {"pk": {"S": "acme"}, "sk": {"S": "task#2"}}}},
    ])
    # A cancelled transaction changes nothing, here or after a restart.
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": tasks, "Item": {"pk": {"S": "acme"}, "sk": {"S": "task#9"}}}},
            {"ConditionCheck": {"TableName": tasks, "Key": {"pk": {"S": "acme"}, "sk": {"S": "task#1"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    s3.put_object(Bucket=bucket, Key="logs/a/00001", Body=b'{"n": 1, "text": "hello"}\n')
    s3.put_object(Bucket=bucket, Key="logs/a/00002", Body=b"second")
    s3.put_object(Bucket=bucket, Key="logs/a/00002", Body=b"second, rewritten")
    s3.put_object(Bucket=bucket, Key="logs/b/00001", Body=b"deleted one by one")
    s3.put_object(Bucket=bucket, Key="logs/c/00001", Body=b"deleted in a batch")
    s3.delete_object(Bucket=bucket, Key="logs/b/00001")
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "logs/c/00001"}], "Quiet": True})


def _state(env: dict, ddb, s3) -> tuple:
    bucket = env["TASKLANE_LOG_BUCKET"]
    objects = {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
               for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    return _items(ddb, env["TASKLANE_RUNS_TABLE"]), _items(ddb, env["TASKLANE_TASKS_TABLE"]), objects


@pytest.mark.parametrize("clean_stop", [True, False], ids=["clean-stop", "killed"])
def test_a_fresh_backend_loaded_from_the_directory_holds_what_was_written(tmp_path, clean_stop):
    with mock_aws():
        env, ddb, s3 = _backend()
        durability.attach(tmp_path, runs_table=env["TASKLANE_RUNS_TABLE"])
        try:
            _write_everything(env, ddb, s3)
            before = _state(env, ddb, s3)
        finally:
            if clean_stop:
                durability.detach()
            else:  # as if killed: the journal stays as written, its lock is dropped by the OS
                journal, durability._journal = durability._journal, None
                journal._release_lock()
                journal._stopping.set()
    assert (tmp_path / "snapshot-00000002.jsonl").exists() == clean_stop
    with mock_aws():
        env, ddb, s3 = _backend()
        restored = durability.attach(tmp_path, runs_table=env["TASKLANE_RUNS_TABLE"])
        try:
            assert _state(env, ddb, s3) == before
            assert restored.items == 4 and restored.objects == 2
            assert sorted(restored.open_runs) == [["acme", "t", "r1", "pending"], ["acme", "t", "r2", "running"]]
        finally:
            durability.detach()
    runs, tasks, objects = before
    assert set(runs) == {("acme#t", "r1"), ("acme#t", "r2")} and runs[("acme#t", "r1")]["attempts"] == {"N": "1"}
    assert set(tasks) == {("acme", "task#0"), ("acme", "task#1")} and "tags" in tasks[("acme", "task#0")]
    assert objects == {"logs/a/00001": b'{"n": 1, "text": "hello"}\n', "logs/a/00002": b"second, rewritten"}


def test_items_of_a_table_the_template_does_not_declare_are_refused_not_dropped(tmp_path):
    with mock_aws():
        env, ddb, s3 = _backend()
        durability.attach(tmp_path)
        ddb.put_item(TableName=env["TASKLANE_TASKS_TABLE"], Item={"pk": {"S": "acme"}, "sk": {"S": "t"}})
        durability.detach()
    with mock_aws():
        create_resources(stage="other", region=REGION, endpoint_url=None)  # other table names
        with pytest.raises(DataDirError, match="does not declare"):
            durability.attach(tmp_path)
        assert durability._journal is None
    with mock_aws():  # refused, not damaged: the right stage still loads it
        env, ddb, _ = _backend()
        durability.attach(tmp_path)
        try:
            assert _items(ddb, env["TASKLANE_TASKS_TABLE"]) != {}
        finally:
            durability.detach()
