"""Log reads of a 50 MB run log over real HTTP on the local runtime.

A daemon task prints 500,000 lines of 100 characters (50.5 MB); its output goes through the real
write path (command reader, log writer, S3 chunks on the embedded moto server). Then:
- latency of reading the first line (`from=1&limit=1`) and the last line (`from=-1`), one reader
  at a time, beside a read of the run record (the same authentication and look-ups, no log);
- the API process's resident memory (VmRSS, sampled every 20 ms; the moto server is a process of
  its own and not counted) while 8 readers at once read first, last and middle pages, a page of
  the byte cap, the raw text and an SSE resume near the end.

    .venv/bin/python bench/log_reads.py [--lines 500000] [--samples 20] [--rounds 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from _common import percentile, start_local_runtime

LINE = "x" * 100


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for row in status:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    return float("nan")


def timed_ms(session: requests.Session, url: str, **kw) -> float:
    began = time.perf_counter()
    response = session.get(url, timeout=120, **kw)
    response.raise_for_status()
    return (time.perf_counter() - began) * 1000


def build_log(session: requests.Session, base: str, lines: int) -> tuple[str, float]:
    """Define and run the task; returns its log path and how long the run took."""
    body = {"run": f"yes {LINE} | head -n {lines}", "log_max_size": "64mb", "timeout": "20m"}
    session.put(f"{base}/api/tasks/biglog", json=body, timeout=60).raise_for_status()
    began = time.perf_counter()
    response = session.post(f"{base}/api/tasks/biglog/run?wait=true&wait_timeout=1200", timeout=1300)
    response.raise_for_status()
    run = response.json()
    if run.get("end_reason") != "success":
        raise RuntimeError(f"the log-writing run did not succeed: {run}")
    return f"{base}/api/tasks/biglog/runs/{run['id']}/log", time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10, help="reads per concurrent reader")
    args = parser.parse_args()

    os.environ["TASKLANE_MAX_HOLD_SECONDS"] = "3600"
    process, url, _, token = start_local_runtime("--workers", "1")
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        base = url + "/daemon"
        path, write_s = build_log(session, base, args.lines)
        head = session.get(path, params={"from": -1}, timeout=120).json()
        total = head["total_lines"]
        print(f"log: {total} lines, {total * (len(LINE) + 1) / 1e6:.1f} MB, written in {write_s:.1f} s")

        run_url = path.removesuffix("/log")
        for name, target, params in (("run record (same auth and look-ups, no log)", run_url, {}),
                                     ("first line", path, {"from": 1, "limit": 1}),
                                     ("last line", path, {"from": -1})):
            samples = [timed_ms(session, target, params=params) for _ in range(args.samples)]
            print(f"{name}: p50 {statistics.median(samples):.1f} ms, p95 {percentile(samples, 95):.1f} ms, "
                  f"max {max(samples):.1f} ms ({args.samples} reads)")

        reads = [
            ("first line", path, {"params": {"from": 1, "limit": 1}}),
            ("last line", path, {"params": {"from": -1}}),
            ("100 lines mid-log", path, {"params": {"from": total // 2, "limit": 100}}),
            ("1 MiB JSON page", path, {"params": {"from": total // 3, "limit": 10_000}}),
            ("1 MiB raw text", path + "/raw", {"params": {"from": total // 4}}),
            ("SSE resume", path + "/stream", {"headers": {"Last-Event-ID": str(total - 50)}}),
        ]
        idle = rss_mb(process.pid)
        peak = [idle]
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.is_set():
                peak[0] = max(peak[0], rss_mb(process.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        def reader(n: int) -> list[tuple[str, float]]:
            own = requests.Session()
            own.headers["Authorization"] = f"Bearer {token}"
            picks = [reads[(n + i) % len(reads)] for i in range(args.rounds)]
            return [(name, timed_ms(own, target, **kw)) for name, target, kw in picks]

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            timings = [pair for result in pool.map(reader, range(8)) for pair in result]
        wall = time.perf_counter() - began
        latencies = [ms for _, ms in timings]
        for name, _, _ in reads:
            own = [ms for kind, ms in timings if kind == name]
            print(f"  {name}: p50 {statistics.median(own):.0f} ms, max {max(own):.0f} ms ({len(own)} reads)")
        sampling.set()
        sampler.join()
        after = rss_mb(process.pid)
        print(f"8 concurrent readers, {len(latencies)} reads in {wall:.1f} s: "
              f"p50 {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
              f"max {max(latencies):.1f} ms")
        print(f"API process RSS: {idle:.0f} MB before, peak {peak[0]:.0f} MB during, {after:.0f} MB after")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
