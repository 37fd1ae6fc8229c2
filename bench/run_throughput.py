"""No-op command runs completed per second: through the local runtime (SQS poller, 4 workers)
and through the worker Lambda handler called directly, so the runtime's overhead is visible;
and the AWS requests one run costs (botocore wrapped, on the handler path): to create it (the API
call) and to execute it (the worker), by service and operation.

    .venv/bin/python bench/run_throughput.py [--runs 300] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from datetime import UTC, datetime

from _common import bind_backend, start_local_runtime

SPEC = None


class RequestCounter:
    """Counts every botocore request (boto3 and PynamoDB both go through BaseClient._make_api_call)."""

    def __init__(self) -> None:
        import collections

        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def __enter__(self) -> RequestCounter:
        from botocore.client import BaseClient

        self._real = real = BaseClient._make_api_call
        counts = self.counts

        def counted(client, operation_name, api_params):
            counts[(client.meta.service_model.service_name, operation_name)] += 1
            return real(client, operation_name, api_params)

        BaseClient._make_api_call = counted
        return self

    def __exit__(self, *exc) -> None:
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._real

    def report(self, title: str, runs: int) -> str:
        lines = [f"{title}: {sum(self.counts.values()) / runs:.2f} requests/run"]
        for (service, operation), count in sorted(self.counts.items()):
            lines.append(f"    {service:9} {operation:22} {count / runs:.2f}")
        return "\n".join(lines)


def _noop_task(tasks, task_id: str):
    from chalicelib.engine.model import TaskSpec

    return tasks.save_task(tenant="bench", task_id=task_id, face="bench", name=task_id,
                           spec=TaskSpec(executor="command", executor_config={"args": ["true"]}, parallelism=1000,
                                         queue_max=100000),
                           enabled=True, document=None, now=datetime.now(UTC))


def through_runtime(runs_wanted: int, workers: int) -> float:
    process, _, backend, _ = start_local_runtime("--workers", str(workers))
    try:
        bind_backend("local", backend)
        from chalicelib.engine import runs, tasks
        from chalicelib.engine.model import TriggeredBy
        from chalicelib.store import runs as run_store

        task = _noop_task(tasks, "throughput")
        started = time.perf_counter()
        for _ in range(runs_wanted):
            runs.trigger_run(task, triggered_by=TriggeredBy.API, now=datetime.now(UTC))
        while True:
            done = sum(1 for r in run_store.list_runs("bench", "throughput") if r.ended_at is not None)
            if done >= runs_wanted:
                break
            time.sleep(1.0)  # listing the runs loads the backend the workers use; look seldom
        return runs_wanted / (time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=30)


def through_handler(runs_wanted: int) -> tuple[float, RequestCounter, RequestCounter]:
    from moto import mock_aws

    from chalicelib.runtime import moto_indexes

    moto_indexes.install()  # the same backend behaviour as the runtime's embedded server
    with mock_aws():
        bind_backend("direct", None)
        import app as app_module
        from chalicelib.engine import runs, tasks
        from chalicelib.engine.model import TriggeredBy
        from chalicelib.store import queue

        messages: list[dict] = []
        real_send = queue.send_run
        queue.send_run = lambda tenant, task_id, run_id, delay_seconds=0.0: messages.append(
            {"v": 1, "tenant": tenant, "task_id": task_id, "run_id": run_id})
        task = _noop_task(tasks, "throughput")
        started = time.perf_counter()
        with RequestCounter() as creating:
            for _ in range(runs_wanted):
                runs.trigger_run(task, triggered_by=TriggeredBy.API, now=datetime.now(UTC))
        executing = RequestCounter().__enter__()
        for offset in range(0, len(messages), 10):
            batch = messages[offset:offset + 10]
            event = {"Records": [{"messageId": str(uuid.uuid4()), "receiptHandle": "r", "body": json.dumps(m),
                                  "attributes": {}, "messageAttributes": {}, "md5OfBody": "",
                                  "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
                                  "awsRegion": "us-east-1"} for m in batch]}
            app_module.run_worker(event, None)
        executing.__exit__(None, None, None)
        queue.send_run = real_send  # the runtime half sends for real
        return runs_wanted / (time.perf_counter() - started), creating, executing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    direct, creating, executing = through_handler(args.runs)
    local = through_runtime(args.runs, args.workers)
    print(f"no-op command runs: {args.runs}")
    print(f"worker handler called directly (in-process moto, batches of 10): {direct:.1f} runs/s")
    print(f"local runtime ({args.workers} pollers, moto server over HTTP):  {local:.1f} runs/s")
    print(f"runtime overhead: x{direct / local:.2f}")
    print(creating.report("creating a run (API trigger; its SQS send is stubbed here, 1 SendMessage in the runtime)",
                          args.runs))
    print(executing.report("executing a no-op run (worker path; the runtime's SQS receive/delete are per batch, "
                           "not counted)", args.runs))


if __name__ == "__main__":
    main()
