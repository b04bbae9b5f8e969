# SPDX-License-Identifier: MIT
"""Lingering close: a client still sending a body the proxy refused (413)
can finish sending and reads the 413, instead of a reset."""

import socket
import time

from harness import recv_until_close

CONF = """
client_max_body_size 1k;
server {
    listen 127.0.0.1:{port};
    location / { return 200 "ok\\n"; }
}"""


def test_413_while_client_keeps_sending(t):
    p = t.proxy(CONF)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    try:
        s.sendall(b'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2621440\r\n\r\n')
        time.sleep(0.2)  # the 413 is sent and the server side closes its half
        for _ in range(40):
            s.sendall(b'a' * 65536)  # raises BrokenPipe/ConnectionReset on a reset
        data = recv_until_close(s)
    finally:
        s.close()
    assert data.startswith(b'HTTP/1.1 413 '), data[:80]
