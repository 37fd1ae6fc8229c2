"""Execution cycles: 1,000 instances of a three-step strategy, their first events all due in the
same minute, run by `tasklane local` against a local HTTP service. Reports events/s (events whose
three steps were all called, over the span from the first call to the last), p50/p99/max lateness
of each event's first step against the event's date, steps called more than once (must be 0) and
events lost (not PROCESSED at the end, must be 0).

Instance n's first event is due at second n % --spread of that minute (default 60: spread over
the minute; `--spread 1` puts all of them on one second, a burst).

    .venv/bin/python bench/execution_cycles.py [--instances 1000] [--workers 4] [--spread 60] [--lead 450]
        [--wait 900]

An event not PROCESSED when the figures are read is counted lost only if it is not on its way:
PENDING, QUEUED or EXECUTING count as late, not lost (the statuses are printed).
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from _common import bind_backend, percentile, start_local_runtime

SECRET = "bench-cycles-secret"
STEPS = ("quote", "charge", "receipt")


class Service:
    """The local HTTP service the steps call: answers 200 and records (event, step, arrival, date)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float, str]] = []
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                arrived = time.time()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if not self.path.endswith("/token"):
                    event = body.get("event", {})
                    with service.lock:
                        service.calls.append((event.get("sid", ""), self.path, arrived, event.get("date", "")))
                payload = b'{"token": "bench-token", "ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def finished_events(self) -> int:
        with self.lock:
            return len({sid for sid, path, _, _ in self.calls if path.endswith("/receipt")})


def strategy_document(service_url: str) -> dict[str, Any]:
    steps = [{"key": key, "action": key, **({"final": True} if n == 2 else {"nextStep": STEPS[n + 1]})}
             for n, key in enumerate(STEPS)]
    return {
        "name": "bench-cycles", "secret": SECRET,
        "settings": {
            "schedule": {"calendars": [{"key": "monthly", "task": "bill",
                                        "scheduleAfter": {"unit": "months", "amount": 1}}]},
            "services": [{"key": "svc", "baseUrls": [{"environment": "local", "url": service_url}],
                          "authorization": [{"environment": "local", "url": "/token", "method": "post"}],
                          "credentialPath": "token",
                          "methods": [{"key": key, "url": f"/{key}", "method": "post"} for key in STEPS]}],
            "actions": [{"key": key, "service": "svc", "method": key} for key in STEPS],
            "tasks": [{"key": "bill", "initialStep": STEPS[0], "steps": steps,
                       "retryConfig": {"times": 2, "retryAfter": {"unit": "minutes", "amount": 1}}}],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--spread", type=int, default=60, help="due seconds used within the minute (1-60)")
    parser.add_argument("--lead", type=int, default=450, help="at least this many seconds from now to the minute")
    parser.add_argument("--wait", type=int, default=900, help="seconds after the minute to wait for every event")
    args = parser.parse_args()

    service = Service()
    process, url, backend, token = start_local_runtime("--workers", str(args.workers))
    try:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {token}",
                   "Strategy-Secret": base64.b64encode(SECRET.encode()).decode()}
        made = session.post(url + "/execution-strategy", json=strategy_document(service.url), headers=headers)
        made.raise_for_status()
        spread = max(1, min(60, args.spread))
        due_minute = (datetime.now(UTC) + timedelta(seconds=args.lead + 59)).replace(second=0, microsecond=0)

        def create(n: int) -> str:
            start = due_minute + timedelta(seconds=n % spread)
            answer = requests.post(url + "/execution-instance", headers=headers, timeout=60,
                                   json={"strategyId": "bench-cycles", "startDate": start.isoformat(),
                                         "attributes": {"customer": f"c-{n}"}})
            answer.raise_for_status()
            return str(answer.json()["sid"])

        created = time.perf_counter()
        with ThreadPoolExecutor(max_workers=16) as pool:
            sids = list(pool.map(create, range(args.instances)))
        print(f"created {args.instances} instances due in the minute {due_minute.isoformat()} over {spread} "
              f"second(s) in {time.perf_counter() - created:.1f} s")
        if datetime.now(UTC) >= due_minute - timedelta(seconds=2):
            raise SystemExit("set-up took longer than --lead; raise it")
        deadline = time.monotonic() + (due_minute - datetime.now(UTC)).total_seconds() + spread + args.wait
        while time.monotonic() < deadline and service.finished_events() < args.instances:
            time.sleep(1)

        with service.lock:
            calls = list(service.calls)
        per_step = Counter((sid, path) for sid, path, _, _ in calls)
        duplicates = sum(count - 1 for count in per_step.values() if count > 1)
        first_step = {sid: (arrived, date) for sid, path, arrived, date in sorted(calls, key=lambda c: c[2])
                      if path.endswith(f"/{STEPS[0]}")}
        lateness = [arrived - datetime.fromisoformat(date).timestamp() for arrived, date in first_step.values()]
        arrivals = [arrived for _, _, arrived, _ in calls]
        span = max(arrivals) - min(arrivals) if arrivals else float("nan")
        done = service.finished_events()
        print(f"events finished (all three steps called): {done} of {args.instances}")
        print(f"events/s: {done / span:.1f} (over {span:.1f} s from the first step call to the last)")
        print(f"first-step lateness against the event's date: p50 {percentile(lateness, 50):.2f} s, "
              f"p99 {percentile(lateness, 99):.2f} s, max {max(lateness, default=float('nan')):.2f} s")
        print(f"steps called more than once: {duplicates}", flush=True)

        bind_backend("local", backend)
        from chalicelib.engine.execution import records

        statuses: Counter[str] = Counter()
        for sid in sids:
            instance = records.get_instance("dev", sid)
            main = [e for e in records.list_events("dev", sid) if e.main and e.created_cycle == 1]
            statuses.update(e.status.value for e in main)
            assert instance.cycle in (1, 2)
        lost = args.instances - sum(statuses.get(s, 0) for s in ("PROCESSED", "PENDING", "EXECUTING", "QUEUED"))
        print(f"events lost (cycle 1 main event neither PROCESSED nor on its way): {lost}  statuses: {dict(statuses)}")
    finally:
        process.send_signal(2)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # the bench is over; do not leave it running
            process.kill()
        service.server.shutdown()


if __name__ == "__main__":
    main()
