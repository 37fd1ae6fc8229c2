"""The `tasklane` command: `local`, `token`, `schedule next`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from chalicelib.cli import schedule_cmd
from chalicelib.permissions import Role


def _add_local(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("local", help="run the API, dispatcher and workers on this machine")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--tick", type=float, default=1.0, help="seconds between dispatcher ticks (default 1)")
    p.add_argument("--workers", type=_at_least_one, default=2,
                   help="threads polling the runs queue; each hands its batches off and polls again (default 2)")
    p.add_argument("--concurrency", type=_at_least_one, metavar="N",
                   help="runs in flight at once; past it messages wait in the queue"
                        " (default $TASKLANE_WORKER_CONCURRENCY or 32)")
    p.add_argument("--endpoint", help="an external AWS-compatible endpoint instead of the embedded one")
    p.add_argument("--no-embedded", action="store_true", help="use real AWS (credentials from the environment)")
    kept = p.add_mutually_exclusive_group()
    kept.add_argument("--data-dir", metavar="PATH", default=".tasklane",
                      help="where the embedded backend keeps tasks, runs and logs across restarts"
                           " (default ./.tasklane)")
    kept.add_argument("--ephemeral", action="store_true",
                      help="keep nothing: the embedded backend's state lives in memory and is lost at stop")
    p.add_argument("--tenant", default="dev", help="tenant of the printed development token")
    p.add_argument("--daemon-config", metavar="PATH", help="a runwisp.toml file to load for the daemon face")
    p.add_argument("--daemon-tenant", help="tenant that owns the file's tasks (default: --tenant)")
    p.add_argument("--command-tenants", metavar="LIST",
                   help="tenants allowed to run commands: a comma list or '*' (default: "
                        "$TASKLANE_COMMAND_TENANTS, else every tenant)")
    p.set_defaults(run=_run_local)


def _at_least_one(raw: str) -> int:
    if not raw.strip().isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def _run_local(args: argparse.Namespace) -> int:
    from chalicelib.runtime.local import LocalOptions, LocalRuntime, concurrency_from_env, dev_token

    try:
        concurrency = args.concurrency or concurrency_from_env()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = LocalOptions(
        host=args.host,
        port=args.port,
        tick=args.tick,
        workers=args.workers,
        concurrency=concurrency,
        endpoint=args.endpoint,
        embedded=not args.no_embedded,
        command_tenants=args.command_tenants,
        data_dir=None if args.ephemeral else Path(args.data_dir).resolve(),
    )
    if args.daemon_config:
        os.environ["TASKLANE_DAEMON_CONFIG"] = daemon_config_source(args.daemon_config)
        os.environ["TASKLANE_DAEMON_TENANT"] = args.daemon_tenant or args.tenant
    # Locally nothing sits in front of the API, so `wait=true` may hold for its full wait_timeout.
    os.environ.setdefault("TASKLANE_MAX_HOLD_SECONDS", "3600")
    from chalicelib.runtime.journal import DataDirError

    runtime = LocalRuntime(options, load_app=_load_app)
    try:
        runtime.start()
    except DataDirError as exc:
        print(f"error: data directory: {exc}", file=sys.stderr, flush=True)
        return 2
    if args.daemon_config and not _load_daemon_config():
        runtime.stop()
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"tasklane {runtime.url} (backend: {runtime.endpoint or 'AWS'})", flush=True)
    print(f"{options.workers} pollers, at most {options.concurrency} runs in flight", flush=True)
    if options.embedded and options.endpoint is None:
        print(f"data: {options.data_dir} ({runtime.recovered})" if options.data_dir
              else "data: in memory only (--ephemeral): lost at stop", flush=True)
    generated = os.environ.get("TASKLANE_JWT_SECRET_GENERATED")
    if generated == "kept":
        print(f"token signing secret: {options.data_dir}/jwt.secret (kept: tokens outlive a restart)", flush=True)
    elif generated:
        print(f"TASKLANE_JWT_SECRET={os.environ['TASKLANE_JWT_SECRET']}  (generated for this run)", flush=True)
    print(f"TOKEN={dev_token(tenant=args.tenant)}", flush=True)
    print("ready; Ctrl-C stops", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("stopping", flush=True)
    runtime.stop()
    print("stopped", flush=True)
    return 0


def daemon_config_source(argument: str) -> str:
    """Where `--daemon-config` points: an `s3://` name as given, a path made absolute."""
    from chalicelib.engine.config_source import is_s3

    return argument if is_s3(argument) else os.path.abspath(argument)


def _load_app() -> Any:
    """app.py's Chalice app (imported once the runtime has set the environment it reads)."""
    from chalicelib.runtime.local import PROJECT_DIR

    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    import app

    return app.app


def _load_daemon_config() -> bool:
    """Apply the daemon face's file at start-up; False (with the reason printed) if it is broken."""
    from chalicelib.engine.config_source import read_source
    from chalicelib.errors import TasklaneError
    from chalicelib.faces.daemon import catalog
    from chalicelib.faces.daemon.config_file import parse_config
    from chalicelib.handlers import ensure_bound
    from chalicelib.timefmt import utcnow

    ensure_bound()
    tenant, source = os.environ["TASKLANE_DAEMON_TENANT"], os.environ["TASKLANE_DAEMON_CONFIG"]
    try:
        result = catalog.apply_file(tenant, parse_config(read_source(source)), now=utcnow())
        started = catalog.start_up(tenant, now=utcnow())
    except TasklaneError as exc:
        where = f" at {exc.problems[0].location}" if exc.problems else ""
        print(f"daemon config {source}: {exc.message}{where}", file=sys.stderr, flush=True)
        return False
    print(f"daemon config {source} loaded for tenant {tenant}: {len(result.added)} added,"
          f" {len(result.changed)} changed, {len(result.removed)} removed; {started} started on start-up",
          flush=True)
    return True


def _add_token(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("token", help="print a bearer token signed with TASKLANE_JWT_SECRET")
    p.add_argument("--tenant", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--admin", action="store_true", help="grant the admin role (same as --role admin)")
    p.add_argument("--role", action="append", default=[], choices=[role.value for role in Role],
                   help="grant a role (repeatable): admin defines tasks; operator runs, stops and restarts")
    p.add_argument("--actor-kind")
    p.add_argument("--session")
    p.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds (default 12 h)")
    p.add_argument("--secret", help="signing secret (default: $TASKLANE_JWT_SECRET, else the one "
                                    "`tasklane local` keeps in DATA_DIR/jwt.secret)")
    p.add_argument("--data-dir", default=".tasklane", help="where `tasklane local` keeps its data (default .tasklane)")
    p.set_defaults(run=_run_token)


def _run_token(args: argparse.Namespace) -> int:
    from chalicelib.errors import ValidationError
    from chalicelib.identity import mint_token

    secret = args.secret or os.environ.get("TASKLANE_JWT_SECRET", "")
    kept = Path(args.data_dir) / "jwt.secret"
    if not secret and kept.is_file():
        secret = kept.read_text().strip()
    try:
        token = mint_token(
            secret,
            tenant=args.tenant,
            user=args.user,
            admin=args.admin,
            roles=args.role,
            actor_kind=args.actor_kind,
            session=args.session,
            ttl_seconds=args.ttl,
        )
    except ValidationError as exc:
        print(f"error: {exc.location}: {exc.message}", file=sys.stderr)
        return 2
    print(token)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tasklane", description="task scheduler and work queue")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_local(subparsers)
    _add_token(subparsers)
    schedule_cmd.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tasklane` console script."""
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
