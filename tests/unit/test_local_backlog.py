"""The local server lets many clients connect at once (http.server's default backlog is 5)."""

from __future__ import annotations

import socket

from chalice import Chalice

from chalicelib.runtime.local import _chalice_config
from chalicelib.runtime.local_http import create_server


def test_forty_clients_connecting_at_once_are_all_let_in_before_any_is_accepted():
    server = create_server(Chalice("backlog"), _chalice_config("local"), "127.0.0.1", 0)
    port = server.server.socket.getsockname()[1]
    clients = []
    try:
        for _ in range(40):  # nothing accepts: each waits in the listen backlog
            client = socket.create_connection(("127.0.0.1", port), timeout=2)
            clients.append(client)
        assert len(clients) == 40
    finally:
        for client in clients:
            client.close()
        server.server.server_close()
