"""Claim contention: 16 agents (threads, one session and token each) claim, heartbeat once and
complete queued runs over real HTTP against `tasklane local`, until the queue is empty. Prints
claims/s, p50/p99 claim latency, double claims and runs lost or left claimed (both must be 0),
and, on the same embedded moto server in the same run, the raw rate of conditional UpdateItem
calls by as many threads (the ceiling a claim is compared with: the goal is >= 50% of it). Last,
it counts the DynamoDB requests one claim-next costs, by wrapping botocore in process.

    .venv/bin/python bench/claim_contention.py [--runs 2000] [--agents 16]

On a loaded 2-CPU machine the default 2,000 runs take over an hour: creating a task over HTTP
and each claim cycle cost tens of DynamoDB requests, and moto serves index queries by scanning
the table, so every claim gets slower as the table fills. `--runs 200` finishes in minutes.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from _common import bind_backend, percentile, start_local_runtime

TENANT = "bench"


def mint(secret: str, session: str) -> str:
    from chalicelib.identity import mint_token

    return mint_token(secret, tenant=TENANT, user=session, actor_kind="agent_session", session=session)


def queue_runs(url: str, token: str, count: int, threads: int) -> list[str]:
    """Create `count` published tasks over HTTP (each gets its first run queued); their ids."""
    local = threading.local()

    def one(n: int) -> str:
        if not hasattr(local, "http"):
            local.http = requests.Session()
            local.http.headers["Authorization"] = f"Bearer {token}"
        task = local.http.post(f"{url}/api/tasks", json={"title": f"bench {n}", "scope": "global"}, timeout=60)
        task.raise_for_status()
        return str(task.json()["task"]["id"])

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(count)))


def agents_work(url: str, secret: str, agents: int) -> tuple[list[float], list[str], float]:
    """Every agent claims, heartbeats once and completes until claim-next answers 204; the
    claim latencies, the run ids claimed (one entry per claim) and the wall time."""
    latencies: list[float] = []
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(agents)
    errors: list[str] = []

    def agent(n: int) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {mint(secret, f'agent-{n:02d}')}"
        barrier.wait()
        while True:
            started = time.perf_counter()
            answer = http.post(f"{url}/api/agent/tasks/claim-next", json={}, timeout=60)
            took = time.perf_counter() - started
            if answer.status_code == 204:
                return
            if answer.status_code != 200:
                errors.append(f"claim-next {answer.status_code}: {answer.text[:200]}")
                return
            run_id = answer.json()["claim"]["run"]["id"]
            with lock:
                latencies.append(took)
                claimed.append(run_id)
            for step, body in (("heartbeat", {}), ("complete", {"result": {"ok": True}})):
                done = http.post(f"{url}/api/agent/tasks/{run_id}/{step}", json=body, timeout=60)
                if done.status_code != 200:
                    errors.append(f"{step} {done.status_code}: {done.text[:200]}")
                    return

    started = time.perf_counter()
    threads = [threading.Thread(target=agent, args=(n,)) for n in range(agents)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} agent errors, first: {errors[0]}")
    return latencies, claimed, elapsed


def raw_conditional_updates(endpoint: str, count: int, threads: int) -> float:
    """Conditional UpdateItem calls per second by `threads` boto3 threads on the same server:
    each flips one item `queued -> claimed` under `status = queued`, as a claim's core write."""
    import boto3
    from botocore.config import Config

    from chalicelib import settings

    table = settings.current().tasks_table
    config = Config(max_pool_connections=threads * 2, retries={"max_attempts": 0})
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", config=config)
    keys = [{"pk": {"S": "bench-raw"}, "sk": {"S": f"raw#{n:06d}"}} for n in range(count)]
    for offset in range(0, count, 25):
        client.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {**key, "status": {"S": "queued"}}}} for key in keys[offset:offset + 25]]})
    pending = iter(keys)
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker() -> None:
        barrier.wait()
        while True:
            with lock:
                key = next(pending, None)
            if key is None:
                return
            client.update_item(TableName=table, Key=key, UpdateExpression="SET #s = :c",
                               ConditionExpression="#s = :q", ExpressionAttributeNames={"#s": "status"},
                               ExpressionAttributeValues={":c": {"S": "claimed"}, ":q": {"S": "queued"}})

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return count / (time.perf_counter() - started)


def requests_per_claim(secret: str, samples: int = 20) -> Counter[str]:
    """DynamoDB requests (by operation) of one claim-next through the app in process, on the
    bound backend, averaged over `samples` claims from a fresh queue."""
    import botocore.client
    from chalice.test import Client

    import app as app_module

    counted: Counter[str] = Counter()
    original = botocore.client.BaseClient._make_api_call
    counting = threading.local()

    def wrapped(self, operation, params):  # type: ignore[no-untyped-def]
        if getattr(counting, "on", False):
            counted[operation] += 1
        return original(self, operation, params)

    with Client(app_module.app) as client:
        admin = {"Authorization": f"Bearer {mint(secret, 'counter-setup')}", "Content-Type": "application/json"}
        for n in range(samples):
            task = client.http.post("/api/tasks", headers=admin, body=f'{{"title": "count {n}", "scope": "global"}}')
            assert task.status_code == 201, task.body
        botocore.client.BaseClient._make_api_call = wrapped  # type: ignore[method-assign]
        try:
            for n in range(samples):
                headers = {"Authorization": f"Bearer {mint(secret, f'counter-{n}')}",
                           "Content-Type": "application/json"}
                counting.on = True
                answer = client.http.post("/api/agent/tasks/claim-next", headers=headers, body="{}")
                counting.on = False
                assert answer.status_code == 200, answer.body
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
    return Counter({operation: round(count / samples, 2) for operation, count in counted.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=16)
    args = parser.parse_args()
    import os

    secret = os.environ["TASKLANE_JWT_SECRET"]
    process, url, backend, _ = start_local_runtime()
    try:
        bind_backend("local", backend)
        setup = mint(secret, "bench-setup")
        started = time.perf_counter()
        tasks = queue_runs(url, setup, args.runs, 4)  # chalice local listens with a backlog of 5
        print(f"created {len(tasks)} tasks (one queued run each) over HTTP in {time.perf_counter() - started:.1f} s")
        from chalicelib.engine import agent_runs

        queued = [run.run_id for run in agent_runs.tenant_runs(TENANT)]
        assert len(queued) == len(tasks), (len(queued), len(tasks))
        latencies, claimed, elapsed = agents_work(url, secret, args.agents)
        raw = raw_conditional_updates(backend, args.runs, args.agents)

        from chalicelib.engine.pull import run_status

        claims = Counter(claimed)
        doubles = sum(count - 1 for count in claims.values() if count > 1)
        status = Counter(run_status(run) for run in agent_runs.tenant_runs(TENANT))
        lost = len(set(queued) - set(claims)) + sum(count for name, count in status.items() if name != "completed")
        rate = len(claimed) / elapsed
        print(f"agents: {args.agents}, runs claimed and completed: {len(claimed)} in {elapsed:.1f} s")
        print(f"claim-next: {rate:.1f} claims/s (claim + heartbeat + complete per run); "
              f"latency p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms")
        print(f"double claims: {doubles}; runs lost or left unfinished: {lost}; run statuses after: {dict(status)}")
        # The agents also spend time in heartbeat and complete: the claim-next call rate is what
        # 16 agents would sustain doing only claims at the latency they saw.
        claim_rate = len(latencies) / (sum(latencies) / args.agents)
        print(f"claim-next calls alone: {claim_rate:.1f} claims/s (claims / time the agents spent in claim-next)")
        print(f"raw conditional UpdateItem, {args.agents} threads, same moto server: {raw:.1f} calls/s")
        print(f"claim-next / raw: {claim_rate / raw * 100:.0f}% (calls alone), {rate / raw * 100:.0f}% "
              f"(whole claim-heartbeat-complete cycle); goal >= 50%")
        per_claim = requests_per_claim(secret)
        print(f"DynamoDB requests per claim-next (in process, same backend): {sum(per_claim.values()):g} "
              f"{dict(per_claim)}")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
