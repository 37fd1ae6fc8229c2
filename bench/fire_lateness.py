"""Fire lateness: 500 cron tasks due in the same minute on the local runtime; p50/p99/max of
(actual start - nominal time). Target: p99 under 1 s.

Task n fires at second n % --spread of that minute (default 60: spread over the minute as cron
jobs of one minute are; `--spread 1` puts all of them on one second, a burst test).

    .venv/bin/python bench/fire_lateness.py [--tasks 500] [--workers 4] [--spread 60] [--lead 90]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from _common import bind_backend, percentile, start_local_runtime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--spread", type=int, default=60, help="fire seconds used within the minute (1-60)")
    parser.add_argument("--lead", type=int, default=90, help="at least this many seconds from now to the minute")
    args = parser.parse_args()

    process, _, backend, _ = start_local_runtime("--workers", str(args.workers))
    try:
        bind_backend("local", backend)
        from chalicelib.engine import tasks
        from chalicelib.engine.model import TaskSpec, TriggerSpec
        from chalicelib.store import runs as run_store

        spread = max(1, min(60, args.spread))
        fire_at = (datetime.now(UTC) + timedelta(seconds=args.lead + 59)).replace(second=0, microsecond=0)
        created = time.perf_counter()
        for n in range(args.tasks):
            expression = f"{n % spread} {fire_at.minute} {fire_at.hour} * * *"
            tasks.save_task(tenant="bench", task_id=f"lateness-{n:04d}", face="bench", name=f"l{n}",
                            spec=TaskSpec(executor="command", executor_config={"args": ["true"]},
                                          trigger=TriggerSpec(expression=expression)),
                            enabled=True, document=None, now=datetime.now(UTC))
        print(f"created {args.tasks} tasks firing in the minute {fire_at.isoformat()} over {spread} second(s) "
              f"in {time.perf_counter() - created:.1f} s")
        if datetime.now(UTC) >= fire_at - timedelta(seconds=2):
            raise SystemExit("set-up took longer than --lead; raise it")
        deadline = time.monotonic() + (fire_at - datetime.now(UTC)).total_seconds() + 180
        lateness: list[float] = []
        # Reading 500 tasks' runs loads the backend; start after the last fire, not during it.
        time.sleep(max(0.0, (fire_at - datetime.now(UTC)).total_seconds() + spread + 3))
        while time.monotonic() < deadline:
            lateness = []
            ended = 0
            for n in range(args.tasks):
                for run in run_store.list_runs("bench", f"lateness-{n:04d}", limit=1):
                    if run.started_at is not None:
                        lateness.append((run.started_at - run.nominal_at).total_seconds())
                    ended += run.ended_at is not None
            if ended == args.tasks:
                break
            time.sleep(5)
        print(f"runs started: {len(lateness)} of {args.tasks}, workers: {args.workers}")
        print(f"lateness p50 {percentile(lateness, 50):.3f} s, p99 {percentile(lateness, 99):.3f} s, "
              f"max {max(lateness):.3f} s")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
