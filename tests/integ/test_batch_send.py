# SPDX-License-Identifier: MIT
"""Upstream requests sent in batches: lbd sends the requests of one event
round that go to reused keep-alive connections in one io_uring system call
(userspace/uring.c). The proxy is stopped (SIGSTOP) while the clients send,
so that all their requests arrive in one round; the answers must be each
client's own, and lbd's stats must show the batch. (A batch whose sends
fail is covered by tests/unit/test_uring.c's results and the error
mapping in up_send_done(); a backend's reset cannot be ordered
reliably before the requests here: which event a proxy handles first
decides whether its send fails or it reconnects.)"""

import hashlib
import json
import os
import signal
import subprocess
import time

from harness import Conn

N = 12  # clients, each with a request in the same round

CONF = """
upstream app {
    server 127.0.0.1:{bport};
    keepalive 32;
}
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}"""


def _stopped(t, p):
    """The processes to SIGSTOP so that nothing is read: lbd's one, or
    nginx's workers."""
    if t.target == 'nginx':
        with open('/proc/%d/task/%d/children' % (p.pid, p.pid)) as f:
            return [int(x) for x in f.read().split()]
    return [p.pid]


def _round(t, p, conns, tag):
    """One request per client, all sent while the proxy is stopped; each
    answer is the client's own path and body."""
    pids = _stopped(t, p)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        for i, c in enumerate(conns):
            body = b'%s-%d' % (tag, i) * 50
            c.send(b'POST /%s/%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n'
                   % (tag, i, len(body)) + body)
        time.sleep(0.2)  # every request is in the proxy's sockets
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    for i, c in enumerate(conns):
        r = c.read_response()
        body = b'%s-%d' % (tag, i) * 50
        assert r.status == 200, (i, r)
        d = r.json()
        assert d['target'] == '/%s/%d' % (tag.decode(), i), (i, d['target'])
        assert d['body_sha256'] == hashlib.sha256(body).hexdigest(), (i, d['body_len'])


def _batched(t, p):
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock'), 'stats', '--json'],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)['batched_sends']


def test_batched_requests_answered(t):
    be = t.backend('b')
    p = t.proxy(CONF, bport=be.port)
    conns = [Conn(p.port) for _ in range(N)]
    for c in conns:
        t.defer(c.close)
    # the first round opens the upstream connections, the second reuses
    # them: one batch of N sends
    _round(t, p, conns, b'a')
    opened = be.connections
    assert opened >= 2, opened
    _round(t, p, conns, b'b')
    if t.target == 'lbd':
        # (nginx's workers answer some of a round before reading the
        # rest, and open fewer connections in the first round)
        assert be.connections == opened, ('the second round reused them', opened, be.connections)
        b = _batched(t, p)
        assert b['sends'] >= 2 and 1 <= b['calls'] < b['sends'], b
