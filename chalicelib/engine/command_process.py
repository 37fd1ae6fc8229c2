"""Running one command as a subprocess: what it sees, who it runs as, and how it is supervised.

A command gets exactly the environment it is given (`base_environment` under the caller's
variables), never the service's. When the service runs as root, the command runs as an
unprivileged user (`TASKLANE_COMMAND_USER`, default `nobody`) with a fresh, writable HOME per
run. The service itself is made non-dumpable (`make_undumpable`), so a command running as the
same user cannot read `/proc/<service>/environ` (the kernel then owns those files by root and
refuses other processes' ptrace-mode reads).
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from chalicelib.engine.run_log import MAX_LINE_BYTES

#: The PATH every command starts with (the task's own `env` may replace it).
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LANG = "C.UTF-8"
TZ = "UTC"
_PR_SET_DUMPABLE = 4
_POLL = 0.05


class LineSink(Protocol):
    """Where a command's output lines go; `kill_requested` turns true when it must be killed."""

    kill_requested: bool

    def write(self, stream: str, text: str, *, size: int | None = None) -> None: ...


@dataclass(frozen=True, kw_only=True)
class ProcessRequest:
    """One command to run."""

    #: The argument vector (no shell unless args[0] is one).
    args: list[str]
    #: The command's variables, on top of `base_environment`.
    env: dict[str, str]
    working_dir: str | None = None
    timeout: timedelta | None = None
    graceful_stop: timedelta = timedelta(seconds=5)


@dataclass(frozen=True, kw_only=True)
class ProcessOutcome:
    """How a command ended: `outcome` is one of success, failed, timeout, stopped,
    log_overflow, start_failed."""

    outcome: str
    exit_code: int
    detail: str


def base_environment(home: str) -> dict[str, str]:
    """What every command starts with, before its own variables."""
    return {"PATH": SAFE_PATH, "HOME": home, "LANG": LANG, "TZ": TZ}


_undumpable = False


def make_undumpable() -> bool:
    """Mark this process non-dumpable (Linux `prctl(PR_SET_DUMPABLE, 0)`), so processes of the
    same user cannot read its `/proc/<pid>/environ` or ptrace it. True if it is (now) in force."""
    global _undumpable
    if _undumpable:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _undumpable = bool(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False
    return _undumpable


@dataclass(frozen=True, kw_only=True)
class RunAs:
    """The user a command runs as; None fields keep the service's own."""

    uid: int | None = None
    gid: int | None = None
    name: str | None = None


def run_as(user: str | None) -> RunAs:
    """Whom to run commands as: `user` when the service is root and `user` is another account;
    otherwise the service's own user. `LookupError` if `user` does not exist."""
    if os.geteuid() != 0 or not user:
        return RunAs()
    entry = pwd.getpwnam(user)
    if entry.pw_uid == 0:
        return RunAs()
    return RunAs(uid=entry.pw_uid, gid=entry.pw_gid, name=user)


def run_process(request: ProcessRequest, sink: LineSink, *, stop_event: threading.Event,
                user: str | None) -> ProcessOutcome:
    """Run `request` to its end, streaming its lines into `sink`. Never raises for a failure
    of the command or of its start (that is `start_failed`)."""
    make_undumpable()
    try:
        identity = run_as(user)
    except KeyError:
        sink.write("system", f"cannot start: the command user {user!r} does not exist")
        return ProcessOutcome(outcome="start_failed", exit_code=-1, detail=f"no such user {user!r}")
    home = tempfile.mkdtemp(prefix="tasklane-home-")
    try:
        if identity.uid is not None:
            os.chown(home, identity.uid, -1 if identity.gid is None else identity.gid)  # -1: group unchanged
        return _run_in(request, sink, stop_event, identity, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run_in(request: ProcessRequest, sink: LineSink, stop_event: threading.Event, identity: RunAs,
            home: str) -> ProcessOutcome:
    env = {**base_environment(home), **request.env}
    drop: dict[str, Any] = {}
    if identity.uid is not None:
        drop = {"user": identity.uid, "group": identity.gid, "extra_groups": []}
    try:
        process = subprocess.Popen(  # noqa: S603 - argv list, never a shell string from input
            request.args, cwd=request.working_dir or None, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **drop,
        )
    except Exception as exc:  # noqa: BLE001 - OSError, ValueError (NUL), SubprocessError: all a failed start
        reason = getattr(exc, "strerror", None) or str(exc)
        sink.write("system", f"could not start {request.args[0]!r}: {reason}")
        return ProcessOutcome(outcome="start_failed", exit_code=-1, detail=f"could not start: {reason}")
    readers = [threading.Thread(target=_pump, args=(process.stdout, "stdout", sink), daemon=True),
               threading.Thread(target=_pump, args=(process.stderr, "stderr", sink), daemon=True)]
    for reader in readers:
        reader.start()
    outcome = _supervise(process, request, sink, stop_event)
    for reader in readers:
        reader.join(timeout=5)
    code = process.returncode if process.returncode is not None else -1
    if outcome is None and sink.kill_requested:
        # A fast process can exit before its readers have pumped the line that overflowed the
        # log; decide once the whole output has been read.
        outcome = "log_overflow"
    if outcome is None:
        outcome = "success" if code == 0 else "failed"
    if outcome == "timeout" and request.timeout is not None:
        sink.write("system", f"timed out after {request.timeout.total_seconds():g}s")
    return ProcessOutcome(outcome=outcome, exit_code=code, detail=f"exit code {code}")


def _supervise(process: subprocess.Popen[bytes], request: ProcessRequest, sink: LineSink,
               stop_event: threading.Event) -> str | None:
    deadline = time.monotonic() + request.timeout.total_seconds() if request.timeout else None
    while process.poll() is None:
        if sink.kill_requested:
            _kill_group(process, timedelta(0))
            return "log_overflow"
        if stop_event.is_set():
            _kill_group(process, request.graceful_stop)
            return "stopped"
        if deadline is not None and time.monotonic() >= deadline:
            _kill_group(process, request.graceful_stop)
            return "timeout"
        try:
            process.wait(timeout=_POLL)
        except subprocess.TimeoutExpired:
            continue
    return "log_overflow" if sink.kill_requested else None


def _pump(pipe: Any, stream: str, sink: LineSink) -> None:
    """Copy a pipe into the sink line by line, never holding more than the line cap of one line:
    the rest of a longer line is read and counted, not kept (the log marks the cut)."""
    for raw in iter(lambda: pipe.readline(MAX_LINE_BYTES + 1), b""):
        ended = raw.endswith(b"\n")
        head = raw[:-1] if ended else raw
        size = len(head)
        if not ended and size > MAX_LINE_BYTES:
            for rest in iter(lambda: pipe.readline(MAX_LINE_BYTES), b""):
                if rest.endswith(b"\n"):
                    size += len(rest) - 1
                    break
                size += len(rest)
        sink.write(stream, head.decode("utf-8", errors="replace"), size=size)
    pipe.close()


def _kill_group(process: subprocess.Popen[bytes], grace: timedelta) -> None:
    """SIGTERM the process group, wait `grace`, then SIGKILL it."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=max(0.0, grace.total_seconds()))
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
