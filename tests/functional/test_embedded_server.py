"""The embedded backend's server and hot paths: connections kept open, routing remembered per
host, SQS receives that do not count the queue (chalicelib/runtime/moto_server.py,
moto_hot_paths.py)."""

from __future__ import annotations

import http.client
import socket

import boto3
import pytest
from moto import mock_aws

from chalicelib.runtime import moto_hot_paths
from chalicelib.runtime.moto_server import MotoServer

LIST_TABLES = {
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/dynamodb/aws4_request, "
                     "SignedHeaders=host, Signature=0",
}


@pytest.fixture
def server():
    moto_hot_paths.install()
    running = MotoServer("127.0.0.1", 0)
    running.start()
    yield running
    running.stop()


def test_one_connection_carries_many_requests(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    answers = []
    for _ in range(3):
        connection.request("POST", "/", body="{}", headers=LIST_TABLES)
        response = connection.getresponse()
        answers.append((response.status, response.getheader("Connection"), response.read()))
    local_port = connection.sock.getsockname()[1]
    connection.request("POST", "/", body="{}", headers=LIST_TABLES)
    connection.getresponse().read()
    assert connection.sock.getsockname()[1] == local_port  # still the first socket
    assert answers == [(200, None, b'{"TableNames": []}')] * 3


def test_boto3_calls_reuse_their_connection(server):
    client = boto3.client("sqs", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{server.port}",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    opened = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        opened.append(address)
        return real_connect(sock, address)

    socket.socket.connect = connect
    try:
        url = client.create_queue(QueueName="kept")["QueueUrl"]
        for n in range(5):
            client.send_message(QueueUrl=url, MessageBody=str(n))
        received = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    finally:
        socket.socket.connect = real_connect
    assert sorted(m["Body"] for m in received) == ["0", "1", "2", "3", "4"]
    assert len(opened) == 1


def test_a_stopped_server_refuses_connections():
    moto_hot_paths.install()
    running = MotoServer("127.0.0.1", 0)
    running.start()
    port = running.port
    running.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)


def test_the_backend_of_a_host_is_looked_up_once(monkeypatch):
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_hot_paths.install()
    listed = []
    real = backends.list_of_moto_modules
    monkeypatch.setattr(backends, "list_of_moto_modules", lambda: listed.append(1) or real())
    app = DomainDispatcherApplication(create_backend_app)
    first = app.get_backend_for_host("dynamodb")
    again = app.get_backend_for_host("dynamodb")
    assert (first, again, len(listed)) == ("dynamodb", "dynamodb", 1)


def test_a_receive_drops_messages_past_retention_without_counting_the_queue(monkeypatch):
    from moto.sqs.models import Queue, sqs_backends

    moto_hot_paths.install()
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName="aged", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        client.send_message(QueueUrl=url, MessageBody="old")
        queue = sqs_backends["123456789012"]["us-east-1"].queues["aged"]
        old = next(iter(queue._messages))
        old.sent_timestamp -= 61_000  # sent 61 s before it was: past the 60 s retention

        def counted(self):
            raise AssertionError("a receive built the queue's attributes (counting every message)")

        monkeypatch.setattr(Queue, "attributes", property(counted))
        expired = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        monkeypatch.undo()
        client.send_message(QueueUrl=url, MessageBody="fresh")
        monkeypatch.setattr(Queue, "attributes", property(counted))
        received = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert expired == []
    assert [m["Body"] for m in received] == ["fresh"]


def test_a_long_poll_waits_until_the_first_delayed_message_shows_not_a_whole_step():
    import threading

    from moto.sqs.models import sqs_backends

    moto_hot_paths.install()
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        url = client.create_queue(QueueName="delayed")["QueueUrl"]
        client.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
        queue = sqs_backends["123456789012"]["us-east-1"].queues["delayed"]
        waits: list[float] = []

        class Recording(threading.Condition):
            def wait(self, timeout=None):
                waits.append(timeout)
                return super().wait(timeout)

        queue._messages_lock = Recording()
        queue.wait_for_messages(20)
        visible = [m.body for m in queue.messages]
    assert visible == ["later"]
    assert waits and all(w <= 1.01 for w in waits)  # never longer than until the message shows
