# SPDX-License-Identifier: MIT
"""Backpressure: a client that stops reading a large proxied response does
not make the proxy hold the body in memory; the transfer completes intact
once the client reads again."""

import hashlib
import socket
import time

from harness import read_head

CONF = """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b1};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}"""

SIZE = 128 * 1024 * 1024


def _rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def _direct_sha256(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    s.sendall(b'GET /size/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
              % SIZE)
    _, rest = read_head(s)
    _, digest = _read_rest(s, rest)
    s.close()
    return digest


def _read_rest(s, body):
    """Read the rest of a SIZE-byte body whose first bytes are BODY:
    (bytes received, sha256 hex digest)."""
    h = hashlib.sha256(body)
    n = len(body)
    while n < SIZE:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        n += len(chunk)
        h.update(chunk)
    return n, h.hexdigest()


def test_slow_reader_memory_bounded(t):
    if t.target != 'lbd':
        t.skip('nginx buffers into temp files in a separate worker process')
    b1 = t.backend('b1')
    p = t.proxy(CONF, b1=b1)
    before = _rss_kib(p.pid)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.sendall(b'GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n' % SIZE)
    got = s.recv(65536)
    assert got.startswith(b'HTTP/1.1 200'), got[:100]
    # Stop reading while the backend could send the whole body.
    time.sleep(1.0)
    grown = _rss_kib(p.pid) - before
    assert grown < 16 * 1024, 'proxy RSS grew by %d KiB for a stalled client' % grown
    # Read the rest: the body arrives complete.
    n, digest = _read_rest(s, got.partition(b'\r\n\r\n')[2])
    s.close()
    assert n == SIZE, 'got %d of %d body bytes' % (n, SIZE)
    assert digest == _direct_sha256(b1.port), 'body differs from the backend'
    assert _rss_kib(p.pid) - before < 16 * 1024
