# SPDX-License-Identifier: MIT
"""The proxied body relay sends with MSG_MORE while more of the body
follows (full-sized segments to the client, as HAProxy): what it sends
must still arrive whole and in order across pipelined keep-alive
responses, and bytes it has sent must not wait in the client socket for
bytes the upstream has not sent yet."""

import hashlib
import socket
import threading

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

BIG = 64 * 1024 * 1024


def _content_length(head):
    for line in head.split(b'\r\n')[1:]:
        k, _, v = line.partition(b':')
        if k.strip().lower() == b'content-length':
            return int(v.strip())
    raise AssertionError('no Content-Length in %r' % head[:200])


def _read_body(s, buf, n):
    """(sha256 hex of the next N body bytes, what followed them)."""
    h = hashlib.sha256()
    got = 0
    while True:
        take = buf[:n - got]
        h.update(take)
        got += len(take)
        buf = buf[len(take):]
        if got == n:
            return h.hexdigest(), buf
        buf = s.recv(1 << 20)
        assert buf, 'connection closed after %d of %d body bytes' % (got, n)


def _direct(port, size):
    s = socket.create_connection(('127.0.0.1', port), timeout=20)
    s.sendall(b'GET /size/%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' % size)
    head, rest = read_head(s)
    digest, _ = _read_body(s, rest, _content_length(head))
    s.close()
    return digest


def test_pipelined_64m_byte_exact(t):
    """Three pipelined requests on one connection (64 MiB, 100 B, 64 MiB):
    three answers, each byte-exact, and the connection stays open."""
    b1 = t.backend('b1')
    p = t.proxy(CONF, b1=b1)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=30)
    sizes = [BIG, 100, BIG + 12345]
    s.sendall(b''.join(b'GET /size/%d HTTP/1.1\r\nHost: x\r\n\r\n' % n for n in sizes))
    buf = b''
    for n in sizes:
        head, buf = read_head(s, pending=buf)
        assert head.startswith(b'HTTP/1.1 200'), head[:100]
        assert _content_length(head) == n, head
        digest, buf = _read_body(s, buf, n)
        assert digest == _direct(b1.port, n), 'body of /size/%d differs from the backend' % n
    assert buf == b'', 'bytes after the last answer: %r' % buf[:100]
    # still keep-alive: a fourth request on the same connection
    s.sendall(b'GET /size/10 HTTP/1.1\r\nHost: x\r\n\r\n')
    head, buf = read_head(s, pending=buf)
    assert head.startswith(b'HTTP/1.1 200'), head[:100]
    _read_body(s, buf, 10)
    s.close()


def _paused_upstream(t, first, total, released):
    """An upstream that answers with a TOTAL-byte body: FIRST bytes, then
    nothing until RELEASED is set (10 s at most), then the rest. Returns
    (port, event set when it had to give up waiting)."""
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(4)
    ls.settimeout(10)
    gave_up = threading.Event()

    def serve():
        try:
            s, _ = ls.accept()
        except OSError:
            return
        s.settimeout(10)
        try:
            _, rest = read_head(s, chunk=4096, eof_ok=True)
            if rest is None:
                return
            body = bytes((i * 7) & 0xff for i in range(total))
            s.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' % total + body[:first])
            if not released.wait(10):
                gave_up.set()
            s.sendall(body[first:])
        except OSError:
            pass
        finally:
            s.close()
    th = threading.Thread(target=serve, daemon=True)
    th.start()

    def close():
        released.set()
        th.join(2)
        ls.close()
    t.defer(close)
    return ls.getsockname()[1], gave_up


def _not_held(t, extra):
    cases = ((1000, 3000), (70000, 200000), (300001, 400000))
    ups = []
    for first, total in cases:
        released = threading.Event()
        port, gave_up = _paused_upstream(t, first, total, released)
        ups.append((port, released, gave_up))
    locs = ''.join("""
    location /u%d {
        proxy_pass http://127.0.0.1:%d;
        proxy_http_version 1.1;
        proxy_set_header Connection "";%s
    }""" % (i, u[0], extra) for i, u in enumerate(ups))
    p = t.proxy('server {\n    listen 127.0.0.1:{port};%s\n}' % locs)
    for i, ((first, total), (_, released, gave_up)) in enumerate(zip(cases, ups)):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=15)
        s.sendall(b'GET /u%d HTTP/1.1\r\nHost: x\r\n\r\n' % i)
        head, buf = read_head(s)
        assert head.startswith(b'HTTP/1.1 200'), head[:100]
        while len(buf) < first:
            d = s.recv(65536)
            assert d, 'closed after %d body bytes' % len(buf)
            buf += d
        assert not gave_up.is_set(), \
            'the first %d body bytes reached the client only after the upstream gave up' % first
        assert len(buf) == first, 'got %d bytes the upstream had not sent' % len(buf)
        released.set()
        while len(buf) < total:
            d = s.recv(65536)
            assert d, 'closed after %d of %d body bytes' % (len(buf), total)
            buf += d
        assert buf == bytes((i * 7) & 0xff for i in range(total))
        s.close()


def test_sent_bytes_not_held_for_more(t):
    """The upstream sends the head and part of the body, then waits for
    the client to have that part: it gets there (lbd pushes what it held
    with MSG_MORE when the upstream has nothing more), then the rest."""
    _not_held(t, '\n        proxy_buffering off;')


def test_sent_bytes_not_held_for_more_buffered(t):
    """The same with proxy_buffering on (the default), lbd's relay path."""
    if t.target != 'lbd':
        t.skip('nginx with proxy_buffering on keeps a part-filled buffer until it fills')
    _not_held(t, '')


# CONF with 4 MiB of proxy buffers and no temp file
RING_CONF = CONF.replace('proxy_set_header Connection "";',
                         'proxy_set_header Connection "";\n'
                         '        proxy_buffers 64 64k;\n'
                         '        proxy_max_temp_file_size 0;')


def test_unsent_capped_while_buffers_take_the_rest(t):
    """A long proxied body to a client that stops reading: while the
    proxy buffers have room, lbd keeps its client socket's unsent bytes
    under ~64 KiB (TCP_NOTSENT_LOWAT) and the buffers hold the rest
    (without the cap the socket queued MiBs, and the client's window,
    filled from its own ACKs, kept closing: bench/README.md); then the
    client reads the body whole, byte for byte."""
    if t.is_nginx:
        t.skip("the unsent cap is lbd's (nginx queues what the socket takes)")
    from test_file_pacing import _stalled_client
    b1 = t.backend('b1')
    p = t.proxy(RING_CONF, b1=b1.port)
    size = 3 << 20  # under the 4 MiB of buffers: the cap holds throughout
    s, (sendq, notsent) = _stalled_client(p, '/size/%d' % size)
    t.defer(s.close)
    assert sendq is not None, 'no connection seen by ss'
    assert notsent <= 256 * 1024, \
        'lbd queued %d unsent bytes (Send-Q %d)' % (notsent, sendq)
    s.settimeout(20)
    head, rest = read_head(s)
    assert head.startswith(b'HTTP/1.1 200'), head
    digest, _ = _read_body(s, rest, _content_length(head))
    assert digest == _direct(b1.port, size)
