"""The embedded backend's keep-alive server (chalicelib/runtime/backend_server.py): moto's
answers, over connections that serve more than one request."""

from __future__ import annotations

import http.client
import json

import boto3
import pytest

from chalicelib.runtime.backend_server import KeepAliveMotoServer

LIST_TABLES = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0",
               "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
                                "SignedHeaders=host, Signature=x"}


@pytest.fixture(scope="module")
def server():
    started = KeepAliveMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    started.start()
    host, port = started.get_host_and_port()
    yield host, port
    started.stop()


def client(server, service):
    host, port = server
    return boto3.client(service, region_name="us-east-1", endpoint_url=f"http://{host}:{port}",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_one_connection_serves_several_requests_until_the_client_asks_to_close(server):
    connection = http.client.HTTPConnection(*server, timeout=10)
    for _ in range(3):
        connection.request("POST", "/", json.dumps({}), LIST_TABLES)
        answer = connection.getresponse()
        body = answer.read()
        assert answer.status == 200 and "TableNames" in json.loads(body)
        assert answer.getheader("Connection") is None
        assert int(answer.getheader("Content-Length")) == len(body)
    local_port = connection.sock.getsockname()[1]
    connection.request("POST", "/", json.dumps({}), {**LIST_TABLES, "Connection": "close"})
    answer = connection.getresponse()
    answer.read()
    assert answer.getheader("Connection") == "close"
    assert connection.sock is None or connection.sock.getsockname()[1] == local_port  # the same connection


def test_dynamodb_sqs_and_s3_answer_as_moto(server):
    dynamodb = client(server, "dynamodb")
    dynamodb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    assert dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):  # an error answer, then the next
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "a"}}, ConditionExpression="attribute_not_exists(pk)")
    assert dynamodb.scan(TableName="t")["Count"] == 1

    sqs = client(server, "sqs")
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="hello")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]] == ["hello"]

    s3 = client(server, "s3")
    s3.create_bucket(Bucket="bucket-one")
    s3.put_object(Bucket="bucket-one", Key="k", Body=b"x" * 1000)
    assert s3.head_object(Bucket="bucket-one", Key="k")["ContentLength"] == 1000  # HEAD keeps moto's length, no body
    assert s3.get_object(Bucket="bucket-one", Key="k")["Body"].read() == b"x" * 1000
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket="bucket-one", Key="missing")
    s3.delete_object(Bucket="bucket-one", Key="k")  # 204, no body
    assert s3.list_objects_v2(Bucket="bucket-one")["KeyCount"] == 0
