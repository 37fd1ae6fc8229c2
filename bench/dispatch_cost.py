"""Items one dispatcher tick reads, and its time, with 1,000 and 10,000 enabled tasks of which 10 are due.

The due index is sparse and sharded, so a tick reads the due triggers (and their tasks), not the
table: the figure should stay flat as stored tasks grow. The first tick builds the process's
DynamoDB clients; the tick a minute later (the same tasks due again) is a running dispatcher's.

    .venv/bin/python bench/dispatch_cost.py [--sizes 1000,10000] [--due 10]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from _common import bind_backend
from moto import mock_aws


def measure(total: int, due: int) -> dict:
    from chalicelib.engine import dispatch, tasks
    from chalicelib.engine.model import TaskSpec, TriggerSpec
    from chalicelib.runtime import moto_indexes
    from chalicelib.store import metrics, queue

    # As in the local runtime: moto's transactions back up items, not whole tables (its own
    # whole-table copy would make the tick's wall time grow with stored tasks), and queries walk
    # what they return, not the table (moto_indexes).
    moto_indexes.install()
    queue.send_run = lambda *a, **k: None  # the queue is not what is measured
    with mock_aws():
        settings = bind_backend("bench", None)
        now = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)
        created = now - timedelta(seconds=40)
        started = time.perf_counter()
        for n in range(total):
            # Due tasks fire every minute (next: 12:01:00, inside the 60 s window); the rest yearly.
            expression = "* * * * *" if n < due else "0 0 1 1 *"
            tasks.save_task(tenant=f"tenant{n % 20}", task_id=f"task{n:05d}", face="bench", name=f"task{n}",
                            spec=TaskSpec(executor="command", executor_config={"args": ["true"]},
                                          trigger=TriggerSpec(expression=expression)),
                            enabled=True, document=None, now=created)
        setup = time.perf_counter() - started
        metrics.reset()
        tick_started = time.perf_counter()
        summary = dispatch.dispatch_due(now, settings)
        tick_seconds = time.perf_counter() - tick_started
        items_read = metrics.items_read()
        # A minute later the same tasks are due again: a tick of a runtime that has been running
        # (its clients built, as they are after the first tick of every dispatcher).
        warm_started = time.perf_counter()
        warm = dispatch.dispatch_due(now + timedelta(seconds=60), settings)
        warm_seconds = time.perf_counter() - warm_started
        return {"tasks": total, "due": due, "fired": summary["fired"], "items_read": items_read,
                "tick_seconds": round(tick_seconds, 3), "warm_fired": warm["fired"],
                "warm_seconds": round(warm_seconds, 3), "setup_seconds": round(setup, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--due", type=int, default=10)
    args = parser.parse_args()
    results = [measure(int(size), args.due) for size in args.sizes.split(",")]
    print(f"{'tasks':>8} {'due':>4} {'fired':>5} {'items read':>10} {'first tick s':>12}"
          f" {'next minute: fired':>19} {'tick s':>7}")
    for r in results:
        print(f"{r['tasks']:>8} {r['due']:>4} {r['fired']:>5} {r['items_read']:>10} {r['tick_seconds']:>12}"
              f" {r['warm_fired']:>19} {r['warm_seconds']:>7}")
    ratio = results[-1]["items_read"] / max(1, results[0]["items_read"])
    first, last = results[0]["tasks"], results[-1]["tasks"]
    print(f"items read grew x{ratio:.2f} from {first} to {last} tasks (target: within 2x)")


if __name__ == "__main__":
    main()
