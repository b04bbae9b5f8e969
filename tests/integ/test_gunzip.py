# SPDX-License-Identifier: MIT
"""gunzip (nginx's ngx_http_gunzip_filter_module): an answer that came
with `Content-Encoding: gzip` (proxied, cached, or a gzip_static file) is
decompressed for a client that does not take gzip; a client that does gets
the gzip bytes untouched. Bodies are compared byte for byte with what was
compressed."""

import gzip
import os
import socket
import subprocess
import threading
import time
import urllib.parse
import zlib

from harness import Conn, assert_location_t_errors, lbd_sanitized, read_head, wait_for

AE = {'Accept-Encoding': 'gzip'}


def text_body(n, seed=0):
    """N bytes of compressible but not trivial text."""
    out, i, size = [], seed, 0
    while size < n:
        line = b'row %08d: pack my box with %d dozen liquor jugs %x\n' % (
            i, i * 13 % 997, i * 257)
        out.append(line)
        size += len(line)
        i += 1
    return b''.join(out)[:n]


def corrupt(packed):
    """PACKED with its deflate data damaged past the gzip header."""
    b = bytearray(packed)
    for i in range(12, min(len(b) - 8, 60)):
        b[i] = 0xff
    return bytes(b)


class GzUpstream:
    """An upstream answering /N?mode=cl|chunked|close&... with
    gzip(text_body(N)) and `Content-Encoding: gzip`. Query: status=CODE,
    h=Name:Value (extra header), corrupt=1 (damaged deflate data),
    bomb=1 (N zero bytes instead of text), plain=1 (no encoding), ce=VALUE
    (another Content-Encoding). One response per connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.stopped = False
        self.packed = {}
        threading.Thread(target=self._loop, daemon=True).start()

    def __str__(self):
        return str(self.port)

    def close(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _loop(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def body(self, path, q):
        key = (path, tuple(sorted((k, tuple(v)) for k, v in q.items())))
        if key not in self.packed:
            n = int(path.strip('/').split('/')[-1] or '0')
            plain = bytes(n) if 'bomb' in q else text_body(n)
            packed = plain if 'plain' in q else gzip.compress(plain, 6)
            if 'corrupt' in q:
                packed = corrupt(packed)
            self.packed[key] = packed
        return self.packed[key]

    def _serve(self, c):
        try:
            c.settimeout(30)
            head, rest = read_head(c, eof_ok=True)
            if rest is None:
                return
            head = head.decode('latin-1')
            method, target = head.split('\r\n')[0].split(' ')[:2]
            self.requests.append(head)
            path, _, query = target.partition('?')
            q = urllib.parse.parse_qs(query, keep_blank_values=True)
            mode = q.get('mode', ['cl'])[0]
            status = int(q.get('status', ['200'])[0])
            body = self.body(path, q)
            hdrs = ['HTTP/1.1 %d X' % status, 'Content-Type: text/plain',
                    'ETag: "abc"', 'Accept-Ranges: bytes']
            if 'plain' not in q:
                hdrs.append('Content-Encoding: %s' % q.get('ce', ['gzip'])[0])
            hdrs += q.get('h', [])
            if status in (204, 304):
                body, mode = b'', 'none'
            if mode == 'cl':
                hdrs.append('Content-Length: %d' % len(body))
            elif mode == 'chunked':
                hdrs.append('Transfer-Encoding: chunked')
            hdrs.append('Connection: close')
            c.sendall(('\r\n'.join(hdrs) + '\r\n\r\n').encode('latin-1'))
            if method == 'HEAD' or mode == 'none':
                return
            step = int(q.get('step', ['65536'])[0])
            for i in range(0, len(body), step):
                part = body[i:i + step]
                c.sendall(b'%x\r\n%s\r\n' % (len(part), part)
                          if mode == 'chunked' else part)
            if mode == 'chunked':
                c.sendall(b'0\r\n\r\n')
        except OSError:
            pass
        finally:
            c.close()


def _proxy(t, loc='gunzip on;', http=''):
    up = GzUpstream()
    t.defer(up.close)
    p = t.proxy(http + """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:%s;
        %s
    }
}""" % (up.port, loc))
    return p, up


def test_gunzip_plain_client(t):
    """No gzip in Accept-Encoding: the plain bytes, whatever the upstream's
    framing; Content-Encoding, Content-Length and Accept-Ranges gone, the
    ETag made weak (nginx 1.22); chunked to HTTP/1.1."""
    p, _ = _proxy(t)
    for mode in ('cl', 'chunked', 'close'):
        for n in (0, 1, 100, 300000):
            r = p.get('/%d?mode=%s' % (n, mode))
            assert r.status == 200, (mode, n, r)
            assert r.body == text_body(n), (mode, n, len(r.body))
            assert r.header('Content-Encoding') is None, r.headers
            assert r.header('Content-Length') is None, r.headers
            assert r.header('Transfer-Encoding') == 'chunked', r.headers
            assert r.header('Accept-Ranges') is None, r.headers
            assert r.header('ETag') == 'W/"abc"', r.headers
            assert r.header('Vary') is None, r.headers
    # the upstream writing a few bytes at a time
    r = p.get('/20000?mode=chunked&step=7')
    assert r.body == text_body(20000)
    # Accept-Encoding without gzip, and gzip refused with q=0
    for ae in ('deflate, br', 'gzip;q=0', 'identity'):
        r = p.get('/5000', headers={'Accept-Encoding': ae})
        assert r.body == text_body(5000), ae
    # any status, as nginx (no status test in its filter)
    r = p.get('/3000?status=404')
    assert (r.status, r.body) == (404, text_body(3000))


def test_gunzip_gzip_client(t):
    """A client taking gzip gets the upstream's bytes and headers."""
    p, up = _proxy(t)
    r = p.get('/300000?mode=cl', headers=AE)
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert r.header('Content-Length') == str(len(r.body)), r.headers
    assert r.header('ETag') == '"abc"', r.headers
    assert gzip.decompress(r.body) == text_body(300000)
    assert r.body == up.body('/300000', {'mode': ['cl']})
    r = p.get('/3000?mode=chunked', headers={'Accept-Encoding': 'br, gzip'})
    assert gzip.decompress(r.body) == text_body(3000)


def test_gunzip_untouched(t):
    """gunzip off (the default), another coding, or no coding: passed on."""
    p, up = _proxy(t, '')
    r = p.get('/3000')
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert gzip.decompress(r.body) == text_body(3000)
    p, up = _proxy(t)
    r = p.get('/3000?ce=br')
    assert r.header('Content-Encoding') == 'br', r.headers
    assert gzip.decompress(r.body) == text_body(3000)
    r = p.get('/3000?plain=1')
    assert r.header('Content-Length') == '3000', r.headers
    assert r.body == text_body(3000)
    # "gzip" in another case is gzip too
    r = p.get('/3000?ce=GZip')
    assert r.header('Content-Encoding') is None, r.headers
    assert r.body == text_body(3000)


def test_gunzip_http10_and_vary(t):
    """HTTP/1.0: close-delimited plain body. gzip_vary on: Vary on both
    answers. gzip_http_version 1.1 (default) makes a 1.0 client one that
    does not take gzip even when it says so."""
    p, _ = _proxy(t, 'gunzip on; gzip_vary on;')
    with Conn(p.port) as c:
        r = c.request('GET', '/40000?mode=chunked', headers=AE,
                      version='HTTP/1.0')
        assert r.body == text_body(40000)
        assert r.header('Content-Encoding') is None, r.headers
        assert r.header('Transfer-Encoding') is None, r.headers
        assert r.header('Vary') == 'Accept-Encoding', r.headers
        assert c.is_closed()
    r = p.get('/100', headers=AE)
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert r.header('Vary') == 'Accept-Encoding', r.headers
    p, _ = _proxy(t, 'gunzip on; gzip_http_version 1.0;')
    with Conn(p.port) as c:
        r = c.request('GET', '/400', headers=AE, version='HTTP/1.0')
        assert r.header('Content-Encoding') == 'gzip', r.headers
        assert gzip.decompress(r.body) == text_body(400)


def test_gunzip_keepalive_head(t):
    """Keep-alive goes on after a gunzipped answer; HEAD gets the edited
    head and no body."""
    p, _ = _proxy(t)
    with p.conn() as c:
        for n in (10, 70000, 5):
            assert c.request('GET', '/%d' % n).body == text_body(n)
        r = c.request('HEAD', '/1000')
        assert r.status == 200
        assert r.header('Content-Encoding') is None, r.headers
        assert r.header('Content-Length') is None, r.headers
        assert r.header('ETag') == 'W/"abc"', r.headers
        assert c.request('GET', '/77').body == text_body(77)


def test_gunzip_204_304_untouched(t):
    """A 204 or 304 with `Content-Encoding: gzip` has no body to inflate:
    lbd passes it on as it is and keeps the connection. nginx 1.22 runs its
    inflater on the empty body and closes the connection without an answer
    ("inflate() returned -5 on response end")."""
    if t.target == 'nginx':
        t.skip('nginx 1.22 closes the connection on these')
    p, _ = _proxy(t)
    with p.conn() as c:
        for st in (204, 304):
            r = c.request('GET', '/0?status=%d' % st)
            assert r.status == st
            assert r.header('Content-Encoding') == 'gzip', r.headers
            assert r.header('ETag') == '"abc"', r.headers
        assert c.request('GET', '/77').body == text_body(77)
    assert 'inflate()' not in p.error_log()


def _static(t, loc, files):
    root = t.tmpdir('gunzip-')
    for name, data in files.items():
        with open(os.path.join(root, name), 'wb') as f:
            f.write(data)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { root %s; %s }
}""" % (root, loc))
    return p, root


def test_gunzip_static_always(t):
    """gzip_static always + gunzip: only the .gz file exists; a client
    that takes gzip gets it as it is, another one its plain text."""
    plain = text_body(200000)
    packed = gzip.compress(plain)
    p, _ = _static(t, 'gzip_static always; gunzip on;', {'a.txt.gz': packed})
    r = p.get('/a.txt', headers=AE)
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert r.body == packed
    r = p.get('/a.txt')
    assert r.status == 200, r
    assert r.header('Content-Encoding') is None, r.headers
    assert r.header('Content-Length') is None, r.headers
    assert r.header('Content-Type') == 'text/plain', r.headers
    assert r.header('ETag').startswith('W/"'), r.headers
    assert r.body == plain
    with p.conn() as c:
        for _ in range(2):
            assert c.request('GET', '/a.txt').body == plain
        r = c.request('GET', '/a.txt', version='HTTP/1.0')
        assert r.body == plain
    assert p.get('/b.txt').status == 404


def test_gunzip_corrupt(t):
    """Damaged deflate data: nginx 1.22's error line `inflate() failed: 0, -3`
    and the answer cut (no end of the chunked body) and closed; a client
    taking gzip gets the bytes as they are."""
    p, up = _proxy(t)
    for mode in ('cl', 'chunked'):
        with Conn(p.port) as c:
            c.send(b'GET /200000?corrupt=1&mode=%s HTTP/1.1\r\nHost: x\r\n\r\n'
                   % mode.encode())
            data = b''
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    d = c.sock.recv(65536)
                except socket.timeout:
                    break
                if not d:
                    break
                data += d
        assert not data.endswith(b'0\r\n\r\n'), data[-200:]
        if data:
            assert data.startswith(b'HTTP/1.1 200'), data[:200]
        wait_for(lambda: 'inflate() failed: ' in p.error_log(),
                 what='the inflate error line')
    log = p.error_log()
    assert '[error]' in log and 'inflate() failed: 0, -3' in log, log[-2000:]
    r = p.get('/200000?corrupt=1', headers=AE)
    assert r.body == up.body('/200000', {'corrupt': ['1']})


def _rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def _bomb(t, loc):
    """32 MiB of zeros from a 32 KiB gzip body to a client that reads
    nothing for a while, then everything: output is made only as the client
    drains it (or, buffered, goes to the temp file), so lbd's memory stays
    put (the bound is on RSS growth, not on time)."""
    size = 32 * 1024 * 1024
    p, up = _proxy(t, loc)
    path = '/%d?bomb=1&mode=chunked' % size
    packed = up.body(path.split('?')[0], {'bomb': ['1'], 'mode': ['chunked']})
    assert len(packed) < 64 * 1024, len(packed)
    p.get('/1000')  # the worker's first inflater
    before = _rss_kib(p.pid)
    with Conn(p.port, timeout=60) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        c.send(b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path.encode())
        # let the upstream send all it has while the client reads nothing
        wait_for(lambda: len(up.requests) >= 2, what='the upstream request')
        time.sleep(0.5)
        peak = _rss_kib(p.pid) - before
        got = 0
        c.sock.settimeout(60)
        while True:
            if c.buf:
                d, c.buf = c.buf, b''
            else:
                d = c.sock.recv(1 << 20)
            if not d:
                break
            got += len(d)
            if got > (4 << 20) and got < (6 << 20):
                peak = max(peak, _rss_kib(p.pid) - before)
            if d.endswith(b'0\r\n\r\n'):
                break
    assert got > size, got
    if t.target == 'lbd' and not lbd_sanitized():
        assert peak < 4 * 1024, 'RSS grew by %d KiB' % peak
    return peak


def test_gunzip_bomb_bounded(t):
    """Unbuffered: the upstream is held back while the client stalls."""
    _bomb(t, 'gunzip on; proxy_buffering off;')


def test_gunzip_bomb_buffered(t):
    """Buffered (the default): what the client has not taken waits in the
    temp file, not in memory."""
    _bomb(t, 'gunzip on;')


def test_gunzip_proxy_cache(t):
    """proxy_cache stores the gzip body; a MISS and a HIT are both
    decompressed for a plain client and both left alone for a gzip one."""
    p, up = _proxy(t, 'gunzip on; proxy_cache c; proxy_cache_valid 200 1m;'
                   ' add_header X-Cache $upstream_cache_status;',
                   http='proxy_cache_path {prefix}/cache keys_zone=c:1m;\n')
    for n in (100, 300000):
        r = p.get('/%d' % n)
        assert r.header('X-Cache') == 'MISS', r.headers
        assert r.body == text_body(n)
        assert r.header('Content-Encoding') is None, r.headers
        for ae in ({}, AE):
            r = p.get('/%d' % n, headers=ae)
            assert r.header('X-Cache') == 'HIT', r.headers
            if ae:
                assert r.header('Content-Encoding') == 'gzip', r.headers
                assert gzip.decompress(r.body) == text_body(n)
            else:
                assert r.header('Content-Encoding') is None, r.headers
                assert r.header('Content-Length') is None, r.headers
                assert r.body == text_body(n)
        # a range on a gunzipped HIT: the whole answer, as nginx
        r = p.get('/%d' % n, headers={'Range': 'bytes=0-9'})
        assert (r.status, r.body) == (200, text_body(n)), r
    assert len(up.requests) == 2


def test_gunzip_with_gzip_on(t):
    """gzip and gunzip together: the gzip answer passes to a gzip client,
    the plain one to another; nothing is compressed twice."""
    p, _ = _proxy(t, 'gunzip on; gzip on;')
    r = p.get('/50000', headers=AE)
    assert gzip.decompress(r.body) == text_body(50000)
    r = p.get('/50000')
    assert r.header('Content-Encoding') is None, r.headers
    assert r.body == text_body(50000)


def _subst(b):
    """text_body with sub_filter 'liquor' 'lemon' applied (once off)."""
    return b.replace(b'liquor', b'lemon')


def test_gunzip_then_sub_filter(t):
    """gunzip inflates before sub_filter substitutes (nginx's filter
    order): proxied (any framing, a string split across the inflater's
    output spans and the upstream's writes, HTTP/1.0), a cache HIT, a
    gzip_static file; a gzip client gets the gzip bytes untouched."""
    up = GzUpstream()
    t.defer(up.close)
    root = t.tmpdir('gunzip-')
    os.mkdir(os.path.join(root, 's'))
    os.chmod(os.path.join(root, 's'), 0o755)
    t.write(os.path.join(root, 's', 'a.txt.gz'), gzip.compress(text_body(200000)))
    sf = 'gunzip on; sub_filter liquor lemon; sub_filter_once off; sub_filter_types text/plain;'
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{up}; gunzip_buffers 2 1k; %s }
    location /c/ { proxy_pass http://127.0.0.1:{up}/; %s proxy_cache c;
                   proxy_cache_valid 200 1m; add_header X-Cache $upstream_cache_status; }
    location /s/ { root {root}; gzip_static always; %s }
}""" % (sf, sf, sf), up=up.port, root=root)
    for mode in ('cl', 'chunked', 'close'):
        for n in (1, 5000, 300000):
            r = p.get('/%d?mode=%s&step=777' % (n, mode))
            assert r.status == 200, (mode, n, r)
            assert r.body == _subst(text_body(n)), (mode, n, len(r.body))
            assert r.header('Content-Encoding') is None, r.headers
            assert r.header('Transfer-Encoding') == 'chunked', r.headers
            assert r.header('ETag') is None, r.headers
    with p.conn() as c:
        r = c.request('GET', '/70000', version='HTTP/1.0')
        assert r.body == _subst(text_body(70000))
        assert r.header('Transfer-Encoding') is None, r.headers
    r = p.get('/70000', headers=AE)
    assert gzip.decompress(r.body) == text_body(70000)
    assert r.header('Content-Encoding') == 'gzip', r.headers
    for want in ('MISS', 'HIT'):
        r = p.get('/c/40000')
        assert r.header('X-Cache') == want, r.headers
        assert r.body == _subst(text_body(40000)), want
    r = p.get('/s/a.txt')
    assert r.status == 200, r
    assert r.body == _subst(text_body(200000))
    assert r.header('Content-Encoding') is None, r.headers


def test_gunzip_h2c(t):
    """An HTTP/2 client (h2c): the inflated body in DATA frames, no
    content-encoding; a gzip client gets the gzip bytes."""
    up = GzUpstream()
    t.defer(up.close)
    root = t.tmpdir('gunzip-')
    with open(os.path.join(root, 'f.txt.gz'), 'wb') as f:
        f.write(gzip.compress(text_body(150000)))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    location / { proxy_pass http://127.0.0.1:%s; gunzip on; }
    location /s/ { alias %s/; gzip_static always; gunzip on; }
}""" % (up.port, root))
    for path, n in (('/200000?mode=chunked', 200000), ('/s/f.txt', 150000)):
        url = 'http://127.0.0.1:%d%s' % (p.port, path)
        for ae in ([], ['-H', 'Accept-Encoding: gzip']):
            r = subprocess.run(['curl', '-sS', '--max-time', '20',
                                '--http2-prior-knowledge', '-D', '-'] + ae +
                               [url], capture_output=True, timeout=30)
            assert r.returncode == 0, r.stderr
            head, _, body = r.stdout.partition(b'\r\n\r\n')
            head = head.decode('latin-1').lower()
            assert head.startswith('http/2 200'), head
            if ae:
                assert 'content-encoding: gzip' in head, head
                assert gzip.decompress(body) == text_body(n)
            else:
                assert 'content-encoding' not in head, head
                assert body == text_body(n), (path, len(body))


def test_gunzip_config(t):
    cases = [
        ('gunzip maybe;', 'invalid value "maybe" in "gunzip" directive, '
         'it must be "on" or "off"'),
        ('gunzip on; gunzip off;', '"gunzip" directive is duplicate'),
        ('gunzip_buffers 0 4k;', '"gunzip_buffers" directive invalid value'),
        ('gunzip_buffers 4;', 'invalid number of arguments in '
         '"gunzip_buffers" directive'),
        ('gunzip_buffers 4 4k; gunzip_buffers 4 4k;',
         '"gunzip_buffers" directive is duplicate'),
    ]
    assert_location_t_errors(t, cases)
    # inherited from http and server; buffers as small as nginx allows
    p, _ = _proxy(t, 'gunzip_buffers 2 1k;', http='gunzip on;\n')
    assert p.get('/100000').body == text_body(100000)
