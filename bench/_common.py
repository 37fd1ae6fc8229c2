"""Shared set-up for the benchmarks: an in-process or server moto backend with tasklane's resources."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("TASKLANE_JWT_SECRET", "bench-secret-bench-secret-bench-secret")
os.environ.setdefault("TASKLANE_COMMAND_TENANTS", "*")  # as `tasklane local`: the benchmarks run commands


def bind_backend(stage: str, endpoint: str | None):
    """Create the template's resources for `stage` at `endpoint` (None: in-process moto) and bind."""
    from chalicelib import handlers, settings
    from chalicelib.runtime.resources import create_resources

    created = create_resources(stage=stage, region="us-east-1", endpoint_url=endpoint)
    os.environ.update(created.env)
    os.environ["TASKLANE_STAGE"] = stage
    if endpoint:
        os.environ["TASKLANE_AWS_ENDPOINT"] = endpoint
    else:
        os.environ.pop("TASKLANE_AWS_ENDPOINT", None)
    settings.reset()
    return handlers.ensure_bound()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def start_local_runtime(*args: str, output: list[str] | None = None):
    """Start `tasklane local` on a free port; returns (process, url, backend endpoint, token).

    Its data directory is a fresh temporary one unless `--data-dir` or `--ephemeral` is given;
    the lines it printed until ready are appended to `output`."""
    import re
    import socket
    import subprocess
    import tempfile

    if "--data-dir" not in args and "--ephemeral" not in args:
        args = (*args, "--data-dir", tempfile.mkdtemp(prefix="tasklane-bench-"))

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "chalicelib.cli", "local", "--port", str(port), *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = backend = token = None
    for line in process.stdout:
        if output is not None:
            output.append(line)
        if match := re.match(r"tasklane (http://\S+) \(backend: (\S+)\)", line):
            url, backend = match.groups()
        elif line.startswith("TOKEN="):
            token = line.strip().split("=", 1)[1]
            break
    if token is None:
        raise RuntimeError("tasklane local did not start")
    # Keep draining its output so the pipe never fills.
    import threading

    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    return process, url, backend, token
