"""What an idle local runtime costs: `tasklane local` with no tasks, CPU over a window and RSS,
for the runtime and its embedded backend.

    .venv/bin/python bench/idle_cost.py [--seconds 30] [--settle 5] [--tick 1]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from _common import start_local_runtime

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after ready before measuring")
    parser.add_argument("--tick", type=float, default=1.0, help="the runtime's dispatcher tick")
    args = parser.parse_args()
    process, _, _, _ = start_local_runtime("--tick", str(args.tick))
    try:
        time.sleep(args.settle)  # the first ticks create what an empty runtime keeps
        pids = {"runtime": process.pid, **{f"backend {pid}": pid for pid in children(process.pid)}}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        began = time.perf_counter()
        time.sleep(args.seconds)
        took = time.perf_counter() - began
        total_cpu = total_rss = 0.0
        for name, pid in pids.items():
            share = (cpu_seconds(pid) - before[name]) / took
            rss = rss_mb(pid)
            total_cpu, total_rss = total_cpu + share, total_rss + rss
            print(f"{name:16} CPU {share:6.1%} of one core   RSS {rss:6.1f} MB")
        print(f"{'idle, in all':16} CPU {total_cpu:6.1%} of one core   RSS {total_rss:6.1f} MB"
              f"   (over {took:.0f} s; goal < 1% and < 150 MB)")
    finally:
        process.terminate()
        process.wait(timeout=60)


if __name__ == "__main__":
    main()
