"""The local runtime: the three Lambda roles and the HTTP API in one process.

`tasklane local` starts an embedded moto server on 127.0.0.1 (DynamoDB, SQS, S3; no account,
no Docker), creates the resources template.yaml declares, serves the Chalice app with the same
local server `chalice local` uses (with the deployed gateway's answers at its edges, see
local_http.py), ticks the dispatcher handler and polls the runs queue into the worker handler,
handing each batch off so that up to `concurrency` runs are in flight at once. The handlers are
the functions Lambda calls; only the event sources differ.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib import settings
from chalicelib.engine import due_signal
from chalicelib.engine.command_process import make_undumpable
from chalicelib.runtime import backend_process
from chalicelib.runtime.event_sources import RunSlots, SqsPoller, Ticker
from chalicelib.runtime.journal import DataDirError
from chalicelib.runtime.local_http import create_server, serve_edges_under_chalice_local
from chalicelib.runtime.resources import create_resources
from chalicelib.store.clients import aws_client

PROJECT_DIR = Path(__file__).resolve().parents[2]
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
#: Runs in flight at once by default; the worker's reserved concurrency deployed should match.
DEFAULT_CONCURRENCY = 32
CONCURRENCY_ENV = "TASKLANE_WORKER_CONCURRENCY"


def concurrency_from_env(environ: dict[str, str] | None = None) -> int:
    """The concurrency bound `TASKLANE_WORKER_CONCURRENCY` sets (default 32); ValueError if it is
    not a whole number of at least 1."""
    raw = (os.environ if environ is None else environ).get(CONCURRENCY_ENV, "").strip()
    if not raw:
        return DEFAULT_CONCURRENCY
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{CONCURRENCY_ENV} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


@dataclass(kw_only=True)
class LocalOptions:
    """How to run the local runtime (the `tasklane local` flags)."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: Seconds between dispatcher ticks.
    tick: float = 1.0
    #: Threads polling the runs queue (each hands its batches off and polls again).
    workers: int = 2
    #: Runs in flight at once, over every poller; past it messages stay in the queue.
    concurrency: int = DEFAULT_CONCURRENCY
    #: An external AWS-compatible endpoint instead of the embedded moto server.
    endpoint: str | None = None
    #: False: use real AWS (with --no-embedded and no --endpoint).
    embedded: bool = True
    stage: str = "local"
    region: str = "us-east-1"
    #: Port of the embedded moto server (0: any free port).
    backend_port: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    #: Tenants allowed to run commands (comma list or `*`); None: $TASKLANE_COMMAND_TENANTS, else `*`.
    command_tenants: str | None = None
    #: Where the embedded backend keeps its state (None: in memory only, lost at stop).
    data_dir: Path | None = None


class EmbeddedBackend:
    """A moto server on loopback, started and stopped with the runtime.

    By default it runs in a child process (`backend_process`), so moto does not compete with
    the runtime's own threads for one interpreter lock; `in_process=True` keeps it in this
    process (tests that race threads against it and want one process to reason about)."""

    def __init__(self, port: int = 0, *, in_process: bool = False, data_dir: Path | None = None,
                 stage: str = "local", region: str = "us-east-1") -> None:
        self._port = port
        self._in_process = in_process
        self._data_dir = data_dir
        self._stage = stage
        self._region = region
        self._server: Any = None
        self._process: subprocess.Popen[str] | None = None
        #: What was loaded from the data directory (durability.Restored's fields), if any.
        self.restored: dict[str, Any] | None = None

    def start(self) -> str:
        """Start the server (and load the data directory); DataDirError if it cannot be used."""
        if self._in_process:
            self._server, port = backend_process.serve(self._port)
            if self._data_dir is not None:
                restored = backend_process.open_data_dir(str(self._data_dir), port=port, stage=self._stage,
                                                         region=self._region)
                self.restored = json.loads(restored.line().split(" ", 1)[1])
            return f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "chalicelib.runtime.backend_process", str(self._port)]
        if self._data_dir is not None:
            command += ["--data-dir", str(self._data_dir), "--stage", self._stage, "--region", self._region]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if line.startswith("restored "):
            self.restored = json.loads(line.split(" ", 1)[1])
            line = self._process.stdout.readline()
        if not line.startswith("ready "):
            self.stop()
            if line.startswith("error "):
                raise DataDirError(line.split(" ", 1)[1].strip())
            raise RuntimeError("the embedded backend did not start (see its error above)")
        return f"http://127.0.0.1:{int(line.split()[1])}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            if self._data_dir is not None:
                from chalicelib.runtime import durability

                durability.detach()
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _kept_secret(path: Path) -> str:
    """The secret in `path`, created (mode 0600, never widened) when the file does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        kept = path.read_text().strip()
        if len(kept) < 32:
            raise ValueError(f"{path} does not hold a signing secret; remove it to make a new one") from None
        return kept
    secret = secrets.token_urlsafe(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret)
    return secret


def prepare_environment(options: LocalOptions) -> tuple[str | None, EmbeddedBackend | None]:
    """Start the backend (if embedded), create resources, and export the env the app reads."""
    backend = None
    endpoint = options.endpoint
    if endpoint is None and options.embedded:
        backend = EmbeddedBackend(options.backend_port, data_dir=options.data_dir, stage=options.stage,
                                  region=options.region)
        endpoint = backend.start()
        for key, value in _FAKE_CREDENTIALS.items():
            os.environ[key] = value
    os.environ.update(options.extra_env)
    if backend is not None and options.data_dir is not None:
        # Keys that seal what the data directory holds (the execution face's secrets) live with it:
        # a key made afresh at every start could not open what the last run sealed.
        os.environ.setdefault("TASKLANE_EXECUTION_KEY_FILE", str(options.data_dir / "execution.key"))
    # A stop asked over this runtime's API reaches a run it executes at once (engine.stop_signal),
    # so its heartbeats renew the lease at the deployed pace (5 s), one write a run fewer.
    # The laptop's user is the operator: every tenant may run commands unless narrowed.
    if options.command_tenants is not None:
        os.environ["TASKLANE_COMMAND_TENANTS"] = options.command_tenants
    os.environ.setdefault("TASKLANE_COMMAND_TENANTS", "*")
    os.environ["AWS_DEFAULT_REGION"] = options.region
    os.environ["AWS_REGION"] = options.region
    os.environ["TASKLANE_STAGE"] = options.stage
    if endpoint:
        os.environ["TASKLANE_AWS_ENDPOINT"] = endpoint
    else:
        os.environ.pop("TASKLANE_AWS_ENDPOINT", None)
    # The execution face's secrets are sealed under a key kept in a file only this user reads
    # (deployed, KMS holds it): in the data directory when there is one (set above), else in a
    # temporary directory, as short-lived as the in-memory backend.
    if not os.environ.get("TASKLANE_EXECUTION_KMS_KEY_ID"):
        os.environ.setdefault("TASKLANE_EXECUTION_KEY_FILE",
                              os.path.join(tempfile.mkdtemp(prefix="tasklane-"), "execution.key"))
    if not os.environ.get("TASKLANE_JWT_SECRET"):
        # With a data directory the signing secret is kept there (mode 0600), so tokens minted
        # before a restart still sign in after it; without one it lives as long as the process.
        kept = backend is not None and options.data_dir is not None
        os.environ["TASKLANE_JWT_SECRET"] = (_kept_secret(options.data_dir / "jwt.secret")
                                             if kept and options.data_dir is not None
                                             else secrets.token_urlsafe(32))
        os.environ["TASKLANE_JWT_SECRET_GENERATED"] = "kept" if kept else "1"
    created = create_resources(stage=options.stage, region=options.region, endpoint_url=endpoint)
    os.environ.update(created.env)
    settings.reset()
    return endpoint, backend


def _sqs_client() -> Any:
    current = settings.current()
    return aws_client("sqs", region=current.region, endpoint_url=current.endpoint_url)


@dataclass(kw_only=True)
class EventSources:
    """The running tickers and pollers, and the run slots the pollers share."""

    threads: list[Any]
    slots: RunSlots
    #: What `engine.due_signal` calls to wake the dispatcher; unsubscribed at stop.
    wake_dispatcher: due_signal.Listener | None = None

    def stop(self, *, drain_seconds: float = 5.0) -> None:
        """Stop receiving, then give the batches in flight up to `drain_seconds` to finish
        (what is left is redelivered after its visibility timeout)."""
        if self.wake_dispatcher is not None:
            due_signal.unsubscribe(self.wake_dispatcher)
        for thread in self.threads:
            thread.stopping.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.slots.wait_idle(drain_seconds)


def start_event_sources(handler_map: dict[str, Any], *, tick: float, workers: int, concurrency: int) -> EventSources:
    """Start the dispatcher and maintenance tickers and `workers` SQS pollers that together keep
    at most `concurrency` runs in flight."""
    current = settings.current()
    slots = RunSlots(concurrency)
    # Idle, the dispatcher passes every half look-ahead window (nothing stored can fall due
    # sooner); a trigger written in this process (engine.due_signal) brings the next tick's pass.
    dispatcher = Ticker(handler_map["dispatcher"], interval=tick, region=current.region, name="dispatcher",
                        idle_interval=max(tick, current.lookahead_seconds / 2))

    def wake_dispatcher(_at: datetime) -> None:
        dispatcher.poke()

    due_signal.subscribe(wake_dispatcher)
    threads: list[Any] = [
        dispatcher,
        Ticker(handler_map["maintenance"], interval=max(tick, 30.0), region=current.region, name="maintenance"),
    ]
    for _ in range(max(1, workers)):
        threads.append(
            SqsPoller(
                handler_map["run_worker"],
                sqs=_sqs_client(),
                queue_url=current.runs_queue_url,
                region=current.region,
                slots=slots,
            )
        )
    for thread in threads:
        thread.start()
    return EventSources(threads=threads, slots=slots, wake_dispatcher=wake_dispatcher)


def recover(backend: EmbeddedBackend | None) -> str | None:
    """After the backend loaded a data directory: end the runs it left running `crashed` and
    re-drive the pending ones (engine/recovery.py); returns a line saying what was done."""
    if backend is None or backend.restored is None:
        return None
    from chalicelib.engine import recovery
    from chalicelib.handlers import ensure_bound
    from chalicelib.timefmt import utcnow

    ensure_bound()
    restored = backend.restored
    done = recovery.recover_open_runs([tuple(run[:3]) for run in restored["open_runs"]], now=utcnow())
    return (f"restored {restored['items']} items and {restored['objects']} objects in {restored['seconds']:.2f} s;"
            f" {done.crashed} runs left running ended crashed, {done.redriven} pending runs re-driven")


def _chalice_config(stage: str) -> Any:
    from chalice.config import Config

    config_path = PROJECT_DIR / ".chalice" / "config.json"
    from_disk = json.loads(config_path.read_text()) if config_path.exists() else {}
    return Config.create(
        chalice_stage=stage, project_dir=str(PROJECT_DIR), config_from_disk=from_disk, app_name="tasklane"
    )


def dev_token(*, tenant: str = "dev", user: str = "developer", admin: bool = True) -> str:
    """A development token signed with the current secret."""
    from chalicelib.identity import mint_token

    return mint_token(settings.current().jwt_secret, tenant=tenant, user=user, admin=admin)


class LocalRuntime:
    """Everything `tasklane local` runs, with a clean stop.

    `load_app` gives the Chalice app to serve; it is called once the environment the app reads
    is set (the runtime never imports app.py itself: app.py is the one that imports the runtime,
    under `chalice local`)."""

    def __init__(self, options: LocalOptions, load_app: Callable[[], Any]) -> None:
        self.options = options
        self._load_app = load_app
        self._backend: EmbeddedBackend | None = None
        self._sources: EventSources | None = None
        self._http: Any = None
        self._http_thread: threading.Thread | None = None
        self.url = ""
        #: What the start found in the data directory and did about it (see `recover`).
        self.recovered: str | None = None

    def start(self) -> None:
        """Bring everything up; returns once the HTTP server is listening."""
        endpoint, self._backend = prepare_environment(self.options)
        os.environ["TASKLANE_EMBEDDED"] = "0"  # the app must not start a second backend
        app = self._load_app()
        self.recovered = recover(self._backend)
        self._http = create_server(app, _chalice_config(self.options.stage), self.options.host, self.options.port)
        host, port = self._http.server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._http_thread = threading.Thread(target=self._http.server.serve_forever, name="http", daemon=True)
        self._http_thread.start()
        make_undumpable()  # commands of this user cannot read this process's environment
        self._sources = start_event_sources(
            app.handler_map, tick=self.options.tick, workers=self.options.workers, concurrency=self.options.concurrency
        )
        self.endpoint = endpoint

    def stop(self) -> None:
        """Stop pollers and tickers, then the HTTP server, then the backend."""
        if self._sources is not None:
            self._sources.stop()
        if self._http is not None:
            self._http.server.shutdown()
            self._http.server.server_close()
        if self._backend is not None:
            self._backend.stop()


def start_for_chalice_local(app: Any) -> None:
    """Under `chalice local --stage local`: embedded backend plus event sources in this process.

    app.py hands itself over after every handler is registered; the HTTP server is chalice's
    own, with tasklane's edges (local_http.py).
    """
    options = LocalOptions(
        tick=float(os.environ.get("TASKLANE_TICK_SECONDS", "1")),
        workers=int(os.environ.get("TASKLANE_WORKERS", "2")),
        concurrency=concurrency_from_env(),
        backend_port=int(os.environ.get("TASKLANE_EMBEDDED_PORT", "0")),
    )
    if not os.environ.get("TASKLANE_EPHEMERAL"):
        options.data_dir = Path(os.environ.get("TASKLANE_DATA_DIR") or PROJECT_DIR / ".tasklane")
    os.environ["TASKLANE_EMBEDDED"] = "0"
    serve_edges_under_chalice_local()
    endpoint, backend = prepare_environment(options)
    recovered = recover(backend)
    if recovered:
        print(f"tasklane: {recovered}", flush=True)
    start_event_sources(app.handler_map, tick=options.tick, workers=options.workers, concurrency=options.concurrency)
    make_undumpable()
    print(f"tasklane: embedded backend at {endpoint}; development token:\n{dev_token()}", flush=True)
