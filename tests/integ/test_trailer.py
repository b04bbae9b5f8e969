"""add_trailer (nginx's headers module): the trailer section after the
last chunk, with values read at the end of the body. nginx's chunked
filter sends an HTTP/1.1 answer chunked even when its length is known
(Content-Length removed) once a trailer applies: static files (through
sendfile: a 48 MiB file byte-exact, the server's RSS flat), `return`
texts, error pages, proxied answers of known length, chunked (the
upstream's own trailers dropped) and close-delimited, ranges (206), gzip,
cache hits. Not for HTTP/1.0 clients, HEAD, 304, `chunked_transfer_encoding
off`, nor statuses outside add_header's list without `always` (then the
answer is not chunked either). Empty values are not sent. Inheritance as
add_header's (a level with its own lines replaces the outer list, `if`
too). HTTP/2: content-length kept, a trailing HEADERS frame with
END_STREAM (nghttp's trace). `-t` errors."""
import gzip as gz
import hashlib
import os
import re
import socket
import ssl
import subprocess
import time

from harness import assert_location_t_errors, raw_server, raw_upstream, read_head, recv_until_close
from test_h2 import _rss_kib
from test_tls import _certs, client_ctx


class Ans:
    """One HTTP/1 answer as it came: head fields, the body decoded, the
    trailer fields, and whether it was chunked."""

    def __init__(self, status, headers, body, trailers, chunked):
        self.status = status
        self.headers = headers
        self.body = body
        self.trailers = trailers
        self.chunked = chunked

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def trailer(self, name):
        for k, v in self.trailers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return 'Ans(%d %r trailers=%r chunked=%r %d bytes)' % (
            self.status, self.headers, self.trailers, self.chunked, len(self.body))


def _fields(lines):
    out = []
    for ln in lines:
        k, _, v = ln.decode('latin-1').partition(':')
        out.append((k.strip(), v.strip()))
    return out


def parse_one(buf, method='GET'):
    """The first answer in BUF and the bytes it took; None while incomplete."""
    he = buf.find(b'\r\n\r\n')
    if he < 0:
        return None
    lines = buf[:he].split(b'\r\n')
    status = int(lines[0].split()[1])
    headers = _fields(lines[1:])
    a = Ans(status, headers, b'', [], False)
    pos = he + 4
    te = (a.header('Transfer-Encoding') or '').lower()
    cl = a.header('Content-Length')
    if method == 'HEAD' or status in (204, 304):
        return a, pos
    if 'chunked' in te:
        a.chunked = True
        parts = []
        while True:
            le = buf.find(b'\r\n', pos)
            if le < 0:
                return None
            size = int(buf[pos:le].split(b';')[0], 16)
            pos = le + 2
            if size == 0:
                tl = []
                while True:
                    le = buf.find(b'\r\n', pos)
                    if le < 0:
                        return None
                    line = buf[pos:le]
                    pos = le + 2
                    if not line:
                        break
                    tl.append(line)
                a.trailers = _fields(tl)
                break
            if len(buf) < pos + size + 2:
                return None
            parts.append(buf[pos:pos + size])
            assert buf[pos + size:pos + size + 2] == b'\r\n', 'chunk not ended by CRLF'
            pos += size + 2
        a.body = b''.join(parts)
        return a, pos
    if cl is not None:
        if len(buf) < pos + int(cl):
            return None
        a.body = buf[pos:pos + int(cl)]
        return a, pos + int(cl)
    return None  # until the close: the caller takes the rest


def fetch(port, path, method='GET', version='HTTP/1.1', headers=(), reqs=1, tls=False):
    """REQS pipelined requests (the last with Connection: close) on one
    connection (TLS: through a TLS session); their answers, parsed from
    what came until the close. Nothing may follow the last answer."""
    data = b''
    for i in range(reqs):
        h = ['Host: localhost'] + list(headers)
        if i == reqs - 1:
            h.append('Connection: close')
        data += ('%s %s %s\r\n%s\r\n\r\n' % (method, path, version, '\r\n'.join(h))).encode()
    s = socket.create_connection(('127.0.0.1', port), timeout=20)
    if tls:
        s = client_ctx().wrap_socket(s, server_hostname='localhost')
    s.sendall(data)
    buf = recv_until_close(s, end_on=(ssl.SSLError,))  # a close without close_notify
    s.close()
    out = []
    for _ in range(reqs):
        r = parse_one(buf, method)
        if r is None:  # close-delimited (HTTP/1.0): the rest is the body
            a, _ = parse_one(buf, 'HEAD')
            a.body = buf[buf.find(b'\r\n\r\n') + 4:]
            out.append(a)
            buf = b''
            break
        a, used = r
        out.append(a)
        buf = buf[used:]
    assert buf == b'', 'bytes after the last answer: %r' % buf[:200]
    return out if reqs > 1 else out[0]


def _root(t, files):
    root = t.tmpdir('trl-')
    for name, data in files.items():
        t.write(os.path.join(root, name), data)
    return root


BODY = b''.join(b'line %05d of the static file\n' % i for i in range(2000))


def test_trailer_static(t):
    root = _root(t, {'f.txt': BODY, 'e.txt': b''})
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    add_trailer X-Srv srv;
    location / {
        add_trailer X-Time $request_time;
        add_trailer X-Empty "$arg_e";
        add_trailer X-Always a always;
    }
    location /off/ { alias %s/; chunked_transfer_encoding off; add_trailer X-T t; }
}""" % (root, root))
    a = fetch(p.port, '/f.txt')
    assert a.status == 200 and a.chunked and a.body == BODY, a
    assert a.header('Content-Length') is None, a
    # the location's list: X-Srv is not inherited; the empty value not sent
    assert [k for k, _ in a.trailers] == ['X-Time', 'X-Always'], a.trailers
    assert re.fullmatch(r'\d+\.\d{3}', a.trailer('X-Time')), a.trailers
    assert a.trailer('X-Always') == 'a'
    a = fetch(p.port, '/f.txt?e=yes')
    assert a.trailer('X-Empty') == 'yes', a.trailers
    # keep-alive: the framing is exact, the next answer follows
    a1, a2, a3 = fetch(p.port, '/f.txt', reqs=3)
    for a in (a1, a2, a3):
        assert a.status == 200 and a.body == BODY and a.trailer('X-Always') == 'a', a
    # an empty file: the last chunk alone, then the trailers
    a = fetch(p.port, '/e.txt')
    assert a.status == 200 and a.chunked and a.body == b'' and a.trailer('X-Always') == 'a', a
    # a range: 206, chunked too
    a = fetch(p.port, '/f.txt', headers=['Range: bytes=5-9'])
    assert a.status == 206 and a.chunked and a.body == BODY[5:10], a
    assert a.header('Content-Range') == 'bytes 5-9/%d' % len(BODY)
    assert a.trailer('X-Always') == 'a', a
    # HTTP/1.0: no chunks, no trailers
    a = fetch(p.port, '/f.txt', version='HTTP/1.0')
    assert not a.chunked and a.header('Content-Length') == str(len(BODY)) and a.body == BODY, a
    # HEAD: the length, no body, no trailers
    a = fetch(p.port, '/f.txt', method='HEAD')
    assert not a.chunked and a.header('Content-Length') == str(len(BODY)), a
    # 304: nothing
    lm = fetch(p.port, '/f.txt').header('Last-Modified')
    a = fetch(p.port, '/f.txt', headers=['If-Modified-Since: ' + lm])
    assert a.status == 304 and not a.chunked, a
    # chunked_transfer_encoding off: Content-Length kept, no trailers
    a = fetch(p.port, '/off/f.txt')
    assert a.status == 200 and not a.chunked and a.body == BODY, a
    assert a.header('Content-Length') == str(len(BODY))


def test_trailer_large_file_sendfile(t):
    """48 MiB through the one-chunk framing: byte-exact, and the server's
    memory does not grow with the file (sendfile, not read into memory)."""
    root = t.tmpdir('trl-big-')
    size = 48 << 20
    block = hashlib.sha256(b'x').digest() * 2048  # 64 KiB
    h = hashlib.sha256()
    with open(os.path.join(root, 'big.bin'), 'wb') as f:
        for i in range(size // len(block)):
            b = block[i % 64:] + block[:i % 64]
            f.write(b)
            h.update(b)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    sendfile on;
    add_trailer X-Done yes;
}""" % root)
    fetch(p.port, '/big.bin', method='HEAD')  # warm up
    rss0 = peak = _rss_kib(p.pid)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=20)
    s.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    head, buf = read_head(s)
    assert b'Transfer-Encoding: chunked' in head and b'Content-Length' not in head, head
    # an incremental chunked decoder: nginx writes a file in many chunks,
    # lbd in one (its size line right after the head)
    got, n, left, trailers, eof = hashlib.sha256(), 0, None, None, False
    while trailers is None:
        if left is None:
            le = buf.find(b'\r\n')
            if le >= 0:
                left = int(buf[:le].split(b';')[0], 16)
                buf = buf[le + 2:]
                continue
        elif left == 0:
            end = buf.find(b'\r\n\r\n') if not buf.startswith(b'\r\n') else 0
            if end >= 0:
                trailers = buf[:end + 2] if end else b''
                buf = buf[end + 4:] if end else buf[2:]
                continue
        elif buf:
            k = min(left, len(buf))
            got.update(buf[:k])
            n += k
            left -= k
            buf = buf[k:]
            if left == 0:
                if len(buf) < 2:
                    buf += s.recv(2)
                assert buf[:2] == b'\r\n', buf[:10]
                buf = buf[2:]
                left = None
            continue
        assert not eof, 'the answer ended early at %d bytes' % n
        d = s.recv(1 << 20)
        eof = not d
        buf += d
        if n % (8 << 20) < len(d):
            peak = max(peak, _rss_kib(p.pid))
    s.close()
    assert trailers == b'X-Done: yes\r\n' and buf == b'', (trailers, buf[:100])
    assert n == size and got.hexdigest() == h.hexdigest()
    assert peak - rss0 < 16 * 1024, (rss0, peak)


def test_trailer_tls(t):
    """Over TLS: the file (SSL_sendfile or a read and write) and a proxied
    answer framed as in plain HTTP."""
    big = BODY * 20
    root = _root(t, {'f.txt': big})
    b = t.backend('b')
    _, c = _certs(t, ('a', 'localhost', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name localhost;
    ssl_certificate %s;
    ssl_certificate_key %s;
    root %s;
    sendfile on;
    add_trailer X-T tls;
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
}""" % (c['a'][0], c['a'][1], root), b=b.port)
    a1, a2 = fetch(p.port, '/f.txt', reqs=2, tls=True)
    for a in (a1, a2):
        assert a.chunked and a.body == big and a.trailers == [('X-T', 'tls')], a
    a = fetch(p.port, '/p/size/100000', tls=True)
    assert a.chunked and len(a.body) == 100000 and a.trailers == [('X-T', 'tls')], a


def test_trailer_proxy(t):
    b = t.backend('b')
    ch = raw_upstream(t, {
        b'/ch': b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
                b'5\r\nhello\r\n6\r\n world\r\n0\r\nX-Up: 1\r\n\r\n',
        b'/close': b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the close',
        b'/nf': b'HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope',
    })
    p = t.proxy("""
upstream pool { server 127.0.0.1:{b}; keepalive 4; }
server {
    listen 127.0.0.1:{port};
    add_trailer X-Up-Time "$upstream_response_time";
    add_trailer X-Status $status always;
    location / { proxy_pass http://127.0.0.1:{b}; }
    location /r/ { proxy_pass http://127.0.0.1:{ch}/; }
    location /nr/ { proxy_pass http://127.0.0.1:{ch}/; add_trailer X-Only 1; }
    location /ka/ {
        proxy_pass http://pool/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}""", b=b.port, ch=ch)
    a = fetch(p.port, '/size/70000')
    pat = b'0123456789abcdef' * 64
    assert a.status == 200 and a.chunked and a.body == (pat * 70)[:70000], a
    assert a.header('Content-Length') is None
    assert a.trailer('X-Status') == '200' and a.trailer('X-Up-Time'), a.trailers
    a1, a2 = fetch(p.port, '/size/10', reqs=2)
    assert a1.body == a2.body == pat[:10] and a2.trailer('X-Status') == '200', (a1, a2)
    # a chunked upstream: its trailers dropped, ours sent
    a = fetch(p.port, '/r/ch')
    assert a.status == 200 and a.chunked and a.body == b'hello world', a
    assert a.trailer('X-Up') is None and a.trailer('X-Status') == '200', a.trailers
    # a kept-alive chunked upstream: decoded, framed again, then reused
    conns = b.connections
    got = fetch(p.port, '/ka/chunked', reqs=3)
    for a in got:
        assert a.chunked and a.body == b'alpha\nbeta\ngamma\n', a
        assert a.trailer('X-Status') == '200', a.trailers
    assert b.connections == conns + 1, (conns, b.connections)
    # until the close: chunked, with ours
    a = fetch(p.port, '/r/close')
    assert a.chunked and a.body == b'until the close' and a.trailer('X-Status') == '200', a
    # a 404: only the `always` one
    a = fetch(p.port, '/r/nf')
    assert a.status == 404 and a.chunked and a.body == b'nope', a
    assert a.trailers == [('X-Status', '404')], a.trailers
    # no line applies to a 404: not chunked at all
    a = fetch(p.port, '/nr/nf')
    assert a.status == 404 and not a.chunked and a.header('Content-Length') == '4', a
    a = fetch(p.port, '/nr/ch')
    assert a.chunked and a.trailers == [('X-Only', '1')], a
    # HTTP/1.0 client: no trailers
    a = fetch(p.port, '/size/100', version='HTTP/1.0')
    assert not a.chunked and a.header('Content-Length') == '100', a


def test_trailer_return_and_errors(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    add_trailer X-A a;
    location /text { return 200 "some text"; }
    location /empty { return 200 ""; }
    location /nf { return 404; }
    location /nfa { add_trailer X-B b always; return 404; }
    location /redir { return 302 /x; }
    location /page { error_page 404 /err.html; return 404; }
    location = /err.html { add_trailer X-E e always; return 200 "custom page"; }
    location /iff {
        add_trailer X-Loc 1;
        if ($arg_x) { add_trailer X-If 1; }
        return 200 "if";
    }
}""")
    a = fetch(p.port, '/text')
    assert a.chunked and a.body == b'some text' and a.trailers == [('X-A', 'a')], a
    a = fetch(p.port, '/empty')
    assert a.chunked and a.body == b'' and a.trailers == [('X-A', 'a')], a
    a = fetch(p.port, '/nf')
    assert a.status == 404 and not a.chunked and a.header('Content-Length'), a
    a = fetch(p.port, '/nfa')
    assert a.status == 404 and a.chunked and a.trailers == [('X-B', 'b')], a
    assert b'404 Not Found' in a.body
    a = fetch(p.port, '/redir')
    assert a.status == 302 and a.chunked and a.trailers == [('X-A', 'a')], a
    # the error page's location: its own list, the 404 status (always)
    a = fetch(p.port, '/page')
    assert a.status == 404 and a.body == b'custom page' and a.trailers == [('X-E', 'e')], a
    # inheritance: the location's list replaces the server's; an if's its
    a = fetch(p.port, '/iff')
    assert a.trailers == [('X-Loc', '1')], a
    a = fetch(p.port, '/iff?x=1')
    assert a.trailers == [('X-If', '1')], a


def test_trailer_filters(t):
    """gzip, sub_filter and gunzip chunk their output themselves: the last
    chunk is the trailers'."""
    root = _root(t, {'g.txt': BODY})
    zbody = gz.compress(BODY)
    up = raw_upstream(t, {
        b'/z': b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n'
               b'Content-Length: %d\r\nConnection: close\r\n\r\n' % len(zbody) + zbody,
        b'/s': b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n'
               b'Connection: close\r\n\r\n4\r\nfoo \r\n4\r\nbar \r\n0\r\nX-Up: 1\r\n\r\n',
    })
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    gzip on;
    gzip_types text/plain;
    add_trailer X-Z z;
    location /t { default_type text/plain; return 200 "%s"; }
    location /z { gunzip on; proxy_pass http://127.0.0.1:{up}; }
    location /s { gzip off; sub_filter foo FOO; proxy_pass http://127.0.0.1:{up}; }
    location /st { gzip off; default_type text/html; sub_filter abc X; return 200 "abc abc"; }
}""" % (root, 'abc ' * 100), up=up)
    for path, want in (('/g.txt', BODY), ('/t', b'abc ' * 100)):
        a = fetch(p.port, path, headers=['Accept-Encoding: gzip'])
        assert a.chunked and a.header('Content-Encoding') == 'gzip', a
        assert gz.decompress(a.body) == want and a.trailers == [('X-Z', 'z')], a
    a = fetch(p.port, '/z')  # no Accept-Encoding: inflated
    assert a.chunked and a.header('Content-Encoding') is None and a.body == BODY, a
    assert a.trailers == [('X-Z', 'z')], a
    a1, a2 = fetch(p.port, '/s', reqs=2)
    for a in (a1, a2):
        assert a.chunked and a.body == b'FOO bar ' and a.trailers == [('X-Z', 'z')], a
    a = fetch(p.port, '/st')
    assert a.chunked and a.body == b'X abc' and a.trailers == [('X-Z', 'z')], a


def test_trailer_cache_hit(t):
    b = t.backend('b')
    cache = t.tmpdir('trl-cache-')
    p = t.proxy("""
proxy_cache_path %s keys_zone=z:1m;
server {
    listen 127.0.0.1:{port};
    add_trailer X-C "$upstream_cache_status";
    location / { proxy_pass http://127.0.0.1:{b}; proxy_cache z; proxy_cache_valid 200 1m; }
}""" % cache, b=b.port)
    pat = b'0123456789abcdef' * 64
    for want in ('MISS', 'HIT'):
        a = fetch(p.port, '/size/5000')
        assert a.chunked and a.body == (pat * 5)[:5000] and a.trailers == [('X-C', want)], a
    assert b.count() == 1


def _nghttp(url):
    r = subprocess.run(['nghttp', '-v', '-t', '10', url], capture_output=True, timeout=30)
    return r.stdout.decode('latin-1')


def test_trailer_h2(t):
    root = _root(t, {'f.txt': BODY, 'e.txt': b''})
    b = t.backend('b')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    root %s;
    add_trailer X-A a;
    add_trailer X-N "$arg_n";
    location /p/ { proxy_pass http://127.0.0.1:{b}/; }
    location /gz/ { alias %s/; gzip on; gzip_types text/plain; }
}""" % (root, root), b=b.port)
    for path, length in (('/f.txt?n=1', len(BODY)), ('/p/size/3000', 3000)):
        out = _nghttp('http://127.0.0.1:%d%s' % (p.port, path))
        assert 'recv (stream_id=13) :status: 200' in out, out[-2000:]
        # content-length kept (nginx's HTTP/2 filter runs before its chunked one)
        assert 'recv (stream_id=13) content-length: %d' % length in out, out[-2000:]
        # the DATA, then a HEADERS frame with END_STREAM carrying the trailers
        after = out[out.rindex('recv DATA frame'):]
        assert 'recv (stream_id=13) x-a: a' in after, after
        m = re.search(r'recv HEADERS frame <length=\d+, flags=0x05, stream_id=13>', after)
        assert m and after.index('x-a: a') < m.start(), after
        assert ('x-n: 1' in after) == path.endswith('n=1'), after
    # a chunked upstream answer
    out = _nghttp('http://127.0.0.1:%d/p/chunked' % p.port)
    after = out[out.rindex('recv DATA frame'):]
    m = re.search(r'recv HEADERS frame <length=\d+, flags=0x05, stream_id=13>', after)
    assert m and 'x-a: a' in after[:m.start()], out[-2000:]
    # an empty file: the trailers end the stream all the same
    out = _nghttp('http://127.0.0.1:%d/e.txt' % p.port)
    assert 'recv (stream_id=13) content-length: 0' in out, out[-2000:]
    m = re.search(r'recv HEADERS frame <length=\d+, flags=0x05, stream_id=13>', out)
    assert m and 'x-a: a' in out[out.index(':status: 200'):m.start()], out[-2000:]
    # gzip (nghttp asks for it): chunked inside, the trailers after its end
    out = _nghttp('http://127.0.0.1:%d/gz/f.txt' % p.port)
    assert 'recv (stream_id=13) content-encoding: gzip' in out, out[-2000:]
    after = out[out.rindex('recv DATA frame'):]
    m = re.search(r'recv HEADERS frame <length=\d+, flags=0x05, stream_id=13>', after)
    assert m and 'x-a: a' in after[:m.start()], after


def test_trailer_config_errors(t):
    assert_location_t_errors(t, [
        ('add_trailer a b c;', 'invalid parameter "c"'),
        ('add_trailer a;', 'invalid number of arguments in "add_trailer" directive'),
    ])
    p = t.proxy("server {\n    listen 127.0.0.1:{port};\n    add_trailer a $nope_zz;\n}",
                start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode != 0 and 'unknown "nope_zz" variable' in res.stderr, res.stderr
    # a directive of its own now: no "not supported" warning
    p = t.proxy("server {\n    listen 127.0.0.1:{port};\n    add_trailer a b;\n}",
                start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode == 0 and 'not supported' not in res.stderr, res.stderr


def test_upstream_trailers_without_add_trailer(t):
    """Without add_trailer, nginx decodes a chunked upstream answer and
    chunks it again: the upstream's trailer fields do not reach the client
    (split over reads too), its body does,
    whole; the upstream's `Trailer` header is passed on as any other."""
    def split_answer(s):
        if read_head(s, chunk=4096, eof_ok=True)[1] is None:
            return
        s.sendall(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n'
                  b'Connection: close\r\n\r\n5\r\nhello\r\n0\r\nX-S')
        time.sleep(0.05)
        s.sendall(b'um: 7\r\nX-Other: 2\r\n\r\n')

    ch = raw_upstream(t, {
        b'/ch': b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Up\r\n'
                b'Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Up: 1\r\n\r\n',
        b'/none': b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
                  b'3\r\nabc\r\n0\r\n\r\n',
    })
    sp = raw_server(t, split_answer)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /r/ { proxy_pass http://127.0.0.1:{ch}/; }
    location /split { proxy_pass http://127.0.0.1:{sp}; }
}""", ch=ch, sp=sp)
    a = fetch(p.port, '/r/ch')
    assert a.status == 200 and a.chunked and a.body == b'hello world', a
    assert a.trailers == [] and a.header('Trailer') == 'X-Up', a
    a = fetch(p.port, '/r/none')
    assert a.chunked and a.body == b'abc' and a.trailers == [], a
    a = fetch(p.port, '/split')
    assert a.chunked and a.body == b'hello' and a.trailers == [], a
    assert a.header('Trailer') == 'X-Sum', a
    # kept-alive on the client side: the next answer follows cleanly
    a1, a2 = fetch(p.port, '/r/ch', reqs=2)
    assert a1.body == a2.body == b'hello world' and a2.trailers == [], (a1, a2)


def test_upstream_bare_lf_chunks(t):
    """A chunked upstream answer framed with bare LF line ends or chunk
    extensions (both taken, as nginx takes them) reaches the client
    framed with CRLF and no extensions, as nginx's re-chunking writes it;
    also when the odd framing starts in a later read than the first
    (mid-chunk, or between the CR and LF that end a chunk's data)."""
    def split(first, rest):
        def handle(s):
            if read_head(s, chunk=4096, eof_ok=True)[1] is None:
                return
            s.sendall(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n'
                      b'Connection: close\r\n\r\n' + first)
            time.sleep(0.05)
            s.sendall(rest)
        return raw_server(t, handle)

    head = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
    ch = raw_upstream(t, {
        b'/lf': head + b'5\nhello\n6\n world\n0\n\n',
        b'/ext': head + b'5;a=b\r\nhello\r\n6 \r\n world\r\n0;z\r\n\r\n',
        b'/trl': head + b'5\nhello\n0\nX-T: 1\n\n',
    })
    mid = split(b'5\r\nhel', b'lo\n3\nabc\n0\n\n')
    cr = split(b'5\r\nhello\r', b'\n3\nabc\n0\r\n\r\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /r/ { proxy_pass http://127.0.0.1:{ch}/; }
    location /mid { proxy_pass http://127.0.0.1:{mid}; }
    location /cr { proxy_pass http://127.0.0.1:{cr}; }
}""", ch=ch, mid=mid, cr=cr)

    def raw(path):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
        s.sendall(b'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' % path)
        buf = recv_until_close(s)
        s.close()
        return buf

    for path, body in ((b'/r/lf', b'hello world'), (b'/r/ext', b'hello world'),
                       (b'/r/trl', b'hello'), (b'/mid', b'helloabc'), (b'/cr', b'helloabc')):
        buf = raw(path)
        assert re.search(rb'(?<!\r)\n', buf) is None, (path, buf)
        assert b';' not in buf and b'X-T' not in buf, (path, buf)
        a = fetch(p.port, path.decode())
        assert a.status == 200 and a.chunked and a.body == body, (path, a)
    # the client's connection is kept alive and the next answer follows
    a1, a2 = fetch(p.port, '/r/lf', reqs=2)
    assert a1.body == a2.body == b'hello world', (a1, a2)
