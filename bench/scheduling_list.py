"""Scheduling face list latency over real HTTP on the local runtime.

A tenant with 500, then 5,000 tasks (a tenth named "sales-...", half enabled): median and p95
latency of a filtered, sorted first page (`filter=enabled eq true and name co "sales"`,
`sort=-updatedAt`, `limit=50`) and of walking every page of the unfiltered list by following
`links.next.href`, and how both grow from 500 to 5,000 tasks.

    .venv/bin/python bench/scheduling_list.py [--sizes 500,5000] [--samples 30] [--walks 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin

import requests
from _common import percentile, start_local_runtime

TASKS = "/api/scheduling/tasks"
FIRST_PAGE = {"filter": 'enabled eq true and name co "sales"', "sort": "-updatedAt", "limit": "50"}


def task_body(n: int) -> dict:
    name = f"sales-report-{n:05d}" if n % 10 == 0 else f"ops-job-{n:05d}"
    return {
        "name": name,
        "version": "1.0.0",
        "specVersion": "1.16.0",
        "enabled": n % 2 == 0,
        "states": [{
            "name": "Reload",
            "type": "operation",
            "end": True,
            "actions": [{"name": "app.reload", "functionRef": {"refName": "app.reload",
                                                              "arguments": {"appId": f"app-{n:05d}"}}}],
        }],
    }


#: Creation is timed per chunk of this many tasks, so a rate that falls as the tenant grows shows.
CHUNK = 500


def create(session: requests.Session, url: str, start: int, stop: int) -> float:
    began = time.perf_counter()

    def post(n: int) -> None:
        response = session.post(url + TASKS, json=task_body(n), timeout=60)
        if response.status_code != 201:
            raise RuntimeError(f"create {n}: {response.status_code} {response.text[:300]}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        for low in range(start, stop, CHUNK):
            high = min(stop, low + CHUNK)
            chunk_began = time.perf_counter()
            list(pool.map(post, range(low, high)))
            took = time.perf_counter() - chunk_began
            print(f"  created tasks {low}..{high - 1}: {(high - low) / took:.0f} tasks/s", flush=True)
    return time.perf_counter() - began


def timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return (time.perf_counter() - began) * 1000


def first_page(session: requests.Session, url: str) -> int:
    response = session.get(url + TASKS, params=FIRST_PAGE, timeout=60)
    response.raise_for_status()
    return len(response.json()["data"])


def walk(session: requests.Session, url: str) -> tuple[int, int]:
    """Follow links.next from the first page of the whole list; (pages, tasks)."""
    pages = seen = 0
    href = url + TASKS + "?limit=100"
    while href:
        response = session.get(href, timeout=60)
        response.raise_for_status()
        body = response.json()
        pages += 1
        seen += len(body["data"])
        nxt = (body.get("links") or {}).get("next")
        href = urljoin(url, nxt["href"]) if nxt and nxt.get("href") else None
    return pages, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,5000")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--walks", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    os.environ["TASKLANE_RATE_TIER1"] = "0"  # the bench measures latency, not the rate limiter
    os.environ["TASKLANE_RATE_TIER2"] = "0"
    process, url, _, token = start_local_runtime("--workers", "1")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    results = []
    try:
        have = 0
        for size in sizes:
            took = create(session, url, have, size)
            print(f"created tasks {have}..{size - 1} over HTTP in {took:.1f} s ({(size - have) / took:.0f}/s)")
            have = size
            matched = first_page(session, url)
            page_ms = [timed(lambda: first_page(session, url)) for _ in range(args.samples)]
            walk_ms, shape = [], None
            for _ in range(args.walks):
                began = time.perf_counter()
                shape = walk(session, url)
                walk_ms.append((time.perf_counter() - began) * 1000)
            assert shape[1] == size, f"walked {shape[1]} tasks, expected {size}"
            results.append({"size": size, "matched": matched, "page_p50": statistics.median(page_ms),
                            "page_p95": percentile(page_ms, 95), "walk_p50": statistics.median(walk_ms),
                            "walk_p95": percentile(walk_ms, 95), "pages": shape[0]})
    finally:
        process.send_signal(2)
        process.wait(timeout=30)

    print(f"\n{'tasks':>6} {'1st page p50':>13} {'p95':>9} {'walk p50':>10} {'p95':>9} {'pages':>6}")
    for r in results:
        print(f"{r['size']:>6} {r['page_p50']:>10.1f} ms {r['page_p95']:>6.1f} ms {r['walk_p50']:>7.0f} ms "
              f"{r['walk_p95']:>6.0f} ms {r['pages']:>6}")
    if len(results) > 1:
        a, b = results[0], results[-1]
        print(f"growth {a['size']} -> {b['size']} tasks: first page x{b['page_p50'] / a['page_p50']:.1f}, "
              f"full walk x{b['walk_p50'] / a['walk_p50']:.1f}")


if __name__ == "__main__":
    main()
