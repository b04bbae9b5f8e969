# SPDX-License-Identifier: MIT
"""Client keep-alive limits: keepalive_requests closes after the Nth
response (which says Connection: close), keepalive_timeout closes an idle
connection, keepalive_timeout 0 disables keep-alive."""

import time

from harness import ConnClosed, build_request, recv_until_close, wait_for

CONF = """
server {
    listen 127.0.0.1:{port};
    keepalive_requests 3;
    keepalive_timeout %s;
    location / { return 200 "ok\\n"; }
}"""


def test_keepalive_requests(t):
    p = t.proxy(CONF % '30s')
    c = p.conn()
    try:
        for i in range(3):
            c.send(build_request('GET', '/r%d' % i, headers={'Host': 'x'}))
            r = c.read_response()
            assert r.status == 200, r
            want = 'close' if i == 2 else 'keep-alive'
            assert (r.header('Connection') or '').lower() == want, (i, r.headers)
        c.send(build_request('GET', '/r3', headers={'Host': 'x'}))
        try:
            r = c.read_response(timeout=2)
            raise AssertionError('a 4th response on the connection: %r' % r)
        except (ConnClosed, OSError):
            pass
    finally:
        c.close()


def test_keepalive_timeout_closes_idle(t):
    p = t.proxy(CONF % '1s')
    c = p.conn()
    try:
        c.send(build_request('GET', '/', headers={'Host': 'x'}))
        assert c.read_response().status == 200
        t0 = time.monotonic()
        try:
            c.read_response(timeout=5)
            raise AssertionError('unexpected data on an idle connection')
        except ConnClosed:
            pass
        waited = time.monotonic() - t0
        assert 0.5 < waited < 4, 'idle connection closed after %.1fs' % waited
    finally:
        c.close()


def test_keepalive_timeout_zero(t):
    p = t.proxy(CONF % '0')
    c = p.conn()
    try:
        c.send(build_request('GET', '/', headers={'Host': 'x'}))
        r = c.read_response()
        assert r.status == 200
        assert (r.header('Connection') or '').lower() == 'close', r.headers
    finally:
        c.close()


def test_client_fin_after_request_closes_after_answer(t):
    """A client that sends its request and its FIN together (printf | nc,
    some health checkers) gets the answer and then the close, as nginx
    does it, for a return and a proxied answer alike: lbd took the short
    read for "drained" and kept the connection to keepalive_timeout.
    The proxied location has proxy_ignore_client_abort on: without it
    nginx and lbd alike may take the FIN, seen while the upstream has
    not answered yet, for an abort (499, no answer; epoll's EPOLLRDHUP
    racing the upstream's answer); that case is
    test_client_fin_while_proxying_is_an_abort."""
    import socket
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    keepalive_timeout 60s;
    location /r { return 200 "ok"; }
    location / { proxy_ignore_client_abort on; proxy_pass http://127.0.0.1:{b}; }
}""", b=b)
    for path, want in ((b'/r', b'ok'), (b'/p', b'"path": "/p"')):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
        s.sendall(b'GET ' + path + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        s.shutdown(socket.SHUT_WR)
        data = recv_until_close(s)  # a timeout (10 s, under keepalive_timeout) fails
        s.close()
        assert data.startswith(b'HTTP/1.1 200') and want in data, data[:300]


def test_client_fin_while_proxying_is_an_abort(t):
    """A FIN that comes while the upstream is still answering is taken
    for the client going away, as nginx does (its check for a broken
    connection): 499 logged, the connection closed without an answer,
    the upstream connection closed; with proxy_ignore_client_abort on the
    answer still goes out."""
    import socket
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/fin.log;
    location / { proxy_pass http://127.0.0.1:{b}; }
    location /keep/ { proxy_ignore_client_abort on; proxy_pass http://127.0.0.1:{b}/; }
}""", b=b)
    for path, answered in ((b'/slow/600', False), (b'/keep/slow/600', True)):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
        s.sendall(b'GET ' + path + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        b.wait_requests(1 if not answered else 2)  # the upstream has it
        s.shutdown(socket.SHUT_WR)
        data = recv_until_close(s, reset_ok=True)
        s.close()
        assert data.startswith(b'HTTP/1.1 200') == answered, (path, data[:200])
    wait_for(lambda: len(p.read('logs', 'fin.log').strip().split('\n')) == 2,
             what='two log lines')
    lines = p.read('logs', 'fin.log').strip().split('\n')
    assert '"GET /slow/600 HTTP/1.1" 499 0 ' in lines[0], lines
    assert '"GET /keep/slow/600 HTTP/1.1" 200 ' in lines[1], lines
