# SPDX-License-Identifier: MIT
"""Client keep-alive limits: keepalive_requests closes after the Nth
response (which says Connection: close), keepalive_timeout closes an idle
connection, keepalive_timeout 0 disables keep-alive."""

import time

from harness import ConnClosed, build_request

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
