"""Duplicate runs for one (task, nominal time) with 3 dispatchers ticking concurrently and every
run message delivered twice, over 2,000 ticks. The target is 0.

Runs against a real moto server on 127.0.0.1 so the dispatchers race over HTTP, as Lambdas would.

    .venv/bin/python bench/duplicate_fires.py [--tasks 20] [--seconds 100] [--dispatchers 3]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from _common import bind_backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=100, help="simulated seconds; ticks = tasks x seconds")
    parser.add_argument("--dispatchers", type=int, default=3)
    args = parser.parse_args()

    from chalicelib.engine import dispatch, tasks, worker
    from chalicelib.engine.model import TaskSpec, TriggerSpec
    from chalicelib.engine.roles import QueueMessage
    from chalicelib.runtime.local import EmbeddedBackend
    from chalicelib.store import queue
    from chalicelib.store import runs as run_store

    backend = EmbeddedBackend(0)
    settings = bind_backend("dupes", backend.start())
    sent: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def capture(tenant: str, task_id: str, run_id: str, *, delay_seconds: float = 0.0) -> None:
        with lock:
            sent.append((tenant, task_id, run_id))

    queue.send_run = capture
    t0 = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    for n in range(args.tasks):
        tasks.save_task(tenant="bench", task_id=f"every-second-{n}", face="bench", name=f"s{n}",
                        spec=TaskSpec(executor="python", executor_config={"callable": "os:getpid"},
                                      trigger=TriggerSpec(expression="* * * * * *"), parallelism=100),
                        enabled=True, document=None, now=t0)
    # The dispatchers tick together every 10 simulated seconds; each tick looks 60 s ahead.
    started = time.perf_counter()
    for step in range(0, args.seconds, 10):
        now = t0 + timedelta(seconds=step)
        barrier = threading.Barrier(args.dispatchers)

        def tick(at: datetime = now, gate: threading.Barrier = barrier) -> None:
            gate.wait()
            dispatch.dispatch_due(at, settings)

        threads = [threading.Thread(target=tick) for _ in range(args.dispatchers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    dispatch_seconds = time.perf_counter() - started

    # Every message delivered twice, the copies handled concurrently.
    horizon = t0 + timedelta(seconds=args.seconds)
    deliveries = 0
    for tenant, task_id, run_id in list(sent):
        payload = {"v": 1, "tenant": tenant, "task_id": task_id, "run_id": run_id}
        message = QueueMessage(message_id=run_id, body=json.dumps(payload))
        copies = [threading.Thread(target=worker.handle_message, args=(payload, message)) for _ in range(2)]
        for copy in copies:
            copy.start()
        for copy in copies:
            copy.join()
        deliveries += 2

    per_tick: Counter[tuple[str, str]] = Counter()
    executed = 0
    for n in range(args.tasks):
        for run in run_store.list_runs("bench", f"every-second-{n}"):
            per_tick[(run.task_id, run.nominal_at.isoformat())] += 1
            executed += run.started_at is not None
    ticks_in_range = sum(1 for (_, at) in per_tick if datetime.fromisoformat(at) <= horizon)
    duplicates = sum(count - 1 for count in per_tick.values() if count > 1)
    backend.stop()
    print(f"dispatchers: {args.dispatchers}, tasks: {args.tasks}, simulated seconds: {args.seconds}")
    print(f"ticks dispatched: {len(per_tick)} ({ticks_in_range} within the simulated span), "
          f"messages: {len(sent)}, deliveries: {deliveries}, runs executed: {executed}")
    print(f"duplicate runs for one (task, nominal time): {duplicates}")
    print(f"runs executed more than once: {executed - len(per_tick) if executed > len(per_tick) else 0}")
    print(f"dispatch wall time: {dispatch_seconds:.1f} s")


if __name__ == "__main__":
    main()
