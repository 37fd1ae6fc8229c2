"""Log reads fetch only what they return: the daemon face's log routes over a log written by a
real command run (chalice.test.Client, moto S3), with a spy counting S3 GetObject calls."""

from __future__ import annotations

import json

import pytest

from chalicelib import settings
from chalicelib.engine import logs
from chalicelib.engine.log_pages import MAX_RESPONSE_BYTES
from chalicelib.engine.run_log import MAX_LINE_BYTES
from chalicelib.timefmt import utcnow
from tests.functional.engine_harness import make_harness
from tests.functional.test_daemon_api import ADMIN, call, put, run_now

#: 3,000 lines at the writer's 500 lines a chunk: six chunks.
MANY = "seq 1 3000"


@pytest.fixture
def h(client, aws, monkeypatch):
    return make_harness(monkeypatch, aws, utcnow())


@pytest.fixture
def s3_calls():
    """(operation, path) of every S3 request the log store makes from now on."""
    calls: list[tuple[str, str]] = []
    events = logs.log_store()._s3.meta.events

    def spy(model, params, **_):
        calls.append((model.name, params["url_path"]))

    events.register("before-call.s3", spy)
    yield calls
    events.unregister("before-call.s3", spy)


def chunk_gets(calls: list[tuple[str, str]]) -> list[str]:
    return [path for op, path in calls if op == "GetObject" and path.endswith(".jsonl")]


def log_of(client, h, name: str, command: str, **definition) -> str:
    put(client, name, run=command, **definition)
    run = run_now(client, h, name)
    assert run["end_reason"] == "success", run
    return f"/api/tasks/{name}/runs/{run['id']}/log"


@pytest.mark.parametrize(("query", "expected", "requests"), [
    ("from=1&limit=1", ["1"], ["GetObject", "GetObject"]),  # head, first chunk
    ("from=-1", ["3000"], ["GetObject", "GetObject"]),  # head, last chunk
    ("from=1400&limit=2", ["1400", "1401"], ["GetObject", "ListObjectsV2", "GetObject"]),  # head, its chunk
])
def test_reading_lines_of_a_many_chunk_log_fetches_only_the_chunk_that_holds_them(client, h, s3_calls, query,
                                                                                  expected, requests):
    path = log_of(client, h, "many", MANY)
    s3_calls.clear()
    status, body, _ = call(client, "GET", f"{path}?{query}")
    assert status == 200
    assert [line["text"] for line in body["lines"]] == expected
    assert body["total_lines"] == 3000
    assert [op for op, _ in s3_calls] == requests, s3_calls  # six chunks stored, one read
    assert len(chunk_gets(s3_calls)) == 1


def test_a_page_across_a_chunk_boundary_reads_the_two_chunks_and_no_more(client, h, s3_calls):
    path = log_of(client, h, "many", MANY)
    s3_calls.clear()
    body = call(client, "GET", f"{path}?from=499&limit=4")[1]
    assert [line["n"] for line in body["lines"]] == [499, 500, 501, 502]
    assert len(chunk_gets(s3_calls)) == 2
    assert body["next_from"] == 503 and body["cut"] is False


@pytest.mark.parametrize("resume", [2900, 1200])
def test_sse_resume_reads_from_the_chunk_holding_the_resume_id(client, h, s3_calls, resume):
    path = log_of(client, h, "many", MANY)
    s3_calls.clear()
    status, stream, _ = call(client, "GET", path + "/stream", headers={**ADMIN, "Last-Event-ID": str(resume)})
    assert status == 200
    ids = [int(line[4:]) for line in stream.splitlines() if line.startswith("id: ")]
    assert ids == list(range(resume + 1, 3001)) and "event: done" in stream
    wanted = list(range(resume // 500 * 500 + 1, 3000, 500))  # the chunk holding resume + 1, and on
    assert len(chunk_gets(s3_calls)) == len(wanted), s3_calls
    assert sorted(int(path.rsplit("-", 1)[1].removesuffix(".jsonl")) for path in chunk_gets(s3_calls)) == wanted


def test_a_one_megabyte_line_is_cut_to_the_line_cap_with_a_marker(client, h):
    path = log_of(client, h, "wide", "head -c 1048576 /dev/zero | tr '\\0' x; echo; echo after")
    body = call(client, "GET", path)[1]
    first, second = body["lines"]
    assert first["text"].startswith("x" * MAX_LINE_BYTES)
    assert first["text"][MAX_LINE_BYTES:] == f" [line cut: 1048576 bytes, first {MAX_LINE_BYTES} kept]"
    assert second["text"] == "after"


def test_a_log_response_stops_at_the_byte_cap_and_says_where_to_continue(client, h):
    line = "a" * 60_000
    path = log_of(client, h, "bulky", f"for i in $(seq 1 40); do echo {line}$i; done")
    status, body, headers = call(client, "GET", f"{path}?limit=10000")
    assert status == 200
    raw_size = len(json.dumps(body))
    assert raw_size <= MAX_RESPONSE_BYTES + 1024
    assert body["cut"] is True and body["next_from"] == len(body["lines"]) + 1
    rest = call(client, "GET", f"{path}?limit=10000&from={body['next_from']}")[1]
    assert rest["lines"][0]["n"] == body["next_from"]

    status, text, headers = call(client, "GET", path + "/raw")
    assert len(text.encode()) <= MAX_RESPONSE_BYTES
    assert headers["X-Log-Next-From"] == str(text.count("\n") + 1)
    tail = call(client, "GET", f"{path}/raw?from={headers['X-Log-Next-From']}")
    assert tail[1].splitlines()[0] == f"{line}{text.count(chr(10)) + 1}"


@pytest.fixture
def default_log_cap(monkeypatch):
    monkeypatch.setenv("TASKLANE_LOG_MAX_SIZE", "2000")
    settings.reset()
    yield
    monkeypatch.delenv("TASKLANE_LOG_MAX_SIZE")
    settings.reset()


def test_a_run_without_its_own_log_cap_gets_the_service_default(client, h, default_log_cap):
    put(client, "chatty", run="seq 1 3000", log_on_full="kill_task")
    run = run_now(client, h, "chatty")
    assert run["end_reason"] == "log_overflow"


def test_the_scheduling_log_stops_at_the_byte_cap_in_both_forms_and_continues_from_the_named_line(
        client, aws, monkeypatch):
    from tests.functional.scheduling_support import BASE, Api, task_body

    line = "b" * 60_000
    bulky = {"executor": "command", "workerType": "shell",
             "config": {"args": ["/bin/sh", "-c", f"for i in $(seq 1 40); do echo {line}$i; done"]}}
    monkeypatch.setenv("TASKLANE_FUNCTIONS", json.dumps({"job.bulky": bulky}))
    harness = make_harness(monkeypatch, aws)
    api = Api(client)
    task = api.create(task_body("bulky", ref_name="job.bulky"))
    assert api.call("POST", f"{BASE}/{task['id']}/actions/start").status == 200
    harness.deliver()
    (run,) = api.get(f"{BASE}/{task['id']}/runs").json["data"]
    path = f"{BASE}/{task['id']}/runs/{run['id']}/log"

    answer = api.get(path)
    assert len(answer.raw.encode()) <= MAX_RESPONSE_BYTES + 1024
    content = answer.json["logContent"]
    assert answer.json["nextFrom"] == content.count("\n") + 1 == int(answer.headers["x-log-next-from"])

    text = api.get(path, headers={"Accept": "text/plain"})
    assert text.raw == content and text.headers["x-log-next-from"] == str(answer.json["nextFrom"])
    rest = api.get(f"{path}?from={answer.json['nextFrom']}").json
    assert rest["logContent"].startswith(f"{line}{answer.json['nextFrom']}\n")
    assert api.get(f"{path}?from=zero").status == 400
