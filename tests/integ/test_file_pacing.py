# SPDX-License-Identifier: MIT
"""Big files (static files, cache hits) go out paced by TCP_NOTSENT_LOWAT:
lbd keeps at most ~16 KiB of a file response unsent in the client's
socket instead of filling the whole send buffer (README, HTTP behaviour).
Seen from outside with ss: a client that stops reading leaves little
"notsent" in lbd's socket; the file still arrives whole once it reads."""

import hashlib
import os
import re
import socket
import subprocess
import time

SITE = """
server {
    listen 127.0.0.1:{port};
    root {prefix}/html;
}"""


def _server_notsent(port):
    """(Send-Q, notsent) of lbd's side of the one connection on PORT."""
    out = subprocess.run(['ss', '-tniH', 'state', 'established',
                          '( sport = :%d )' % port],
                         capture_output=True, text=True).stdout
    m = re.search(r'^\S+\s+(\d+)\s+', out, re.M)
    n = re.search(r'notsent:(\d+)', out)
    return (int(m.group(1)) if m else None), (int(n.group(1)) if n else 0)


def _stalled_client(p, path):
    s = socket.create_connection(('127.0.0.1', p.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path.encode())
    # wait until lbd's socket stops taking more (its queue is stable)
    last, deadline = None, time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.2)
        cur = _server_notsent(p.port)
        if cur == last and cur[0]:
            break
        last = cur
    return s, last


def _read_all(s, want):
    s.settimeout(20)
    data = b''
    while True:
        k = s.recv(1 << 20)
        if not k:
            break
        data += k
        if b'\r\n\r\n' in data:
            head, body = data.split(b'\r\n\r\n', 1)
            if len(body) >= want:
                return head, body
    raise AssertionError('closed after %d bytes' % len(data))


def test_big_file_paced_then_whole(t):
    """A 16 MiB static file to a client that does not read: lbd's socket
    holds little unsent (without pacing it queued MiBs); then the client
    reads it all, byte for byte, and a second, small response on the
    same connection works."""
    if t.is_nginx:
        t.skip('send pacing of big files is lbd\'s (nginx queues what the '
               'socket takes)')
    p = t.proxy(SITE, start=False)
    blob = os.urandom(16 << 20)
    t.write(os.path.join(p.prefix, 'html', 'big.bin'), blob)
    t.write(os.path.join(p.prefix, 'html', 'small.txt'), 'small\n')
    p.start()
    s, (sendq, notsent) = _stalled_client(p, '/big.bin')
    t.defer(s.close)
    assert sendq is not None, 'no connection seen by ss'
    assert notsent <= 256 * 1024, \
        'lbd queued %d unsent bytes (Send-Q %d)' % (notsent, sendq)
    head, body = _read_all(s, len(blob))
    assert head.startswith(b'HTTP/1.1 200'), head
    assert hashlib.sha256(body[:len(blob)]).digest() == \
        hashlib.sha256(blob).digest()
    s.sendall(b'GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n')
    head, body = _read_all(s, 6)
    assert head.startswith(b'HTTP/1.1 200') and body == b'small\n', head
