"""moto's server app behind a server that keeps connections open (waitress).

moto's `ThreadedMotoServer` runs werkzeug's development server, which ends every response with
`Connection: close` and then waits for stray request bytes: every AWS call the runtime made
opened a TCP connection and the server started a thread for it. Measured on
`bench/run_throughput.py`, opening connections and starting those threads was most of the
runtime's system time. waitress (a production WSGI server, pure Python) keeps HTTP/1.1
connections alive, reads each request whole before the app sees it, and runs the app on a
fixed pool of threads. The app is moto's own (`DomainDispatcherApplication`), unchanged.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

#: Requests handled at once. SQS long polls hold one each for their wait, so it is well above
#: the runtime's pollers; DynamoDB requests are serialized anyway (moto_isolation).
THREADS = 48
#: Seconds an idle connection is kept before the server closes it (botocore reopens on demand).
IDLE_SECONDS = 300


class MotoServer:
    """moto's WSGI app on `host:port` (0: any free port), served from a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from waitress.server import create_server

        logging.getLogger("waitress").setLevel(logging.ERROR)  # "Serving on ...", queue depth notes
        app = DomainDispatcherApplication(create_backend_app)
        self._map: dict[int, Any] = {}
        self._server: Any = create_server(
            app, map=self._map, host=host, port=port, threads=THREADS, channel_timeout=IDLE_SECONDS,
            connection_limit=1000, asyncore_use_poll=True, ident="tasklane-moto", clear_untrusted_proxy_headers=True,
        )
        self._thread = threading.Thread(target=self._server.run, name="moto-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket and every connection, stop the threads, wait for the loop."""
        for channel in list(self._map.values()):
            try:
                channel.handle_close()
            except OSError:
                continue  # already closed by its client: nothing left to close
        self._server.task_dispatcher.shutdown()
        self._thread.join(timeout=10)
