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


def main(argv: list[str] | None = None) -> None:
    from moto.server import ThreadedMotoServer

    from chalicelib.runtime import moto_isolation

    args = sys.argv[1:] if argv is None else argv
    port = int(args[0]) if args else 0
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log would drown the runtime's
    moto_isolation.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    _, bound = server.get_host_and_port()
    print(f"ready {bound}", flush=True)
    try:
        sys.stdin.read()  # blocks until the runtime closes the pipe (or is gone)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
