"""The listening socket both servers accept on sends small writes at once (TCP_NODELAY).

uvicorn writes a reply's headers and body separately; with Nagle's algorithm on (asyncio sets TCP_NODELAY only on
sockets made with proto IPPROTO_TCP, and socket.create_server's are proto 0) the body waited for the client's
delayed ACK: about 40 ms on every request of a kept-alive connection.
"""

from __future__ import annotations

import socket

from worker.serving import _bind


def test_connections_accepted_on_the_bound_socket_have_nagle_off() -> None:
    listener = _bind("127.0.0.1", 0)
    try:
        client = socket.create_connection(listener.getsockname()[:2], timeout=5)
        accepted, _ = listener.accept()
        try:
            assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)  # inherited by each connection
        finally:
            accepted.close()
            client.close()
    finally:
        listener.close()
