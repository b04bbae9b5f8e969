# SPDX-License-Identifier: MIT
"""Response compression (issue 7 item 5): gzip on proxied and static
responses, gzip_types, gzip_min_length, gzip_vary, gzip_proxied with Via,
gzip_disable, gzip_http_version, Accept-Encoding q-values, already-encoded
responses, HEAD and 304, ETag weakening, gzip_static, $gzip_ratio. Every
compressed body is decompressed and compared byte for byte with what the
upstream (or the file) holds."""

import gzip
import json
import os
import re
import socket
import threading
import time
import urllib.parse
import zlib

from harness import Conn, assert_location_t_errors, read_head, wait_for

AE = {'Accept-Encoding': 'gzip, deflate'}


def text_body(n, seed=0):
    """N bytes of compressible but not trivial text."""
    out, i = [], seed
    size = 0
    while size < n:
        line = b'line %08d: the quick brown fox %d jumps over %x\n' % (
            i, i * 7 % 1000, i * 131)
        out.append(line)
        size += len(line)
        i += 1
    return b''.join(out)[:n]


class TextUpstream:
    """An upstream that serves /N?mode=cl|chunked|close&ct=TYPE&h=Name:Value
    with N bytes of text_body(N): a Content-Length, chunked (7 KiB chunks)
    or close-delimited body. Every response is HTTP/1.1; the connection is
    closed after each response (nginx talks HTTP/1.0 to it by default)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.stopped = False
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

    def _serve(self, c):
        try:
            c.settimeout(10)
            head, rest = read_head(c, eof_ok=True)
            if rest is None:
                return
            head = head.decode('latin-1')
            line = head.split('\r\n')[0]
            method, target = line.split(' ')[:2]
            self.requests.append(head)
            path, _, query = target.partition('?')
            q = urllib.parse.parse_qs(query, keep_blank_values=True)
            n = int(path.strip('/') or '0')
            mode = q.get('mode', ['cl'])[0]
            status = int(q.get('status', ['200'])[0])
            body = text_body(n)
            if 'raw' in q:  # already gzipped upstream body
                body = gzip.compress(body)
            hdrs = ['HTTP/1.1 %d X' % status,
                    'Content-Type: %s' % q.get('ct', ['text/html'])[0]]
            for h in q.get('h', []):
                hdrs.append(h)
            if status in (204, 304):
                body = b''
                mode = 'none'
            if mode == 'cl':
                hdrs.append('Content-Length: %d' % len(body))
            elif mode == 'chunked':
                hdrs.append('Transfer-Encoding: chunked')
            hdrs.append('Connection: close')
            c.sendall(('\r\n'.join(hdrs) + '\r\n\r\n').encode('latin-1'))
            if method == 'HEAD' or mode == 'none':
                return
            if mode == 'chunked':
                for i in range(0, len(body), 7168):
                    part = body[i:i + 7168]
                    c.sendall(b'%x\r\n%s\r\n' % (len(part), part))
                c.sendall(b'0\r\n\r\n')
            else:
                for i in range(0, len(body), 65536):
                    c.sendall(body[i:i + 65536])
        except OSError:
            pass
        finally:
            c.close()


def _up(t):
    u = TextUpstream()
    t.defer(u.close)
    return u


def _proxy(t, loc='', http='', up=None):
    up = up or _up(t)
    p = t.proxy(http + """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:%s;
%s
    }
}""" % (up.port, loc))
    return p, up


def _gunzip(r):
    assert r.header('Content-Encoding') == 'gzip', r.headers
    return gzip.decompress(r.body)


def _plain(r):
    assert r.header('Content-Encoding') is None, r.headers
    return r.body


def test_gzip_small_content_length(t):
    p, _ = _proxy(t, 'gzip on;')
    r = p.get('/100', headers=AE)
    assert r.status == 200, r
    assert _gunzip(r) == text_body(100)
    assert r.header('Content-Length') is None, r.headers
    assert r.header('Transfer-Encoding') == 'chunked', r.headers
    assert r.header('Vary') is None, r.headers  # gzip_vary is off


def test_gzip_large_content_length(t):
    p, _ = _proxy(t, 'gzip on;')
    r = p.get('/300000?mode=cl', headers=AE)
    assert _gunzip(r) == text_body(300000)
    assert len(r.body) < 300000 // 3, len(r.body)


def test_gzip_chunked_1mib(t):
    p, _ = _proxy(t, 'gzip on; gzip_comp_level 6;')
    r = p.get('/1048576?mode=chunked', headers=AE)
    assert r.status == 200, r
    assert _gunzip(r) == text_body(1048576)


def test_gzip_close_delimited(t):
    p, _ = _proxy(t, 'gzip on;')
    r = p.get('/200000?mode=close', headers=AE)
    assert _gunzip(r) == text_body(200000)
    assert r.header('Transfer-Encoding') == 'chunked', r.headers
    # a small body whose close comes with the head (one read, one event)
    for _ in range(3):
        assert _gunzip(p.get('/2000?mode=close', headers=AE)) == \
            text_body(2000)
        assert _plain(p.get('/2000?mode=close')) == text_body(2000)


def test_gzip_off_by_default(t):
    p, _ = _proxy(t)
    r = p.get('/1000', headers=AE)
    assert _plain(r) == text_body(1000)
    assert r.header('Content-Length') == '1000', r.headers


def test_gzip_min_length(t):
    p, _ = _proxy(t, 'gzip on; gzip_min_length 1000;')
    r = p.get('/999', headers=AE)
    assert _plain(r) == text_body(999)
    r = p.get('/1000', headers=AE)
    assert _gunzip(r) == text_body(1000)
    # no Content-Length: the length is unknown, so no minimum applies
    r = p.get('/50?mode=chunked', headers=AE)
    assert _gunzip(r) == text_body(50)
    # the default minimum is 20 bytes
    p2, _ = _proxy(t, 'gzip on;')
    assert _plain(p2.get('/19', headers=AE)) == text_body(19)
    assert _gunzip(p2.get('/20', headers=AE)) == text_body(20)


def test_gzip_types(t):
    p, _ = _proxy(t, 'gzip on;')
    # only text/html by default
    assert _plain(p.get('/500?ct=text/plain', headers=AE)) == text_body(500)
    r = p.get('/500?ct=' + urllib.parse.quote('TEXT/HTML; charset=utf-8'),
              headers=AE)
    assert _gunzip(r) == text_body(500)
    p2, _ = _proxy(t, 'gzip on; gzip_types text/plain application/json;')
    assert _gunzip(p2.get('/500?ct=text/plain', headers=AE)) == text_body(500)
    assert _gunzip(p2.get('/500?ct=text/html', headers=AE)) == text_body(500)
    assert _plain(p2.get('/500?ct=text/css', headers=AE)) == text_body(500)
    p3, _ = _proxy(t, 'gzip on; gzip_types *;')
    r = p3.get('/500?ct=application/octet-stream', headers=AE)
    assert _gunzip(r) == text_body(500)


def test_gzip_status(t):
    p, _ = _proxy(t, 'gzip on;')
    for st in (403, 404):
        r = p.get('/500?status=%d' % st, headers=AE)
        assert r.status == st, r
        assert _gunzip(r) == text_body(500)
    r = p.get('/500?status=500', headers=AE)
    assert (r.status, _plain(r)) == (500, text_body(500))


def test_gzip_already_encoded_passthrough(t):
    p, _ = _proxy(t, 'gzip on; gzip_types *;')
    q = '/5000?raw=1&h=' + urllib.parse.quote('Content-Encoding: gzip')
    r = p.get(q, headers=AE)
    assert r.header_all('Content-Encoding') == ['gzip'], r.headers
    assert r.body == gzip.compress(text_body(5000)) or \
        gzip.decompress(r.body) == text_body(5000)
    # exactly the upstream bytes (not compressed twice)
    assert gzip.decompress(r.body) == text_body(5000)
    q = '/5000?h=' + urllib.parse.quote('Content-Encoding: br')
    r = p.get(q, headers=AE)
    assert r.header('Content-Encoding') == 'br', r.headers
    assert r.body == text_body(5000)


def test_gzip_accept_encoding_values(t):
    p, _ = _proxy(t, 'gzip on;')
    cases = [
        ('gzip', True), ('GZIP', True), ('deflate, gzip', True),
        ('gzip;q=0', False), ('gzip; q=0.000', False), ('gzip;q=0.5', True),
        ('gzip;q=1', True), ('gzip;q=1.5', False), ('br', False),
        ('deflate,br', False), ('x-gzip', False), ('gzip, br', True),
        ('identity', False), ('*', False), ('', False),
    ]
    got = []
    for ae, want in cases:
        r = p.get('/300', headers={'Accept-Encoding': ae})
        got.append((ae, r.header('Content-Encoding') == 'gzip'))
        if r.header('Content-Encoding'):
            assert gzip.decompress(r.body) == text_body(300)
        else:
            assert r.body == text_body(300)
    assert got == cases, got
    r = p.get('/300')  # no Accept-Encoding at all
    assert _plain(r) == text_body(300)


def test_gzip_http10_client(t):
    p, _ = _proxy(t, 'gzip on;')
    r = p.get('/3000', headers=AE, version='HTTP/1.0')
    assert _plain(r) == text_body(3000)  # gzip_http_version 1.1
    p2, _ = _proxy(t, 'gzip on; gzip_http_version 1.0;')
    with Conn(p2.port) as c:
        r = c.request('GET', '/3000?mode=chunked', headers=AE,
                      version='HTTP/1.0')
        assert r.header('Transfer-Encoding') is None, r.headers
        assert r.header('Content-Length') is None, r.headers
        assert _gunzip(r) == text_body(3000)
        assert c.is_closed(timeout=2)


def test_gzip_vary(t):
    p, _ = _proxy(t, 'gzip on; gzip_vary on;')
    r = p.get('/500', headers=AE)
    assert r.header_all('Vary') == ['Accept-Encoding'], r.headers
    assert _gunzip(r) == text_body(500)
    # the response could have been compressed: Vary even when it was not
    r = p.get('/500')
    assert r.header_all('Vary') == ['Accept-Encoding'], r.headers
    assert _plain(r) == text_body(500)
    # never compressible (type): no Vary
    r = p.get('/500?ct=image/png', headers=AE)
    assert r.header('Vary') is None, r.headers
    # a 304 is not a candidate
    r = p.get('/500?status=304', headers=AE)
    assert r.header('Vary') is None, r.headers


def test_gzip_proxied_via(t):
    via = dict(AE, Via='1.1 cdn')
    p, _ = _proxy(t, 'gzip on;')
    assert _plain(p.get('/400', headers=via)) == text_body(400)  # off
    assert _gunzip(p.get('/400', headers=AE)) == text_body(400)
    p2, _ = _proxy(t, 'gzip on; gzip_proxied any;')
    assert _gunzip(p2.get('/400', headers=via)) == text_body(400)
    p3, _ = _proxy(t, 'gzip on; gzip_proxied expired no-cache auth;')
    past = urllib.parse.quote('Expires: Thu, 01 Jan 1970 00:00:01 GMT')
    future = urllib.parse.quote('Expires: Thu, 31 Dec 2037 23:55:55 GMT')
    nocache = urllib.parse.quote('Cache-Control: private, no-cache')
    private = urllib.parse.quote('Cache-Control: private')
    cases = [
        ('/400', {}, True),  # no Expires, no Cache-Control: fall through
        ('/400?h=' + past, {}, True),
        ('/400?h=' + future, {}, False),
        ('/400?h=' + nocache, {}, True),
        ('/400?h=' + private, {}, False),
        ('/400?h=' + private, {'Authorization': 'Basic eDp5'}, True),
    ]
    got = []
    for path, extra, want in cases:
        r = p3.get(path, headers=dict(via, **extra))
        got.append((path, extra, r.header('Content-Encoding') == 'gzip'))
        if r.header('Content-Encoding'):
            assert gzip.decompress(r.body) == text_body(400)
    assert got == cases, got
    p4, _ = _proxy(t, 'gzip on; gzip_proxied no_etag;')
    etag = urllib.parse.quote('ETag: "x1"')
    assert _plain(p4.get('/400?h=' + etag, headers=via)) == text_body(400)
    assert _gunzip(p4.get('/400', headers=via)) == text_body(400)


def test_gzip_disable(t):
    p, _ = _proxy(t, 'gzip on; gzip_disable msie6 "^curl/";')
    ie6 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)'
    ie6sv1 = 'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)'
    cases = [(ie6, False), (ie6sv1, True), ('CURL/8.0', False),
             ('Mozilla/5.0', True), ('MSIE 5.5 Opera', True)]
    got = []
    for ua, want in cases:
        r = p.get('/400', headers=dict(AE, **{'User-Agent': ua}))
        got.append((ua, r.header('Content-Encoding') == 'gzip'))
    assert got == cases, got


def test_gzip_head_and_304(t):
    p, up = _proxy(t, 'gzip on; gzip_vary on;')
    # HEAD: the head a GET would get (nginx decides before it drops the
    # body), so no Content-Length and no chunking
    r = p.req('HEAD', '/5000', headers=AE)
    assert r.status == 200, r
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert r.header('Content-Length') is None, r.headers
    assert r.header('Transfer-Encoding') is None, r.headers
    assert r.header('Vary') == 'Accept-Encoding', r.headers
    r = p.req('HEAD', '/5000')
    assert r.header('Content-Encoding') is None, r.headers
    assert r.header('Content-Length') == '5000', r.headers
    with p.conn() as c:  # and the connection goes on
        r = c.request('HEAD', '/5000', headers=AE)
        assert _gunzip(c.request('GET', '/5000', headers=AE)) == \
            text_body(5000)
    r = p.get('/5000?status=304', headers=AE)
    assert r.status == 304, r
    assert r.header('Content-Encoding') is None, r.headers
    assert r.header('Vary') is None, r.headers
    r = p.get('/0?status=204', headers=AE)
    assert r.status == 204 and r.header('Content-Encoding') is None, r


def test_gzip_etag_weakened(t):
    p, _ = _proxy(t, 'gzip on;')
    strong = urllib.parse.quote('ETag: "abc"')
    weak = urllib.parse.quote('ETag: W/"abc"')
    r = p.get('/400?h=' + strong, headers=AE)
    assert r.header('ETag') == 'W/"abc"', r.headers
    assert _gunzip(r) == text_body(400)
    r = p.get('/400?h=' + weak, headers=AE)
    assert r.header('ETag') == 'W/"abc"', r.headers
    r = p.get('/400?h=' + strong)
    assert r.header('ETag') == '"abc"', r.headers  # not compressed: as is
    # Accept-Ranges goes with a compressed body
    ar = urllib.parse.quote('Accept-Ranges: bytes')
    r = p.get('/400?h=' + ar, headers=AE)
    assert r.header('Accept-Ranges') is None, r.headers


def test_gzip_keepalive_after_gzip(t):
    p, _ = _proxy(t, 'gzip on;')
    with p.conn() as c:
        for path in ('/70000?mode=chunked', '/70000?mode=close', '/123',
                     '/70000?mode=cl'):
            r = c.request('GET', path, headers=AE)
            n = int(path[1:].split('?')[0])
            assert _gunzip(r) == text_body(n), path
        r = c.request('GET', '/300')
        assert _plain(r) == text_body(300)
        assert not c.is_closed(timeout=0.2)


def _static(t, loc, files):
    root = t.tmpdir('gz-')
    for name, data in files.items():
        t.write(os.path.join(root, name), data)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / {
        root %s;
%s
    }
}""" % (root, loc))
    return p, root


def test_gzip_static_file_compressed(t):
    body = text_body(150000, seed=3)
    p, root = _static(t, 'gzip on; gzip_types text/plain; gzip_vary on;',
                      {'big.txt': body, 'page.html': text_body(5000),
                       'tiny.txt': b'0123456789'})
    r = p.get('/big.txt', headers=AE)
    assert r.status == 200, r
    assert _gunzip(r) == body
    assert r.header('Content-Length') is None, r.headers
    assert r.header('Accept-Ranges') is None, r.headers
    assert r.header('Vary') == 'Accept-Encoding', r.headers
    assert r.header('Last-Modified'), r.headers
    etag = r.header('ETag')
    assert etag and etag.startswith('W/"'), r.headers
    # the weak tag still validates
    r2 = p.get('/big.txt', headers=dict(AE, **{'If-None-Match': etag}))
    assert r2.status == 304, r2
    r = p.get('/big.txt')
    assert _plain(r) == body
    assert r.header('ETag') == etag[2:], r.headers
    assert r.header('Content-Length') == str(len(body)), r.headers
    assert _gunzip(p.get('/page.html', headers=AE)) == text_body(5000)
    assert _plain(p.get('/tiny.txt', headers=AE)) == b'0123456789'
    r = p.req('HEAD', '/big.txt', headers=AE)
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert r.header('Content-Length') is None, r.headers
    with p.conn() as c:  # keep-alive goes on after a compressed file
        for _ in range(2):
            assert _gunzip(c.request('GET', '/big.txt', headers=AE)) == body


def test_gzip_static(t):
    plain = text_body(4000)
    packed = gzip.compress(b'precompressed ' + plain)
    p, root = _static(t, 'gzip_static on; gzip_vary on;',
                      {'a.txt': plain, 'a.txt.gz': packed, 'b.txt': plain})
    r = p.get('/a.txt', headers=AE)
    assert r.status == 200, r
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert r.body == packed  # the file as it is on disk
    assert r.header('Content-Length') == str(len(packed)), r.headers
    assert r.header('Content-Type') == 'text/plain', r.headers
    assert r.header('Vary') == 'Accept-Encoding', r.headers
    r = p.get('/a.txt')  # no gzip in Accept-Encoding
    assert _plain(r) == plain
    assert r.header('Vary') == 'Accept-Encoding', r.headers
    r = p.get('/a.txt', headers={'Accept-Encoding': 'gzip;q=0'})
    assert _plain(r) == plain
    r = p.get('/b.txt', headers=AE)  # no b.txt.gz
    assert _plain(r) == plain
    assert r.header('Vary') is None, r.headers
    assert p.get('/c.txt', headers=AE).status == 404
    p2, _ = _static(t, 'gzip_static always;',
                    {'a.txt': plain, 'a.txt.gz': packed})
    r = p2.get('/a.txt')
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert r.body == packed


def test_gzip_ratio_logged(t):
    p, _ = _proxy(t, 'gzip on; access_log {prefix}/logs/gz.log gzl;',
                  http="log_format gzl '$request_uri $gzip_ratio';\n")
    p.get('/100000', headers=AE)
    p.get('/100000')
    path = p.path('logs', 'gz.log')

    def lines():
        try:
            with open(path) as f:
                return f.read().strip().split('\n')
        except OSError:
            return []
    wait_for(lambda: len(lines()) >= 2, what='two log lines')
    first, second = lines()[:2]
    m = re.match(r'^/100000 (\d+)\.(\d\d)$', first)
    assert m and float(m.group(1) + '.' + m.group(2)) > 2, first
    assert second == '/100000 -', second


def test_gzip_config_errors(t):
    cases = [
        ('gzip_comp_level 0;', 'value must be between 1 and 9'),
        ('gzip_comp_level x;', '"gzip_comp_level" directive invalid number'),
        ('gzip_http_version 2.0;', 'invalid value "2.0"'),
        ('gzip_proxied sometimes;', 'invalid value "sometimes"'),
        ('gzip_static maybe;', 'invalid value "maybe"'),
        ('gzip_min_length x;', '"gzip_min_length" directive invalid value'),
        ('gzip_buffers 0 4k;', '"gzip_buffers" directive invalid value'),
        ('gzip maybe;', 'invalid value "maybe" in "gzip" directive, '
         'it must be "on" or "off"'),
        ('gzip on; gzip off;', '"gzip" directive is duplicate'),
        ('gzip_disable "(";', 'pcre2_compile() failed: missing closing '
         'parenthesis'),
    ]
    assert_location_t_errors(t, cases)


def test_gzip_own_pages(t):
    """The proxy's own answers go through the same filter: a 404 page
    (text/html), a `return` text of default_type."""
    root = t.tmpdir('gz-')
    text = 'x' * 10 + ' some words to compress, ' * 8
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    gzip on;
    gzip_vary on;
    default_type text/html;
    location / { root %s; }
    location = /text { return 200 "%s"; }
    location = /short { return 200 "short"; }
    location = /plain { default_type text/plain; return 200 "%s"; }
    location = /e500 { return 500; }
}""" % (root, text, text))
    r = p.get('/nothing-here', headers=AE)
    assert r.status == 404, r
    assert b'404 Not Found' in _gunzip(r)
    assert r.header('Vary') == 'Accept-Encoding', r.headers
    r = p.get('/nothing-here')
    assert r.status == 404 and b'404 Not Found' in _plain(r), r
    r = p.get('/text', headers=AE)
    assert _gunzip(r) == text.encode(), r.headers
    assert _plain(p.get('/short', headers=AE)) == b'short'  # < 20 bytes
    assert _plain(p.get('/plain', headers=AE)) == text.encode()
    r = p.get('/e500', headers=AE)
    assert r.status == 500 and r.header('Content-Encoding') is None, r
    with p.conn() as c:
        for _ in range(2):
            r = c.request('GET', '/nothing-here', headers=AE)
            assert b'404 Not Found' in _gunzip(r)
            assert _gunzip(c.request('GET', '/text', headers=AE)) == \
                text.encode()


def test_gzip_upstream_keepalive(t):
    """A compressed response leaves the upstream connection reusable."""
    b1 = t.backend('b1')
    p = t.proxy("""
upstream app { server 127.0.0.1:{b1}; keepalive 4; }
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        gzip on;
        gzip_types text/plain application/json;
    }
}""", b1=b1)
    with p.conn() as c:
        for i in range(3):
            r = c.request('GET', '/chunked', headers=AE)
            assert _gunzip(r) == b'alpha\nbeta\ngamma\n', r
            r = c.request('GET', '/j%d' % i, headers=AE)
            doc = json.loads(_gunzip(r))
            assert doc['path'] == '/j%d' % i, doc
    assert b1.connections == 1, b1.connections


def _rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def test_gzip_slow_reader_streams(t):
    """A client that stops reading a large compressed response: lbd's memory
    does not grow with it (neither the body nor its compressed form is held
    in memory: 64 MiB that compress to 11 MiB; what waits is in the temp
    file or held back upstream); the body comes out complete when the
    client reads again."""
    if t.target != 'lbd':
        t.skip('nginx buffers into temp files in a separate worker process')
    size = 64 * 1024 * 1024
    u = _up(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:%s; gzip on; }
}""" % u.port)
    _gunzip(p.get('/100000', headers=AE))  # the worker's first compressor
    before = _rss_kib(p.pid)
    with Conn(p.port) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        c.send(b'GET /%d?mode=chunked HTTP/1.1\r\nHost: x\r\n'
               b'Accept-Encoding: gzip\r\n\r\n' % size)
        time.sleep(1.0)  # the upstream could send everything meanwhile
        grown = _rss_kib(p.pid) - before
        assert grown < 6 * 1024, 'RSS grew by %d KiB, client stalled' % grown
        r = c.read_response(timeout=120)
    assert gzip.decompress(r.body) == text_body(size)


def test_gzip_static_no_ranges(t):
    """nginx's gzip_static handler does not allow ranges: the .gz file goes
    out whole, without Accept-Ranges, to a Range request too (one or
    several ranges, one past the end, GET and HEAD); the plain file beside
    it keeps its ranges."""
    plain = text_body(4000)
    packed = gzip.compress(b'precompressed ' + plain)
    p, _ = _static(t, 'gzip_static on;', {'a.txt': plain, 'a.txt.gz': packed})
    for rng in (None, 'bytes=0-9', 'bytes=0-9,20-29', 'bytes=99999-'):
        h = dict(AE, Range=rng) if rng else AE
        for method in ('GET', 'HEAD'):
            r = p.req(method, '/a.txt', headers=h)
            assert r.status == 200, (rng, method, r)
            assert r.header('Accept-Ranges') is None, r.headers
            assert r.header('Content-Range') is None, r.headers
            assert r.header('Content-Encoding') == 'gzip', r.headers
            assert r.header('Content-Length') == str(len(packed)), r.headers
            if method == 'GET':
                assert r.body == packed
    r = p.get('/a.txt')  # not gzip: the plain file, with ranges
    assert r.header('Accept-Ranges') == 'bytes', r.headers
    r = p.get('/a.txt', headers={'Range': 'bytes=0-9'})
    assert r.status == 206 and r.body == plain[:10], r
