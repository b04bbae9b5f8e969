# SPDX-License-Identifier: MIT
"""slice (nginx's ngx_http_slice_module) and $slice_range: an answer
fetched from the upstream in SIZE ranges, each its own request (and its
own cache entry), put together into the client's answer: the whole file
(200, byte-exact, the upstream saw one Range per slice), keep-alive, a
range inside one slice, across slices, a suffix range, several ranges
(the whole 200), an unsatisfiable range (416 and its page), a start past
the end (the upstream's 416), cached slices (no upstream request the
second time), an upstream that ignores Range (its 200 passed on), an
ETag that changes between slices or a wrong slice (the answer is cut
off, nginx's error line), a client gone in the middle, HEAD, HTTP/1.0,
HTTP/2, a 16 MiB answer in 1 MiB slices (not held in memory), -t
errors."""

import re
import socket
import threading

from harness import (assert_location_t_errors, lbd_sanitized, raw_server, read_head,
                     recv_until_close, wait_for)

SIZE = 1000
LM = 'Mon, 01 Jan 2001 00:00:00 GMT'
DATA = bytes((i * 7 + i // 251) & 0xff for i in range(3500))  # 3.5 slices


class Origin:
    """An upstream that honours a single `bytes=S-E` Range (206 with
    Content-Range; 416 past the end) and logs each request's Range.
    IGNORE: answers 200 with everything. ETAGS: a function of the request
    number (1-based) giving the ETag."""

    def __init__(self, t, data=DATA, ignore=False, etags=None, shift=()):
        self.data = data
        self.shift = shift  # request numbers answered one byte off
        self.ignore = ignore
        self.etags = etags or (lambda n: '"v1"')
        self.lock = threading.Lock()
        self.log = []  # (method, target, Range or None)
        self.port = raw_server(t, self.handle, threaded=True)

    def ranges(self):
        with self.lock:
            return [r for _, _, r in self.log]

    def handle(self, s):
        head, rest = read_head(s, eof_ok=True)
        if rest is None:
            return False
        head = head.decode('latin-1').split('\r\n')
        method, target = head[0].split(' ')[:2]
        hdrs = {}
        for line in head[1:]:
            k, _, v = line.partition(':')
            hdrs[k.strip().lower()] = v.strip()
        rng = hdrs.get('range')
        with self.lock:
            self.log.append((method, target, rng))
            n = len(self.log)
        data = self.data
        total = len(data)
        m = re.fullmatch(r'bytes=(\d+)-(\d*)', rng or '')
        extra = ''
        if m and not self.ignore:
            a = int(m.group(1))
            b = min(int(m.group(2)) if m.group(2) else total - 1, total - 1)
            if a >= total:
                status, body = '416 Requested Range Not Satisfiable', b''
                extra = 'Content-Range: bytes */%d\r\n' % total
            else:
                if n in self.shift:
                    a, b = a + 1, min(b + 1, total - 1)
                status, body = '206 Partial Content', data[a:b + 1]
                extra = 'Content-Range: bytes %d-%d/%d\r\n' % (a, b, total)
        else:
            status, body = '200 OK', data
        out = ('HTTP/1.1 %s\r\nContent-Type: application/octet-stream\r\n'
               'Content-Length: %d\r\nETag: %s\r\nLast-Modified: %s\r\n'
               '%sConnection: close\r\n\r\n'
               % (status, len(body), self.etags(n), LM, extra)).encode()
        if method != 'HEAD':
            out += body
        s.sendall(out)
        return False


def _site(t, o, size=SIZE, cache=False):
    http = ''
    loc = ''
    if cache:
        http = 'proxy_cache_path {prefix}/cache levels=1:2 keys_zone=c:1m;\n'
        loc = ('proxy_cache c; proxy_cache_key $uri$is_args$args$slice_range; '
               'proxy_cache_valid 200 206 1h;')
    return t.proxy(http + """
log_format sl '$status $body_bytes_sent';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/slice.log sl;
    location / {
        slice %s;
        proxy_set_header Range $slice_range;
        %s
        proxy_pass http://127.0.0.1:%d;
    }
    location /off/ {
        proxy_set_header X-Range "[$slice_range]";
        proxy_pass http://127.0.0.1:%d;
    }
}""" % (size, loc, o.port, o.port))


def _logged(p, n):
    """The access log's lines once it has N (written after the answer)."""
    wait_for(lambda: len(p.read('logs', 'slice.log').splitlines()) >= n, what='access log')
    return p.read('logs', 'slice.log').splitlines()


def _want_ranges(starts, size=SIZE):
    return ['bytes=%d-%d' % (s, s + size - 1) for s in starts]


def test_slice_whole(t):
    o = Origin(t)
    p = _site(t, o)
    r = p.get('/f.bin')
    assert r.status == 200, r
    assert r.body == DATA
    assert r.header('Content-Length') == str(len(DATA)), r.headers
    assert r.header('Content-Range') is None, r.headers
    assert r.header('Accept-Ranges') == 'bytes', r.headers
    assert r.header('ETag') == '"v1"', r.headers
    assert _logged(p, 1) == ['200 3500']
    assert o.ranges() == _want_ranges([0, 1000, 2000, 3000]), o.log
    assert all(tg == '/f.bin' for _, tg, _ in o.log), o.log
    # keep-alive: a second answer on the same connection
    with o.lock:
        o.log.clear()
    with p.conn() as c:
        r1 = c.request('GET', '/f.bin?a=1', {'Range': 'bytes=999-1000'})
        r2 = c.request('GET', '/f.bin')
    assert r1.status == 206 and r1.body == DATA[999:1001], r1
    assert r2.status == 200 and r2.body == DATA, r2
    assert o.ranges() == _want_ranges([0, 1000, 0, 1000, 2000, 3000]), o.log
    assert o.log[1][1] == '/f.bin?a=1', o.log  # the arguments again


def test_slice_ranges(t):
    o = Origin(t)
    p = _site(t, o)
    cases = [
        ('bytes=1100-1200', 1100, 1200, [1000]),        # inside one slice
        ('bytes=900-2100', 900, 2100, [0, 1000, 2000]),  # across slices
        ('bytes=-600', 2900, 3499, [0, 2000, 3000]),     # suffix: slice 0 first
        ('bytes=3000-', 3000, 3499, [3000]),             # open, the last slice
        ('bytes=2500-9999', 2500, 3499, [2000, 3000]),   # clipped at the end
    ]
    for i, (rng, a, b, starts) in enumerate(cases):
        with o.lock:
            o.log.clear()
        r = p.get('/f.bin', headers={'Range': rng})
        assert r.status == 206, (rng, r)
        assert r.header('Content-Range') == 'bytes %d-%d/%d' % (a, b, len(DATA)), (rng, r.headers)
        assert r.header('Content-Length') == str(b - a + 1), (rng, r.headers)
        assert r.body == DATA[a:b + 1], rng
        assert o.ranges() == _want_ranges(starts), (rng, o.log)
        # the access log counts what the client got
        assert _logged(p, i + 1)[i] == '206 %d' % (b - a + 1), rng


def test_slice_if_range(t):
    o = Origin(t)
    p = _site(t, o)
    r = p.get('/f.bin', headers={'Range': 'bytes=1500-1600', 'If-Range': '"v1"'})
    assert r.status == 206 and r.body == DATA[1500:1601], r
    assert o.ranges() == _want_ranges([0, 1000]), o.log  # from slice 0
    with o.lock:
        o.log.clear()
    r = p.get('/f.bin', headers={'Range': 'bytes=1500-1600', 'If-Range': '"v0"'})
    assert r.status == 200 and r.body == DATA, r
    assert o.ranges() == _want_ranges([0, 1000, 2000, 3000]), o.log
    r = p.get('/f.bin', headers={'Range': 'bytes=1500-1600', 'If-Range': LM})
    assert r.status == 206 and r.body == DATA[1500:1601], r
    r = p.get('/f.bin', headers={'Range': 'bytes=1500-1600',
                                 'If-Range': 'Tue, 02 Jan 2001 00:00:00 GMT'})
    assert r.status == 200 and r.body == DATA, r


def test_slice_multi_range_and_416(t):
    o = Origin(t)
    p = _site(t, o)
    # several ranges: slice 0 first, then the whole entity (one range at most)
    r = p.get('/f.bin', headers={'Range': 'bytes=0-9,2000-2009'})
    assert r.status == 200, r
    assert r.body == DATA
    assert o.ranges() == _want_ranges([0, 1000, 2000, 3000]), o.log
    # a start past the end: that slice's 416 from the upstream, passed on
    with o.lock:
        o.log.clear()
    r = p.get('/f.bin', headers={'Range': 'bytes=5000-'})
    assert r.status == 416, r
    assert r.header('Content-Range') == 'bytes */3500', r.headers
    assert o.ranges() == _want_ranges([5000]), o.log
    # a range the entity cannot satisfy (the slice is fetched first): 416
    # with the error page, no validators
    for rng, starts in (('bytes=3000-100', [3000]), ('bytes=abc', [0])):
        with o.lock:
            o.log.clear()
        r = p.get('/f.bin', headers={'Range': rng})
        assert r.status == 416, (rng, r)
        assert r.header('Content-Range') == 'bytes */3500', r.headers
        assert r.header('Content-Type') == 'text/html', r.headers
        assert r.header('ETag') is None, r.headers
        assert b'<center><h1>416 Requested Range Not Satisfiable</h1></center>' in r.body
        assert o.ranges() == _want_ranges(starts), o.log


def test_slice_head_http10_off(t):
    o = Origin(t)
    p = _site(t, o)
    r = p.req('HEAD', '/f.bin')
    assert r.status == 200, r
    assert r.header('Content-Length') == str(len(DATA)), r.headers
    assert r.body == b''
    assert o.ranges() == _want_ranges([0]), o.log
    with o.lock:
        o.log.clear()
    r = p.get('/f.bin', version='HTTP/1.0', headers={'Range': 'bytes=1500-2500'})
    assert r.status == 206, r
    assert r.body == DATA[1500:2501]
    assert o.ranges() == _want_ranges([1000, 2000]), o.log
    # slice off: $slice_range is empty, the answer is the upstream's own
    with o.lock:
        o.log.clear()
    r = p.get('/off/x')
    assert r.status == 200 and r.body == DATA, r
    assert o.ranges() == [None], o.log


def test_slice_cached(t):
    o = Origin(t)
    p = _site(t, o, cache=True)
    r = p.get('/f.bin')
    assert r.status == 200 and r.body == DATA, r
    assert len(o.log) == 4, o.log
    r = p.get('/f.bin', headers={'Range': 'bytes=900-2100'})
    assert r.status == 206 and r.body == DATA[900:2101], r
    r = p.get('/f.bin')
    assert r.status == 200 and r.body == DATA, r
    assert len(o.log) == 4, o.log  # every slice from the cache
    # another file: only the slice asked for is fetched and cached
    r = p.get('/g.bin', headers={'Range': 'bytes=10-20'})
    assert r.status == 206 and r.body == DATA[10:21], r
    r = p.get('/g.bin')
    assert r.status == 200 and r.body == DATA, r
    assert o.ranges()[4:] == _want_ranges([0, 1000, 2000, 3000]), o.log


def test_slice_upstream_ignores_range(t):
    o = Origin(t, ignore=True)
    p = _site(t, o)
    r = p.get('/f.bin')
    assert r.status == 200 and r.body == DATA, r
    assert r.header('Content-Length') == str(len(DATA)), r.headers
    assert o.ranges() == _want_ranges([0]), o.log


def _raw_get(port, path):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    try:
        s.sendall(('GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path).encode())
        return recv_until_close(s)
    finally:
        s.close()


def test_slice_etag_mismatch(t):
    o = Origin(t, etags=lambda n: '"v1"' if n < 3 else '"v2"')
    p = _site(t, o)
    got = _raw_get(p.port, '/f.bin')
    head, _, body = got.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200'), got[:200]
    assert b'Content-Length: 3500' in head, head
    # the first two slices, then the connection closes
    assert body == DATA[:2000], len(body)
    assert 'etag mismatch in slice response' in p.error_log(), p.error_log()


def _rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        return int(re.search(r'VmRSS:\s+(\d+)', f.read()).group(1))


def test_slice_unexpected_range(t):
    # a following slice that is not the one asked for: cut off there
    # (the third: nginx holds less than postpone_output, 1460 bytes, unsent)
    o = Origin(t, shift=(3,))
    p = _site(t, o)
    got = _raw_get(p.port, '/f.bin')
    head, _, body = got.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200'), got[:200]
    assert body == DATA[:2000], len(body)
    assert 'unexpected range in slice response: 2001-3001' in p.error_log(), p.error_log()
    # the first slice: the connection closes with no answer
    o2 = Origin(t, shift=(1,))
    p2 = _site(t, o2)
    assert _raw_get(p2.port, '/f.bin') == b''
    assert 'unexpected range in slice response: 1-1001' in p2.error_log(), p2.error_log()


def test_slice_big(t):
    big = bytes(range(256)) * (16 * 4096)  # 16 MiB
    o = Origin(t, data=big)
    p = _site(t, o, size='1m')
    measure = not t.is_nginx and not lbd_sanitized()
    peak = [0]
    done = threading.Event()

    def sample():  # lbd's RSS while the answer flows (bounded by done)
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss_kib(p.pid))
    if measure:
        rss0 = _rss_kib(p.pid)
        th = threading.Thread(target=sample, daemon=True)
        th.start()
    try:
        r = p.get('/big', timeout=60)
    finally:
        done.set()
    assert r.status == 200, r
    assert len(r.body) == len(big) and r.body == big
    assert o.ranges() == _want_ranges(range(0, 16 << 20, 1 << 20), 1 << 20), o.log[:3]
    if measure:
        th.join()
        assert peak[0] - rss0 < 8 * 1024, (rss0, peak[0])  # KiB: not the 16 MiB answer


def test_slice_client_gone(t):
    # the client leaves in the middle of a slice subrequest: the next
    # request is served
    big = bytes(range(256)) * 4096 * 4  # 4 MiB
    o = Origin(t, data=big)
    p = _site(t, o, size='1m')
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    s.sendall(b'GET /big HTTP/1.1\r\nHost: x\r\n\r\n')
    got = b''
    while len(got) < (1 << 20) + 65536:  # into the second slice
        d = s.recv(65536)
        assert d, len(got)
        got += d
    s.close()
    r = p.get('/f.bin', headers={'Range': 'bytes=0-99'})
    assert r.status == 206 and r.body == big[:100], r


def test_slice_h2(t):
    from test_h2 import curl_h2
    o = Origin(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    location / {
        slice 1000;
        proxy_set_header Range $slice_range;
        proxy_pass http://127.0.0.1:%d;
    }
}""" % o.port)
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/f.bin' % p.port, prior=True)
    assert ver == '2' and code == 200 and body == DATA, (ver, code, head)
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/f.bin' % p.port, prior=True,
                                    extra=('-H', 'Range: bytes=1500-2600'))
    assert code == 206 and body == DATA[1500:2601], (code, head)
    assert 'content-range: bytes 1500-2600/3500' in head.lower(), head


def test_slice_t_errors(t):
    assert_location_t_errors(t, [
        ('slice;', 'invalid number of arguments in "slice" directive'),
        ('slice 1 2;', 'invalid number of arguments in "slice" directive'),
        ('slice 1x;', '"slice" directive invalid value'),
        ('slice 1k; slice 2k;', '"slice" directive is duplicate'),
        ('if ($uri) { slice 1k; }', '"slice" directive is not allowed here'),
    ])


def test_slice_gzip(t):
    """gzip on (nginx's gzip filter after slice's): the whole entity's 200
    is compressed (chunked, no length nor Accept-Ranges, a weak ETag,
    Vary) and inflates to the entity; a client without gzip gets the 200
    with its length and Vary. (A Range with gzip: nginx sends a
    compressed 200 of part of the entity; lbd the plain 206.)"""
    import gzip
    o = Origin(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    gzip on; gzip_types application/octet-stream; gzip_vary on;
    location / {
        slice %d;
        proxy_set_header Range $slice_range;
        proxy_pass http://127.0.0.1:%d;
    }
}""" % (SIZE, o.port))
    with p.conn() as c:
        r = c.request('GET', '/f.bin', {'Accept-Encoding': 'gzip'})
        assert r.status == 200 and r.header('Content-Encoding') == 'gzip', r.headers
        assert r.header('Content-Length') is None, r.headers
        assert r.header('Accept-Ranges') is None, r.headers
        assert r.header('ETag') == 'W/"v1"', r.headers
        assert r.header('Vary') == 'Accept-Encoding', r.headers
        assert gzip.decompress(r.body) == DATA
        r = c.request('GET', '/f.bin')
        assert r.status == 200 and r.body == DATA, r
        assert r.header('Content-Length') == str(len(DATA)), r.headers
        assert r.header('Vary') == 'Accept-Encoding', r.headers
    assert o.ranges() == _want_ranges([0, 1000, 2000, 3000] * 2), o.log
