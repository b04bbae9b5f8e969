# SPDX-License-Identifier: MIT
"""Request body buffering (issue 7 item 6): `proxy_request_buffering on`
(the default) reads the whole body before the upstream is contacted;
`off` sends it upstream as it arrives, with backpressure both ways: a
backend that does not read stops the proxy reading the client. Chunked
bodies go upstream chunked with proxy_http_version 1.1 and are read whole
with 1.0 (nginx cannot send chunks to an HTTP/1.0 server);
proxy_next_upstream does not resend a body that has started to go; 413,
client_body_timeout, the access log and HTTP/2 keep working.

The backend here is this file's own: it records, per request, when the
head and each body byte arrived, and can hold off reading the body."""

import hashlib
import os
import re
import socket
import struct
import subprocess
import threading
import time

from harness import read_head, recv_until_close, wait_for


class StreamBackend:
    """HTTP/1.x backend that records a request as it arrives: .reqs holds
    one dict per request with 'head' (bytes), 'raw' (body bytes as
    received, framing included), 'done'. While .gate is clear it reads
    nothing past the head. Answers 200 with the SHA-256 of the decoded
    body once the body is complete; with close=True it closes the
    connection after the head instead."""

    def __init__(self, close=False):
        self.close_after_head = close
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.reqs = []
        self.nconn = 0
        self.gate = threading.Event()
        self.gate.set()
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closing = True
        self.gate.set()
        self.lsock.close()

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.nconn += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        # small receive buffer: what the backend has not read stays close
        # to the proxy
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        c.settimeout(60)
        try:
            head, buf = read_head(c, eof_ok=True)
            if buf is None:
                return
            rec = {'head': head + b'\r\n\r\n', 'raw': bytearray(buf), 'done': False}
            self.reqs.append(rec)
            if self.close_after_head:
                return
            h = head.lower()
            m = re.search(rb'\r\ncontent-length: *(\d+)', h)
            chunked = b'transfer-encoding: chunked' in h
            while True:
                if m and len(rec['raw']) >= int(m.group(1)):
                    break
                if chunked and _dechunk(rec['raw']) is not None:
                    break
                if not m and not chunked:
                    break
                self.gate.wait(60)
                d = c.recv(65536)
                if not d:
                    return
                rec['raw'] += d
            body = _dechunk(rec['raw']) if chunked else bytes(rec['raw'])
            rec['body'] = body
            rec['done'] = True
            out = hashlib.sha256(body).hexdigest().encode()
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s'
                      % (len(out), out))
        except OSError:
            return
        finally:
            c.close()


def _dechunk(raw):
    """The decoded body of a complete chunked body, or None if incomplete."""
    out, i = b'', 0
    while True:
        j = raw.find(b'\r\n', i)
        if j < 0:
            return None
        size = int(raw[i:j].split(b';')[0], 16)
        if size == 0:
            return out if raw.find(b'\r\n\r\n', j - 2) >= 0 else None
        if len(raw) < j + 2 + size + 2:
            return None
        out += raw[j + 2:j + 2 + size]
        i = j + 2 + size + 2


CONF = """
log_format rb '$request $status $request_length $upstream_addr';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/rb.log rb;
    client_max_body_size 64m;
    location / {
        proxy_pass http://127.0.0.1:{b};
        %s
    }
}"""


def _setup(t, extra=''):
    b = StreamBackend()
    t.defer(b.close)
    p = t.proxy(CONF % extra, b=b.port)
    return b, p


def _open(p, head):
    s = socket.create_connection(('127.0.0.1', p.port), timeout=30)
    s.sendall(head)
    return s


def _response(s):
    data = recv_until_close(s)
    s.close()
    return data


HALF = b'a' * 5000


def test_request_buffering_on_reads_first(t):
    """Default (on): the upstream is not contacted while the body is still
    coming; then it gets the whole body with a Content-Length."""
    b, p = _setup(t)
    s = _open(p, b'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n'
              b'Connection: close\r\n\r\n' + HALF)
    time.sleep(0.5)  # a negative check: nothing may reach the backend
    assert b.nconn == 0 and not b.reqs
    s.sendall(HALF)
    data = _response(s)
    assert data.startswith(b'HTTP/1.1 200'), data
    assert data.endswith(hashlib.sha256(HALF * 2).hexdigest().encode())
    assert b'content-length: 10000' in b.reqs[0]['head'].lower()


def test_request_buffering_off_streams(t):
    """off: the backend has the head and the first half of the body while
    the client still holds the second half; the body arrives exact, with
    the client's Content-Length; the access log has $request_length."""
    b, p = _setup(t, 'proxy_request_buffering off;')
    head = (b'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n'
            b'Connection: close\r\n\r\n')
    s = _open(p, head + HALF)
    wait_for(lambda: b.reqs and len(b.reqs[0]['raw']) == len(HALF), 10,
             what='the first half upstream before the client sent the rest')
    assert b'content-length: 10000' in b.reqs[0]['head'].lower()
    s.sendall(HALF)
    data = _response(s)
    assert data.startswith(b'HTTP/1.1 200'), data
    assert data.endswith(hashlib.sha256(HALF * 2).hexdigest().encode())
    wait_for(lambda: 'POST /x' in p.read('logs', 'rb.log'), 5, what='access log')
    line = p.read('logs', 'rb.log').strip().splitlines()[-1]
    assert line.startswith('POST /x HTTP/1.1 200 %d ' % (len(head) + 10000)), line


def _chunked(parts):
    return b''.join(b'%x\r\n%s\r\n' % (len(x), x) for x in parts)


def test_request_buffering_off_chunked_http11(t):
    """off with proxy_http_version 1.1: a chunked body goes upstream
    chunked, as it arrives; decoded, it is the client's (20,000 one-byte
    chunks with bare LFs among them: re-framed they grow by half)."""
    b, p = _setup(t, 'proxy_request_buffering off; proxy_http_version 1.1;')
    s = _open(p, b'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
              b'Connection: close\r\n\r\n' + _chunked([HALF]))
    wait_for(lambda: b.reqs and HALF in b.reqs[0]['raw'], 10,
             what='the first chunk upstream before the client sent the rest')
    h = b.reqs[0]['head'].lower()
    assert b'transfer-encoding: chunked' in h and b'content-length' not in h, h
    s.sendall(_chunked([b'b' * 3]) + b'1\nq\n' * 20000 + _chunked([b'c' * 70000]) +
              b'0\r\n\r\n')
    data = _response(s)
    body = HALF + b'bbb' + b'q' * 20000 + b'c' * 70000
    assert data.startswith(b'HTTP/1.1 200'), data
    assert data.endswith(hashlib.sha256(body).hexdigest().encode())
    assert b.reqs[0]['body'] == body


def test_request_buffering_off_chunked_http10(t):
    """off with the default proxy_http_version 1.0: a chunked body is read
    whole first (its length must be sent), as with on."""
    b, p = _setup(t, 'proxy_request_buffering off;')
    s = _open(p, b'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n'
              b'Connection: close\r\n\r\n' + _chunked([HALF]))
    time.sleep(0.5)  # a negative check: nothing may reach the backend
    assert b.nconn == 0 and not b.reqs
    s.sendall(_chunked([HALF]) + b'0\r\n\r\n')
    data = _response(s)
    assert data.startswith(b'HTTP/1.1 200'), data
    h = b.reqs[0]['head'].lower()
    assert b'content-length: 10000' in h and b'chunked' not in h, h


def test_request_buffering_off_backpressure(t):
    """off: a backend that does not read stops the proxy reading the
    client (the client cannot push more than the kernel's buffers hold);
    once it reads, everything arrives exact."""
    b, p = _setup(t, 'proxy_request_buffering off;')
    # What the kernel may hold is the proxy's receive buffer towards the
    # client (autotuned up to tcp_rmem's max while the proxy was reading)
    # and its send buffer towards the backend (tcp_wmem's max): the client
    # must stall within those and some slack, with a body bigger than
    # that (and within client_max_body_size, 64m).
    with open('/proc/sys/net/ipv4/tcp_rmem') as f:
        rmem = int(f.read().split()[2])
    with open('/proc/sys/net/ipv4/tcp_wmem') as f:
        wmem = int(f.read().split()[2])
    bound = min(rmem + wmem + (8 << 20), 48 << 20)
    size = 60 << 20
    b.gate.clear()
    s = _open(p, b'POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n'
              b'Connection: close\r\n\r\n' % size)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    block = bytes(range(256)) * 256
    sent = 0
    s.setblocking(False)
    stalled_since = None
    while sent < size:
        try:
            o = sent % len(block)
            sent += s.send(block[o:o + min(len(block) - o, size - sent)])
            stalled_since = None
        except BlockingIOError:
            now = time.monotonic()
            stalled_since = stalled_since or now
            if now - stalled_since > 1.5:
                break
            time.sleep(0.01)
    assert sent < bound, 'the client pushed %d of %d bytes (bound %d)' % (sent, size, bound)
    b.gate.set()
    s.setblocking(True)
    s.settimeout(60)
    while sent < size:
        o = sent % len(block)
        n = min(len(block) - o, size - sent)
        s.sendall(block[o:o + n])
        sent += n
    data = _response(s)
    h = hashlib.sha256()
    for _ in range(size // len(block)):
        h.update(block)
    assert data.startswith(b'HTTP/1.1 200'), data[:300]
    assert data.endswith(h.hexdigest().encode()), data[:300]


def test_request_buffering_off_next_upstream(t):
    """proxy_next_upstream error with off: a PUT whose body has started to
    go to a server that drops the connection is not resent: 502. A body
    that all came with the head is (nginx then handles it as a buffered
    one), and so is one whose first server refused the connection (nothing
    was sent); that one still streams to the next server."""
    bad, good = StreamBackend(close=True), StreamBackend()
    t.defer(bad.close)
    t.defer(good.close)
    dead = t.dead_port()
    conf = """
upstream u { server 127.0.0.1:{bad} max_fails=0; server 127.0.0.1:{good} max_fails=0; }
upstream d { server 127.0.0.1:{dead} max_fails=0; server 127.0.0.1:{good} max_fails=0; }
server {
    listen 127.0.0.1:{port};
    location /on/ { proxy_pass http://u; }
    location /off/ { proxy_pass http://u; proxy_request_buffering off; }
    location /dead/ { proxy_pass http://d; proxy_request_buffering off; }
}"""
    p = t.proxy(conf, bad=bad.port, good=good.port, dead=dead)
    body = b'z' * 1000

    def put(path, seen=None):
        """PUT with the body in two parts; the second once SEEN (a
        backend) has the head, when given."""
        n = len(seen.reqs) if seen else 0
        s = _open(p, b'PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n'
                  b'Connection: close\r\n\r\n%s' % (path.encode(), body[:500] if seen else body))
        if seen:
            wait_for(lambda: len(seen.reqs) > n, 10, what='the head upstream')
            try:
                s.sendall(body[500:])
            except OSError:
                pass  # the proxy may have answered and closed already
        return _response(s)

    # round robin: bad, good, then bad again
    assert put('/off/', bad).startswith(b'HTTP/1.1 502')
    assert (len(bad.reqs), len(good.reqs)) == (1, 0)  # not retried
    r = put("/on/")
    assert r.startswith(b"HTTP/1.1 200"), r  # good turn
    assert (len(bad.reqs), len(good.reqs)) == (1, 1), (len(bad.reqs), len(good.reqs))
    r = put('/off/')  # all with the head: retried
    assert r.startswith(b'HTTP/1.1 200'), r
    assert (len(bad.reqs), len(good.reqs)) == (2, 2), (len(bad.reqs), len(good.reqs))
    data = put('/dead/x', good)
    assert data.startswith(b'HTTP/1.1 200'), data
    assert good.reqs[-1]['body'] == body


def test_request_buffering_off_413(t):
    """off: a chunked body over client_max_body_size is still 413 (the
    backend may have seen its start), a declared one is 413 at once."""
    b, p = _setup(t, 'proxy_request_buffering off; proxy_http_version 1.1; '
                  'client_max_body_size 8k;')
    s = _open(p, b'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
              + _chunked([HALF, HALF]) + b'0\r\n\r\n')
    data = _response(s)
    assert data.startswith(b'HTTP/1.1 413'), data
    s = _open(p, b'POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 9000\r\n\r\n')
    data = _response(s)
    assert data.startswith(b'HTTP/1.1 413'), data
    wait_for(lambda: p.read('logs', 'rb.log').count(' 413 ') == 2, 5, what='log')


def test_request_buffering_body_timeout(t):
    """client_body_timeout, on and off (where the backend already waits
    for the rest of the body): 408 logged, the client closed without an
    answer."""
    for mode in ('on', 'off'):
        b, p = _setup(t, 'proxy_request_buffering %s; client_body_timeout 1s;' % mode)
        s = _open(p, b'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n' + HALF)
        if mode == 'off':
            wait_for(lambda: b.reqs and len(b.reqs[0]['raw']) == len(HALF), 10,
                     what='first half')
        data = _response(s)  # closed by the timeout
        assert data == b'', (mode, data)
        wait_for(lambda: 'POST /x' in p.read('logs', 'rb.log'), 5, what='access log')
        assert ' 408 ' in p.read('logs', 'rb.log'), p.read('logs', 'rb.log')
        assert not b.reqs or not b.reqs[0]['done']
        p.stop()


CUT_CONF = """
log_format cut '$request $status $request_length $bytes_sent';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/cut.log cut;
    client_max_body_size 1m;
    location /on/ { proxy_pass http://127.0.0.1:{b}; }
    location /off/ {
        proxy_request_buffering off;
        proxy_http_version 1.1;
        proxy_pass http://127.0.0.1:{b};
    }
    location /static/ { root {prefix}/html; }
}"""


def _cut_line(p, path):
    """The access log line of PATH (its request, status, $request_length,
    $bytes_sent), once written."""
    def line():
        for ln in p.read('logs', 'cut.log').splitlines():
            if ln.startswith('POST %s ' % path):
                return ln
        return None
    return wait_for(line, 10, what='the line of %s' % path)


def _info_line(p, text):
    """Wait for the error log line holding TEXT; it is an [info] one."""
    def find():
        return [ln for ln in p.error_log().splitlines() if text in ln]
    ln = wait_for(find, 5, what=text)[0]
    assert '[info] ' in ln, ln


def _close(s, rst):
    if rst:  # a reset instead of a FIN
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()


def test_request_body_client_gone(t):
    """A client that goes away mid-body (Content-Length 100000 or a chunk
    that size, 20000 bytes sent, then a FIN or a reset), as nginx: 400
    logged; $request_length the head and the body bytes
    read, $bytes_sent 0; the info line "client prematurely closed
    connection" (a FIN) or "recv() failed (104: ...)" (a reset), bare
    under proxy_request_buffering on (the upstream never sees the
    request) and "while sending request to upstream" with the upstream
    under off (the upstream has the head and the bytes, never the end).
    A static file answers a POST 405 at once, the body unread."""
    b = StreamBackend()
    t.defer(b.close)
    p = t.proxy(CUT_CONF, b=b.port)
    os.makedirs(p.path('html', 'static'))
    with open(p.path('html', 'static', 'f'), 'w') as f:
        f.write('file')
    body = b'z' * 20000
    for mode in ('on', 'off'):
        for kind in ('cl', 'chunked'):
            for rst in (False, True):
                path = '/%s/%s-%s' % (mode, kind, 'rst' if rst else 'fin')
                if kind == 'cl':
                    head = b'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' % \
                        path.encode()
                    sent = body
                else:
                    head = b'POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' % \
                        path.encode()
                    sent = b'186a0\r\n' + body
                s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
                s.sendall(head + sent)
                if mode == 'off':
                    def got():
                        r = [r for r in b.reqs if r['head'].startswith(b'POST %s ' % path.encode())]
                        return r and r[0]['raw'].count(b'z') == len(body) and r[0]
                    rec = wait_for(got, 10, what='the body at the backend (%s)' % path)
                elif rst:
                    # the body read (spooled: its line), so that the
                    # reset drops nothing
                    wait_for(lambda: 'request: "POST %s ' % path in p.error_log(), 10,
                             what='the spool line of %s' % path)
                _close(s, rst)
                ln = _cut_line(p, path)
                req, status, rl, bs = ln.rsplit(' ', 3)
                assert (status, bs) == ('400', '0'), ln
                if mode == 'on' and rst:
                    assert len(head) < int(rl) <= len(head) + len(sent), ln
                else:
                    assert int(rl) == len(head) + len(sent), (ln, len(head) + len(sent))
                what = ('recv() failed (104: Connection reset by peer)' if rst
                        else 'client prematurely closed connection')
                ctx = ', client: 127.0.0.1, server: , request: "POST %s HTTP/1.1"' % path
                if mode == 'on':
                    want = '%s%s, host: "x"' % (what, ctx)
                    assert not [r for r in b.reqs if path.encode() in r['head']], path
                else:
                    want = ('%s while sending request to upstream%s, upstream: '
                            '"http://127.0.0.1:%d%s", host: "x"' % (what, ctx, b.port, path))
                    assert not rec['done'], path
                _info_line(p, want)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(b'POST /static/f HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + body)
    assert s.recv(100).startswith(b'HTTP/1.1 405 ')
    s.close()
    ln = _cut_line(p, '/static/f')
    assert ln.split()[-3:-1] == ['405', str(len(b'POST /static/f HTTP/1.1\r\nHost: x\r\n'
                                                 b'Content-Length: 100000\r\n\r\n'))], ln


def _syn_sent_to(port):
    """Whether a socket of this host is in SYN-SENT towards 127.0.0.1:PORT."""
    with open('/proc/net/tcp') as f:
        for ln in f.readlines()[1:]:
            rem, st = ln.split()[2:4]
            if st == '02' and rem == '0100007F:%04X' % port:
                return True
    return False


def test_request_body_client_gone_while_connecting(t):
    """off, the upstream still being connected (its accept queue full): as
    nginx, no body is read meanwhile, and a client that goes away (a FIN
    or a reset, its body bytes unread) ends the request with 499,
    $request_length the head only, and nginx's info line "epoll_wait()
    reported that client prematurely closed connection, so upstream
    connection is closed too while connecting to upstream". The same line
    ends a request whose (whole) body went up and whose answer has not
    begun: "... while sending request to upstream", nginx's action until a
    byte of the answer comes."""
    from harness import raw_server
    bh = t.blackhole()
    held = []

    def hold(c):  # reads the request, never answers
        held.append(c.recv(65536))
        return True
    held_port = raw_server(t, hold)
    p = t.proxy(CUT_CONF.replace('{b}', '{bh}').replace(
        'location /on/', 'location /held/ { proxy_pass http://127.0.0.1:{b}; }\n'
        '    location /on/'), b=held_port, bh=bh)
    ctx = ', client: 127.0.0.1, server: , request: "POST %s HTTP/1.1", upstream: "http://127.0.0.1:%d%s", host: "x"'
    line = ('epoll_wait() reported that client prematurely closed connection, so '
            'upstream connection is closed too%s while %s' + ctx)
    for rst in (False, True):
        path = '/off/%s' % ('rst' if rst else 'fin')
        head = b'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' % path.encode()
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
        s.sendall(head)
        wait_for(lambda: _syn_sent_to(bh), 10, what='the connect to the upstream')
        s.sendall(b'z' * 20000)
        _close(s, rst)
        ln = _cut_line(p, path)
        assert ln.split()[-3:] == ['499', str(len(head)), '0'], ln
        want = line % (' (104: Connection reset by peer)' if rst else '',
                       'connecting to upstream', path, bh, path)
        _info_line(p, want)
    head = b'POST /held/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(head)
    wait_for(lambda: held, 10, what='the request at the backend')
    s.close()
    ln = _cut_line(p, '/held/x')
    assert ln.split()[-3:] == ['499', str(len(head)), '0'], ln
    _info_line(p, line % ('', 'sending request to upstream', '/held/x', held_port, '/held/x'))


def test_request_cut_while_answering(t):
    """A client that reads part of an 8 MiB answer (a static file, a
    proxied one) and closes: as nginx, logged with the answer's status
    (200), $request_length its head, $bytes_sent what the socket took (at
    least what the client read, less than the whole), the head counted in
    it and not in $body_bytes_sent."""
    from harness import raw_server
    big = b'y' * (8 << 20)

    def answer(c):
        read_head(c)
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' % len(big) + big)
        return False
    up = raw_server(t, answer, threaded=True)
    p = t.proxy("""
log_format sent '$request $status $request_length $bytes_sent $body_bytes_sent';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/sent.log sent;
    location /static/ { root {prefix}/html; }
    location /up/ { proxy_pass http://127.0.0.1:%d; }
}""" % up)
    os.makedirs(p.path('html', 'static'))
    with open(p.path('html', 'static', 'big'), 'wb') as f:
        f.write(big)
    for path in ('/static/big', '/up/big'):
        head = b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path.encode()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(10)
        s.connect(('127.0.0.1', p.port))
        s.sendall(head)
        got = b''
        while len(got) < 100000:
            d = s.recv(65536)
            assert d, got[:200]
            got += d
        s.close()  # unread bytes: a reset
        ln = wait_for(lambda: [x for x in p.read('logs', 'sent.log').splitlines()
                               if x.startswith('GET %s ' % path)], 10, what=path)[0]
        status, rl, bs, bbs = ln.split()[-4:]
        hlen = got.index(b'\r\n\r\n') + 4
        assert (status, int(rl)) == ('200', len(head)), ln
        assert len(got) <= int(bs) < hlen + len(big), (ln, len(got))
        assert int(bs) - int(bbs) == hlen, (ln, hlen)


def test_request_body_last_bytes_with_fin(t):
    """A client gone mid-body whose last bytes and FIN came in one segment
    (after its head was read): 400 logged at once, as nginx's (it reads to
    the end once the FIN was reported); lbd's one short read took the
    bytes and, edge-triggered, never the end: 408 at client_body_timeout.
    Proxied (the body read before the upstream), and read whole for
    mirror."""
    app = t.backend('app')
    p = t.proxy("""
log_format st '$request $status';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/st.log st;
    client_body_timeout 60s;
    location / { proxy_pass http://127.0.0.1:{app}; }
    location /m { mirror /mir; proxy_pass http://127.0.0.1:{app}; }
    location = /mir { internal; proxy_pass http://127.0.0.1:{app}; }
}""", app=app)
    for path in ('/p', '/m'):
        with socket.create_connection(('127.0.0.1', p.port), timeout=10) as s:
            s.sendall(b'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab' %
                      path.encode())
            time.sleep(0.2)  # the head read first (a faster machine only weakens the case)
            s.send(b'c', socket.MSG_MORE)
            s.shutdown(socket.SHUT_WR)
            wait_for(lambda: 'POST %s ' % path in p.read('logs', 'st.log'), 10,
                     what='the line of %s' % path)
            assert s.recv(100) == b''
    assert p.read('logs', 'st.log').splitlines() == \
        ['POST /p HTTP/1.1 400', 'POST /m HTTP/1.1 400'], p.read('logs', 'st.log')
    assert app.count() == 0


def test_request_buffering_off_h2(t):
    """off over HTTP/2 (curl, 300 KiB POST): the body arrives exact."""
    b = StreamBackend()
    t.defer(b.close)
    p = t.proxy((CONF % 'proxy_request_buffering off;').replace(
        'listen 127.0.0.1:{port};', 'listen 127.0.0.1:{port} http2;'), b=b.port)
    body = bytes(range(256)) * 1200
    f = t.tmpdir('h2post-') + '/body'
    with open(f, 'wb') as fh:
        fh.write(body)
    r = subprocess.run(['curl', '-s', '--http2-prior-knowledge', '--data-binary', '@' + f,
                        '-w', ' %{http_code} %{http_version}',
                        'http://127.0.0.1:%d/h2' % p.port],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout == hashlib.sha256(body).hexdigest() + ' 200 2', r.stdout
    assert b.reqs[0]['body'] == body


def test_buffer_sizes_config(t):
    """proxy_busy_buffers_size and proxy_temp_file_write_size: nginx's
    checks, reported at the end of the http block."""
    b, p = _setup(t)
    for bad, msg in (
            ('proxy_busy_buffers_size 64k;', '"proxy_busy_buffers_size" must be less than the '
             'size of all "proxy_buffers" minus one buffer'),
            ('proxy_buffer_size 32k;', '"proxy_busy_buffers_size" must be less than the '
             'size of all "proxy_buffers" minus one buffer'),
            ('proxy_busy_buffers_size 1k;', '"proxy_busy_buffers_size" must be equal to or '
             'greater than the maximum of the value of "proxy_buffer_size" and one of the '
             '"proxy_buffers"'),
            ('proxy_temp_file_write_size 1k;', '"proxy_temp_file_write_size" must be equal to '
             'or greater than the maximum of the value of "proxy_buffer_size" and one of the '
             '"proxy_buffers"'),
            ('proxy_max_temp_file_size 1k;', '"proxy_max_temp_file_size" must be equal to zero '
             'to disable temporary files usage or must be equal to or greater than the maximum '
             'of the value of "proxy_buffer_size" and one of the "proxy_buffers"')):
        p.write_conf(http=CONF % bad)
        r = p.run('-t')
        assert r.returncode != 0, bad
        assert msg in r.stderr, (bad, r.stderr)
        last = len(p.read('conf', 'nginx.conf').rstrip('\n').splitlines())
        assert re.search(r'nginx\.conf:%d\b' % last, r.stderr), (last, r.stderr)
    for good in ('proxy_buffer_size 16k; proxy_buffers 8 16k;',
                 'proxy_busy_buffers_size 28k; proxy_temp_file_write_size 1m;',
                 'proxy_max_temp_file_size 0; proxy_busy_buffers_size 4k;'):
        p.write_conf(http=CONF % good)
        r = p.run('-t')
        assert r.returncode == 0, (good, r.stderr)


def test_request_body_variable(t):
    """$request_body is the body read whole into memory, as nginx's: in
    the access log (escaped), in proxy_set_header; absent ("-") without a
    body, for a `return` that never read it, and for a body spooled to a
    file; a Content-Length body up to a quarter over
    client_body_buffer_size stays in memory (nginx sizes its one buffer
    so), a chunked one is decoded."""
    import time
    b = t.backend('b')
    p = t.proxy("""
log_format b '$request_uri [$request_body]';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/b.log b;
    client_body_buffer_size 16k;
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
    location /h/ { proxy_pass http://127.0.0.1:{b}/; proxy_set_header X-Body $request_body; }
    location /r { return 200 "[$request_body]"; }
}""", b=b)
    assert p.req('POST', '/p/a', body=b'a=1&b="x"\n\x01').status == 200
    assert p.req('POST', '/p/mem', body=b'm' * 20000).status == 200
    assert p.req('POST', '/p/file', body=b'f' * 30000).status == 200
    assert p.req('GET', '/p/get').status == 200
    assert p.req('POST', '/h/x', body=b'hdr').status == 200
    assert b.last().header('X-Body') == 'hdr'
    assert p.req('POST', '/r', body=b'ret').body == b'[]'
    c = p.conn()
    c.send(b'POST /p/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
           b'3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n')
    assert c.read_response().status == 200
    c.close()

    def log():
        try:
            with open(p.prefix + '/b.log') as f:
                return f.read().splitlines()
        except OSError:
            return []
    lines = wait_for(lambda: len(log()) >= 7 and log())
    assert lines == ['/p/a [a=1&b=\\x22x\\x22\\x0A\\x01]', '/p/mem [%s]' % ('m' * 20000),
                     '/p/file [-]', '/p/get [-]', '/h/x [hdr]', '/r [-]',
                     '/p/chunked [abcde]'], [x[:60] for x in lines]


def test_request_buffering_off_early_answer(t):
    """off: an upstream that answers before it read the body (a 413, here
    from a backend that closes at once, and from one that half-closes and
    reads nothing more) has its answer passed on while the client is still
    sending, as nginx (for the closing one nginx answers 502 when the
    reset's write error comes first; lbd looks for the answer then); the
    client's connection then ends (the rest of its
    body is never read as a request)."""
    from harness import raw_upstream
    answer = b'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 6\r\n\r\nearly\n'
    closing = raw_upstream(t, answer)
    holding = raw_upstream(t, answer, half_close=True)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    client_max_body_size 64m;
    proxy_http_version 1.1;
    location /close { proxy_pass http://127.0.0.1:{c}; proxy_request_buffering off; }
    location /hold { proxy_pass http://127.0.0.1:{h}; proxy_request_buffering off; }
}""", c=closing, h=holding)
    total = 32 << 20
    for path in (b'/close', b'/hold'):
        s = socket.create_connection(('127.0.0.1', p.port))
        t.defer(s.close)
        s.sendall(b'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % (path, total))
        s.setblocking(False)
        sent, got, deadline = 0, b'', time.monotonic() + 20
        while sent < total and time.monotonic() < deadline and b'early\n' not in got:
            try:
                d = s.recv(65536)
                if not d:
                    break
                got += d
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            try:
                sent += s.send(b'x' * min(65536, total - sent))
            except BlockingIOError:
                time.sleep(0.005)
            except (BrokenPipeError, ConnectionResetError):
                break
        # the answer came while the body was far from all sent
        assert sent < total, (path, sent)
        s.setblocking(True)
        s.settimeout(10)
        got += recv_until_close(s, reset_ok=True)
        if t.is_nginx and path == b'/close' and got.startswith(b'HTTP/1.1 502'):
            continue  # nginx: a race between the answer and the reset's EPIPE
        assert got.startswith(b'HTTP/1.1 413') and got.endswith(b'early\n'), (path, got)
