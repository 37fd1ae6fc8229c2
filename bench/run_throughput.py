"""No-op command runs completed per second: through the local runtime (SQS poller, 4 workers)
and through the worker Lambda handler called directly, so the runtime's overhead is visible;
and the AWS requests one run costs (botocore wrapped, on the handler path): to create it (the API
call) and to execute it (the worker), by service and operation.

    .venv/bin/python bench/run_throughput.py [--runs 300] [--workers 4] [--stored N] [--data-dir PATH]

The runtime keeps its state in a data directory (a fresh temporary one by default). With
`--stored N` it runs twice: on an empty data directory, then on one holding N other tasks with a
run each (filled offline through in-process moto with the same journal, or reused if `--data-dir`
already holds data), and prints both figures, their ratio and the start-up time on each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from _common import bind_backend, start_local_runtime

os.environ.setdefault("TASKLANE_COMMAND_TENANTS", "*")  # the benchmark's tenants run commands

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


def through_runtime(runs_wanted: int, workers: int, data_dir: Path | None = None,
                    tick: float = 1.0, ephemeral: bool = False) -> tuple[float, float, str]:
    """(runs/s, seconds from launch to ready, what the runtime said about its data directory)."""
    output: list[str] = []
    launched = time.perf_counter()
    extra: tuple[str, ...] = ("--tick", str(tick))
    if data_dir is not None:
        extra += ("--data-dir", str(data_dir))
    elif ephemeral:
        extra += ("--ephemeral",)
    process, _, backend, _ = start_local_runtime("--workers", str(workers), *extra, output=output)
    startup = time.perf_counter() - launched
    said = next((line.strip() for line in output if line.startswith("data: ")), "")
    try:
        bind_backend("local", backend)
        from chalicelib.engine import runs, tasks
        from chalicelib.engine.model import TriggeredBy
        from chalicelib.store import runs as run_store

        task_id = f"throughput-{uuid.uuid4().hex[:8]}"  # a data dir reused holds earlier ones
        task = _noop_task(tasks, task_id)
        started = time.perf_counter()
        for _ in range(runs_wanted):
            runs.trigger_run(task, triggered_by=TriggeredBy.API, now=datetime.now(UTC))
        while True:
            done = sum(1 for r in run_store.list_runs("bench", task_id) if r.ended_at is not None)
            if done >= runs_wanted:
                break
            time.sleep(1.0)  # listing the runs loads the backend the workers use; look seldom
        return runs_wanted / (time.perf_counter() - started), startup, said
    finally:
        process.terminate()
        process.wait(timeout=60)


def prefill(data_dir: Path, stored: int) -> float:
    """Fill `data_dir` with `stored` tasks (tenant `stored`) and one ended run each, as the local
    runtime would store them (in-process moto with the runtime's journal); returns seconds."""
    from moto import mock_aws

    from chalicelib.runtime import durability, moto_indexes

    moto_indexes.install()  # as the runtime's backend: without it each write's queries scan the table
    started = time.perf_counter()
    with mock_aws():
        bind_backend("local", None)
        from chalicelib import settings
        from chalicelib.engine import runs, tasks
        from chalicelib.engine.model import EndReason, TaskSpec, TriggeredBy

        durability.attach(data_dir, runs_table=settings.current().runs_table)
        try:
            now = datetime.now(UTC)
            for n in range(stored):
                task = tasks.save_task(tenant="stored", task_id=f"t{n:05d}", face="bench", name=f"t{n:05d}",
                                       spec=TaskSpec(executor="command", executor_config={"args": ["true"]}),
                                       enabled=True, document=None, now=now)
                runs.record_never_executed(task, reason=EndReason.MISSED, now=now, triggered_by=TriggeredBy.CRON,
                                           run_id=f"{n:013d}-stored", detail="prefilled by the benchmark")
        finally:
            durability.detach()
    return time.perf_counter() - started


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


def durable_write_cost(data_dir: Path | None, writes: int = 2000) -> float:
    """Microseconds per UpdateItem through in-process moto with the runtime's journal attached to
    `data_dir` (a copy of it, so the original is left as it is; None: an empty one)."""
    import shutil

    from moto import mock_aws

    from chalicelib.runtime import durability

    scratch = Path(tempfile.mkdtemp(prefix="tasklane-bench-writes-")) / "data"
    if data_dir is not None:
        shutil.copytree(data_dir, scratch)
    with mock_aws():
        bind_backend("local", None)
        import boto3

        from chalicelib import settings

        table = settings.current().runs_table
        durability.attach(scratch, runs_table=table)
        try:
            client = boto3.client("dynamodb", region_name="us-east-1")
            key = {"pk": {"S": "bench#writes"}, "sk": {"S": "one"}}
            started = time.perf_counter()
            for n in range(writes):
                client.update_item(TableName=table, Key=key, UpdateExpression="SET n = :n",
                                   ExpressionAttributeValues={":n": {"N": str(n)}})
            return (time.perf_counter() - started) / writes * 1e6
        finally:
            durability.detach()
            shutil.rmtree(scratch.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--stored", type=int, default=0, metavar="N",
                        help="also measure on a data directory holding N tasks and N runs")
    parser.add_argument("--data-dir", type=Path, help="the data directory to fill (or reuse) for --stored")
    parser.add_argument("--no-direct", action="store_true", help="skip the worker-handler-only figure")
    parser.add_argument("--ephemeral", action="store_true",
                        help="also measure the runtime with --ephemeral (no data dir: the journal's cost)")
    parser.add_argument("--tick", type=float, default=1.0,
                        help="the runtime's dispatcher tick; a long one keeps the dispatcher's (and maintenance's)"
                             " index queries out of the figure")
    args = parser.parse_args()
    direct, creating, executing = (None, None, None) if args.no_direct else through_handler(args.runs)
    local, startup, said = through_runtime(args.runs, args.workers, tick=args.tick)
    print(f"no-op command runs: {args.runs}")
    if direct is not None:
        print(f"worker handler called directly (in-process moto, batches of 10): {direct:.1f} runs/s")
    print(f"local runtime ({args.workers} pollers, moto server over HTTP, empty data dir): {local:.1f} runs/s;"
          f" start-up {startup:.2f} s")
    if direct is not None:
        print(f"runtime overhead: x{direct / local:.2f}")
    if creating is not None and executing is not None:
        print(creating.report("creating a run (API trigger; its SQS send is stubbed here, 1 SendMessage in the "
                              "runtime)", args.runs))
        print(executing.report("executing a no-op run (worker path; the runtime's SQS receive/delete are per "
                               "batch, not counted)", args.runs))
    if args.ephemeral:
        memory, memory_startup, _ = through_runtime(args.runs, args.workers, tick=args.tick, ephemeral=True)
        print(f"local runtime --ephemeral (nothing kept): {memory:.1f} runs/s; start-up {memory_startup:.2f} s")
    if args.stored:
        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="tasklane-bench-stored-"))
        if (data_dir / "meta.json").exists():
            print(f"reusing {data_dir} (not refilled)")
        else:
            print(f"filled {data_dir} with {args.stored} tasks and runs in {prefill(data_dir, args.stored):.1f} s")
        full, full_startup, said = through_runtime(args.runs, args.workers, data_dir, tick=args.tick)
        empty_write, full_write = durable_write_cost(None), durable_write_cost(data_dir)
        print(f"one durable write (UpdateItem, in-process moto + journal): {empty_write:.0f} us on an empty data dir,"
              f" {full_write:.0f} us with {args.stored} tasks and runs stored")
        restore = re.search(r"restored (\d+) items and (\d+) objects in ([\d.]+) s", said)
        print(f"local runtime, data dir holding {args.stored} tasks and runs: {full:.1f} runs/s"
              f" ({full / local:.0%} of the empty figure); start-up {full_startup:.2f} s"
              + (f" (of which loading {restore.group(1)} items: {restore.group(3)} s)" if restore else ""))


if __name__ == "__main__":
    main()
