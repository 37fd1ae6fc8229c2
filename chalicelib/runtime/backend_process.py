"""The embedded backend in a process of its own: `python -m chalicelib.runtime.backend_process [PORT]`.

The local runtime serves the API, ticks the dispatcher and runs the workers in one Python
process. A moto server inside that process would share its interpreter lock, so every request
the workers make to DynamoDB, SQS and S3 would queue behind the workers themselves (measured:
one core busy, the other idle). In a child process moto has its own lock and its own core.

The child prints `ready <port>` once it serves, ignores Ctrl-C (the runtime stops it after its
own threads, so none of them loses its backend mid-request), and exits when its standard input
closes: when the runtime stops it, or dies without a chance to.

With `--data-dir DIR --stage S --region R` it keeps its state in DIR (durability.py): before
`ready` it creates the template's resources, loads DIR and prints `restored {json}` (what it
loaded, and the runs left open); a directory it cannot use is `error <message>` and exit 2.
At exit it folds the journal into a snapshot.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import Any


def serve(port: int = 0) -> tuple[Any, int]:
    """Start a moto server on 127.0.0.1 in this process, with DynamoDB's isolation; returns the
    server and the port it took."""
    from chalicelib.runtime import moto_hot_paths, moto_indexes, moto_isolation
    from chalicelib.runtime.moto_server import MotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log would drown the runtime's
    moto_isolation.install()
    moto_indexes.install()  # queries cost what they return, as on DynamoDB
    moto_hot_paths.install()  # routing and SQS receives cost no more as the backend fills
    server = MotoServer("127.0.0.1", port)  # moto's app, connections kept open
    server.start()
    return server, server.port


def open_data_dir(data_dir: str, *, port: int, stage: str, region: str) -> Any:
    """Create the template's resources on the server at `port` and load `data_dir` into it;
    returns durability.Restored (DataDirError if the directory cannot be used)."""
    import os

    from chalicelib.runtime import durability
    from chalicelib.runtime.resources import create_resources

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "testing")
    created = create_resources(stage=stage, region=region, endpoint_url=f"http://127.0.0.1:{port}")
    from chalicelib.runtime import moto_indexes

    # Loading fills moto's tables directly: their query indexes are built again from what loaded.
    if moto_indexes.forget not in durability.AFTER_LOAD:
        durability.AFTER_LOAD.append(moto_indexes.forget)
    return durability.attach(Path(data_dir), runs_table=created.env.get("TASKLANE_RUNS_TABLE"))


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="backend_process")
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--data-dir")
    parser.add_argument("--stage", default="local")
    parser.add_argument("--region", default="us-east-1")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # through `finally`: the snapshot is written
    server, bound = serve(args.port)
    from chalicelib.runtime import durability
    from chalicelib.runtime.journal import DataDirError

    try:
        if args.data_dir:
            try:
                restored = open_data_dir(args.data_dir, port=bound, stage=args.stage, region=args.region)
            except DataDirError as exc:
                print(f"error {exc}", flush=True)
                sys.exit(2)
            except OSError as exc:  # not writable, no space, ...
                print(f"error cannot use {args.data_dir}: {exc}", flush=True)
                sys.exit(2)
            print(restored.line(), flush=True)
        print(f"ready {bound}", flush=True)
        sys.stdin.read()  # blocks until the runtime closes the pipe (or is gone)
    finally:
        server.stop()
        durability.detach()


if __name__ == "__main__":
    main()
