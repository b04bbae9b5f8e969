# SPDX-License-Identifier: MIT
"""worker_connections: at the limit the proxy stops accepting for a while
(the kernel queues new connections) and never crashes; once connections
close, queued clients are served."""

import socket

from harness import read_head, request, wait_for

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
    server {
        listen 127.0.0.1:{port};
        location / { proxy_pass http://127.0.0.1:{b1}; }
    }
}
"""


def test_worker_connections_limit(t):
    b1 = t.backend('b1')
    p = t.proxy(conf=CONF, b1=b1)
    idle = []
    try:
        # Three times the limit: the rest wait in the listen queue.
        for _ in range(48):
            s = socket.create_connection(('127.0.0.1', p.port), timeout=2)
            idle.append(s)
        wait_for(lambda: 'worker_connections are not enough' in p.error_log(),
                 what='the "not enough" warning')
        assert p.alive(), 'proxy died at the connection limit'
    finally:
        for s in idle:
            s.close()
    # With the idle ones gone, a request is served again.
    r = wait_for(lambda: _try_get(p), timeout=10, what='service after the limit')
    assert r.status == 200 and r.backend == 'b1', r
    assert p.alive()


def _try_get(p):
    try:
        r = p.get('/after')
    except OSError:
        return None
    return r if r.status == 200 else None


def test_idle_connections_are_reused_at_the_limit(t):
    """At the limit, connections that hold no request (silent since
    accept) are closed, oldest first, to serve new clients, as nginx does
    ("reusing connections"); one in the middle of its head is kept."""
    b1 = t.backend('b1')
    p = t.proxy(conf=CONF, b1=b1)
    partial = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    idle = []
    try:
        partial.sendall(b'GET /partial HTTP/1.1\r\nHost: x\r\n')
        # make sure it is accepted (and its bytes read) before the others
        wait_for(lambda: b1.count() == 0 and _accepted_one(p), what='accept')
        for _ in range(47):
            idle.append(socket.create_connection(('127.0.0.1', p.port),
                                                 timeout=2))
        # every idle connection is still open on our side: no close yet
        r = wait_for(lambda: _try_get(p), timeout=5,
                     what='service while idle connections fill the limit')
        assert r.status == 200 and r.backend == 'b1', r
        partial.sendall(b'\r\n')
        data, _ = read_head(partial, chunk=4096)
        assert data.startswith(b'HTTP/1.1 200'), data[:100]
        assert '/partial' in b1.paths()
    finally:
        partial.close()
        for s in idle:
            s.close()


def _accepted_one(p):
    # one request on its own connection: once answered, the earlier
    # connection has been accepted too (one worker, accepts in order)
    return _try_get(p) is not None


def test_client_conns_per_ip(t):
    """lbd's client_conns_per_ip: one address may hold N connections; the
    next is reset at accept (logged), and one closing makes room. nginx
    has no such cap."""
    if t.is_nginx:
        t.skip('lbd\'s client_conns_per_ip')
    import socket
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { return 200 "ok\\n"; }
}""", main='client_conns_per_ip 5;')
    held = []

    def hold_one():
        # the harness's readiness probe may not be closed on lbd's side
        # yet: a reset here means "try again", not a failure
        s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
        try:
            s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            if s.recv(4096).startswith(b'HTTP/1.1 200'):
                held.append(s)
                return True
        except OSError:
            pass
        s.close()
        return False
    for _ in range(5):
        wait_for(hold_one, timeout=5, what='connection %d served' % (len(held) + 1))
    extra = None
    try:   # the reset may come before the request is even written
        extra = socket.create_connection(('127.0.0.1', p.port), timeout=5)
        extra.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        got = extra.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        got = b''
    assert got == b'', 'the sixth connection was served: %r' % got
    assert 'has 5 connections open (client_conns_per_ip)' in p.error_log()
    held.pop().close()

    def served():
        try:
            return request(p.port, 'GET', '/', timeout=2).status == 200
        except OSError:
            return False
    wait_for(served, timeout=5, what='room again after one closed')
    for s in held:
        s.close()
