# SPDX-License-Identifier: MIT
"""Slowloris from many addresses (issue 8 item 1): connections that send
a request head byte by byte from 127.0.0.2..13, two each (under any
per-address cap), fill worker_connections. lbd then closes the ones that
have been at their head longest (over 1 s), oldest first, so that a
normal client is served; nginx (which only reuses silent and keep-alive
connections) closes the normal client's connection at once, until
client_header_timeout frees a slot."""

import socket
import time

from harness import Conn, ConnClosed, wait_for

CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/logs/nginx.pid;
error_log {prefix}/logs/error.log info;
events {
    worker_connections 16;
}
http {
    access_log {prefix}/logs/access.log;
    client_header_timeout 30s;
    server {
        listen 127.0.0.1:{port};
        location / { proxy_pass http://127.0.0.1:{b1}; }
    }
}
"""


def test_slow_heads_from_many_addresses(t):
    if t.is_nginx:
        t.skip('nginx reuses only idle connections: with every slot in a '
               'slow head it closes the normal client at once')
    b1 = t.backend('b1')
    p = t.proxy(conf=CONF, b1=b1)
    slow = []
    try:
        for a in range(12):  # 12 addresses x 2 = 24 > worker_connections 16
            for _ in range(2):
                s = socket.socket()
                s.settimeout(2)
                s.bind(('127.0.0.%d' % (2 + a), 0))
                s.connect(('127.0.0.1', p.port))
                s.sendall(b'GET /slow HTTP/1.1\r\nHost: x\r\n')
                slow.append(s)
                # one at a time: each head read before the next accept, so
                # that none looks silent (those are reused first)
                time.sleep(0.03)
        # 16 heads read and over a second old, the rest queued
        time.sleep(1.2)

        def served():
            try:
                with Conn(p.port, timeout=3) as c:
                    return c.request('GET', '/normal').status == 200
            except (OSError, ConnClosed):
                return False
        wait_for(served, timeout=10, what='a normal client served')
        assert 'slow to send their request head' in p.error_log()
        assert '/slow' not in b1.paths()
        assert p.alive()
    finally:
        for s in slow:
            s.close()
