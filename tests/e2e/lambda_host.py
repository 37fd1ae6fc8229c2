"""Plays AWS Lambda's Python runtime for one function, inside the Lambda-like sandbox.

Run as `<sandbox python> -I -B lambda_host.py TASK_ROOT HANDLER` (no bytecode is written: the
task root is read-only on Lambda) with the working directory at TASK_ROOT and the function's
environment. Like Lambda's bootstrap it puts the task root first on
`sys.path`, imports the handler's module once (the cold start), then calls `handler(event,
context)` once per invocation. Standard library only: the sandbox holds boto3 and nothing else.

Protocol, one JSON document per line: it answers `{"ready": true, "init_seconds": s}` (or
`{"ready": false, "error": ...}`) once the module is imported; then each request line
`{"event": ...}` is answered `{"result": ...}` or `{"error": {"type", "message", "trace"}}`, and
`{"report": true}` is answered with every file path the process opened and every module it
imported with its file. What the handler prints goes to stderr, as Lambda sends it to its log.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid

_opened: set[str] = set()


def _audit(event: str, args: tuple) -> None:
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        _opened.add(os.path.abspath(os.fsdecode(args[0])))


class LambdaContext:
    """The attributes of Lambda's context object that handlers read."""

    def __init__(self, timeout_seconds: float) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{name}"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "sandbox"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    task_root, handler_name = sys.argv[1], sys.argv[2]
    timeout = float(os.environ.get("SANDBOX_FUNCTION_TIMEOUT", "60"))
    # Answers go out on the original stdout; the handler's own prints land in stderr.
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.addaudithook(_audit)
    sys.path.insert(0, task_root)
    module_name, _, attribute = handler_name.rpartition(".")
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except BaseException as exc:  # noqa: BLE001 - the cold start failed: say how, as Lambda's log would
        answers.write(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}",
                                  "trace": traceback.format_exc()}) + "\n")
        return
    answers.write(json.dumps({"ready": True, "init_seconds": time.perf_counter() - started}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("report"):
            modules = {name: getattr(module, "__file__", None) for name, module in list(sys.modules.items())}
            answers.write(json.dumps({"opened": sorted(_opened), "modules": modules}) + "\n")
            continue
        try:
            result = handler(request["event"], LambdaContext(timeout))
            answer = {"result": result}
        except Exception as exc:  # noqa: BLE001 - Lambda reports a handler's exception as the invocation's error
            answer = {"error": {"type": type(exc).__name__, "message": str(exc), "trace": traceback.format_exc()}}
        answers.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
