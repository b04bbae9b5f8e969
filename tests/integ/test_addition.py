# SPDX-License-Identifier: MIT
"""add_before_body / add_after_body (nginx's ngx_http_addition_module): the
subrequests' bodies around the main answer, in order, for static, proxied
(Content-Length, chunked, until close; buffered or not), cached and
`return` main answers and static or proxied subrequests; a subrequest
answering 404 (its error page goes in) or cut off mid-body; the head edits
(no Content-Length or Accept-Ranges, a weak ETag, chunked; HTTP/1.0 ends
with the close), HEAD, which answers get additions (200, addition_types),
the client's conditional and Range headers, gzip on, keep-alive and
pipelining, a client gone mid-run, 1 MiB byte-exact on each side, a client
that reads late, HTTP/2 (h2c and TLS), TLS, and -t errors."""

import gzip
import os
import random
import socket
import subprocess
import time

from harness import Conn, assert_location_t_errors, recv_until_close
from test_h2 import curl_h2
from test_subfilter import PieceUpstream
from test_tls import _certs


def _site(t, loc='', extra='', files=None, http=''):
    """A server with root DOCS: / has LOC; /b.html and /a.html are the
    usual additions. FILES: name -> bytes written under the root."""
    docs = t.tmpdir('add-')
    files = dict({'index.html': b'MAIN\n', 'b.html': b'BEFORE\n',
                  'a.html': b'AFTER\n', 't.txt': b'plain\n'}, **(files or {}))
    for name, data in files.items():
        path = os.path.join(docs, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
    return t.proxy(http + """
server {
    listen 127.0.0.1:{port};
    root %s;
    %s
    location / {
        %s
    }
}""" % (docs, extra, loc)), docs


def test_addition_static(t):
    """Before and after a static file: the bodies in order; the head loses
    Content-Length and Accept-Ranges, the ETag turns weak, chunked."""
    p, _ = _site(t, 'add_before_body /b.html; add_after_body /a.html;')
    r = p.get('/index.html')
    assert r.status == 200, r
    assert r.body == b'BEFORE\nMAIN\nAFTER\n', r.body
    assert r.header('Content-Length') is None, r.headers
    assert r.header('Accept-Ranges') is None, r.headers
    assert r.header('Transfer-Encoding') == 'chunked', r.headers
    assert r.header('ETag').startswith('W/"'), r.headers
    assert r.header('Last-Modified'), r.headers
    assert r.header('Content-Type') == 'text/html', r.headers


def test_addition_one_side_and_keepalive(t):
    """Only one of the two; several requests on one connection (the
    connection goes on after the after-body subrequest)."""
    p, _ = _site(t, 'add_after_body /a.html;', extra="""
    location /b/ { add_before_body /b.html; }""",
                 files={'b/x.html': b'X\n'})
    with Conn(p.port) as c:
        for _ in range(3):
            r = c.request('GET', '/index.html')
            assert r.body == b'MAIN\nAFTER\n', r.body
            r = c.request('GET', '/b/x.html')
            assert r.body == b'BEFORE\nX\n', r.body


def test_addition_http10_and_head(t):
    """HTTP/1.0: no chunks, the answer ends with the close; HEAD: the
    edited head, no body, keep-alive."""
    p, _ = _site(t, 'add_before_body /b.html; add_after_body /a.html;')
    with Conn(p.port) as c:
        c.send(b'GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n')
        r = c.read_response()
        assert r.body == b'BEFORE\nMAIN\nAFTER\n', r.body
        assert r.header('Transfer-Encoding') is None, r.headers
        assert r.header('Content-Length') is None, r.headers
        assert r.header('Connection') == 'close', r.headers
        assert c.is_closed()
    with Conn(p.port) as c:
        r = c.request('HEAD', '/index.html')
        assert r.status == 200 and r.body == b'', r
        assert r.header('Content-Length') is None, r.headers
        assert r.header('Transfer-Encoding') is None, r.headers
        assert r.header('ETag').startswith('W/"'), r.headers
        r = c.request('GET', '/index.html')
        assert r.body == b'BEFORE\nMAIN\nAFTER\n', r.body


def test_addition_which_answers(t):
    """Only a 200 of a type in addition_types (text/html by default, always
    in the list; `*` any): others go as they are, with Content-Length."""
    p, _ = _site(t, 'add_after_body /a.html;', extra="""
    location /any/ { add_after_body /a.html; addition_types *; }
    location /pl/ { add_after_body /a.html; addition_types text/plain; }""",
                 files={'any/t.txt': b'plain\n', 'pl/t.txt': b'plain\n',
                        'pl/i.html': b'H\n'})
    r = p.get('/t.txt')
    assert r.body == b'plain\n' and r.header('Content-Length') == '6', r
    r = p.get('/nope.html')
    assert r.status == 404 and b'AFTER' not in r.body, r
    assert r.header('Content-Length'), r.headers
    r = p.get('/any/t.txt')
    assert r.body == b'plain\nAFTER\n', r.body
    r = p.get('/pl/t.txt')
    assert r.body == b'plain\nAFTER\n', r.body
    r = p.get('/pl/i.html')
    assert r.body == b'H\nAFTER\n', r.body


def test_addition_sub_404(t):
    """A subrequest answering 404 puts its error page in; the main body
    and the other addition follow. The error is logged with the
    subrequest's URI."""
    p, _ = _site(t, 'add_before_body /missing.html; add_after_body /a.html;')
    r = p.get('/index.html')
    assert r.status == 200, r
    assert r.body.startswith(b'<html>\r\n<head><title>404 Not Found</title>'), r.body
    assert r.body.endswith(b'</html>\r\nMAIN\nAFTER\n'), r.body
    log = p.error_log()
    assert 'missing.html' in log and 'subrequest: "/missing.html"' in log, log


def test_addition_proxied(t):
    """A proxied main answer (Content-Length, chunked, until close; in
    pieces) with a proxied before-body and a static after-body; the
    subrequest asks the upstream with GET."""
    up = PieceUpstream()
    t.defer(up.close)
    main = b'<p>' + b'main body ' * 300 + b'</p>\n'
    up.routes.update({
        '/cl': dict(body=main), '/ch': dict(body=main, mode='chunked', piece=777),
        '/close': dict(body=main, mode='close', piece=1000),
        '/hdr': dict(body=b'<header>\n', mode='chunked', piece=3),
    })
    p, _ = _site(t, extra="""
    location /up/ {
        proxy_pass http://127.0.0.1:%d/;
        add_before_body /hdr;
        add_after_body /a.html;
    }
    location = /hdr { proxy_pass http://127.0.0.1:%d; }""" % (up.port, up.port))
    for path in ('/up/cl', '/up/ch', '/up/close'):
        r = p.get(path)
        assert r.status == 200, (path, r)
        assert r.body == b'<header>\n' + main + b'AFTER\n', (path, r.body[:80])
        assert r.header('Content-Length') is None, r.headers


def test_addition_large_byte_exact(t):
    """1 MiB subrequest bodies and a 1 MiB main body, byte-exact: the
    bodies flow through (nothing holds them whole)."""
    rnd = random.Random(7)
    big_b, big_m, big_a = (rnd.randbytes(1 << 20) for _ in range(3))
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/bigb'] = dict(body=big_b, mode='chunked', piece=50000)
    p, _ = _site(t, extra="""
    location = /m.html { add_before_body /bigb; add_after_body /bigA.html; }
    location = /bigb { proxy_pass http://127.0.0.1:%d; }""" % up.port,
                 files={'m.html': big_m, 'bigA.html': big_a})
    r = p.get('/m.html')
    assert r.status == 200, r
    assert len(r.body) == 3 << 20, len(r.body)
    assert r.body == big_b + big_m + big_a


def test_addition_h2(t):
    """Over HTTP/2 the same bytes (the stream's DATA, no chunks)."""
    docs = t.tmpdir('add-')
    for name, data in (('index.html', b'MAIN\n'), ('b.html', b'BEFORE\n'),
                       ('a.html', b'AFTER\n')):
        with open(os.path.join(docs, name), 'wb') as f:
            f.write(data)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    root %s;
    location / { add_before_body /b.html; add_after_body /a.html; }
}""" % docs)
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/index.html' % p.port,
                                    prior=True)
    assert (ver, code) == ('2', 200), (ver, code)
    assert body == b'BEFORE\nMAIN\nAFTER\n', body
    assert 'content-length' not in head.lower(), head


def test_addition_t_errors(t):
    assert_location_t_errors(t, [
        ('add_before_body;',
         'invalid number of arguments in "add_before_body" directive'),
        ('add_after_body /a /b;',
         'invalid number of arguments in "add_after_body" directive'),
        ('add_before_body /a; add_before_body /b;',
         '"add_before_body" directive is duplicate'),
        ('addition_types;',
         'invalid number of arguments in "addition_types" directive'),
        ('if ($arg_x) { add_after_body /x; }',
         '"add_after_body" directive is not allowed here'),
    ])


def test_addition_conditional_range_gzip(t):
    """The client's conditional and Range headers do not reach the
    subrequests (nginx's not_modified and range filters skip them), a
    Range on the main answer gives the whole answer with additions, and
    with gzip on the client decodes the same bytes (the assembled answer
    is compressed: test_addition_gzip)."""
    p, _ = _site(t, 'add_before_body /b.html; add_after_body /a.html;',
                 extra='gzip on; gzip_min_length 1;')
    want = b'BEFORE\nMAIN\nAFTER\n'
    first = p.get('/index.html')
    # the main answer's own validators: 304, nothing added
    r = p.get('/index.html', headers={'If-None-Match': '*'})
    assert r.status == 304, r
    r = p.get('/index.html', headers={'If-None-Match': first.header('ETag')})
    assert r.status == 304, r
    r = p.get('/index.html', headers={
        'If-Modified-Since': first.header('Last-Modified')})
    assert r.status == 304, r
    r = p.get('/index.html', headers={'Range': 'bytes=0-2'})
    assert r.status == 200 and r.body == want, r
    r = p.get('/index.html', headers={'Accept-Encoding': 'gzip'})
    body = r.body
    if r.header('Content-Encoding') == 'gzip':
        body = gzip.decompress(body)
    assert r.status == 200 and body == want, r


def test_addition_conditional_subrequest(t):
    """A main answer that changed with additions that did not: the
    subrequests answer 200 whatever the client's validators say."""
    p, docs = _site(t, 'add_before_body /b.html; add_after_body /a.html;')
    old = 1000000000
    for name in ('b.html', 'a.html'):
        os.utime(os.path.join(docs, name), (old, old))
    r = p.get('/index.html', headers={
        'If-Modified-Since': 'Sun, 09 Sep 2001 01:46:41 GMT'})
    assert r.status == 200 and r.body == b'BEFORE\nMAIN\nAFTER\n', r


def test_addition_slow_reader(t):
    """A client that reads late, through a small receive buffer: the
    subrequests' bytes wait for the socket (lbd refuses them meanwhile)
    and come out whole and in order."""
    rnd = random.Random(11)
    big_m, big_a = rnd.randbytes(600000), rnd.randbytes(900000)
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/bigb'] = dict(body=big_a, piece=30000)
    p, _ = _site(t, extra="""
    location = /m.html { add_before_body /bigb; add_after_body /bigb; }
    location = /bigb { proxy_pass http://127.0.0.1:%d; }""" % up.port,
                 files={'m.html': big_m})
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect(('127.0.0.1', p.port))
    s.sendall(b'GET /m.html HTTP/1.0\r\nHost: x\r\n\r\n')
    time.sleep(0.3)  # lets the buffers fill; the check does not depend on it
    data = recv_until_close(s)
    s.close()
    head, _, body = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200'), head
    assert body == big_a + big_m + big_a, (len(body), len(big_a) * 2 + len(big_m))


def test_addition_return_and_types_twice(t):
    """A `return 200` text gets additions too; two addition_types lines
    both count."""
    p, _ = _site(t, extra="""
    location = /r { default_type text/html; add_after_body /a.html;
                    return 200 "R\\n"; }
    location /two/ { add_after_body /a.html;
                     addition_types text/plain; addition_types text/css; }""",
                 files={'two/a.txt': b'T\n', 'two/a.css': b'C\n'})
    r = p.get('/r')
    assert r.status == 200 and r.body == b'R\nAFTER\n', r
    assert p.get('/two/a.txt').body == b'T\nAFTER\n'
    assert p.get('/two/a.css').body == b'C\nAFTER\n'


def test_addition_sub_cut_off(t):
    """A subrequest whose upstream dies mid-body: the answer ends without
    its last chunk and the connection closes."""
    if t.is_nginx:
        t.skip('nginx 1.22 leaves the answer unfinished and the connection '
               'open (a 10 s read timed out): nothing to compare with')
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/cut'] = dict(body=b'x' * 1000, mode='close',
                             hdrs=['Content-Length: 5000'])
    p, _ = _site(t, 'add_before_body /cut; add_after_body /a.html;', extra="""
    location = /cut { proxy_pass http://127.0.0.1:%d; }""" % up.port)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(b'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n')
    data = recv_until_close(s)
    s.close()
    assert data.startswith(b'HTTP/1.1 200'), data[:100]
    assert not data.endswith(b'0\r\n\r\n'), data[-100:]


def test_addition_tls_h1_h2(t):
    """Over TLS, HTTP/1.1 and HTTP/2: 1 MiB around a small page,
    byte-exact."""
    rnd = random.Random(5)
    big = rnd.randbytes(1 << 20)
    docs = t.tmpdir('add-')
    for name, data in (('index.html', b'MAIN\n'), ('big.html', big)):
        with open(os.path.join(docs, name), 'wb') as f:
            f.write(data)
    _, c = _certs(t, ('a', 'localhost', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl http2;
    server_name localhost;
    ssl_certificate %s;
    ssl_certificate_key %s;
    root %s;
    location / { add_before_body /big.html; add_after_body /big.html; }
    location = /big.html { }
}""" % (c['a'][0], c['a'][1], docs))
    url = 'https://localhost:%d/index.html' % p.port
    res = ['--resolve', 'localhost:%d:127.0.0.1' % p.port]
    for extra in (['--http1.1'], []):
        r = subprocess.run(['curl', '-sS', '-k', '--max-time', '30', '-o', '-',
                            '-w', '%{http_version}'] + extra + res + [url],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        want = big + b'MAIN\n' + big
        assert r.stdout.startswith(want), (extra, len(r.stdout))
        ver = r.stdout[len(want):]
        assert ver == (b'1.1' if extra else b'2'), ver


def test_addition_client_gone_and_pipelined(t):
    """A client that leaves while the before-body subrequest still sends
    (its upstream writes a byte at a time) does not disturb the next
    clients; two pipelined requests both get their additions; a main
    answer proxied with proxy_buffering off too."""
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/slow'] = dict(body=b's' * 150, piece=1)
    up.routes['/m'] = dict(body=b'<m>\n', mode='chunked', piece=2)
    p, _ = _site(t, 'add_before_body /b.html; add_after_body /a.html;', extra="""
    location = /gone.html { add_before_body /slow; }
    location = /slow { proxy_pass http://127.0.0.1:%d; }
    location = /m { proxy_pass http://127.0.0.1:%d; proxy_buffering off;
                    add_before_body /b.html; add_after_body /a.html; }"""
                 % (up.port, up.port), files={'gone.html': b'G\n'})
    for _ in range(3):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
        s.sendall(b'GET /gone.html HTTP/1.1\r\nHost: x\r\n\r\n')
        assert s.recv(100).startswith(b'HTTP/1.1 200')
        s.close()
    with Conn(p.port) as c:
        c.send(b'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n'
               b'GET /m HTTP/1.1\r\nHost: x\r\n\r\n')
        r = c.read_response()
        assert r.body == b'BEFORE\nMAIN\nAFTER\n', r.body
        r = c.read_response()
        assert r.body == b'BEFORE\n<m>\nAFTER\n', r.body


def test_addition_cache_hit(t):
    """A proxied answer stored by proxy_cache gets its additions on the
    miss and on the hit alike (the stored body is the upstream's)."""
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/c'] = dict(body=b'<c>\n', hdrs=['Cache-Control: max-age=60'])
    cache = t.tmpdir('addc-')
    p, _ = _site(t, http='proxy_cache_path %s keys_zone=z:1m;' % cache, extra="""
    location = /c {
        proxy_pass http://127.0.0.1:%d;
        proxy_cache z;
        add_header X-Cache $upstream_cache_status;
        add_before_body /b.html;
        add_after_body /a.html;
    }""" % up.port)
    for want in ('MISS', 'HIT'):
        r = p.get('/c')
        assert r.status == 200 and r.body == b'BEFORE\n<c>\nAFTER\n', (want, r)
        assert r.header('X-Cache') == want, r.headers


def test_addition_gzip(t):
    """gzip on: the assembled answer is compressed as nginx's gzip filter
    (after the addition filter) does it: Content-Encoding gzip, Vary with
    gzip_vary, no length (so gzip_min_length does not apply), chunked,
    the ETag weak; the bytes inflate to the plain answer. Not for a
    client without gzip, an HTTP/1.0 one (gzip_http_version 1.1), a type
    outside gzip_types; HEAD gets the compressed answer's head."""
    p, _ = _site(t, 'add_before_body /b.html; add_after_body /a.html;'
                 ' addition_types text/plain;',
                 extra='gzip on; gzip_vary on; gzip_min_length 1000;')
    want = b'BEFORE\nMAIN\nAFTER\n'
    ae = {'Accept-Encoding': 'gzip'}
    r = p.get('/index.html', headers=ae)
    assert r.status == 200, r
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert r.header('Vary') == 'Accept-Encoding', r.headers
    assert r.header('Content-Length') is None, r.headers
    assert r.header('Transfer-Encoding') == 'chunked', r.headers
    assert r.header('ETag').startswith('W/"'), r.headers
    assert gzip.decompress(r.body) == want, r.body
    r = p.get('/index.html')
    assert r.header('Content-Encoding') is None and r.body == want, r
    assert r.header('Vary') == 'Accept-Encoding', r.headers
    r = p.get('/t.txt', headers=ae)  # additions yes, gzip_types no
    assert r.header('Content-Encoding') is None, r.headers
    assert r.body == b'BEFORE\nplain\nAFTER\n', r.body
    with Conn(p.port) as c:
        r = c.request('HEAD', '/index.html', headers=ae)
        assert r.status == 200 and r.body == b'', r
        assert r.header('Content-Encoding') == 'gzip', r.headers
        r = c.request('GET', '/index.html', headers=ae)
        assert gzip.decompress(r.body) == want, r.body
    with Conn(p.port) as c:
        c.send(b'GET /index.html HTTP/1.0\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n')
        r = c.read_response()
        assert r.header('Content-Encoding') is None and r.body == want, r


def test_addition_gzip_large_slow_reader(t):
    """gzip on, a client that reads late: 1.5 MiB of incompressible
    additions around a compressible page flow through the compressor
    (bounded: the socket's refusals hold the sources back) and inflate
    byte-exact."""
    rnd = random.Random(12)
    big_m, big_a = b'compressible ' * 50000, rnd.randbytes(700000)
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/bigb'] = dict(body=big_a, piece=30000)
    p, _ = _site(t, extra="""
    gzip on;
    location = /m.html { add_before_body /bigb; add_after_body /bigb; }
    location = /bigb { proxy_pass http://127.0.0.1:%d; }""" % up.port,
                 files={'m.html': big_m})
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(20)
    s.connect(('127.0.0.1', p.port))
    s.sendall(b'GET /m.html HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n'
              b'Connection: close\r\n\r\n')
    time.sleep(0.3)  # lets the buffers fill; the check does not depend on it
    data = recv_until_close(s)
    s.close()
    head, _, body = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200'), head
    assert b'\r\ncontent-encoding: gzip' in head.lower(), head
    plain = b''
    while body:  # the chunks
        size, _, rest = body.partition(b'\r\n')
        n = int(size, 16)
        if not n:
            break
        plain += rest[:n]
        body = rest[n + 2:]
    assert gzip.decompress(plain) == big_a + big_m + big_a


def test_addition_ssi_body_bytes_sent(t):
    """$body_bytes_sent of an assembled answer counts what went out, the
    chunk framing included (nginx counts the bytes after its chunked
    filter): additions, and an SSI page with an include."""
    from harness import wait_for
    p, _ = _site(t, 'add_before_body /b.html; add_after_body /a.html;'
                 ' access_log {prefix}/logs/b.log bb;',
                 extra='location /s/ { ssi on; access_log {prefix}/logs/b.log bb; }',
                 files={'s/i.html': b'a<!--#include virtual="/b.html" -->c'},
                 http="log_format bb '$uri $body_bytes_sent';\n")
    assert p.get('/index.html').body == b'BEFORE\nMAIN\nAFTER\n'
    assert p.get('/s/i.html').body == b'aBEFORE\nc'
    wait_for(lambda: len(p.read('logs', 'b.log').splitlines()) >= 2, what='access log')
    # 7\r\nBEFORE\n\r\n 5\r\nMAIN\n\r\n 6\r\nAFTER\n\r\n 0\r\n\r\n
    assert p.read('logs', 'b.log').splitlines() == ['/index.html 38', '/s/i.html 29']


def test_addition_compressed_answer(t):
    """An answer with a Content-Encoding of its own (gzip_static): nginx
    puts the additions' plain bytes around the compressed ones (an answer
    no client can decode); lbd sends it as it is, without additions."""
    p, _ = _site(t, 'add_before_body /b.html; add_after_body /a.html; gzip_static on;',
                 files={'index.html.gz': gzip.compress(b'MAIN\n')})
    r = p.get('/index.html', headers={'Accept-Encoding': 'gzip'})
    assert r.status == 200 and r.header('Content-Encoding') == 'gzip', r
    if t.target == 'nginx':
        assert r.body.startswith(b'BEFORE\n\x1f\x8b') and r.body.endswith(b'AFTER\n'), r.body
    else:
        assert gzip.decompress(r.body) == b'MAIN\n', r.body
        assert r.header('Content-Length') == str(len(r.body)), r.headers
    r = p.get('/index.html')  # no gzip: the plain file with additions
    assert r.body == b'BEFORE\nMAIN\nAFTER\n', r
