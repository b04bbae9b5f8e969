# SPDX-License-Identifier: MIT
"""sub_filter (nginx's ngx_http_sub_module): one and several strings, case
ignored, sub_filter_once on/off, a string cut across the upstream's writes
(1-byte and odd pieces, Content-Length, chunked and close-delimited bodies),
variables in the replacement, sub_filter_types, the Last-Modified / ETag /
Content-Length edits, gzip after sub_filter, a compressed upstream answer
left alone, inheritance, a few MiB byte-exact, -t errors. Expected bodies
come from ref_sub() below, a plain model of nginx's rule, so each test
checks nginx against the model and lbd against both."""

import gzip
import os
import re
import socket
import threading
import time

from harness import Conn, assert_location_t_errors, read_head

AE = {'Accept-Encoding': 'gzip'}


def ref_sub(body, pats, once=True):
    """nginx's substitution of BODY by PATS [(search, replacement)]: at the
    leftmost start where a string matches (ASCII case ignored; the first in
    order at one start) its replacement goes out and the scan goes on after
    it; once: a string is replaced at most once. A string that matches up
    to the end of the body but is longer stops the scan there (the rest
    goes out as it is), as nginx holds those bytes and sends them at the
    end."""
    low = body.lower()
    lp = [(s.lower(), r) for s, r in pats]
    mn = min(len(s) for s, _ in lp)
    out, pos, s, done = [], 0, 0, set()
    n = len(body)
    while s + mn <= n and not (once and len(done) == len(lp)):
        hit = None
        for i, (p, r) in enumerate(lp):
            if once and i in done:
                continue
            seg = low[s:s + len(p)]
            if len(seg) < len(p):
                if p.startswith(seg):
                    hit = -1
                    break
                continue
            if seg == p:
                hit = i
                break
        if hit == -1:
            break
        if hit is None:
            s += 1
            continue
        out.append(body[pos:s])
        out.append(lp[hit][1])
        done.add(hit)
        s = pos = s + len(lp[hit][0])
    out.append(body[pos:])
    return b''.join(out)


class PieceUpstream:
    """Serves the bodies of self.routes[path] = dict(body=, ct=, mode=
    'cl'|'chunked'|'close', piece=N, hdrs=[...]): the body written N bytes
    at a time (TCP_NODELAY, a short pause between writes so the proxy reads
    them apart), as one chunk per piece when chunked."""

    def __init__(self):
        self.routes = {}
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._loop, daemon=True).start()

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
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf, rest = read_head(c, eof_ok=True)
            if rest is None:
                return
            line = buf.split(b'\r\n', 1)[0].decode('latin-1')
            method, target = line.split(' ')[:2]
            rt = self.routes[target.split('?')[0]]
            body, mode = rt['body'], rt.get('mode', 'cl')
            piece = rt.get('piece', 65536)
            hdrs = ['HTTP/1.1 200 OK',
                    'Content-Type: %s' % rt.get('ct', 'text/html')]
            hdrs += rt.get('hdrs', [])
            if mode == 'cl':
                hdrs.append('Content-Length: %d' % len(body))
            elif mode == 'chunked':
                hdrs.append('Transfer-Encoding: chunked')
            hdrs.append('Connection: close')
            c.sendall(('\r\n'.join(hdrs) + '\r\n\r\n').encode('latin-1'))
            if method == 'HEAD':
                return
            pause = 0.002 if piece < 64 else 0
            for i in range(0, len(body), piece):
                part = body[i:i + piece]
                if mode == 'chunked':
                    part = b'%x\r\n%s\r\n' % (len(part), part)
                c.sendall(part)
                if pause:
                    time.sleep(pause)  # lets the proxy read the pieces apart
            if mode == 'chunked':
                c.sendall(b'0\r\n\r\n')
        except OSError:
            pass
        finally:
            c.close()


def _setup(t, loc, routes, http=''):
    up = PieceUpstream()
    t.defer(up.close)
    up.routes.update(routes)
    p = t.proxy(http + """
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:%d;
%s
    }
}""" % (up.port, loc))
    return p, up


PAGE = (b'<html><a href="http://backend.local/a">one</a> '
        b'<img src="HTTP://Backend.Local/b.png"> http://backend.local/c '
        b'and HTTP://BACKEND.LOCAL/d</html>\n')


def test_sub_filter_once_default(t):
    """One string, sub_filter_once on by default: the first match only,
    case ignored; the head loses Content-Length and goes chunked."""
    p, _ = _setup(t, "sub_filter 'http://backend.local' 'https://www.example.com';",
                  {'/p': dict(body=PAGE)})
    r = p.get('/p')
    assert r.status == 200, r
    want = PAGE.replace(b'http://backend.local', b'https://www.example.com', 1)
    assert r.body == want, r.body
    assert r.body == ref_sub(PAGE, [(b'http://backend.local',
                                     b'https://www.example.com')])
    assert r.header('Content-Length') is None, r.headers
    assert r.header('Transfer-Encoding') == 'chunked', r.headers


def test_sub_filter_once_off_several(t):
    """Several strings with sub_filter_once off: every match of each, case
    ignored in the body and in the search string."""
    pats = [(b'HTTP://backend.local', b'https://www.example.com'),
            (b'one', b'ONE!'), (b'<img', b'<image')]
    loc = ''.join("sub_filter '%s' '%s';\n" % (a.decode(), b.decode())
                  for a, b in pats) + 'sub_filter_once off;'
    p, _ = _setup(t, loc, {'/p': dict(body=PAGE)})
    r = p.get('/p')
    want = ref_sub(PAGE, pats, once=False)
    assert want.count(b'https://www.example.com') == 4, want
    assert r.body == want, r.body
    # once on: each string once
    p2, _ = _setup(t, loc.replace('sub_filter_once off;', ''),
                   {'/p': dict(body=PAGE)})
    r = p2.get('/p')
    assert r.body == ref_sub(PAGE, pats, once=True), r.body


# strings with shared prefixes and overlaps; the body ends inside a match
SPLIT_PATS = [(b'abcdef', b'[6]'), (b'bcd', b'[3]'), (b'cdXY', b'<4>'),
              (b'zz', b''), (b'q', b'QQQQQQQQ')]
SPLIT_BODY = (b'..abcdefg abcdeX bcd cdxy ABCDEF zzz q Q abcdabcdef zz'
              b' cdX cdxY abcdefabcdef bcbcd q' * 3 + b' abcde')


def test_sub_filter_split_pieces(t):
    """A match cut anywhere by the upstream's writes is still found: bodies
    written 1, 2, 3, 5 and 7 bytes at a time, with Content-Length, chunked
    and until close, give the same bytes as written whole."""
    routes = {}
    for mode in ('cl', 'chunked', 'close'):
        for piece in (1, 2, 3, 5, 7, 4096):
            routes['/%s/%d' % (mode, piece)] = dict(body=SPLIT_BODY, mode=mode,
                                                    piece=piece)
    loc = ''.join("sub_filter '%s' '%s';\n" % (a.decode(), b.decode())
                  for a, b in SPLIT_PATS) + 'sub_filter_once off;'
    p, _ = _setup(t, loc, routes)
    want = ref_sub(SPLIT_BODY, SPLIT_PATS, once=False)
    assert want != SPLIT_BODY
    assert want.endswith(b' abcde')  # held at the end, sent as it is
    for path in sorted(routes):
        r = p.get(path)
        assert r.status == 200, (path, r)
        assert r.body == want, (path, r.body, want)


def test_sub_filter_split_pieces_once(t):
    routes = {'/cl/1': dict(body=SPLIT_BODY, piece=1),
              '/chunked/3': dict(body=SPLIT_BODY, piece=3, mode='chunked')}
    loc = ''.join("sub_filter '%s' '%s';\n" % (a.decode(), b.decode())
                  for a, b in SPLIT_PATS)
    p, _ = _setup(t, loc, routes)
    want = ref_sub(SPLIT_BODY, SPLIT_PATS, once=True)
    for path in routes:
        assert p.get(path).body == want, path


def test_sub_filter_variables(t):
    """The replacement may hold variables (evaluated for the request)."""
    p, _ = _setup(t, "sub_filter 'http://backend.local/' "
                  "'https://$host/$arg_v/';\nsub_filter_once off;",
                  {'/p': dict(body=PAGE, piece=5)})
    r = p.get('/p?v=x1', host='site.example')
    want = re.sub(re.escape(b'http://backend.local/'), b'https://site.example/x1/',
                  PAGE, flags=re.I)
    assert r.body == want, r.body


def test_sub_filter_types(t):
    body = b'say hello to hello'
    routes = {'/html': dict(body=body, ct='text/html; charset=utf-8'),
              '/plain': dict(body=body, ct='text/plain'),
              '/json': dict(body=body, ct='application/json'),
              '/xml': dict(body=body, ct='TEXT/XML')}
    # default: text/html only
    p, _ = _setup(t, "sub_filter hello bye;", routes)
    assert p.get('/html').body == b'say bye to hello'
    r = p.get('/plain')
    assert r.body == body and r.header('Content-Length') == str(len(body)), r
    # a list (text/html is always in it)
    p, _ = _setup(t, "sub_filter hello bye; sub_filter_types text/xml;", routes)
    assert p.get('/html').body == b'say bye to hello'
    assert p.get('/xml').body == b'say bye to hello'
    assert p.get('/plain').body == body
    # any type
    p, _ = _setup(t, "sub_filter hello bye; sub_filter_types *;", routes)
    for path in ('/html', '/plain', '/json', '/xml'):
        assert p.get(path).body == b'say bye to hello', path


def test_sub_filter_headers(t):
    """Last-Modified and ETag go (sub_filter_last_modified off, the
    default); with on, Last-Modified stays and the ETag is made weak. An
    HTTP/1.0 client gets the body until close. HEAD loses Content-Length."""
    hdrs = ['Last-Modified: Tue, 01 Mar 2022 10:00:00 GMT', 'ETag: "abc"']
    routes = {'/p': dict(body=PAGE, hdrs=hdrs)}
    p, _ = _setup(t, "sub_filter backend.local example.com;", routes)
    r = p.get('/p')
    assert r.header('Last-Modified') is None, r.headers
    assert r.header('ETag') is None, r.headers
    assert r.header('Content-Length') is None, r.headers
    r = p.get('/p', version='HTTP/1.0')
    assert r.header('Transfer-Encoding') is None, r.headers
    assert r.header('Content-Length') is None, r.headers
    assert r.body == PAGE.replace(b'backend.local', b'example.com', 1)
    c = Conn(p.port)
    c.send(b'HEAD /p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    _, status, _, head = c.read_head()
    c.close()
    names = [k.lower() for k, _ in head]
    assert status == 200 and 'content-length' not in names, head
    assert 'transfer-encoding' not in names and 'etag' not in names, head
    p, _ = _setup(t, "sub_filter backend.local example.com;"
                  " sub_filter_last_modified on;", routes)
    r = p.get('/p')
    assert r.header('Last-Modified') == 'Tue, 01 Mar 2022 10:00:00 GMT', r
    assert r.header('ETag') == 'W/"abc"', r.headers
    assert r.body == PAGE.replace(b'backend.local', b'example.com', 1)


def test_sub_filter_then_gzip(t):
    """gzip runs after sub_filter: the compressed body is the substituted
    one."""
    big = PAGE * 3000
    routes = {'/p': dict(body=big, mode='chunked', piece=7000),
              '/small': dict(body=PAGE, piece=3)}
    p, _ = _setup(t, "sub_filter 'http://backend.local' 'https://e.com';"
                  " sub_filter_once off; gzip on;", routes)
    r = p.get('/p', headers=AE)
    assert r.header('Content-Encoding') == 'gzip', r.headers
    want = re.sub(re.escape(b'http://backend.local'), b'https://e.com', big,
                  flags=re.I)
    assert gzip.decompress(r.body) == want
    r = p.get('/small', headers=AE)
    assert gzip.decompress(r.body) == ref_sub(
        PAGE, [(b'http://backend.local', b'https://e.com')], once=False)
    # without Accept-Encoding: plain, substituted
    assert p.get('/p').body == want


def test_sub_filter_compressed_upstream_untouched(t):
    """An upstream answer with a Content-Encoding is passed as it came (the
    usual fix is proxy_set_header Accept-Encoding "")."""
    z = gzip.compress(PAGE * 10)
    routes = {'/z': dict(body=z, hdrs=['Content-Encoding: gzip'])}
    p, _ = _setup(t, "sub_filter backend.local example.com;", routes)
    r = p.get('/z', headers=AE)
    assert r.body == z
    assert gzip.decompress(r.body) == PAGE * 10
    if t.target == 'lbd':  # nginx drops the length all the same
        assert r.header('Content-Length') == str(len(z)), r.headers


def test_sub_filter_large_body(t):
    """A few MiB byte-exact, Content-Length and chunked, many matches."""
    unit = (b'<p>see http://backend.local/page/%d and nothing else here '
            b'to look at</p>\n')
    big = b''.join(unit % i for i in range(60000))  # ~4 MiB
    routes = {'/cl': dict(body=big), '/ch': dict(body=big, mode='chunked',
                                                   piece=10007)}
    p, _ = _setup(t, "sub_filter 'http://backend.local/' '//cdn.example.net/';"
                  " sub_filter_once off;", routes)
    want = big.replace(b'http://backend.local/', b'//cdn.example.net/')
    for path in routes:
        r = p.get(path, timeout=30)
        assert r.status == 200
        assert len(r.body) == len(want), (path, len(r.body), len(want))
        assert r.body == want, path


def test_sub_filter_inheritance(t):
    """A level with sub_filter of its own replaces the outer list; one
    without inherits it (with sub_filter_once)."""
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/a'] = dict(body=b'one two one two')
    up.routes['/b'] = dict(body=b'one two one two')
    p = t.proxy("""
sub_filter one 1;
sub_filter_once off;
server {
    listen 127.0.0.1:{port};
    location /a { proxy_pass http://127.0.0.1:%d; }
    location /b { proxy_pass http://127.0.0.1:%d; sub_filter two 2; }
}""" % (up.port, up.port))
    assert p.get('/a').body == b'1 two 1 two'
    assert p.get('/b').body == b'one 2 one 2'


def test_sub_filter_config_errors(t):
    cases = [
        ('sub_filter "" x;', 'empty search pattern'),
        ('sub_filter_once maybe;', 'invalid value "maybe" in '
         '"sub_filter_once" directive, it must be "on" or "off"'),
        ('sub_filter_once on; sub_filter_once off;',
         '"sub_filter_once" directive is duplicate'),
        ('sub_filter a;', 'invalid number of arguments in "sub_filter"'),
    ]
    assert_location_t_errors(t, cases)


def test_sub_filter_lbd_limits(t):
    """lbd refuses a search string over 1024 bytes (nginx has no limit)."""
    if t.target == 'nginx':
        t.skip('lbd only: nginx takes search strings of any length')
    assert_location_t_errors(t, [
        ('sub_filter %s x;' % ('a' * 1100), 'over 1024 bytes'),
    ])


def test_sub_filter_variables_in_search(t):
    """A search string may hold variables, evaluated for each response
    (the "http://$host" idiom), matched with case ignored like a literal
    one, beside literal strings; one that comes out empty finds nothing
    and the answer goes as it came."""
    page = (b'<a href="http://site.example/a">x</a> HTTP://SITE.EXAMPLE/b '
            b'tag-one tag-two http://other.example/c\n')
    p, _ = _setup(t, "sub_filter 'http://$host' 'https://$host';\n"
                  "sub_filter 'tag-$arg_t' '[$arg_t]';\n"
                  "sub_filter 'other.example' 'third.example';\n"
                  "sub_filter_once off;",
                  {'/p': dict(body=page, piece=7), '/q': dict(body=page, piece=3)})
    for path in ('/p', '/q'):
        r = p.get(path + '?t=TWO', host='site.example')
        want = page.replace(b'http://site.example', b'https://site.example')
        want = want.replace(b'HTTP://SITE.EXAMPLE', b'https://site.example')
        want = want.replace(b'tag-two', b'[TWO]').replace(b'other.example', b'third.example')
        assert r.body == want, (path, r.body)
        # another Host: another search string in the same location; no
        # argument: 'tag-' is searched (and 'other.example' is passed over
        # inside what the $host string took)
        r = p.get(path, host='other.example')
        want = page.replace(b'http://other.example', b'https://other.example')
        want = want.replace(b'tag-', b'[]')
        assert r.body == want, (path, r.body)
    # only a variable, empty for this request: nothing is replaced
    p2, _ = _setup(t, "sub_filter $arg_f '[X]';", {'/p': dict(body=page, piece=5)})
    assert p2.get('/p').body == page
    assert p2.get('/p?f=TAG-').body == page.replace(b'tag-', b'[X]', 1)


def test_sub_filter_static_files(t):
    """Static files of a listed type are substituted (and gzipped after):
    no Content-Length, no Last-Modified or ETag; other types and empty files
    are sent as they are; a file far larger than one read, byte-exact."""
    root = t.tmpdir('sf-')
    big = PAGE * 40000  # ~5 MiB
    t.write(os.path.join(root, 'a.html'), PAGE)
    t.write(os.path.join(root, 'big.html'), big)
    t.write(os.path.join(root, 'a.txt'), PAGE)
    t.write(os.path.join(root, 'empty.html'), b'')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / {
        root %s;
        sub_filter 'http://backend.local' 'https://e.com';
        sub_filter_once off;
    }
    location /gz/ {
        alias %s/;
        sub_filter 'http://backend.local' 'https://e.com';
        sub_filter_once off;
        gzip on;
    }
}""" % (root, root))
    pats = [(b'http://backend.local', b'https://e.com')]
    r = p.get('/a.html')
    assert r.status == 200, r
    assert r.body == ref_sub(PAGE, pats, once=False), r.body
    for h in ('Content-Length', 'Last-Modified', 'ETag'):
        assert r.header(h) is None, (h, r.headers)
    r = p.get('/a.html', version='HTTP/1.0')
    assert r.body == ref_sub(PAGE, pats, once=False)
    r = p.get('/a.txt')
    assert r.body == PAGE and r.header('Content-Length') == str(len(PAGE))
    r = p.get('/empty.html')
    assert r.body == b'' and r.header('Content-Length') == '0', r.headers
    want = re.sub(re.escape(b'http://backend.local'), b'https://e.com', big,
                  flags=re.I)
    r = p.get('/big.html', timeout=30)
    assert r.body == want
    r = p.get('/gz/big.html', headers=AE, timeout=30)
    assert r.header('Content-Encoding') == 'gzip', r.headers
    assert gzip.decompress(r.body) == want
    r = p.get('/gz/a.html', headers=AE)
    assert gzip.decompress(r.body) == ref_sub(PAGE, pats, once=False)


def test_sub_filter_cache_hits(t):
    """A cached answer is stored as the upstream sent it and substituted on
    every hit as on the miss (small bodies kept in memory and large ones
    read from the file), gzip after it."""
    up = PieceUpstream()
    t.defer(up.close)
    big = PAGE * 20000
    up.routes['/s'] = dict(body=PAGE, hdrs=['Cache-Control: max-age=600'])
    up.routes['/b'] = dict(body=big, hdrs=['Cache-Control: max-age=600'],
                           mode='chunked', piece=9000)
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    proxy_cache c;
    add_header X-Cache $upstream_cache_status;
    sub_filter 'http://backend.local' 'https://e.com';
    sub_filter_once off;
    location / { proxy_pass http://127.0.0.1:%d; }
    location /z/ { proxy_pass http://127.0.0.1:%d/; gzip on; }
}""" % (up.port, up.port))
    pats = [(b'http://backend.local', b'https://e.com')]
    want_s = ref_sub(PAGE, pats, once=False)
    want_b = re.sub(re.escape(b'http://backend.local'), b'https://e.com', big,
                    flags=re.I)
    for path, want in (('/s', want_s), ('/b', want_b)):
        seen = []
        for _ in range(2):
            r = p.get(path, timeout=30)
            seen.append(r.header('X-Cache'))
            assert r.body == want, (path, seen)
            assert r.header('Content-Length') is None, r.headers
        assert seen == ['MISS', 'HIT'], seen
        for _ in range(2):
            r = p.get('/z' + path, headers=AE, timeout=30)
            assert gzip.decompress(r.body) == want, path


def test_sub_filter_return_text(t):
    """`return CODE TEXT` of a listed type goes through the filter too
    (then gzip), text/plain (nginx's default_type) does not; so does the
    proxy's own error page."""
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    sub_filter 'Backend.Local' 'e.com';
    sub_filter_once off;
    location /h { default_type text/html; return 200 "at http://backend.local/ and BACKEND.LOCAL"; }
    location /g { default_type text/html; gzip on; gzip_min_length 1;
                  return 200 "at http://backend.local/ and BACKEND.LOCAL"; }
    location /t { return 200 "at http://backend.local/"; }
    location /e/ { root {prefix}/nowhere; sub_filter 'Not Found' 'Gone Fishing';
                   sub_filter_once on; }
}""")
    r = p.get('/h')
    assert r.body == b'at http://e.com/ and e.com', r.body
    assert r.header('Content-Length') is None, r.headers
    r = p.get('/g', headers=AE)
    assert gzip.decompress(r.body) == b'at http://e.com/ and e.com'
    r = p.get('/t')
    assert r.body == b'at http://backend.local/', r.body
    assert r.header('Content-Length') == str(len(r.body)), r.headers
    # the proxy's own error page (text/html) too
    r = p.get('/e/x.html')
    assert r.status == 404 and b'<title>404 Gone Fishing</title>' in r.body, r.body
    assert b'Not Found' in r.body  # once: the <h1> keeps it
    assert r.header('Content-Length') is None, r.headers


def test_sub_filter_h2c(t):
    """An HTTP/2 client (h2c, prior knowledge) gets the substituted body of
    a proxied answer (Content-Length and chunked upstream) and of a static
    file."""
    from test_h2 import curl_h2
    root = t.tmpdir('sf2-')
    t.write(os.path.join(root, 'a.html'), PAGE * 50)
    up = PieceUpstream()
    t.defer(up.close)
    up.routes['/cl'] = dict(body=PAGE * 50, piece=1000)
    up.routes['/ch'] = dict(body=PAGE * 50, mode='chunked', piece=999)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    sub_filter 'http://backend.local' 'https://e.com';
    sub_filter_once off;
    location / { proxy_pass http://127.0.0.1:%d; }
    location /s/ { alias %s/; }
}""" % (up.port, root))
    want = re.sub(re.escape(b'http://backend.local'), b'https://e.com',
                  PAGE * 50, flags=re.I)
    for path in ('/cl', '/ch', '/s/a.html'):
        ver, code, head, body = curl_h2('http://127.0.0.1:%d%s' % (p.port, path),
                                        prior=True)
        assert (ver, code) == ('2', 200), (path, ver, code)
        assert body == want, (path, body[:200])
        assert 'content-length' not in head.lower(), head
