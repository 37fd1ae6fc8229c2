"""The embedded backend in a process of its own: `python -m chalicelib.runtime.backend_process [PORT]`.

The local runtime serves the API, ticks the dispatcher and runs the workers in one Python
process. A moto server inside that process would share its interpreter lock, so every request
the workers make to DynamoDB, SQS and S3 would queue behind the workers themselves (measured:
one core busy, the other idle). In a child process moto has its own lock and its own core.

The child prints `ready <port>` once it serves, ignores Ctrl-C (the runtime stops it after its
own threads, so none of them loses its backend mid-request), and exits when its standard input
closes: when the runtime stops it, or dies without a chance to.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Any


def serve(port: int = 0) -> tuple[Any, int]:
    """Start a moto server on 127.0.0.1 in this process, with DynamoDB's isolation; returns the
    server and the port it took."""
    from moto.server import ThreadedMotoServer

    from chalicelib.runtime import moto_indexes, moto_isolation

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log would drown the runtime's
    moto_isolation.install()
    moto_indexes.install()  # queries cost what they return, as on DynamoDB
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, server.get_host_and_port()[1]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server, bound = serve(int(args[0]) if args else 0)
    print(f"ready {bound}", flush=True)
    try:
        sys.stdin.read()  # blocks until the runtime closes the pipe (or is gone)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
