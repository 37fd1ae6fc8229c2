"""End-to-end: `tasklane local` as a subprocess on a free port, spoken to over real HTTP."""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Runtime:
    """A running `tasklane local`."""

    url: str
    backend: str
    token: str
    secret: str
    process: subprocess.Popen
    output: list[str]
    #: The temporary data directory made for it (removed once it stops); None if the test gave one.
    data_dir: str | None = None

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, headers=self._headers(kwargs), timeout=30, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, headers=self._headers(kwargs), timeout=30, **kwargs)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.url + path, headers=self._headers(kwargs), timeout=30, **kwargs)

    def _headers(self, kwargs: dict) -> dict:
        headers = {"Authorization": f"Bearer {self.token}"}
        headers.update(kwargs.pop("headers", {}) or {})
        return headers


def start_runtime(*extra_args: str, env: dict[str, str] | None = None, timeout: float = 60.0,
                  secret: str | None = None) -> Runtime:
    """Start `tasklane local` and wait until it prints its token and answers /health.

    Its data directory is a fresh temporary one unless `--data-dir` or `--ephemeral` is given."""
    port = free_port()
    secret = secret or "e2e-secret-" + os.urandom(8).hex()
    data_dir = None
    if "--data-dir" not in extra_args and "--ephemeral" not in extra_args:
        data_dir = tempfile.mkdtemp(prefix="tasklane-e2e-")
        extra_args = (*extra_args, "--data-dir", data_dir)
    process_env = {**os.environ, "TASKLANE_JWT_SECRET": secret, "PYTHONUNBUFFERED": "1", **(env or {})}
    process_env.pop("TASKLANE_AWS_ENDPOINT", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.cli", "local", "--port", str(port), "--tick", "0.5", *extra_args],
        cwd=ROOT,
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    url = backend = token = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and token is None:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None:
                raise RuntimeError("tasklane local exited:\n" + "".join(output)) from None
            continue
        if match := re.match(r"tasklane (http://\S+) \(backend: (\S+)\)", line):
            url, backend = match.group(1), match.group(2)
        elif line.startswith("TOKEN="):
            token = line.strip().split("=", 1)[1]
    if token is None or url is None:
        process.kill()
        raise RuntimeError("tasklane local did not become ready:\n" + "".join(output))
    return Runtime(url=url, backend=backend, token=token, secret=secret, process=process, output=output,
                   data_dir=data_dir)


def stop_runtime(runtime: Runtime) -> int:
    runtime.process.send_signal(2)  # Ctrl-C
    try:
        return runtime.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        runtime.process.kill()
        raise
    finally:
        if runtime.data_dir is not None:
            shutil.rmtree(runtime.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def runtime():
    """One local runtime shared by the e2e tests."""
    started = start_runtime()
    yield started
    stop_runtime(started)
