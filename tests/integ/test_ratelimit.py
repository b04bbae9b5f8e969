# SPDX-License-Identifier: MIT
"""Response rate limiting: limit_rate, limit_rate_after, `set $limit_rate`,
the upstream's X-Accel-Limit-Rate (hidden, obeyed unless
proxy_ignore_headers names it), on static files, proxied bodies
(proxy_buffering on and off), cache hits, TLS and HTTP/2; and
proxy_limit_rate (reading the upstream). Timings are asserted
only as lower bounds (a loaded machine only makes a transfer slower):
nginx lets one second's worth go at once, lbd a tenth of a second's, so
300 KiB at 100k takes nginx about 2 s and lbd about 2.9 s; both are
asserted to take at least 1.8 s. Bodies are compared byte for byte."""

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

from harness import (Conn, assert_location_t_errors, free_port, read_head, recv_until_close,
                     wait_for)

SIZE = 300 * 1024
PAT = bytes(range(251)) * 1300  # 251 is prime: a shifted slice shows
BODY = PAT[:SIZE]


def _site(t, body=BODY):
    d = t.tmpdir('html-')
    t.write(os.path.join(d, 'f.bin'), body)
    return d


def _timed_get(port, path, headers=None, tls=False, timeout=30):
    """(status, head dict, body, seconds) of GET PATH on a new connection."""
    t0 = time.monotonic()
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname='a.test')
    req = 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' % path
    for k, v in (headers or {}).items():
        req += '%s: %s\r\n' % (k, v)
    s.sendall((req + '\r\n').encode())
    data = recv_until_close(s)
    s.close()
    dt = time.monotonic() - t0
    head, _, body = data.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    hdrs = {}
    for ln in lines[1:]:
        n, _, v = ln.partition(':')
        hdrs[n.strip().lower()] = v.strip()
    if hdrs.get('transfer-encoding') == 'chunked':
        body = _dechunk(body)
    return int(lines[0].split()[1]), hdrs, body, dt


def _dechunk(data):
    out = b''
    while True:
        line, _, data = data.partition(b'\r\n')
        n = int(line.split(b';')[0], 16)
        if not n:
            return out
        out += data[:n]
        data = data[n + 2:]


class BodyBackend:
    """HTTP/1.1 backend: /N answers N bytes of PAT-like data (Content-Length,
    or chunked with /chunked/N), with the headers of the query
    (?X-Accel-Limit-Rate=off). .sent: bytes of bodies written so far,
    .done: bodies written whole."""

    def __init__(self, t):
        self.port = free_port()
        self.sent = 0
        self.done = 0
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', self.port))
        self.lsock.listen(16)
        self.closing = False
        t.defer(self.close)
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
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        c.settimeout(30)
        try:
            buf, rest = read_head(c, chunk=4096, eof_ok=True)
            if rest is None:
                return
            target = buf.split(b' ')[1].decode()
            path, _, query = target.partition('?')
            chunked = path.startswith('/chunked/')
            n = int(path.rsplit('/', 1)[1])
            extra = ''.join('%s: %s\r\n' % tuple(kv.split('=', 1))
                            for kv in query.split('&') if kv)
            frame = 'Transfer-Encoding: chunked' if chunked else \
                'Content-Length: %d' % n
            c.sendall(('HTTP/1.1 200 OK\r\n%s\r\n%sConnection: close\r\n\r\n'
                       % (frame, extra)).encode())
            body = (PAT * (n // len(PAT) + 1))[:n]
            for i in range(0, n, 16384):
                part = body[i:i + 16384]
                c.sendall(b'%x\r\n%s\r\n' % (len(part), part) if chunked else part)
                self.sent += len(part)
            if chunked:
                c.sendall(b'0\r\n\r\n')
            self.done += 1
        except OSError:
            return
        finally:
            c.close()


def test_static_limit_rate(t):
    d = _site(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    location / { limit_rate 100k; }
    location /after/ { alias %s/; limit_rate 100k; limit_rate_after 200k; }
    location /zero/ { alias %s/; limit_rate 0; }
    location /inner/ {
        alias %s/;
        limit_rate 100k;
        location /inner/off/ { alias %s/; limit_rate 0; }
    }
}""" % (d, d, d, d, d))
    st, _, body, dt = _timed_get(p.port, '/f.bin')
    assert st == 200 and body == BODY
    assert dt >= 1.8, dt
    # the first 200 KiB are free: 100 KiB left at 100k
    st, _, body, dt = _timed_get(p.port, '/after/f.bin')
    assert st == 200 and body == BODY
    assert dt >= 0.8, dt
    for path in ('/zero/f.bin', '/inner/off/f.bin'):
        st, _, body, _ = _timed_get(p.port, path)
        assert st == 200 and body == BODY, path


def test_keepalive_after_limited(t):
    """A limited response, then an unlimited and a limited one on the same
    keep-alive connection: each whole, the limit per request."""
    d = _site(t)
    t.write(os.path.join(d, 'small.bin'), BODY[:40960])
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    location /lim/ { alias %s/; limit_rate 100k; }
}""" % (d, d))
    with Conn(p.port, timeout=10) as c:
        for path in ('/lim/small.bin', '/f.bin', '/lim/small.bin'):
            r = c.request('GET', path)
            want = BODY if path == '/f.bin' else BODY[:40960]
            assert r.status == 200 and r.body == want, path


def test_limit_rate_from_variables(t):
    """limit_rate / limit_rate_after with variables (nginx 1.22), `set
    $limit_rate` overriding limit_rate, and $limit_rate read back."""
    d = _site(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    location /var/ { alias %s/; limit_rate $arg_r; limit_rate_after $arg_a; }
    location /set/ { alias %s/; limit_rate 1m; set $limit_rate 100k; }
    location /unset/ { alias %s/; limit_rate 100k; set $limit_rate 0; }
    location = /show { set $limit_rate 10k; return 200 "$limit_rate\\n"; }
    location = /bad { set $limit_rate 1g; return 200 "$limit_rate\\n"; }
    location /if/ {
        alias %s/;
        if ($arg_slow) { limit_rate 100k; }
    }
}""" % (d, d, d, d, d))
    st, _, body, dt = _timed_get(p.port, '/var/f.bin?r=100k&a=0')
    assert st == 200 and body == BODY
    assert dt >= 1.8, dt
    st, _, body, dt = _timed_get(p.port, '/set/f.bin')
    assert st == 200 and body == BODY
    assert dt >= 1.8, dt
    st, _, body, dt = _timed_get(p.port, '/if/f.bin?slow=1')
    assert st == 200 and body == BODY
    assert dt >= 1.8, dt
    for path in ('/unset/f.bin', '/var/f.bin?r=0', '/var/f.bin?r=junk', '/if/f.bin'):
        st, _, body, _ = _timed_get(p.port, path)
        assert st == 200 and body == BODY, path
    assert p.get('/show').body == b'10240\n'
    # nginx's sizes have no "g": logged, and the rate stays unset
    assert p.get('/bad').body == b'0\n'
    wait_for(lambda: 'invalid $limit_rate "1g"' in p.error_log(), 5,
             what='the invalid $limit_rate logged')
    wait_for(lambda: 'invalid size "junk"' in p.error_log(), 5,
             what='the invalid limit_rate value logged')


def test_proxied_limit_rate(t):
    b = BodyBackend(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{b}; limit_rate 100k; }
    location /nobuf/ {
        proxy_pass http://127.0.0.1:{b}/;
        proxy_buffering off;
        limit_rate 100k;
    }
    location /free/ { proxy_pass http://127.0.0.1:{b}/; }
}""", b=b.port)
    for path in ('/%d' % SIZE, '/chunked/%d' % SIZE):
        st, _, body, dt = _timed_get(p.port, path)
        assert st == 200 and body == BODY, path
        assert dt >= 1.8, (path, dt)
    # nginx sends unbuffered answers unlimited; lbd limits them too
    # (test_unbuffered_backpressure)
    for path in ('/nobuf/%d' % SIZE, '/nobuf/chunked/%d' % SIZE):
        st, _, body, dt = _timed_get(p.port, path)
        assert st == 200 and body == BODY, path
        assert t.is_nginx or dt >= 1.8, (path, dt)
    st, _, body, _ = _timed_get(p.port, '/free/%d' % SIZE)
    assert st == 200 and body == BODY


def test_unbuffered_backpressure(t):
    """proxy_buffering off: while the client's budget is spent the upstream
    is not read, so a big answer stays mostly in the backend. lbd only:
    nginx 1.22 does not limit unbuffered answers at all (all 32 MiB go at
    once)."""
    if t.is_nginx:
        t.skip('nginx does not apply limit_rate with proxy_buffering off')
    b = BodyBackend(t)
    n = 32 * 1024 * 1024
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{b}; proxy_buffering off; limit_rate 20k; }
}""", b=b.port)
    c = Conn(p.port)
    c.send(b'GET /%d HTTP/1.1\r\nHost: x\r\n\r\n' % n)
    c.read_head()
    got, t0 = 0, time.monotonic()
    c.sock.settimeout(0.2)
    while time.monotonic() - t0 < 1.5:
        try:
            got += len(c.sock.recv(65536))
        except socket.timeout:
            pass
    # socket buffers hold a few MiB at most; the backend is far from done
    assert b.done == 0 and b.sent < n // 2, (b.sent, got)
    c.close()


def test_proxy_limit_rate(t):
    """proxy_limit_rate: the upstream's answer is read at the rate (with
    proxy_buffering on; off: not limited, as nginx), whatever the client
    takes."""
    b = BodyBackend(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{b}; proxy_limit_rate 100k; }
    location /nobuf/ {
        proxy_pass http://127.0.0.1:{b}/;
        proxy_limit_rate 100k;
        proxy_buffering off;
    }
}""", b=b.port)
    for path in ('/%d' % SIZE, '/chunked/%d' % SIZE):
        st, _, body, dt = _timed_get(p.port, path)
        assert st == 200 and body == BODY, path
        assert dt >= 1.5, (path, dt)
    st, _, body, _ = _timed_get(p.port, '/nobuf/%d' % SIZE)
    assert st == 200 and body == BODY


def test_x_accel_limit_rate(t):
    b = BodyBackend(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    add_header X-LR $limit_rate;
    location / { proxy_pass http://127.0.0.1:{b}; }
    location /slow/ { proxy_pass http://127.0.0.1:{b}/; limit_rate 100k; }
    location /ign/ {
        proxy_pass http://127.0.0.1:{b}/;
        proxy_ignore_headers X-Accel-Limit-Rate;
    }
}""", b=b.port)
    st, h, body, dt = _timed_get(p.port, '/%d?X-Accel-Limit-Rate=102400' % SIZE)
    assert st == 200 and body == BODY
    assert 'x-accel-limit-rate' not in h and h['x-lr'] == '102400', h
    assert dt >= 1.8, dt
    # 0 and "off" lift the location's limit (nginx 1.22 lifts it for 0
    # only: after "off" it still applies limit_rate, in ~3 s here)
    for v in ('0', 'off'):
        st, h, body, _ = _timed_get(p.port, '/slow/%d?X-Accel-Limit-Rate=%s' % (SIZE, v))
        assert st == 200 and body == BODY and h['x-lr'] == '0', h
    # ignored: not obeyed (no limit) and still hidden
    st, h, body, _ = _timed_get(p.port, '/ign/%d?X-Accel-Limit-Rate=100' % SIZE)
    assert st == 200 and body == BODY, h
    assert 'x-accel-limit-rate' not in h and h['x-lr'] == '0', h
    # not a number: ignored
    st, h, body, _ = _timed_get(p.port, '/%d?X-Accel-Limit-Rate=10k' % SIZE)
    assert st == 200 and body == BODY and h['x-lr'] == '0', h


def test_cache_hit_limit_rate(t):
    b = BodyBackend(t)
    p = t.proxy("""
proxy_cache_path {prefix}/cache levels=1 keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache c;
        proxy_cache_valid 200 10m;
        proxy_cache_key k;
        add_header X-Cache $upstream_cache_status;
    }
    location /lim/ {
        proxy_pass http://127.0.0.1:{b}/;
        proxy_cache c;
        proxy_cache_valid 200 10m;
        proxy_cache_key k;
        limit_rate 100k;
        add_header X-Cache $upstream_cache_status;
    }
}""", b=b.port)
    st, h, body, _ = _timed_get(p.port, '/%d' % SIZE)
    assert st == 200 and body == BODY and h['x-cache'] == 'MISS', h
    # the same key from the limited location: a HIT, sent at 100k
    st, h, body, dt = _timed_get(p.port, '/lim/%d' % SIZE)
    assert st == 200 and body == BODY and h['x-cache'] == 'HIT', h
    assert dt >= 1.8, dt


def test_cache_hit_keeps_x_accel_limit_rate(t):
    """The upstream's X-Accel-Limit-Rate is kept with the cached answer
    (never sent to the client) and applied again on every hit, as nginx
    processes the stored head; proxy_ignore_headers still turns it off."""
    b = BodyBackend(t)
    p = t.proxy("""
proxy_cache_path {prefix}/cache levels=1 keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    add_header X-LR $limit_rate;
    add_header X-Cache $upstream_cache_status;
    proxy_cache c;
    proxy_cache_valid 200 10m;
    location / { proxy_pass http://127.0.0.1:{b}; }
    location /ign/ {
        proxy_pass http://127.0.0.1:{b}/;
        proxy_ignore_headers X-Accel-Limit-Rate;
    }
}""", b=b.port)
    path = '/%d?X-Accel-Limit-Rate=102400' % SIZE
    st, h, body, _ = _timed_get(p.port, path)
    assert st == 200 and body == BODY and h['x-cache'] == 'MISS', h
    st, h, body, dt = _timed_get(p.port, path)
    assert st == 200 and body == BODY and h['x-cache'] == 'HIT', h
    assert 'x-accel-limit-rate' not in h and h['x-lr'] == '102400', h
    assert dt >= 1.8, dt
    assert b.done == 1
    # ignored: the hit goes unlimited
    path = '/ign/%d?X-Accel-Limit-Rate=100' % SIZE
    _timed_get(p.port, path)
    st, h, body, _ = _timed_get(p.port, path)
    assert st == 200 and body == BODY and h['x-cache'] == 'HIT', h
    assert 'x-accel-limit-rate' not in h and h['x-lr'] == '0', h


def test_tls_limit_rate(t):
    from test_tls import make_cert
    d = _site(t)
    crt, key = make_cert(t, t.tmpdir('certs-'), 'a', 'a.test')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    root %s;
    limit_rate 100k;
}""" % (crt, key, d))
    st, _, body, dt = _timed_get(p.port, '/f.bin', tls=True)
    assert st == 200 and body == BODY
    assert dt >= 1.8, dt


def test_send_timeout_not_while_delaying(t):
    """send_timeout 50ms, limit_rate 20k, 100 KiB: the transfer takes
    seconds of lbd's (nginx's) own delays, each longer than send_timeout
    (lbd waits for 0.1 s worth, nginx for 1 s), and is not cut by it."""
    d = _site(t, BODY[:100 * 1024])
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    send_timeout 50ms;
    limit_rate 20k;
}""" % d)
    st, _, body, dt = _timed_get(p.port, '/f.bin')
    assert st == 200 and body == BODY[:100 * 1024]
    assert dt >= 3.0, dt


def _fds(p):
    n = 0
    for pid in _tree(p.pid):
        try:
            n += len(os.listdir('/proc/%d/fd' % pid))
        except OSError:
            pass
    return n


def _tree(pid):
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        try:
            with open('/proc/%d/task/%d/children' % (q, q)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def test_client_gone_mid_transfer(t):
    """Clients that leave during a limited static file and a limited proxied
    body: their connections (and the upstream's) are closed, fds back to
    where they were, and the server still answers."""
    d = _site(t)
    t.write(os.path.join(d, 'small'), 'ok')
    b = BodyBackend(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    limit_rate 50k;
    location /up/ { proxy_pass http://127.0.0.1:{b}/; }
}""" % d, b=b.port)
    assert p.get('/small').status == 200  # warm: lazily opened files
    base = _fds(p)
    conns = []
    for path in ('/f.bin', '/up/%d' % SIZE, '/f.bin', '/up/%d' % SIZE):
        c = Conn(p.port)
        c.send(('GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path).encode())
        c.read_head()
        conns.append(c)
    wait_for(lambda: _fds(p) > base, 5, what='connections open')
    for c in conns:
        c.close()
    wait_for(lambda: _fds(p) <= base, 10, what='fds back to %d' % base)
    st, _, body, _ = _timed_get(p.port, '/f.bin')
    assert st == 200 and body == BODY


def test_limit_rate_config_errors(t):
    assert_location_t_errors(t, [
        ('limit_rate 10x;', '"limit_rate" directive invalid value'),
        ('limit_rate 1g;', '"limit_rate" directive invalid value'),
        ('limit_rate -1;', '"limit_rate" directive invalid value'),
        ('limit_rate_after 1z;', '"limit_rate_after" directive invalid value'),
        ('limit_rate 1k 2k;', 'invalid number of arguments in "limit_rate" directive'),
        ('limit_rate_after;', 'invalid number of arguments in "limit_rate_after" directive'),
        ('limit_rate 1k; limit_rate 2k;', '"limit_rate" directive is duplicate'),
        ('limit_rate_after 1k; limit_rate_after 2k;',
         '"limit_rate_after" directive is duplicate'),
        ('proxy_limit_rate 1g;', '"proxy_limit_rate" directive invalid value'),
        ('proxy_limit_rate 1k; proxy_limit_rate 1k;',
         '"proxy_limit_rate" directive is duplicate'),
    ])


def test_limit_rate_h2(t):
    """HTTP/2 (h2c, curl): a stream is limited as a request is."""
    if not shutil.which('curl'):
        t.skip('no curl')
    d = _site(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    root %s;
    limit_rate 100k;
}""" % d)
    out = os.path.join(t.tmpdir('h2-'), 'out')
    t0 = time.monotonic()
    r = subprocess.run(['curl', '-s', '--http2-prior-knowledge', '-o', out, '-w',
                        '%{http_version} %{http_code}',
                        'http://127.0.0.1:%d/f.bin' % p.port],
                       capture_output=True, text=True, timeout=30)
    dt = time.monotonic() - t0
    assert r.stdout == '2 200', r.stdout + r.stderr
    with open(out, 'rb') as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(BODY).digest()
    assert dt >= 1.8, dt
