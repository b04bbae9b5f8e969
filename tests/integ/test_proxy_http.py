# SPDX-License-Identifier: MIT
"""HTTP proxying: client keep-alive and pipelining, request and response
bodies (chunked, Expect: 100-continue, size limits, 8 MiB), HEAD, header
hiding and adding, server_tokens, proxy_redirect, allow/deny."""

import hashlib
import re

from harness import build_request, raw_upstream, read_head


def _simple(t, location_extra='', server_extra='', http_extra='', **subs):
    b1 = subs.pop('b1', None) or t.backend('b1')
    p = t.proxy(http_extra + """
server {
    listen 127.0.0.1:{port};
%s
    location / {
        proxy_pass http://127.0.0.1:{b1};
%s
    }
}""" % (server_extra, location_extra), b1=b1, **subs)
    return p, b1


def test_client_keepalive(t):
    p, b1 = _simple(t)
    with p.conn() as c:
        for i in range(5):
            r = c.request('GET', '/ka/%d' % i)
            assert (r.status, r.backend) == (200, 'b1'), r
            assert r.json()['path'] == '/ka/%d' % i
        assert not c.is_closed(timeout=0.2), 'keep-alive connection closed'
    assert b1.paths() == ['/ka/%d' % i for i in range(5)]


def test_pipelining(t):
    p, b1 = _simple(t)
    with p.conn() as c:
        c.send(b''.join(build_request('GET', '/p%d' % i) for i in (1, 2, 3)))
        paths = [c.read_response().json()['path'] for _ in range(3)]
    assert paths == ['/p1', '/p2', '/p3'], paths


def test_chunked_request_body(t):
    p, b1 = _simple(t)
    body = b'5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n'
    r = p.req('POST', '/up', headers={'Transfer-Encoding': 'chunked'},
              body=body)
    assert r.status == 200, r
    seen = b1.last()
    assert seen.body == b'hello world', seen.body
    # nginx 1.22 buffers the whole body and sends it with a length.
    assert seen.header('Content-Length') == '11', seen.headers
    assert seen.header('Transfer-Encoding') is None, seen.headers


def test_chunked_response_relayed(t):
    p, b1 = _simple(t, '        proxy_http_version 1.1;')
    r = p.get('/chunked')
    assert r.status == 200, r
    assert r.body == b'alpha\nbeta\ngamma\n', r.body
    # The client's keep-alive survives a chunked relay.
    with p.conn() as c:
        for _ in range(2):
            r = c.request('GET', '/chunked')
            assert r.body == b'alpha\nbeta\ngamma\n', r.body


def test_expect_100_continue(t):
    p, b1 = _simple(t)
    with p.conn() as c:
        c.send(build_request('POST', '/e', headers=[
            ('Content-Length', '5'), ('Expect', '100-continue')]))
        ver, status, _, _ = c.read_head()
        assert (ver, status) == ('HTTP/1.1', 100), (ver, status)
        assert b1.count() == 0, 'backend saw the request before the body'
        c.send(b'hello')
        r = c.read_response()
    assert r.status == 200, r
    assert b1.last().body == b'hello'
    assert b1.last().header('Expect') is None, 'Expect forwarded'


def test_client_max_body_size_413(t):
    p, b1 = _simple(t, server_extra='    client_max_body_size 1k;')
    r = p.req('POST', '/', body=b'x' * 2000)
    assert r.status == 413, r
    r = p.req('POST', '/', headers={'Transfer-Encoding': 'chunked'},
              body=b'7d0\r\n' + b'x' * 2000 + b'\r\n0\r\n\r\n')
    assert r.status == 413, r
    r = p.req('POST', '/', body=b'x' * 1024)
    assert r.status == 200, 'exactly 1k must pass: %r' % r
    assert b1.count() == 1, b1.paths()


def test_large_body_intact(t):
    p, b1 = _simple(t, server_extra='    client_max_body_size 16m;')
    body = hashlib.sha256(b'seed').digest() * (8 * 1024 * 1024 // 32)
    r = p.req('POST', '/big', body=body, timeout=30)
    assert r.status == 200, r
    d = r.json()
    assert d['body_len'] == len(body), d['body_len']
    assert d['body_sha256'] == hashlib.sha256(body).hexdigest()
    # And 8 MiB the other way.
    r = p.get('/size/%d' % (8 << 20), timeout=30)
    assert len(r.body) == 8 << 20, len(r.body)
    pat = b'0123456789abcdef' * 64
    assert r.body == (pat * ((8 << 20) // len(pat)))[:8 << 20]


def test_head(t):
    p, b1 = _simple(t)
    with p.conn() as c:
        r = c.request('HEAD', '/h')
        assert r.status == 200 and r.body == b'', r
        assert int(r.header('Content-Length')) > 0, r.headers
        # The connection is still in sync: no body bytes were sent.
        r = c.request('GET', '/after')
        assert r.json()['path'] == '/after', r.body
    assert b1.requests[0].method == 'HEAD'


def test_proxy_hide_header(t):
    p, b1 = _simple(t, '        proxy_hide_header X-Powered-By;')
    r = p.get('/headers?X-Powered-By=PHP/8&X-Custom=kept')
    assert r.header('X-Powered-By') is None, r.headers
    assert r.header('X-Custom') == 'kept', r.headers


def test_default_hidden_headers(t):
    p, b1 = _simple(t)
    r = p.get('/headers?X-Accel-Expires=10&X-Pad=avoid&X-Other=1')
    assert r.status == 200
    for h in ('X-Accel-Expires', 'X-Pad'):
        assert r.header(h) is None, '%s passed: %r' % (h, r.headers)
    assert r.header('X-Other') == '1'
    assert r.header_all('Server') and 'integ-backend' not in \
        r.header_all('Server'), r.header_all('Server')
    assert len(r.header_all('Date')) == 1, r.headers
    assert r.header('Date') != b1.FIXED_DATE, 'backend Date passed'


def _version_in(s):
    return re.search(r'/\d', s) is not None


def test_server_tokens(t):
    b1 = t.backend('b1')
    p, _ = _simple(t, b1=b1)
    r = p.get('/status/404')
    assert _version_in(r.header('Server')), r.header('Server')
    r = p.req('BREW', '/', host=None)  # proxy-generated 400
    assert r.status == 400 and _version_in(r.body.decode()), r.body

    p, _ = _simple(t, server_extra='    server_tokens off;', b1=b1)
    for r in (p.get('/'), p.req('BREW', '/', host=None)):
        assert r.header('Server'), 'Server header missing'
        assert not _version_in(r.header('Server')), r.header('Server')
        assert not _version_in(r.body.decode()) or r.status == 200, r.body


def test_add_header(t):
    p, b1 = _simple(t, '        add_header X-Frame-Options SAMEORIGIN;\n'
                    '        add_header X-Always yes always;')
    cases = [(200, '/'), (302, '/status/302?Location=/x'),
             (404, '/status/404'), (500, '/status/500')]
    for code, path in cases:
        r = p.get(path)
        assert r.status == code, (code, r)
        want = 'SAMEORIGIN' if code < 400 else None
        assert r.header('X-Frame-Options') == want, (code, r.headers)
        assert r.header('X-Always') == 'yes', (code, r.headers)


def test_proxy_redirect_default(t):
    b1 = t.backend('b1')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /app/ {
        proxy_pass http://127.0.0.1:{b1}/;
    }
    location / {
        proxy_pass http://127.0.0.1:{b1};
    }
}""", b1=b1)
    loc = 'http://127.0.0.1:%d/x/y?z=1' % b1.port
    r = p.get('/app/status/302?Location=' + loc.replace('&', '%26'))
    # The replacement "/app/" has no host: the proxy adds the request's
    # host and its own port (absolute_redirect, port_in_redirect).
    me = 'http://localhost:%d' % p.port
    assert r.status == 302, r
    assert r.header('Location') == me + '/app/x/y?z=1', r.header('Location')
    r = p.get('/status/301?Location=' + loc)
    assert r.header('Location') == me + '/x/y?z=1', r.header('Location')
    other = 'http://elsewhere.test/x'
    r = p.get('/app/status/302?Location=' + other)
    assert r.header('Location') == other, r.header('Location')
    # an upstream's own relative Location goes as it came: only a
    # rewritten one is made absolute (nginx)
    r = p.get('/app/status/302?Location=/rel/path')
    assert r.header('Location') == '/rel/path', r.header('Location')
    # Refresh: the URL after "url=" is rewritten, and stays relative
    r = p.get('/app/headers?Refresh=' + ('5; URL=http://127.0.0.1:%d/y' % b1.port).replace(' ', '%20'))
    assert r.header('Refresh') == '5; URL=/app/y', r.header('Refresh')
    r = p.get('/app/headers?Refresh=5')
    assert r.header('Refresh') == '5', r.header('Refresh')


def test_allow_deny(t):
    b1 = t.backend('b1')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /private/ {
        deny all;
        proxy_pass http://127.0.0.1:{b1};
    }
    location /local/ {
        allow 127.0.0.1;
        deny all;
        proxy_pass http://127.0.0.1:{b1};
    }
    location /others/ {
        allow 10.0.0.0/8;
        deny all;
        proxy_pass http://127.0.0.1:{b1};
    }
}""", b1=b1)
    assert p.get('/private/x').status == 403
    assert p.get('/others/x').status == 403
    r = p.get('/local/x')
    assert (r.status, r.backend) == (200, 'b1'), r
    assert b1.paths() == ['/local/x'], b1.paths()


def test_unread_body_never_parsed_as_a_request(t):
    """A body nobody reads (a `return`, a static file, a 404) is skipped
    when it came whole with its head, so the next pipelined request is
    answered as in nginx; a body that holds a request line is never run as
    one (HTTP desync): the backend sees no smuggled request. A body not yet
    all there ends the connection after the answer (Connection: close)."""
    import socket
    import time
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location = /r { return 200 "r\\n"; }
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
}""", b=b)

    def exchange(data, want):
        s = socket.create_connection(('127.0.0.1', p.port))
        s.settimeout(5)
        s.sendall(data)
        out = b''
        deadline = time.monotonic() + 5
        while out.count(b'HTTP/1.1 ') < want and time.monotonic() < deadline:
            k = s.recv(65536)
            if not k:
                break
            out += k
        s.close()
        return out

    smuggled = b'GET /p/smuggled HTTP/1.1\r\nHost: x\r\n\r\n'
    out = exchange(b'POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s'
                   b'GET /p/next HTTP/1.1\r\nHost: x\r\n\r\n' % (len(smuggled), smuggled), 2)
    assert out.count(b'HTTP/1.1 200 OK') == 2, out
    assert b'400 Bad Request' not in out, out
    paths = [rq.path for rq in b.requests]
    assert '/next' in paths and '/smuggled' not in paths, paths
    # the same with a chunked body (its size line followed by a space, an
    # extension and a trailer), to a return and to a static 404
    chunked = b'%x \r\n%s\r\n0;e=1\r\nX-T: 1\r\n\r\n' % (len(smuggled), smuggled)
    for target in (b'/r', b'/nofile'):
        out = exchange(b'POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s'
                       b'GET /p/next2 HTTP/1.1\r\nHost: x\r\n\r\n' % (target, chunked), 2)
        assert out.count(b'HTTP/1.1 ') == 2 and out.count(b'Connection: keep-alive') == 2, out
        assert b'400 Bad Request' not in out, out
    paths = [rq.path for rq in b.requests]
    assert paths.count('/next2') == 2 and '/smuggled' not in paths, paths
    # a body still on its way: answered, its rest read and dropped as it
    # comes (nginx's discarded body; lbd closed the connection before),
    # then the next request on the same connection; the smuggled request
    # inside the body never reaches the backend
    s = socket.create_connection(('127.0.0.1', p.port))
    t.defer(s.close)
    s.settimeout(5)
    rest = smuggled + b'x' * (100 - 3 - len(smuggled))
    s.sendall(b'POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc')
    head = s.recv(4096)
    assert head.startswith(b'HTTP/1.1 200') and b'Connection: keep-alive' in head, head
    s.sendall(rest + b'GET /p/next3 HTTP/1.1\r\nHost: x\r\n\r\n')
    out, _ = read_head(s, timeout=5, eof_ok=True)
    assert out.startswith(b'HTTP/1.1 200'), out
    paths = [rq.path for rq in b.requests]
    assert '/next3' in paths and '/smuggled' not in paths, paths


def test_upstream_duplicate_content_type(t):
    """An upstream answer with two Content-Type lines goes out with the
    last one only, as nginx keeps it."""
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{b}; }
}""", b=b)
    r = p.get('/headers?Content-Type=x/y')
    assert r.status == 200
    assert r.header_all('Content-Type') == ['x/y'], r.headers


def test_upstream_duplicate_content_length(t):
    """Two equal Content-Length lines from the upstream go out as one
    (nginx); two different ones are a 502 (nginx 1.22 took the last: lbd
    refuses, as later nginx does, a framing two readers may split
    differently). lbd-only for the second."""
    up = raw_upstream(t, {
        b'/same': b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok',
        b'/diff': b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!'})
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{up}; }
}""", up=up)
    r = p.get('/same')
    assert (r.status, r.body, r.header_all('Content-Length')) == (200, b'ok', ['2']), r.headers
    if t.is_nginx:
        return
    r = p.get('/diff')
    assert r.status == 502, r


def test_proxy_redirect_regex(t):
    """proxy_redirect ~REGEX / ~*REGEX replace the whole Location with the
    replacement and its captures; rules are tried in order, the first
    match wins (lbd compiled the regex forms and never applied them)."""
    b1 = t.backend('b1')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b1};
        proxy_redirect ~^http://internal\\.test/old/(.*)$ https://pub.test/new/$1;
        proxy_redirect ~*^HTTP://CASE\\.TEST/(?<rest>.*)$ /c/$rest;
        proxy_redirect http://plain.test/ /p/;
    }
}""", b1=b1)
    for upstream, want in (('http://internal.test/old/a/b?x=1', 'https://pub.test/new/a/b?x=1'),
                           ('http://case.test/q', 'http://localhost:%d/c/q' % p.port),
                           ('http://plain.test/z', 'http://localhost:%d/p/z' % p.port),
                           ('http://other.test/k', 'http://other.test/k')):
        import urllib.parse
        r = p.get('/status/302?Location=' + urllib.parse.quote(upstream, safe=''))
        assert r.status == 302
        assert r.header('Location') == want, (upstream, r.header('Location'))


def test_upstream_204_headers(t):
    """An upstream's 204 to an HTTP/2 client goes out without Content-Type
    and Content-Length, as nginx's HTTP/2 header filter sends it (its other
    headers pass; to an HTTP/1.1 client nginx passes the type too)."""
    import subprocess
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    location / { proxy_pass http://127.0.0.1:{b}; }
}""", b=b)
    path = '/status/204?Last-Modified=Mon,%2001%20Jan%202024%2000:00:00%20GMT&X-K=1'
    out = subprocess.run(['curl', '-s', '-i', '--http2-prior-knowledge', '--max-time', '5',
                          'http://127.0.0.1:%d%s' % (p.port, path)],
                         capture_output=True, timeout=15).stdout.decode('latin-1').lower()
    assert out.startswith('http/2 204') and 'x-k: 1' in out and 'last-modified:' in out, out
    for h in ('content-type:', 'content-length:'):
        assert h not in out, (h, out)


def test_many_request_header_lines(t):
    """nginx takes up to 1000 request header lines (each goes upstream) and
    answers 400 past them; lbd keeps 100 in the request and the rest in
    its pool."""
    from harness import raw_exchange
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{b}; }
}""", b=b)
    for k, want in ((150, 200), (999, 200), (1000, 400)):
        hs = b''.join(b'X-H%d: v%d\r\n' % (i, i) for i in range(k))
        oc, rs, c = raw_exchange(p.port, b'GET /h HTTP/1.1\r\nHost: x\r\n' + hs + b'\r\n')
        c.close()
        assert oc == want, (k, oc)
        if want == 200:
            got = [(n, v) for n, v in b.last().headers if n.startswith('X-H')]
            assert got == [('X-H%d' % i, 'v%d' % i) for i in range(k)], (k, got[:3], len(got))


def test_many_upstream_header_lines(t):
    """An upstream head is bounded by proxy_buffer_size alone, as in nginx:
    250 short header lines reach an HTTP/1.1 client and an HTTP/2 one."""
    import subprocess
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    listen 127.0.0.1:{port2} http2;
    location / { proxy_pass http://127.0.0.1:{b}; }
}""", b=b)
    q = '&'.join('X-H%d=v' % i for i in range(250))
    r = p.get('/headers?' + q)
    got = [(k, v) for k, v in r.headers if k.startswith('X-H')]
    assert r.status == 200 and got == [('X-H%d' % i, 'v') for i in range(250)], \
        (r.status, len(got))
    out = subprocess.run(['curl', '-sS', '--http2-prior-knowledge', '-D', '-', '-o', '/dev/null',
                          'http://127.0.0.1:%d/headers?%s' % (p.subs['port2'], q)],
                         capture_output=True, timeout=30)
    lines = out.stdout.decode().splitlines()
    assert out.returncode == 0 and lines[0].startswith('HTTP/2 200'), (out.returncode, lines[:1])
    assert sum(1 for ln in lines if ln.startswith('x-h')) == 250, lines[:5]


def test_upstream_status_line_without_reason(t):
    """An upstream's status line without a reason phrase ("HTTP/1.1 404")
    reaches the client as it came, without a trailing space, as nginx
    copies it."""
    up = raw_upstream(t, b'HTTP/1.1 404\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{up}; }
}""", up=up)
    from harness import raw_status_line
    line = raw_status_line(p.port, '/')
    assert line == b'HTTP/1.1 404', line


def test_body_then_big_pipelined_request(t):
    """The read that ends a body also brings a pipelined request bigger
    than the input buffer's room: both are answered (the input buffer
    grew under the first request's head views; the ASan build showed a
    use-after-free in build_request before the fix)."""
    import socket
    import time
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    large_client_header_buffers 4 16k;
    location / { proxy_pass http://127.0.0.1:{b}; }
}""", b=b)
    s = socket.create_connection(('127.0.0.1', p.port))
    t.defer(s.close)
    s.settimeout(5)
    s.sendall(b'POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n')
    time.sleep(0.3)  # the head is parsed alone, its body read later
    s.sendall(b'0123456789GET /d HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n' % (b'y' * 6000))
    out = b''
    deadline = time.monotonic() + 5
    while out.count(b'HTTP/1.1 200') < 2 and time.monotonic() < deadline:
        k = s.recv(65536)
        if not k:
            break
        out += k
    assert out.count(b'HTTP/1.1 200') == 2, out[:300]
    paths = [rq.path for rq in b.requests]
    assert paths == ['/c', '/d'], paths
    assert b.requests[0].body == b'0123456789'


def test_content_type_and_length_spelled_as_nginx(t):
    """nginx writes Content-Type and Content-Length itself: an upstream's
    "content-type" (PHP's "Content-type") goes out as "Content-Type",
    on a miss and on a cache hit; other names keep their spelling."""
    import socket
    from harness import raw_upstream
    up = raw_upstream(t, b'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n'
                         b'content-length: 3\r\nx-Mixed-Case: y\r\n'
                         b'Cache-Control: max-age=60\r\nConnection: close\r\n\r\nabc')
    p = t.proxy("""
proxy_cache_path {prefix}/cache levels=1 keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{u}; }
    location /c/ { proxy_pass http://127.0.0.1:{u}; proxy_cache c; }
}""", u=up)

    def head(path):
        s = socket.create_connection(('127.0.0.1', p.port))
        t.defer(s.close)
        s.settimeout(5)
        s.sendall(b'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' % path)
        head, _ = read_head(s, chunk=4096, eof_ok=True)
        return head.split(b'\r\n')[1:]

    for path in (b'/a', b'/c/x', b'/c/x'):  # plain, cache miss, cache hit
        names = [h.split(b':')[0] for h in head(path)]
        assert b'Content-Type' in names and b'Content-Length' in names, (path, names)
        assert b'content-type' not in names and b'x-Mixed-Case' in names, (path, names)
