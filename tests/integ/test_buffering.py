# SPDX-License-Identifier: MIT
"""Response buffering (issue 7 item 6): with `proxy_buffering on` a client
that does not read does not hold the backend: the proxy reads the whole
response into its buffers and a temp file, and the upstream keep-alive
connection is free again for the next request while the client is still
to read. `proxy_buffering off`, `X-Accel-Buffering: no` and
`proxy_max_temp_file_size 0` (memory buffers only) keep the backend
waiting on the client instead. Every body is compared byte for byte; the
temp file never stays behind.

The backend here is this file's own: it answers /big with SIZE bytes as
fast as its socket takes them and records, per request, the connection it
came on and whether it could write the last byte."""

import hashlib
import os
import re
import socket
import struct
import subprocess
import threading
import time

from harness import free_port, read_head, recv_until_close, wait_for

PAT = bytes(range(256)) * 256  # 64 KiB, SIZE is a multiple of it


def _kernel_bound():
    """What the kernel may hold of an answer whose client reads nothing:
    the proxy's upstream receive buffer (autotuned up to tcp_rmem's max
    while the proxy read fast), two send buffers (tcp_wmem's max), and
    slack for the proxy's own buffers."""
    with open('/proc/sys/net/ipv4/tcp_rmem') as f:
        rmem = int(f.read().split()[2])
    with open('/proc/sys/net/ipv4/tcp_wmem') as f:
        wmem = int(f.read().split()[2])
    return rmem + 2 * wmem + (8 << 20)


# the answer must be bigger than that for "the backend waits" to show
SIZE = max(16 << 20, _kernel_bound()) // len(PAT) * len(PAT)


def _expected_sha():
    h = hashlib.sha256()
    for _ in range(SIZE // len(PAT)):
        h.update(PAT)
    return h.hexdigest()


EXPECTED = _expected_sha()


class BigBackend:
    """HTTP/1.1 keep-alive backend. /big: SIZE bytes (Content-Length),
    /big?accel=no|yes: with X-Accel-Buffering, anything else: 2 bytes.
    .log: one dict per request (conn, path, sent, done)."""

    def __init__(self):
        self.port = free_port()
        self.log = []
        self.lock = threading.Lock()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', self.port))
        self.lsock.listen(64)
        self.nconn = 0
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closing = True
        self.lsock.close()

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.nconn += 1
            threading.Thread(target=self._serve, args=(c, self.nconn),
                             daemon=True).start()

    def _serve(self, c, cid):
        # a small send buffer: what the backend "sent" is close to what
        # the proxy took
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        c.settimeout(60)
        buf = b''
        try:
            while True:
                head, buf = read_head(c, eof_ok=True, pending=buf)
                if buf is None:
                    return
                path = head.split(b' ')[1].decode()
                rec = {'conn': cid, 'path': path, 'sent': 0, 'done': False}
                with self.lock:
                    self.log.append(rec)
                if not path.startswith('/big'):
                    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
                    rec['done'] = True
                    continue
                extra = b''
                if 'accel=' in path:
                    extra = b'X-Accel-Buffering: %s\r\n' % path.split(
                        'accel=')[1].encode()
                c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n'
                          % (SIZE, extra))
                for _ in range(SIZE // len(PAT)):
                    c.sendall(PAT)
                    rec['sent'] += len(PAT)
                rec['done'] = True
        except OSError:
            return
        finally:
            c.close()


def _backend(t):
    b = BigBackend()
    t.defer(b.close)
    return b


CONF = """
upstream big {
    server 127.0.0.1:{b};
    keepalive 4;
}
server {
    listen 127.0.0.1:{port};
    proxy_temp_path {prefix}/proxy_temp;
    location / {
        proxy_pass http://big;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        %s
    }
}"""


def _proxy(t, b, extra=''):
    return t.proxy(CONF % extra, b=b.port)


class SlowClient:
    """A client that sends a request, reads the head and stops reading."""

    def __init__(self, port, path):
        self.s = socket.socket()
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        self.s.settimeout(60)
        self.s.connect(('127.0.0.1', port))
        self.s.sendall(b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path.encode())
        head, self.rest = read_head(self.s, chunk=4096)
        self.head = head.decode('latin-1')

    def read_all(self):
        """Read the SIZE-byte body: its sha256."""
        h = hashlib.sha256(self.rest)
        n = len(self.rest)
        while n < SIZE:
            d = self.s.recv(1 << 20)
            assert d, 'closed after %d of %d bytes' % (n, SIZE)
            h.update(d)
            n += len(d)
        assert n == SIZE, n
        self.s.close()
        return h.hexdigest()


def _stalled(rec):
    """Wait until the backend's writing stops moving: its count then."""
    last = [-1, time.monotonic()]

    def still():
        if rec['sent'] != last[0]:
            last[0], last[1] = rec['sent'], time.monotonic()
            return False
        return time.monotonic() - last[1] > 1.0

    wait_for(still, 20, interval=0.05, what='backend writes to settle')
    return rec['sent']


def _proc_tree(pid):
    pids = {pid}
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open('/proc/%s/stat' % d) as f:
                    if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                        pids.add(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return pids


def _asleep(p):
    """Every thread of the proxy is sleeping (waiting for an event)."""
    for pid in _proc_tree(p.pid):
        try:
            tasks = os.listdir('/proc/%d/task' % pid)
        except OSError:
            continue
        for tid in tasks:
            try:
                with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                    if f.read().rsplit(')', 1)[1].split()[0] not in 'SI':
                        return False
            except OSError:
                pass
    return True


def _settled(p):
    """Wait until the proxy has nothing left to do (twice in a row): with
    the backend done and the client stalled, it has read the whole
    response and finished with the upstream."""
    seen = [0]

    def twice():
        seen[0] = seen[0] + 1 if _asleep(p) else 0
        return seen[0] >= 2

    wait_for(twice, 10, interval=0.05, what='proxy idle')


def _temp_fds(p):
    """Open files of the proxy in its proxy_temp directory (deleted)."""
    return _fds_under(p, p.path('proxy_temp'))


def _fds_under(p, tdir):
    """Targets of the proxy's (and its workers') open files under TDIR."""
    out = []
    for pid in _proc_tree(p.pid):
        try:
            fds = os.listdir('/proc/%d/fd' % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
            except OSError:
                continue
            if target.startswith(tdir + '/'):
                out.append(target)
    return out


def _temp_left(p):
    return [f for _, _, fs in os.walk(p.path('proxy_temp')) for f in fs]


def _held(t, b, p, path):
    """A stalled client holds the backend: it cannot finish writing until
    the client reads; then the body is complete."""
    c = SlowClient(p.port, path)
    assert c.head.startswith('HTTP/1.1 200'), c.head
    rec = b.log[-1]
    sent = _stalled(rec)
    assert not rec['done'] and sent < SIZE, (sent, rec)
    assert c.read_all() == EXPECTED
    wait_for(lambda: rec['done'], 10, what='backend done')
    return sent


def test_buffering_on_releases_backend(t):
    """Default (proxy_buffering on): the backend writes all SIZE bytes while the
    client reads nothing (memory buffers, then a temp file, unlinked while
    open); the upstream connection serves the next request meanwhile; the
    body is exact; no temp file is left."""
    b = _backend(t)
    p = _proxy(t, b)
    c = SlowClient(p.port, '/big')
    rec = b.log[-1]
    wait_for(lambda: rec['done'], 20, what='backend finished while the client reads nothing')
    _settled(p)
    fds = _temp_fds(p)
    assert fds and all(f.endswith(' (deleted)') for f in fds), fds
    assert _temp_left(p) == []
    # the upstream keep-alive connection is back in the pool already
    with socket.create_connection(('127.0.0.1', p.port), timeout=10) as s:
        s.sendall(b'GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        data = recv_until_close(s)
    assert data.startswith(b'HTTP/1.1 200') and data.endswith(b'ok'), data
    assert b.log[-1]['path'] == '/small'
    assert b.log[-1]['conn'] == rec['conn'], b.log
    assert b.nconn == 1
    assert c.read_all() == EXPECTED
    assert _temp_left(p) == []
    wait_for(lambda: not _temp_fds(p), 5, what='temp file closed')
    assert 'buffered to a temporary file' in p.error_log()


def test_buffering_off_holds_backend(t):
    """proxy_buffering off: the backend waits on the client."""
    b = _backend(t)
    p = _proxy(t, b, 'proxy_buffering off;')
    _held(t, b, p, '/big')
    assert not os.path.isdir(p.path('proxy_temp')) or _temp_left(p) == []
    assert 'buffered to a temporary file' not in p.error_log()


def test_buffering_no_temp_file(t):
    """proxy_max_temp_file_size 0: memory buffers only, then the backend
    waits on the client; no temp file."""
    b = _backend(t)
    p = _proxy(t, b, 'proxy_max_temp_file_size 0;')
    _held(t, b, p, '/big')
    assert 'buffered to a temporary file' not in p.error_log()


def test_buffering_small_temp_file(t):
    """proxy_max_temp_file_size 1m: the temp file takes at most 1 MiB; the
    backend waits on the client for the rest."""
    b = _backend(t)
    p = _proxy(t, b, 'proxy_max_temp_file_size 1m; proxy_buffers 4 16k;')
    _held(t, b, p, '/big')
    assert 'buffered to a temporary file' in p.error_log()
    assert _temp_left(p) == []


def test_x_accel_buffering(t):
    """X-Accel-Buffering: no from the upstream turns buffering off for that
    response; yes turns it on under proxy_buffering off."""
    b = _backend(t)
    p = _proxy(t, b)
    _held(t, b, p, '/big?accel=no')
    p2 = _proxy(t, b, 'proxy_buffering off;')
    c = SlowClient(p2.port, '/big?accel=yes')
    rec = b.log[-1]
    assert 'x-accel' not in c.head.lower()
    wait_for(lambda: rec['done'], 20, what='backend finished (X-Accel-Buffering: yes)')
    assert c.read_all() == EXPECTED


def test_buffering_config(t):
    """The directives' syntax: values accepted, errors as nginx."""
    b = _backend(t)
    p = _proxy(t, b, 'proxy_buffers 16 8k; proxy_busy_buffers_size 16k; '
               'proxy_temp_file_write_size 16k; proxy_max_temp_file_size 1024m;')
    for bad, msg in (('proxy_buffers 1 4k;', 'there must be at least 2 "proxy_buffers"'),
                     ('proxy_buffers 0 4k;', '"proxy_buffers" directive invalid value'),
                     ('proxy_buffers 8 4x;', '"proxy_buffers" directive invalid value'),
                     ('proxy_max_temp_file_size x;',
                      '"proxy_max_temp_file_size" directive invalid value')):
        p.write_conf(http=CONF % bad)
        r = p.run('-t')
        assert r.returncode != 0, bad
        assert msg in r.stderr, (bad, r.stderr)


def test_buffering_client_gone(t):
    """The client resets the connection after the backend finished: the
    access log counts only the bytes that reached it, not the buffered
    rest; the temp file goes away."""
    b = _backend(t)
    p = _proxy(t, b)
    c = SlowClient(p.port, '/big')
    rec = b.log[-1]
    wait_for(lambda: rec['done'], 20, what='backend finished')
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    c.s.close()

    def logged():
        return re.search(r'"GET /big HTTP/1.1" (\d+) (\d+)', p.access_log())

    wait_for(logged, 10, what='access log line')
    status, sent = logged().groups()
    assert status == '200'
    assert 0 < int(sent) < SIZE // 2, sent
    wait_for(lambda: not _temp_fds(p), 5, what='temp file closed')
    assert _temp_left(p) == []


def test_buffering_h2(t):
    """An HTTP/2 client reading slowly (curl --limit-rate): the backend
    finishes while the client is still reading; the body is exact."""
    b = _backend(t)
    p = t.proxy(CONF.replace('listen 127.0.0.1:{port};',
                             'listen 127.0.0.1:{port} http2;') % '', b=b.port)
    out = os.path.join(t.tmpdir('h2body-'), 'body')
    rate = str(SIZE // 8)  # about 8 s for the body: the backend is done long before
    cl = subprocess.Popen(['curl', '-s', '--http2-prior-knowledge', '--limit-rate', rate,
                           '-o', out, '-w', '%{http_code} %{http_version}',
                           'http://127.0.0.1:%d/big' % p.port],
                          stdout=subprocess.PIPE, text=True)
    t.defer(cl.kill)
    wait_for(lambda: b.log and b.log[-1]['done'], 20, what='backend finished')
    assert cl.poll() is None, 'the client was done first'
    assert cl.communicate(timeout=60)[0] == '200 2'
    h = hashlib.sha256()
    with open(out, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    assert h.hexdigest() == EXPECTED
