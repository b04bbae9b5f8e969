# SPDX-License-Identifier: MIT
"""WebSockets as the guide's Step 8 configures them (`proxy_http_version
1.1`, `Upgrade $http_upgrade`, `Connection $connection_upgrade` from the
`map` idiom), against nginx and lbd with the same config: the 101 head the
client sees, bytes both ways (including bytes sent right behind the
request head), a backend that answers 200 keeps the connection in HTTP
mode, half-close both ways, the upstream dying mid-stream, the idle
timeout (`proxy_read_timeout`), a tunnel held open across reloads, and a
bulk transfer in both directions at once, byte-exact.

The backend is a small upgrade server: it answers 101 and then echoes
(or follows a few commands) on the raw stream; the proxy never looks at
WebSocket framing, so raw bytes test the tunnel exactly."""

import hashlib
import os
import socket
import threading
import time

from harness import lbd_sanitized, make_conf, read_head, recv_until_close, wait_for
import splicekit

WS_CONF = """
{extra}
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{ws};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header Host $host;
        proxy_read_timeout {idle};
    }
}"""


class UpgradeServer:
    """Answers 101 to an Upgrade request and then runs a mode chosen by
    the path: /echo echoes, /sink counts and answers the sha256 of what
    it got at EOF, /bulk sends N bytes of a pattern while also sinking,
    /die sends "bye" and resets, /plain answers 200 (no upgrade)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1024)  # 1000 streams arrive at once
        self.port = self.sock.getsockname()[1]
        self.heads = []
        self.sent = 0
        self.results = []   # /duplex: (bytes in, first wrong offset, send error)
        self.ends = []      # /rst: how each ended, 'eof' or 'reset'
        self.go = threading.Event()   # /slowsink: start reading
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stop = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(60)
        buf = b''
        try:
            while True:
                head, buf = read_head(c, eof_ok=True, pending=buf)
                if buf is None:
                    return
                self.heads.append(head.decode('latin1'))
                path = head.split(b' ')[1].decode()
                if path.startswith('/post'):
                    # a request body of Content-Length bytes, then 200
                    want = int([ln.split(b':', 1)[1] for ln in head.split(b'\r\n')
                                if ln.lower().startswith(b'content-length:')][0])
                    while len(buf) < want:
                        d = c.recv(1 << 20)
                        if not d:
                            return
                        buf += d
                    buf = buf[want:]
                    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
                    continue
                if path.startswith('/plain'):
                    body = b'plain ' + path.encode()
                    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s'
                              % (len(body), body))
                    continue
                h101 = (b'HTTP/1.1 101 Switching Protocols\r\n'
                        b'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                        b'Sec-WebSocket-Accept: test\r\n\r\n')
                if path.startswith('/burst'):
                    # the head and N bytes in one segment: the proxy reads
                    # the head with part of the stream behind it
                    c.sendall(h101 + pattern(int(path.split('/')[2])))
                    c.recv(1)
                    return
                c.sendall(h101)
                self._tunnel(c, path, buf)
                return
        except OSError:
            pass
        finally:
            c.close()

    def _tunnel(self, c, path, early):
        if path.startswith('/echo'):
            if early:
                c.sendall(early)
            while True:
                d = c.recv(65536)
                if not d:
                    c.sendall(b'[server saw EOF]')
                    c.shutdown(socket.SHUT_WR)
                    return
                c.sendall(d)
        elif path.startswith('/die'):
            c.sendall(b'bye')
            time.sleep(0.2)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b'\x01\x00\x00\x00\x00\x00\x00\x00')
        elif path.startswith('/bulk'):
            n = int(path.split('/')[2])
            h = hashlib.sha256(early)
            got = [len(early)]

            def sink():
                while got[0] < n:
                    d = c.recv(min(262144, n - got[0]))
                    if not d:
                        return
                    h.update(d)
                    got[0] += len(d)
            th = threading.Thread(target=sink, daemon=True)
            th.start()
            c.sendall(pattern(n))
            th.join(60)
            # fixed size: the client reads exactly this much, no EOF needed
            c.sendall(('%012d %s' % (got[0], h.hexdigest())).encode())
            c.recv(1)
        elif path.startswith('/duplex'):
            # /duplex/N/UPSEED/DOWNSEED: N bytes of stream DOWNSEED out
            # while checking N bytes of UPSEED in (splicekit), then a
            # fixed-size verdict line
            n, su, sd = (int(x) for x in path.split('/')[2:5])
            got, bad, err = splicekit.duplex(c, n, sd, su, early)
            self.results.append((got, bad, err))
            c.sendall(b'%-40s' % (b'up %d bad %s' % (got, str(bad).encode())))
            c.recv(1)
        elif path.startswith('/sinkecho'):
            # /sinkecho/N/SEED: check N bytes of stream SEED, answer a
            # fixed-size verdict, then echo until EOF
            n, su = (int(x) for x in path.split('/')[2:4])
            got, bad = splicekit.recv_stream(c, su, n, early)
            self.results.append((got, bad, None))
            c.sendall(b'%-40s' % (b'up %d bad %s' % (got, str(bad).encode())))
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)
        elif path.startswith('/rst'):
            # echoes until EOF or a reset from the proxy (recorded in
            # self.ends), or resets the stream itself on '!reset'
            splicekit.rst_echo(c, self.ends)
        elif path.startswith('/push'):
            # /push/N/SEED: N bytes of stream SEED as fast as the proxy
            # takes them (self.sent: how far), then wait for the client
            n, sd = (int(x) for x in path.split('/')[2:4])
            st, off = splicekit.Stream(sd), 0
            while off < n:
                off += c.send(st.at(off, min(splicekit.CHUNK, n - off)))
                self.sent = off
            c.recv(1)
        elif path.startswith('/slowsink'):
            # /slowsink/N/SEED: read nothing until self.go is set, then
            # check N bytes of stream SEED (self.results)
            n, su = (int(x) for x in path.split('/')[2:4])
            self.go.wait(60)
            got, bad = splicekit.recv_stream(c, su, n, early)
            self.results.append((got, bad, None))
            c.sendall(b'%-40s' % (b'up %d bad %s' % (got, str(bad).encode())))
            c.recv(1)
        elif path.startswith('/flood'):
            n = int(path.split('/')[2])
            data = pattern(n)
            off = 0
            while off < n:
                off += c.send(data[off:off + 65536])
                self.sent = off
            c.recv(1)
        elif path.startswith('/idle'):
            c.recv(1)   # wait: the proxy's idle timeout must close it


def pattern(n):
    block = bytes(range(256)) * 4096       # 1 MiB
    out = block * (n // len(block))
    return out + block[:n - len(out)]


def _upgrade_req(path):
    return ('GET %s HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\n'
            'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n'
            'Sec-WebSocket-Version: 13\r\n\r\n' % path).encode()


def _read_head(s):
    head, rest = read_head(s, chunk=4096)
    return head.decode('latin1'), rest


def _recv_exact(s, n, have=b''):
    buf = bytearray(have)
    while len(buf) < n:
        d = s.recv(min(n - len(buf), 1 << 20))
        assert d, 'closed after %d of %d bytes' % (len(buf), n)
        buf += d
    return bytes(buf)


def _setup(t, idle='60s', relay=False, kernel=False, main='', extra=''):
    """RELAY: lbd with `kernel_splice off` (its splice(2) relay); KERNEL:
    `kernel_splice on` (sockmap, also the default). lbd only."""
    ws = UpgradeServer()
    t.defer(ws.close)
    extra += '\n' + ('kernel_splice off;' if relay else 'kernel_splice on;' if kernel else '')
    p = t.proxy(WS_CONF, ws=ws.port, idle=idle, workers=2, extra=extra,
                main=main)
    return ws, p


def _connect(p, path, extra=b''):
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(_upgrade_req(path) + extra)
    return s


def test_upgrade_head_and_echo(t):
    ws, p = _setup(t)
    # bytes right behind the request head reach the backend after it
    s = _connect(p, '/echo', extra=b'early!')
    head, rest = _read_head(s)
    lines = head.split('\r\n')
    assert lines[0] == 'HTTP/1.1 101 Switching Protocols', head
    hdrs = {k.lower(): v.strip() for k, v in
            (ln.split(':', 1) for ln in lines[1:])}
    assert hdrs.get('upgrade') == 'websocket', head
    assert hdrs.get('connection', '').lower() == 'upgrade', head
    assert hdrs.get('sec-websocket-accept') == 'test', head
    assert 'content-length' not in hdrs and 'transfer-encoding' not in hdrs
    # the backend got the upgrade headers set by the config
    bh = ws.heads[-1].lower()
    assert 'upgrade: websocket' in bh and 'connection: upgrade' in bh, bh
    got = _recv_exact(s, 6, rest)
    assert got == b'early!', got
    for i in range(20):
        msg = ('message %d ' % i).encode() * (i + 1)
        s.sendall(msg)
        assert _recv_exact(s, len(msg)) == msg
    s.close()


def test_half_close(t):
    """The client half-closes: the backend sees EOF, its last words still
    reach the client, then EOF (nginx 1.22 closes both sides at the
    first FIN of an upgraded connection)."""
    if t.is_nginx:
        t.skip('nginx 1.22 does not propagate half-close on upgraded connections')
    ws, p = _setup(t)
    s = _connect(p, '/echo')
    head, rest = _read_head(s)
    assert ' 101 ' in head
    s.sendall(b'last')
    assert _recv_exact(s, 4, rest) == b'last'
    s.shutdown(socket.SHUT_WR)
    assert recv_until_close(s) == b'[server saw EOF]'
    s.close()


def test_no_101_stays_http(t):
    ws, p = _setup(t)
    s = _connect(p, '/plain1')
    head, rest = _read_head(s)
    assert head.startswith('HTTP/1.1 200'), head
    body = _recv_exact(s, len('plain /plain1'), rest)
    assert body == b'plain /plain1'
    # still HTTP: a second request on the same connection is answered
    s.sendall(b'GET /plain2 HTTP/1.1\r\nHost: ws.test\r\n\r\n')
    head, rest = _read_head(s)
    assert head.startswith('HTTP/1.1 200'), head
    assert _recv_exact(s, len('plain /plain2'), rest) == b'plain /plain2'
    s.close()


def test_upstream_dies_mid_stream(t):
    ws, p = _setup(t)
    s = _connect(p, '/die')
    head, rest = _read_head(s)
    assert ' 101 ' in head
    got = rest + recv_until_close(s, reset_ok=True)
    assert got == b'bye', got
    s.close()


def test_idle_timeout_closes(t):
    ws, p = _setup(t, idle='1s')
    s = _connect(p, '/idle')
    head, rest = _read_head(s)
    assert ' 101 ' in head
    start = time.monotonic()
    s.settimeout(10)
    try:
        d = s.recv(10)
    except ConnectionResetError:
        d = b''
    took = time.monotonic() - start
    assert d == b'' and took < 8, (d, took)
    s.close()


def test_tunnel_survives_reloads(t):
    ws, p = _setup(t)
    s = _connect(p, '/echo')
    head, rest = _read_head(s)
    assert ' 101 ' in head
    for i in range(3):
        p.signal(1)   # SIGHUP
        time.sleep(0.5)
        msg = b'after reload %d' % i
        s.sendall(msg)
        assert _recv_exact(s, len(msg)) == msg
    s.close()


def _bulk_both_ways(t, relay):
    size = 32 << 20
    ws, p = _setup(t, relay=relay)
    s = _connect(p, '/bulk/%d' % size)
    head, rest = _read_head(s)
    assert ' 101 ' in head
    up = pattern(size)[::-1]
    sender = threading.Thread(target=lambda: s.sendall(up))
    sender.start()
    s.settimeout(60)
    got = _recv_exact(s, size + 12 + 1 + 64, rest)
    sender.join(60)
    down, tail = got[:size], got[size:]
    assert down == pattern(size), 'downstream differs'
    n, digest = tail.decode().split()
    assert int(n) == size and digest == hashlib.sha256(up).hexdigest(), tail
    s.close()


def test_bulk_both_ways_byte_exact(t):
    """32 MiB each way at once, through lbd's default path (sockmap)."""
    _bulk_both_ways(t, False)


def test_bulk_both_ways_byte_exact_relay(t):
    """The same through the splice(2) relay (`kernel_splice off`)."""
    if t.is_nginx:
        t.skip('lbd\'s kernel_splice off')
    _bulk_both_ways(t, True)


def test_sockmap_head_and_stream_in_one_segment(t):
    """The upstream's 101 head and the first 60,000 stream bytes arrive in
    one segment, of which lbd reads only the head's buffer (4k): the
    socket must not enter the sockmap with that segment half read (the
    kernel would deliver its first part twice)."""
    if t.is_nginx:
        t.skip('lbd\'s kernel_splice on')
    ws, p = _setup(t, kernel=True)
    n = 60000
    for _ in range(5):
        s = _connect(p, '/burst/%d' % n)
        head, rest = _read_head(s)
        assert ' 101 ' in head
        got = _recv_exact(s, n, rest)
        assert got == pattern(n)
        s.settimeout(0.3)
        try:
            extra = s.recv(65536)
        except socket.timeout:
            extra = b''
        assert extra == b'', 'bytes after the stream: %r' % extra[:40]
        s.close()


def _lb_stream(p):
    """lbd: the one stream in P's pinned lb_streams (bpftool), or None."""
    import json
    import subprocess
    for _ in range(10):
        r = subprocess.run(['bpftool', '-j', 'map', 'dump', 'pinned',
                            os.path.join(p.pin_dir, 'lb_streams')],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        rows = json.loads(r.stdout)
        if len(rows) != 1:
            return None
        if 'formatted' in rows[0]:
            return rows[0]['formatted']['value']
        # seen once under load: the row without its decoded form (the
        # entry changing under bpftool's dump); ask again
        time.sleep(0.05)
    raise AssertionError('lb_streams row never decoded: %r' % rows)


def test_sockmap_short_message_after_repeat(t):
    """A client pushes megabytes right behind its upgrade request, so the
    client socket still holds stream bytes when lbd switches it to the
    sockmap. The kernel counts every segment the program handles as read
    in full: a socket that entered the map with a segment half read (its
    first part already read by lbd), the program passing that segment on
    for lbd to drop the repeat, had its copied_seq run ahead of what it
    received, and its data-ready stayed silent until more than that many
    new bytes waited. A short message after the bulk (here "ping") then
    sat in lbd's receive queue for good: the sockmap duplex stall of
    test_duplex_256mib_byte_exact (its 40-byte verdict line). Now lbd
    switches a socket only between two segments, else it relays the
    stream with splice(2); and where a segment still repeats bytes (a
    retransmission) the program takes them off itself.

    The client first sends a 16 MiB request body on the same connection,
    so the socket's receive buffer has grown (autotuning) and the bytes
    behind the upgrade request pile up past what lbd reads before the
    switch."""
    if t.is_nginx:
        t.skip('lbd\'s sockmap')
    ws, p = _setup(t, kernel=True, extra='client_max_body_size 0;')
    n = 8 << 20
    seen = []
    for i in range(4):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
        body = b'x' * (16 << 20)
        s.sendall(b'POST /post HTTP/1.1\r\nHost: ws.test\r\nContent-Length: %d\r\n\r\n'
                  % len(body) + body)
        head, rest = _read_head(s)
        assert ' 200 ' in head.split('\r\n')[0], head
        _recv_exact(s, 2 - len(rest), rest)
        # the upgrade request and N stream bytes right behind it
        seed = 40 + i
        st = splicekit.Stream(seed)   # built before: no pause behind the head
        first = _upgrade_req('/sinkecho/%d/%d' % (n, seed)) + bytes(st.at(0, 1 << 20))
        err = []

        def push(s=s, st=st, first=first):
            try:
                s.sendall(first)
                off = 1 << 20
                while off < n:
                    s.sendall(st.at(off, min(splicekit.CHUNK, n - off)))
                    off += splicekit.CHUNK
            except OSError as e:
                err.append(e)
        th = threading.Thread(target=push, daemon=True)
        th.start()
        head, rest = _read_head(s)
        assert ' 101 ' in head, head
        verdict = _recv_exact(s, 40, rest)
        th.join(30)
        assert not err, err
        assert verdict.split() == [b'up', b'%d' % n, b'bad', b'None'], verdict
        row = _lb_stream(p)
        seen.append(_path_of(t, p, s) if row is None else
                    (row.get('trimmed', [0])[0], row['cut_n'][0]))
        # a short message after the bulk: it must get through (and back)
        s.settimeout(5)
        s.sendall(b'ping')
        try:
            got = _recv_exact(s, 4)
        except socket.timeout:
            got = b'(nothing in 5 s)'
        assert got == b'ping', (i, got, seen)
        s.close()
        wait_for(lambda: _lb_stream(p) is None, 10, what='the stream to end')
    print('per stream, sockmap (repeat bytes taken off, cuts left to lbd) '
          'or the path: %r' % seen)
    # no repeat was left for lbd to cut (which stalls the socket)
    assert all(not isinstance(x, tuple) or x[1] == 0 for x in seen), seen


def _rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for ln in f:
            if ln.startswith('VmRSS:'):
                return int(ln.split()[1])
    return 0


def test_slow_reader_backpressure(t):
    """A client that stops reading: the backend is held back by the full
    socket buffers and pipe (it cannot push its 64 MiB), the proxy's
    memory stays flat, and once the client reads everything arrives."""
    size = 64 << 20
    ws, p = _setup(t)
    base = _rss_kib(p.pid)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect(('127.0.0.1', p.port))
    s.sendall(_upgrade_req('/flood/%d' % size))
    head, rest = _read_head(s)
    assert ' 101 ' in head
    wait_for(lambda: ws.sent > 0, timeout=5, what='backend started')
    time.sleep(1.0)
    held = ws.sent
    grown = _rss_kib(p.pid) - base
    assert held < 32 << 20, 'backend pushed %d bytes into a stalled stream' % held
    print('slow reader: backend held at %d KiB, proxy RSS +%d KiB' % (held >> 10, _rss_kib(p.pid) - base))
    assert grown < 16 * 1024, 'proxy RSS grew by %d KiB' % grown
    s.settimeout(60)
    got = _recv_exact(s, size, rest)
    assert got == pattern(size)
    s.close()


def _nfds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def _settled_nfds(pid, timeout=2.0):
    """The proxy's open file count once two readings 100 ms apart agree."""
    last, deadline = _nfds(pid), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.1)
        cur = _nfds(pid)
        if cur == last:
            break
        last = cur
    return last


def test_many_streams_then_baseline(t):
    """1000 tunnels open at once, each echoes its own message; after they
    close, the proxy's open files are back where they started (no pipe or
    socket leaked). nginx gets 300: its worker_connections (1024 here)
    counts the upstream connections too."""
    n = 300 if t.is_nginx else 1000
    # all from 127.0.0.1: above lbd's default client_conns_per_ip
    ws, p = _setup(t, main='' if t.is_nginx else 'client_conns_per_ip 2000;')
    if not t.is_nginx:
        base = _settled_nfds(p.pid)
    socks = []
    for i in range(n):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=20)
        s.sendall(_upgrade_req('/echo'))
        socks.append(s)
    rests = []
    for s in socks:
        head, rest = _read_head(s)
        assert ' 101 ' in head, head
        rests.append(rest)
    for i, s in enumerate(socks):
        s.sendall(b'stream %06d' % i)
    for i, s in enumerate(socks):
        assert _recv_exact(s, 13, rests[i]) == b'stream %06d' % i
    if not t.is_nginx:
        # each tunnel: client and upstream sockets (+ two pipes on the
        # splice(2) relay)
        # (less 2: a probe connection of the harness that lbd still held
        # when base was taken may close meanwhile; seen once under CI load)
        assert _nfds(p.pid) >= base + 2 * n - 2, (base, _nfds(p.pid))
    for s in socks:
        s.close()
    if not t.is_nginx:
        wait_for(lambda: _nfds(p.pid) <= base, timeout=10,
                 what='fds back to %d (now %d)' % (base, _nfds(p.pid)))


def test_lbctl_conns(t):
    """`lbctl conns` lists open streams: client, upstream, age, bytes
    each way; a closed stream leaves the list."""
    if t.is_nginx:
        t.skip('lbd\'s control socket')
    import json
    import subprocess
    ws, p = _setup(t)
    s = _connect(p, '/echo')
    head, rest = _read_head(s)
    assert ' 101 ' in head
    s.sendall(b'x' * 1000)
    _recv_exact(s, 1000, rest)
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')

    def conns():
        r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock'), 'conns',
                            '--json'], capture_output=True, text=True,
                           timeout=10)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)
    got = conns()
    assert got['count'] == 1, got
    c = got['conns'][0]
    assert c['client'] == '127.0.0.1:%d' % s.getsockname()[1], c
    assert c['upstream'] == '127.0.0.1:%d' % ws.port, c
    # seen once (a loaded make test) below the echo: 161, the 101 head
    # alone, a moment after the client had the echo (cause not found; the
    # count caught up in every rerun): wait for it
    wait_for(lambda: conns()['conns'][0]['bytes_down'] >= 1000, timeout=10,
             what='the echo counted')  # the 101 head, then the echo
    c = conns()['conns'][0]
    assert c['bytes_up'] == 1000, c
    s.close()
    wait_for(lambda: conns()['count'] == 0, timeout=20, what='stream gone')


def _lbctl_json(t, p, *args):
    import json
    import subprocess
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock')] + list(args) +
                       ['--json'], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_paths_sockmap_and_relay(t):
    """With `kernel_splice on` an upgraded stream is spliced in the kernel
    (sockmap): `lbctl conns` says so and the bytes were counted by BPF;
    it is the default. With `kernel_splice off` the same stream goes
    through the splice(2) relay. Both move the same bytes, half-close
    included."""
    if t.is_nginx:
        t.skip('lbd\'s kernel splicing')
    for relay, path in ((False, 'sockmap'), (True, 'splice')):
        ws, p = _setup(t, relay=relay)  # no kernel_splice: the default
        s = _connect(p, '/echo')
        head, rest = _read_head(s)
        assert ' 101 ' in head
        have = rest
        for i in range(50):
            msg = b'%04d' % i * 16
            s.sendall(msg)
            got = _recv_exact(s, len(msg), have)
            have = b''
            assert got == msg
        c = _lbctl_json(t, p, 'conns')['conns'][0]
        assert c['path'] == path, c
        assert c['bytes_up'] == 50 * 64, c
        st = _lbctl_json(t, p, 'status')
        assert st['splice'] == ('sockmap' if st['features']['sockmap']
                                else 'splice'), st
        s.sendall(b'last')
        assert _recv_exact(s, 4) == b'last'
        s.shutdown(socket.SHUT_WR)
        assert recv_until_close(s) == b'[server saw EOF]'
        s.close()
        p.stop()


def test_sockmap_half_close(t):
    """The sockmap path (kernel_splice on): half-close both ways, as on the
    relay."""
    if t.is_nginx:
        t.skip('lbd\'s kernel_splice on')
    ws, p = _setup(t, kernel=True)
    s = _connect(p, '/echo')
    head, rest = _read_head(s)
    assert ' 101 ' in head
    s.sendall(b'last')
    assert _recv_exact(s, 4, rest) == b'last'
    s.shutdown(socket.SHUT_WR)
    assert recv_until_close(s) == b'[server saw EOF]'
    s.close()


WSS_CONF = """
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {crt};
    ssl_certificate_key {key};
    location / {
        proxy_pass http://127.0.0.1:{ws};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
    }
}"""


def test_websocket_over_tls(t):
    """A TLS listener: the client leg cannot be spliced (kernel TLS and
    sockmap don't mix), so the stream is relayed through lbd, correctly:
    early bytes, echo, 8 MiB both ways byte-exact."""
    import ssl
    from test_tls import client_ctx, make_cert
    d = t.tmpdir('wss-')
    crt, key = make_cert(t, d, 'ws', 'ws.test')
    ws = UpgradeServer()
    t.defer(ws.close)
    p = t.proxy(WSS_CONF, ws=ws.port, crt=crt, key=key, workers=2)
    raw = socket.create_connection(('127.0.0.1', p.port), timeout=20)
    s = client_ctx().wrap_socket(raw, server_hostname='ws.test')
    s.sendall(_upgrade_req('/echo') + b'early!')
    head, rest = _read_head(s)
    assert head.startswith('HTTP/1.1 101'), head
    assert _recv_exact(s, 6, rest) == b'early!'
    for i in range(10):
        msg = b'tls message %d' % i
        s.sendall(msg)
        assert _recv_exact(s, len(msg)) == msg
    s.close()
    size = 8 << 20
    raw = socket.create_connection(('127.0.0.1', p.port), timeout=20)
    s = client_ctx().wrap_socket(raw, server_hostname='ws.test')
    s.sendall(_upgrade_req('/bulk/%d' % size))
    head, rest = _read_head(s)
    assert ' 101 ' in head
    # one thread per SSL object (OpenSSL's rule): all up, then all down;
    # the backend's downstream waits in the buffers meanwhile, both ways
    # are in flight at once
    up = pattern(size)[::-1]
    s.sendall(up)
    got = _recv_exact(s, size + 12 + 1 + 64, rest)
    assert got[:size] == pattern(size)
    n, digest = got[size:].decode().split()
    assert int(n) == size and digest == hashlib.sha256(up).hexdigest()
    s.close()


# ---- sizes and bounds of spliced streams (issue 5, item 3) -----------------


def _path_of(t, p, s):
    """lbd: the path (`lbctl conns`) of the stream whose client socket is S."""
    me = '127.0.0.1:%d' % s.getsockname()[1]
    rows = [c for c in _lbctl_json(t, p, 'conns')['conns'] if c['client'] == me]
    assert len(rows) == 1, rows
    return rows[0]['path']


def _want_path(t, p, relay):
    """The path lbd must be using: splice(2) when asked, else sockmap where
    the kernel has it."""
    if relay:
        return 'splice'
    st = _lbctl_json(t, p, 'status')
    return 'sockmap' if st['features']['sockmap'] else 'splice'


def _assert_path(t, p, s, relay):
    """lbd: the stream of client socket S is on the path it should be.
    A backend that fills every read of lbd's switch up to 2 MiB (CPU
    contention: 1 run in 12 of the duplex test beside two busy loops,
    more under `make test`) stays on splice(2), and lbd says so."""
    path, want = _path_of(t, p, s), _want_path(t, p, relay)
    assert path == want or (want == 'sockmap' and path == 'splice' and
                            'too busy to move to sockmap' in p.error_log()), (path, want)


def _duplex_256mib(t, relay):
    n = 256 << 20
    ws, p = _setup(t, relay=relay)
    s = _connect(p, '/duplex/%d/11/22' % n)
    head, rest = _read_head(s)
    assert ' 101 ' in head
    if not t.is_nginx:
        _assert_path(t, p, s, relay)
    s.settimeout(60)
    got, bad, err = splicekit.duplex(s, n, 11, 22, rest)
    assert err is None, err
    assert (got, bad) == (n, None), 'down: %d bytes, first wrong at %s' % (got, bad)
    verdict = _recv_exact(s, 40)
    assert verdict.split() == [b'up', b'%d' % n, b'bad', b'None'], verdict
    assert ws.results == [(n, None, None)], ws.results
    s.close()


def test_duplex_256mib_byte_exact(t):
    """256 MiB each way at once through the default path (sockmap on lbd),
    every byte checked at its position on both ends (a repeated, lost or
    reordered segment shows as a wrong offset). Under CPU contention it
    used to stall on lbd about 1 run in 4 (the backend's last 40 bytes
    never reached the program: test_sockmap_short_message_after_repeat)."""
    _duplex_256mib(t, False)


def test_duplex_256mib_byte_exact_relay(t):
    """The same through lbd's splice(2) relay (`kernel_splice off`)."""
    if t.is_nginx:
        t.skip('lbd\'s kernel_splice off')
    _duplex_256mib(t, True)


def _many_conf(t, ws, n):
    """WS_CONF with room for N streams: worker_connections (nginx counts
    the upstream connections too) and worker_rlimit_nofile; lbd also lifts
    client_conns_per_ip (every client is 127.0.0.1)."""
    main = 'worker_rlimit_nofile %d;' % (4 * n + 200)
    if not t.is_nginx:
        main += '\nclient_conns_per_ip off;'
    conf = make_conf(WS_CONF, main=main, workers=2).replace(
        'worker_connections 1024;', 'worker_connections %d;' % (2 * n + 100))
    return t.proxy(conf=conf, ws=ws.port, idle='60s', extra='')


def _many_upgrade(port, n):
    """N upgraded streams at once from one thread: each sends the upgrade
    request with its own message behind it and must read a 101 head and
    then exactly that message (echoed by the backend)."""
    import selectors
    sel = selectors.DefaultSelector()
    socks, buf, done = [], [], 0
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(('127.0.0.1', port))
        except BlockingIOError:
            pass
        socks.append(s)
        buf.append(b'')
        sel.register(s, selectors.EVENT_WRITE, i)
    deadline = time.monotonic() + 60
    while done < n:
        assert time.monotonic() < deadline, '%d of %d streams echoed' % (done, n)
        for key, ev in sel.select(1.0):
            i, s = key.data, key.fileobj
            if ev & selectors.EVENT_WRITE:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                assert not err, 'stream %d: %s' % (i, os.strerror(err))
                s.sendall(_upgrade_req('/echo') + b'stream %06d' % i)
                sel.modify(s, selectors.EVENT_READ, i)
                continue
            d = s.recv(65536)
            assert d, 'stream %d closed after %r' % (i, buf[i])
            buf[i] += d
            if b'\r\n\r\n' in buf[i]:
                head, body = buf[i].split(b'\r\n\r\n', 1)
                assert b' 101 ' in head.split(b'\r\n')[0], head
                want = b'stream %06d' % i
                assert want.startswith(body), (i, body)
                if body == want:
                    sel.unregister(s)
                    done += 1
    sel.close()
    for s in socks:
        s.setblocking(True)
    return socks


# what 2,000 streams may leave in lbd's RSS once closed: caches sized by
# the peak (free lists of connection objects and buffers, event arrays);
# measured +3.8 MiB, the same after a second round, on a quiet machine, and
# +10.4 MiB in a CI run beside other suites (heap fragmentation the trim
# cannot give back); a per-stream leak of even 8 KiB would be 16 MiB
RSS_SLACK_KIB = 16 * 1024


def test_2000_streams_fds_and_rss_back(t):
    """2,000 upgraded streams open at once through one selector client and
    a selector echo backend: each echoes its own message, `lbctl conns`
    lists 2,000 (sockmap), and once all are closed lbd's open files are
    back to exactly where they started and its RSS within RSS_SLACK_KIB of
    where it started. Twice (a second round must not leave more)."""
    n = 2000
    assert splicekit.raise_nofile(3 * n + 500) >= 3 * n + 500
    ws = splicekit.SelectorEcho(http101=True)
    t.defer(ws.close)
    p = _many_conf(t, ws, n)
    # a warm-up round: the first streams make the allocator's arenas and
    # the maps' first pages, which are not "per stream"
    for s in _many_upgrade(p.port, 50):
        s.close()
    wait_for(lambda: ws.open == 0, 10, what='warm-up streams closed')
    if not t.is_nginx:
        wait_for(lambda: _lbctl_json(t, p, 'conns')['count'] == 0, 10,
                 what='warm-up streams gone')
        # (settled: the lbctl connection just made may still be open)
        fd0, rss0 = _settled_nfds(p.pid), splicekit.rss_kib(p.pid)
    rss = []
    for rnd in range(2):
        socks = _many_upgrade(p.port, n)
        assert ws.open == n, ws.open
        if not t.is_nginx:
            got = _lbctl_json(t, p, 'conns')
            assert got['count'] == n, got['count']
            paths = {c['path'] for c in got['conns']}
            assert paths == {_want_path(t, p, False)}, paths
            # (2 of slack: a connection open when fd0 was taken may be gone)
            assert splicekit.nfds(p.pid) >= fd0 + 2 * n - 2, (fd0, splicekit.nfds(p.pid))
            open_rss = splicekit.rss_kib(p.pid)
        for s in socks:
            s.close()
        wait_for(lambda: ws.open == 0, 20, what='backend streams closed (%d open)' % ws.open)
        if t.is_nginx:
            continue
        wait_for(lambda: _lbctl_json(t, p, 'conns')['count'] == 0, 20, what='streams gone')
        wait_for(lambda: splicekit.nfds(p.pid) <= fd0, 10,
                 what='fds back to %d (now %d)' % (fd0, splicekit.nfds(p.pid)))
        # (lbd gives freed heap pages back on its next one-second tick)
        try:
            wait_for(lambda: splicekit.rss_kib(p.pid) - rss0 < RSS_SLACK_KIB, 10,
                     what='RSS back')  # 3 s was short once under a full run
        except AssertionError:
            pass
        rss.append(splicekit.rss_kib(p.pid))
        print('round %d: %d streams, RSS %d KiB before, %d open, %d closed' %
              (rnd, n, rss0, open_rss, rss[-1]))
    if t.is_nginx:
        return
    if '/san/' in t.bin:
        return  # ASan's quarantine holds freed memory: its RSS says nothing
    assert max(rss) - rss0 < RSS_SLACK_KIB, 'RSS %d KiB, after each round %s' % (rss0, rss)


def _held(t, p, ws, rss0):
    """What one stream holds right now: (proxy RSS growth, the proxy's two
    sockets, all four sockets of the stream), in bytes. The proxy's
    sockets: the one on its listening port and the one to the backend;
    each counts what it received and nobody read (rmem_alloc, the
    sockmap's queues included) plus what it was given to send and was not
    acknowledged (wmem_queued)."""
    mem = splicekit.skmem([p.port, ws.port])
    mine = sum(r + w for (loc, peer), (r, w) in mem.items()
               if loc.endswith(':%d' % p.port) or peer.endswith(':%d' % ws.port))
    return ((splicekit.rss_kib(p.pid) - rss0) << 10, mine,
            sum(r + w for r, w in mem.values()))


SLOW_BOUND = 8 << 20    # what the proxy may hold for one stalled stream


def _watch(t, p, ws, rss0, secs, step=None):
    """Sample _held for SECS (calling STEP between samples): the maxima."""
    top = [0, 0, 0]
    end = time.monotonic() + secs
    while time.monotonic() < end:
        for i, v in enumerate(_held(t, p, ws, rss0)):
            top[i] = max(top[i], v)
        if step:
            step()
        time.sleep(0.05)
    return top


def test_slow_reader_bounded_both_ways(t):
    """A fast sender and a slow reader, each way in turn, on the default
    path (sockmap on lbd): 256 MiB pushed at a reader that first reads
    nothing, then a trickle, then everything. Meanwhile the proxy's RSS
    and the kernel memory of the proxy's two sockets stay under
    SLOW_BOUND (measured on lbd: see README, WebSockets), the sender is
    held back (backpressure, not drops), and the transfer completes
    byte-exact."""
    n = 256 << 20
    ws, p = _setup(t)
    rss0 = splicekit.rss_kib(p.pid)
    report = []
    # downstream: the backend pushes, the client reads slowly
    s = _connect(p, '/push/%d/33' % n)
    head, rest = _read_head(s)
    assert ' 101 ' in head
    if not t.is_nginx:
        _assert_path(t, p, s, False)
    wait_for(lambda: ws.sent > 0, 10, what='backend started')
    stalled = _watch(t, p, ws, rss0, 1.5)
    held = ws.sent
    off = [0]

    def trickle():
        # 16 KiB per sample, checked at its position
        off[0], bad = splicekit.recv_stream(s, 33, min(n, off[0] + 16384), b'', off[0])
        assert bad is None, 'wrong byte at %d' % bad
    s.settimeout(60)
    assert splicekit.Stream(33).at(0, len(rest)) == rest   # (< 4 KiB)
    off[0] = len(rest)
    trickled = _watch(t, p, ws, rss0, 1.0, trickle)
    report.append(('down', held, stalled, trickled))
    assert held < 64 << 20, 'backend pushed %d MiB into a stalled stream' % (held >> 20)
    got, bad = splicekit.recv_stream(s, 33, n, b'', off[0])
    assert (got, bad) == (n, None), 'down after the stall: %d bytes, wrong at %s' % (got, bad)
    s.close()
    # upstream: the client pushes, the backend reads nothing, then all
    ws.go.clear()
    s = _connect(p, '/slowsink/%d/44' % n)
    head, rest = _read_head(s)
    assert ' 101 ' in head
    sent = [0]

    def push():
        st, off = splicekit.Stream(44), 0
        while off < n:
            off += s.send(st.at(off, min(splicekit.CHUNK, n - off)))
            sent[0] = off
    th = threading.Thread(target=push, daemon=True)
    th.start()
    wait_for(lambda: sent[0] > 0, 10, what='client started')
    up_stalled = _watch(t, p, ws, rss0, 1.5)
    up_held = sent[0]
    ws.go.set()
    th.join(60)
    assert sent[0] == n
    s.settimeout(60)
    verdict = _recv_exact(s, 40, rest)
    assert verdict.split() == [b'up', b'%d' % n, b'bad', b'None'], verdict
    s.close()
    report.append(('up', up_held, up_stalled, None))
    for what, h, a, b in report:
        print('slow reader %s: sender held at %.1f MiB; stalled: proxy RSS +%.1f MiB, '
              'proxy sockets %.1f MiB, all four sockets %.1f MiB%s' %
              (what, h / 2**20, a[0] / 2**20, a[1] / 2**20, a[2] / 2**20,
               '' if not b else '; trickle: +%.1f, %.1f, %.1f MiB' %
               (b[0] / 2**20, b[1] / 2**20, b[2] / 2**20)))
    assert up_held < 64 << 20, 'client pushed %d MiB into a stalled stream' % (up_held >> 20)
    # A stream lbd left on splice(2) because its backend kept every read of
    # the switch full ("too busy", see _assert_path) also holds what it
    # drained then, up to 2 MiB (TUN_DRAIN_HARD), until the reader takes it.
    bound = SLOW_BOUND
    if not t.is_nginx and 'too busy to move to sockmap' in p.error_log():
        bound += 2 << 20
    # (a sanitizer build's RSS is ASan's quarantine: only its sockets count)
    asan = not t.is_nginx and lbd_sanitized()
    for what, h, a, b in report:
        for v in (a, b):
            if v:
                assert (0 if asan else v[0]) + v[1] < bound, (what, v, bound)


def _rst_paths(t):
    """(label, relay) for each path to run: nginx once, lbd both."""
    return [('nginx', False)] if t.is_nginx else [('sockmap', False), ('splice', True)]


def test_rst_propagated_both_ways(t):
    """On each path: a client that resets its stream (SO_LINGER 0) ends
    the backend's side (lbd resets it too; nginx closes it), and a
    backend that resets ends the client's side, after the bytes before
    it arrived."""
    for label, relay in _rst_paths(t):
        ws, p = _setup(t, relay=relay)
        # the client resets
        s = _connect(p, '/rst')
        head, rest = _read_head(s)
        assert ' 101 ' in head
        s.sendall(b'ping')
        assert _recv_exact(s, 4, rest) == b'ping'
        if not t.is_nginx:
            assert _path_of(t, p, s) == _want_path(t, p, relay), label
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     b'\x01\x00\x00\x00\x00\x00\x00\x00')
        s.close()
        wait_for(lambda: ws.ends, 10, what='%s: the backend to see the end' % label)
        want = ('eof', 'reset') if t.is_nginx else ('reset',)
        assert ws.ends[0] in want, (label, ws.ends)
        # the backend resets
        s = _connect(p, '/rst')
        head, rest = _read_head(s)
        assert ' 101 ' in head
        s.sendall(b'pong')
        assert _recv_exact(s, 4, rest) == b'pong'
        s.sendall(b'!reset')
        s.settimeout(10)
        end = None
        try:
            d = s.recv(100)
            end = 'eof' if d == b'' else d
        except ConnectionResetError:
            end = 'reset'
        want = ('eof', 'reset') if t.is_nginx else ('reset',)
        assert end in want, (label, end)
        s.close()
        if not t.is_nginx:
            wait_for(lambda: _lbctl_json(t, p, 'conns')['count'] == 0, 10,
                     what='%s: streams gone' % label)
        p.stop()


def test_upstream_dies_mid_stream_both_paths(t):
    """The upstream resets in the middle of a busy stream (the client is
    sending, the kernel moving bytes): the client's side ends, on each
    path."""
    for label, relay in _rst_paths(t):
        ws, p = _setup(t, relay=relay)
        s = _connect(p, '/rst')
        head, rest = _read_head(s)
        assert ' 101 ' in head
        blob = b'x' * 65536
        for _ in range(64):   # 4 MiB through the stream, echoed
            s.sendall(blob)
            _recv_exact(s, len(blob), rest)
            rest = b''
        s.sendall(b'!reset')
        s.settimeout(10)
        try:
            while s.recv(65536):
                pass
            end = 'eof'
        except ConnectionResetError:
            end = 'reset'
        assert end in (('eof', 'reset') if t.is_nginx else ('reset',)), (label, end)
        s.close()
        p.stop()
