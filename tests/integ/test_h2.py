# SPDX-License-Identifier: MIT
"""HTTP/2 to clients (issue 6 item 3), same config for nginx and lbd:
curl --http2 through to an HTTP/1.1 backend (status, headers, bodies
byte-exact both ways, chunked answers, cookies joined), ALPN choosing h2
or http/1.1, h2c by prior knowledge, many streams on few connections
(h2load), a slow reader of a 64 MiB answer (lbd's memory stays bounded),
and the known attacks written as raw frames (rapid reset, CONTINUATION
flood, HPACK bomb, SETTINGS and PING floods): each ends in GOAWAY or a
close while a second client is served."""

import hashlib
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time

from harness import wait_for
from test_tls import _certs, client_ctx

# ---------------------------------------------------------------- frames

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
PREFACE = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'


def frame(ftype, flags, sid, payload=b''):
    return struct.pack('>I', len(payload))[1:] + \
        struct.pack('>BBI', ftype, flags, sid) + payload


def hp_int(v, prefix, first=0):
    """An HPACK integer with a PREFIX-bit prefix, FIRST the high bits."""
    lim = (1 << prefix) - 1
    if v < lim:
        return bytes([first | v])
    out = [first | lim]
    v -= lim
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)
    return bytes(out)


def hp_lit(name, value, index=False):
    """A literal header field, new name, no Huffman: without indexing, or
    with incremental indexing."""
    name = name.encode() if isinstance(name, str) else name
    value = value.encode() if isinstance(value, str) else value
    return (b'\x40' if index else b'\x00') + hp_int(len(name), 7) + name + \
        hp_int(len(value), 7) + value


def req_block(path='/', authority='localhost', method='GET', extra=()):
    b = hp_lit(':method', method) + hp_lit(':scheme', 'http') + \
        hp_lit(':path', path) + hp_lit(':authority', authority)
    for k, v in extra:
        b += hp_lit(k, v)
    return b


class H2Raw:
    """A bare HTTP/2 client over a socket: writes frames, reads frames.
    No HPACK decoder: tests look at frame types, status is read from the
    first HEADERS byte when the server used the static table."""

    def __init__(self, port, tls=False, window=65535, timeout=10.0):
        s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
        if tls:
            ctx = client_ctx()
            ctx.set_alpn_protocols(['h2'])
            s = ctx.wrap_socket(s, server_hostname='localhost')
        self.sock = s
        self.buf = b''
        settings = struct.pack('>HI', 4, window) + struct.pack('>HI', 2, 0)
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0, settings))

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def read_frame(self, deadline):
        """(type, flags, stream, payload), or None at EOF/reset."""
        while True:
            if len(self.buf) >= 9:
                n = int.from_bytes(self.buf[:3], 'big')
                if len(self.buf) >= 9 + n:
                    t, f, sid = struct.unpack('>BBI', self.buf[3:9])
                    p = self.buf[9:9 + n]
                    self.buf = self.buf[9 + n:]
                    return t, f, sid & 0x7fffffff, p
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError('no frame from the server in time')
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(1 << 16)
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                return None
            except socket.timeout:
                raise AssertionError('no frame from the server in time')
            if not d:
                return None
            self.buf += d

    def until_goaway_or_close(self, timeout=10.0):
        """Read until GOAWAY (returns its error code) or the end of the
        connection (returns None)."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(deadline)
            if f is None:
                return None
            if f[0] == GOAWAY:
                return struct.unpack('>II', f[3][:8])[1]


def curl(args, timeout=60):
    r = subprocess.run(['curl', '-sS', '--max-time', '30'] + args,
                       capture_output=True, timeout=timeout)
    return r


def curl_h2(url, extra=(), prior=False):
    """(http_version, status, headers text, body) of one request."""
    hdr = '/tmp/curl-h2-%d-%d' % (os.getpid(), threading.get_ident())
    args = ['-k', '--http2-prior-knowledge' if prior else '--http2',
            '-D', hdr, '-o', '-', '-w', '\n%{http_version} %{http_code}']
    r = curl(args + list(extra) + [url])
    assert r.returncode == 0, r.stderr
    body, _, tail = r.stdout.rpartition(b'\n')
    ver, code = tail.decode().split()
    with open(hdr, 'rb') as f:
        head = f.read().decode('latin-1')
    os.unlink(hdr)
    return ver, int(code), head, body


PROXY_LOC = """
        proxy_pass http://127.0.0.1:{b1};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Proto $server_protocol;"""


def _tls_h2_proxy(t, b1, extra=''):
    d, c = _certs(t, ('a', 'localhost', 'ec'))
    return t.proxy("""
log_format h2 '$request $status $server_protocol';
server {
    listen 127.0.0.1:{port} ssl http2;
    server_name localhost;
    ssl_certificate %s;
    ssl_certificate_key %s;
    client_max_body_size 8m;
    access_log {prefix}/logs/h2.log h2;
    %s
    location / {%s
    }
}""" % (c['a'][0], c['a'][1], extra, PROXY_LOC), b1=b1)


def test_h2_curl_through_proxy(t):
    b1 = t.backend('b1')
    p = _tls_h2_proxy(t, b1)
    base = 'https://localhost:%d' % p.port
    ver, code, head, body = curl_h2(base + '/x?a=1',
                                    ['-H', 'X-Test: yes'])
    assert (ver, code) == ('2', 200), (ver, code, head)
    assert 'x-backend: b1' in head.lower(), head
    req = b1.last()
    assert req.target == '/x?a=1' and req.version == 'HTTP/1.1', req.target
    assert req.header('Host') == 'localhost', req.headers
    assert req.header('X-Test') == 'yes'
    assert req.header('X-Proto') == 'HTTP/2.0', req.headers
    # 1 MiB down, byte-exact
    ver, code, head, body = curl_h2(base + '/size/1048576')
    assert code == 200 and len(body) == 1 << 20, len(body)
    pat = b'0123456789abcdef' * 64
    assert body == (pat * 1024)[:1 << 20]
    # 1 MiB up, byte-exact (sent with a Content-Length)
    data = os.urandom(1 << 20)
    up = t.write(os.path.join(t.tmpdir('h2up-'), 'up.bin'), data)
    ver, code, head, body = curl_h2(base + '/up', ['--data-binary', '@' + up])
    assert code == 200, (code, body[:200])
    info = __import__('json').loads(body)
    assert info['body_len'] == len(data), info['body_len']
    assert info['body_sha256'] == hashlib.sha256(data).hexdigest()
    # an upload of unknown length (no content-length: DATA until END_STREAM)
    ver, code, head, body = curl_h2(base + '/up2', [
        '-H', 'Transfer-Encoding: chunked', '--data-binary', '@' + up])
    assert code == 200, (code, body[:200])
    info = __import__('json').loads(body)
    assert info['body_sha256'] == hashlib.sha256(data).hexdigest()
    # a chunked answer arrives whole
    ver, code, head, body = curl_h2(base + '/chunked')
    assert body == b'alpha\nbeta\ngamma\n', body
    # cookies sent as separate fields reach HTTP/1.1 joined with "; "
    curl_h2(base + '/c', ['-H', 'Cookie: a=1', '-H', 'Cookie: b=2'])
    assert b1.last().header('Cookie') == 'a=1; b=2', b1.last().headers
    # a status from the backend, and a HEAD
    ver, code, head, body = curl_h2(base + '/status/404')
    assert code == 404
    ver, code, head, body = curl_h2(base + '/size/100', ['-I'])
    assert code == 200 and 'content-length: 100' in head.lower(), head
    # one access log line per stream, with HTTP/2.0 in $request
    wait_for(lambda: 'GET /x?a=1 HTTP/2.0 200 HTTP/2.0' in p.read('logs', 'h2.log'),
             what='the h2 access log line')


def test_h2_alpn(t):
    b1 = t.backend('b1')
    d, c = _certs(t, ('a', 'localhost', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "proto $server_protocol\\n"; }
}
server {
    listen 127.0.0.1:{port2} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "proto $server_protocol\\n"; }
}""" % (c['a'] + c['a']))
    p2 = p.subs['port2']

    def alpn(port, offer):
        ctx = client_ctx()
        ctx.set_alpn_protocols(offer)
        with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname='localhost') as ss:
                return ss.selected_alpn_protocol()
    assert alpn(p.port, ['h2', 'http/1.1']) == 'h2'
    assert alpn(p.port, ['http/1.1', 'h2']) == 'h2'  # server preference
    assert alpn(p.port, ['http/1.1']) == 'http/1.1'
    assert alpn(p2, ['h2', 'http/1.1']) == 'http/1.1'
    ver, code, head, body = curl_h2('https://localhost:%d/' % p.port)
    assert (ver, body) == ('2', b'proto HTTP/2.0\n'), (ver, body)
    r = curl(['-k', '--http1.1', 'https://localhost:%d/' % p.port])
    assert r.stdout == b'proto HTTP/1.1\n', r.stdout


def _h2c_proxy(t, b1, extra=''):
    return t.proxy("""
upstream be {
    server 127.0.0.1:{b1};
    keepalive 16;
}
server {
    listen 127.0.0.1:{port} http2;
    %s
    location / {
        proxy_pass http://be;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
    location = /small { return 200 "small\\n"; }
}""" % extra, b1=b1)


def test_h2c_prior_knowledge(t):
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1)
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/pk' % p.port,
                                    prior=True)
    assert (ver, code) == ('2', 200), (ver, code)
    assert b1.last().path == '/pk'
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/small' % p.port,
                                    prior=True)
    assert body == b'small\n'


def _h2load(args):
    r = subprocess.run(['h2load'] + args, capture_output=True, timeout=120)
    out = r.stdout.decode()
    m = re.search(r'status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx',
                  out)
    assert m, out + r.stderr.decode()
    return [int(x) for x in m.groups()], out


def test_h2load_many_streams(t):
    """2000 requests, 4 connections, 10 streams each at a time: all 2xx,
    over TLS and over h2c."""
    b1 = t.backend('b1')
    p = _tls_h2_proxy(t, b1)
    codes, out = _h2load(['-n', '2000', '-c', '4', '-m', '10',
                          'https://localhost:%d/load' % p.port])
    assert codes == [2000, 0, 0, 0], out
    p2 = _h2c_proxy(t, b1)
    codes, out = _h2load(['-n', '2000', '-c', '4', '-m', '10',
                          'http://127.0.0.1:%d/small' % p2.port])
    assert codes == [2000, 0, 0, 0], out


def _rss_kib(pid):
    """Resident memory of PID and its children (KiB)."""
    total = 0
    pids = [pid]
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            pids += [int(x) for x in f.read().split()]
    except OSError:
        pass
    for q in pids:
        try:
            with open('/proc/%d/status' % q) as f:
                m = re.search(r'VmRSS:\s+(\d+)', f.read())
                total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def test_h2_slow_reader_bounded(t):
    """A 64 MiB answer to a client that opens its window slowly: it gets
    every byte, and lbd never holds much of it in memory (what the client
    cannot take goes to proxy_buffers and the temp file, or the upstream is
    held back)."""
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1)
    size = 64 << 20
    c = H2Raw(p.port, window=65535)
    t.defer(c.close)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                 req_block('/size/%d' % size)))
    got, peak, base = 0, 0, _rss_kib(p.pid)
    deadline = time.monotonic() + 60
    granted, next_pause = 0, 8 << 20
    while got < size:
        f = c.read_frame(deadline)
        assert f is not None, 'connection closed after %d bytes' % got
        ftype, flags, sid, payload = f
        if ftype == SETTINGS and not flags & ACK:
            c.send(frame(SETTINGS, ACK, 0))
        if ftype == DATA and sid == 1:
            got += len(payload)
            granted += len(payload)
            if flags & END_STREAM:
                break
        # every 8 MiB a pause with the windows shut: the server has to
        # hold back the upstream meanwhile
        if got >= next_pause:
            next_pause += 8 << 20
            time.sleep(0.3)
            peak = max(peak, _rss_kib(p.pid))
        if granted >= 32 << 10:
            inc = struct.pack('>I', granted)
            c.send(frame(WINDOW_UPDATE, 0, 0, inc) +
                   frame(WINDOW_UPDATE, 0, 1, inc))
            granted = 0
    assert got == size, got
    if not t.is_nginx:
        # the whole answer would be 64 MiB: lbd stays far below
        assert peak - base < 24 * 1024, (base, peak)


def _second_client_served(t, port):
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/small' % port,
                                    prior=True)
    assert (code, body) == (200, b'small\n'), (code, body)


def _attack(t, build, expect_codes=(11, 1, 0, 2)):
    """Start an attack with BUILD(client) in a thread, check that another
    client is served meanwhile, and that the attacker gets GOAWAY (one of
    EXPECT_CODES: ENHANCE_YOUR_CALM, PROTOCOL_ERROR, ...) or a close."""
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1)
    c = H2Raw(p.port)
    t.defer(c.close)
    errs = []

    def run():
        try:
            build(c)
        except OSError as e:  # the server closed on us: fine
            errs.append(e)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    _second_client_served(t, p.port)
    code = c.until_goaway_or_close(timeout=20)
    th.join(20)
    assert code is None or code in expect_codes, code
    _second_client_served(t, p.port)
    return p, code


def test_h2_rapid_reset(t):
    def build(c):
        out = []
        for i in range(5000):
            sid = 1 + 2 * i
            out.append(frame(HEADERS, END_HEADERS | END_STREAM, sid,
                             req_block('/small')))
            out.append(frame(RST_STREAM, 0, sid, struct.pack('>I', 8)))
            if len(out) >= 200:
                c.send(b''.join(out))
                out = []
        c.send(b''.join(out))
    p, code = _attack(t, build)
    if not t.is_nginx:
        assert code == 11, code  # ENHANCE_YOUR_CALM
        wait_for(lambda: 'rapid reset' in p.error_log(), what='the log line')


def test_h2_continuation_flood(t):
    def build(c):
        c.send(frame(HEADERS, 0, 1, req_block('/small')))
        junk = hp_lit('x-junk', 'a' * 1000)
        for i in range(20000):
            c.send(frame(CONTINUATION, 0, 1, junk * 8))
    p, code = _attack(t, build)
    if not t.is_nginx:
        assert code == 11, code


def test_h2_hpack_bomb(t):
    def build(c):
        # one 4000-byte header into the dynamic table, then referenced
        # thousands of times (one byte each): 12 KB decode to 48 MB
        blk = req_block('/small') + hp_lit('x-bomb', 'b' * 4000, index=True)
        blk += b'\xbe' * 12000
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, blk))
    p, code = _attack(t, build)
    if not t.is_nginx:
        assert code == 11, code


def test_h2_settings_flood(t):
    def build(c):
        one = frame(SETTINGS, 0, 0, struct.pack('>HI', 3, 100))
        for i in range(100):
            c.send(one * 1000)
    p, code = _attack(t, build)
    if not t.is_nginx:
        # our per-second budget (11), or nghttp2's unanswered-ACK limit (close)
        assert code in (None, 11), code


def test_h2_ping_flood(t):
    def build(c):
        one = frame(PING, 0, 0, b'12345678')
        for i in range(100):
            c.send(one * 1000)
    p, code = _attack(t, build)
    if not t.is_nginx:
        # our per-second budget (11), or nghttp2's unanswered-ACK limit (close)
        assert code in (None, 11), code


def test_h2_idle_and_header_timeouts(t):
    """An idle HTTP/2 connection gets GOAWAY after keepalive_timeout
    (nginx 1.19.7+: http2_idle_timeout is obsolete); a header block left
    unfinished is ended after client_header_timeout."""
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1, 'keepalive_timeout 1s; client_header_timeout 1s;')
    c = H2Raw(p.port)
    t.defer(c.close)
    assert c.until_goaway_or_close(timeout=10) in (None, 0)
    c2 = H2Raw(p.port)
    t.defer(c2.close)
    c2.send(frame(HEADERS, 0, 1, req_block('/small')))  # no END_HEADERS
    assert c2.until_goaway_or_close(timeout=10) in (None, 0, 1)


def test_h2_http2_on_directive(t):
    """nginx 1.25's `http2 on;` in a server block: h2 by ALPN on its TLS
    address (nginx 1.22 does not know the directive)."""
    if t.is_nginx:
        t.skip('`http2 on` is nginx 1.25 syntax; nginx here is 1.22')
    d, c = _certs(t, ('a', 'localhost', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    http2 on;
    http2_max_concurrent_streams 64;
    http2_max_field_size 4k;
    http2_max_header_size 16k;
    http2_chunk_size 8k;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "proto $server_protocol\\n"; }
}""" % c['a'])
    ver, code, head, body = curl_h2('https://localhost:%d/' % p.port)
    assert (ver, body) == ('2', b'proto HTTP/2.0\n'), (ver, body)
    assert 'http2_chunk_size' in p.logs_text()  # accepted, no effect


def test_h2_max_concurrent_streams_setting(t):
    """The SETTINGS frame carries http2_max_concurrent_streams."""
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1, 'http2_max_concurrent_streams 7;')
    c = H2Raw(p.port)
    t.defer(c.close)
    f = c.read_frame(time.monotonic() + 5)
    assert f and f[0] == SETTINGS, f
    vals = dict(struct.unpack('>HI', f[3][i:i + 6])
                for i in range(0, len(f[3]), 6))
    assert vals.get(3) == 7, vals


def _stream_answered(c, sid, timeout=10):
    """Read until stream SID ends (END_STREAM on HEADERS or DATA); the
    DATA bytes of it."""
    deadline = time.monotonic() + timeout
    body = b''
    while True:
        f = c.read_frame(deadline)
        assert f is not None, 'closed before stream %d ended' % sid
        ftype, flags, fsid, payload = f
        if ftype == SETTINGS and not flags & ACK:
            c.send(frame(SETTINGS, ACK, 0))
        if fsid != sid:
            continue
        if ftype == DATA:
            body += payload
        assert ftype != RST_STREAM, 'stream %d reset' % sid
        if ftype in (HEADERS, DATA) and flags & END_STREAM:
            return body


def test_h2_reset_mid_request(t):
    """Streams reset by the client while the upstream thinks, or in the
    middle of their request body, end alone: the connection goes on."""
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1)
    c = H2Raw(p.port)
    t.defer(c.close)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block('/slow/500')))
    c.send(frame(HEADERS, END_HEADERS, 3, req_block(
        '/up', method='POST', extra=[('content-length', '100000')])) +
        frame(DATA, 0, 3, b'x' * 1000))
    time.sleep(0.2)
    c.send(frame(RST_STREAM, 0, 1, struct.pack('>I', 8)) +
           frame(RST_STREAM, 0, 3, struct.pack('>I', 8)))
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 5, req_block('/small')))
    assert _stream_answered(c, 5) == b'small\n'
    # a body sent in pieces, without content-length, arrives whole
    c.send(frame(HEADERS, END_HEADERS, 7, req_block('/up', method='POST')))
    for i in range(10):
        c.send(frame(DATA, 0, 7, bytes([65 + i]) * 3000))
    c.send(frame(DATA, END_STREAM, 7, b'end'))
    body = _stream_answered(c, 7)
    info = __import__('json').loads(body)
    want = b''.join(bytes([65 + i]) * 3000 for i in range(10)) + b'end'
    assert info['body_sha256'] == hashlib.sha256(want).hexdigest(), info


def _until_end_stream(c, sid, deadline):
    """Read until stream SID ends, acknowledging nothing (the server's
    SETTINGS stay unacknowledged: a test sends that ACK last)."""
    while True:
        f = c.read_frame(deadline)
        assert f is not None, 'closed before stream %d ended' % sid
        ftype, flags, fsid, _ = f
        if fsid == sid and ftype in (DATA, HEADERS) and flags & END_STREAM:
            return


def _last_frame_with_fin(c, data):
    """DATA (a frame) and the FIN in one TCP segment (MSG_MORE corks the
    bytes, the shutdown sends them with the FIN): the server's one read
    brings the frame, and the end only a next read."""
    c.sock.send(data, socket.MSG_MORE)
    c.sock.shutdown(socket.SHUT_WR)


def _until_closed(c, timeout=10):
    """The server closes the connection (GOAWAY first or not)."""
    deadline = time.monotonic() + timeout
    while c.read_frame(deadline) is not None:
        pass


def test_h2_cut_requests_logged(t):
    """As nginx, a request whose stream or connection the client ends is
    logged once: 499 while the upstream thinks (RST_STREAM, or the
    connection closed), its status while its answer is sent (a big file
    the client does not read). A client's last frame that came with its
    FIN in one segment ends the connection at once, not at its idle
    timeout (lbd read no further after a short read: edge-triggered epoll
    announces no more)."""
    b1 = t.backend('b1')
    root = t.tmpdir('root-')
    t.write(os.path.join(root, 'big.bin'), b'x' * (1 << 20))
    p = _h2c_proxy(t, b1, 'keepalive_timeout 300s;\n    '
                   'location /f/ { alias %s/; }' % root)
    # reset while the upstream holds the request
    c = H2Raw(p.port)
    t.defer(c.close)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block('/hold/a')))
    b1.wait_requests(1)
    c.send(frame(RST_STREAM, 0, 1, struct.pack('>I', 8)))
    wait_for(lambda: '/hold/a ' in p.access_log(), what='the line of the reset stream')
    # the connection closed while the upstream holds the request
    c2 = H2Raw(p.port)
    t.defer(c2.close)
    c2.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block('/hold/b')))
    b1.wait_requests(2)
    c2.sock.shutdown(socket.SHUT_WR)
    wait_for(lambda: '/hold/b ' in p.access_log(), what='the line of the closed connection')
    # the connection closed while a big answer waits for the client's window
    c3 = H2Raw(p.port)
    t.defer(c3.close)
    c3.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block('/f/big.bin')))
    deadline = time.monotonic() + 10
    while True:
        f = c3.read_frame(deadline)
        assert f is not None, 'closed before the answer'
        if f[0] == DATA and f[2] == 1:
            break
    c3.sock.shutdown(socket.SHUT_WR)
    wait_for(lambda: '/f/big.bin ' in p.access_log(), what='the line of the cut answer')
    # an answered request, then the client's last frame with its FIN
    c4 = H2Raw(p.port)
    t.defer(c4.close)
    c4.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block('/small')))
    _until_end_stream(c4, 1, time.monotonic() + 10)
    _last_frame_with_fin(c4, frame(SETTINGS, ACK, 0))
    _until_closed(c4)
    for x in (c, c2, c3):
        x.close()  # (an open one would hold nginx's graceful stop)
    b1.release()
    wait_for(lambda: '/small ' in p.access_log(), what='the line of /small')
    log = p.access_log()
    for path, status in (('/hold/a', 499), ('/hold/b', 499), ('/f/big.bin', 200),
                         ('/small', 200)):
        lines = [ln for ln in log.splitlines() if '"GET %s HTTP/2.0"' % path in ln]
        assert len(lines) == 1, (path, log)
        assert '" %d ' % status in lines[0], (path, log)


def test_h2_graceful_quit(t):
    """SIGQUIT: a stream in flight is finished, an idle HTTP/2 connection
    gets GOAWAY and is closed, and the server exits."""
    import signal
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1)
    idle = H2Raw(p.port)
    t.defer(idle.close)
    busy = H2Raw(p.port)
    t.defer(busy.close)
    busy.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                    req_block('/slow/700')))
    b1.wait_requests(1)
    p.signal(signal.SIGQUIT)
    body = _stream_answered(busy, 1)
    assert b'"path": "/slow/700"' in body, body
    assert idle.until_goaway_or_close(timeout=10) in (None, 0)
    assert p.wait_exit(10) == 0


def test_h2_static_file_and_errors(t):
    """A static file over h2 (the sendfile path reads into DATA frames)
    byte-exact, a 404 page, a redirect with its Location."""
    d, c = _certs(t, ('a', 'localhost', 'ec'))
    root = t.tmpdir('root-')
    data = os.urandom((1 << 20) + 123)
    t.write(os.path.join(root, 'big.bin'), data)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate %s;
    ssl_certificate_key %s;
    sendfile on;
    root %s;
    location = /go { return 301 /big.bin; }
}""" % (c['a'] + (root,)))
    base = 'https://localhost:%d' % p.port
    ver, code, head, body = curl_h2(base + '/big.bin')
    assert (ver, code) == ('2', 200)
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    ver, code, head, body = curl_h2(base + '/nope')
    assert code == 404 and b'404 Not Found' in body, (code, body)
    ver, code, head, body = curl_h2(base + '/go')
    assert code == 301, code
    assert re.search(r'(?im)^location: https://localhost:%d/big\.bin' % p.port,
                     head), head


def test_h2_empty_frames_flood(t):
    """Empty DATA frames and PRIORITY frames cost work and carry nothing
    (CVE-2019-9518, -9513): a flood of them ends the connection."""
    def build(c):
        c.send(frame(HEADERS, END_HEADERS, 1, req_block(
            '/small', method='POST', extra=[('content-length', '1')])))
        empty = frame(DATA, 0, 1)
        prio = frame(2, 0, 3, struct.pack('>IB', 1, 16))
        for i in range(100):
            c.send((empty + prio) * 500)
    p, code = _attack(t, build)
    if not t.is_nginx:
        assert code == 11, code
        wait_for(lambda: 'empty DATA frames' in p.error_log(),
                 what='the log line')


def test_h2_connection_specific_headers_refused(t):
    """A request with a connection-specific header (connection, upgrade,
    transfer-encoding...) is malformed in HTTP/2: that stream is reset,
    the next one on the connection is served."""
    if t.is_nginx:
        t.skip('nginx 1.22 drops such a header and answers; RFC 9113 8.2.2 '
               'makes the request malformed, as nghttp2 treats it')
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1)
    c = H2Raw(p.port)
    t.defer(c.close)
    for sid, (k, v) in ((1, ('connection', 'keep-alive')),
                        (3, ('upgrade', 'websocket')),
                        (5, ('transfer-encoding', 'chunked'))):
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid,
                     req_block('/small', extra=[(k, v)])))
        deadline = time.monotonic() + 10
        while True:
            f = c.read_frame(deadline)
            assert f is not None, 'connection closed'
            if f[0] == SETTINGS and not f[1] & ACK:
                c.send(frame(SETTINGS, ACK, 0))
            if f[2] == sid:
                assert f[0] == RST_STREAM, f
                break
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 7, req_block('/small')))
    assert _stream_answered(c, 7) == b'small\n'
    assert b1.count() == 0


def test_h2_header_limits(t):
    """One header field over large_client_header_buffers' buffer, or a
    header list over all of them (nginx 1.19.7+ semantics; explicit
    http2_max_field_size / http2_max_header_size win): GOAWAY
    ENHANCE_YOUR_CALM for lbd; a request within the limits is served."""
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1, 'large_client_header_buffers 4 1k;')
    ok = H2Raw(p.port)
    t.defer(ok.close)
    ok.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block(
        '/small', extra=[('x-fits', 'a' * 900)])))
    assert _stream_answered(ok, 1) == b'small\n'
    big = H2Raw(p.port)
    t.defer(big.close)
    big.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block(
        '/small', extra=[('x-big', 'a' * 2000)])))
    code = big.until_goaway_or_close()
    many = H2Raw(p.port)
    t.defer(many.close)
    many.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block(
        '/small', extra=[('x-h%d' % i, 'v' * 500) for i in range(10)])))
    code2 = many.until_goaway_or_close()
    if not t.is_nginx:
        assert (code, code2) == (11, 11), (code, code2)
        wait_for(lambda: 'http2_max_field_size' in p.error_log() and
                 'http2_max_header_size' in p.error_log(), what='log lines')
    _second_client_served(t, p.port)


def test_h2_connection_variables(t):
    """$http2 is "h2" over TLS, "h2c" in cleartext and empty on HTTP/1.1;
    $pipe is "." on a stream; $tcpinfo_rtt reads the client socket under
    the stream (a number of microseconds)."""
    d, c = _certs(t, ('a', 'localhost', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl http2;
    listen 127.0.0.1:{port2} http2;
    listen 127.0.0.1:{port3};
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "[$http2] [$pipe] [$tcpinfo_rtt]"; }
}""" % (c['a'][0], c['a'][1]))
    for url, prior, want in (('https://localhost:%d/' % p.port, False, 'h2'),
                             ('http://127.0.0.1:%d/' % p.subs['port2'], True, 'h2c')):
        ver, code, head, body = curl_h2(url, ['--resolve', 'localhost:%d:127.0.0.1' % p.port],
                                        prior=prior)
        assert (ver, code) == ('2', 200), (url, ver, code)
        assert re.fullmatch(r'\[%s\] \[\.\] \[\d+\]' % want, body.decode()), body
    r = curl(['http://127.0.0.1:%d/' % p.subs['port3']])
    assert re.fullmatch(rb'\[\] \[\.\] \[\d+\]', r.stdout), r.stdout


def test_h2_client_close_lines(t):
    """nginx's info lines for a client that ends its HTTP/2 connection:
    "client prematurely closed connection while processing HTTP/2
    connection" when it closes while a stream waits for its answer or in
    the middle of a frame, nothing at idle; a reset: "recv() failed (104:
    ...)" with the same context."""
    b1 = t.backend('b1')
    p = _h2c_proxy(t, b1)
    gone = r'\[info\] \d+#\d+: \*\d+ client prematurely closed connection while ' \
           r'processing HTTP/2 connection, client: 127\.0\.0\.1, server: 127\.0\.0\.1:%d\n' % p.port

    def closed_by_client(c):
        c.sock.shutdown(socket.SHUT_WR)
        _until_closed(c)
        c.close()
    # a connection closed before its preface: nothing either (nginx's
    # HTTP/2 starts at the first byte; no "waiting for request" line)
    socket.create_connection(('127.0.0.1', p.port)).close()
    # at idle, once the SETTINGS were exchanged: no line
    c = H2Raw(p.port)
    assert c.read_frame(time.monotonic() + 10)[0] == SETTINGS
    closed_by_client(c)
    assert not re.search(gone, p.error_log())
    # while a stream waits for the upstream
    c = H2Raw(p.port)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block('/slow/3000')))
    assert c.read_frame(time.monotonic() + 10)[0] == SETTINGS
    closed_by_client(c)
    wait_for(lambda: len(re.findall(gone, p.error_log())) == 1, what='the stream close line')
    assert 'waiting for request' not in p.error_log()
    # in the middle of a frame's header, then of its payload
    for cut in (4, 12):
        c = H2Raw(p.port)
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block('/small'))[:cut])
        closed_by_client(c)
    wait_for(lambda: len(re.findall(gone, p.error_log())) == 3, what='the cut frame lines')
    # a reset: the client closes with the server's SETTINGS unread
    c = H2Raw(p.port)
    wait_for(lambda: c.sock.recv(1, socket.MSG_PEEK), what='the SETTINGS')
    c.close()
    wait_for(lambda: re.search(
        r'\[info\] \d+#\d+: \*\d+ recv\(\) failed \(104: Connection reset by peer\) while '
        r'processing HTTP/2 connection, client: 127\.0\.0\.1, server: 127\.0\.0\.1:%d\n'
        % p.port, p.error_log()), what='the reset line')


def test_h2_cut_header_block_logged(t):
    """A connection that ends in the middle of a header block (a HEADERS
    frame, or before or in its CONTINUATION: the client's close, or a
    frame other than CONTINUATION, a protocol error) leaves one access log
    line, as nginx's (which made the stream's request at the block's
    start): status 000, request "-", nothing sent, the block's frame
    lengths without padding and priority fields as $request_length. A
    close in the middle of a HEADERS frame's 9-byte header leaves none.
    lbd logged no line."""
    p = t.proxy("""
log_format cut '$status $body_bytes_sent $request_length "$request"';
server {
    listen 127.0.0.1:{port} http2;
    access_log {prefix}/logs/cut.log cut;
    location / { return 200; }
}""")
    blk = req_block('/small', extra=[('x-a', 'y' * 50)])
    n = len(blk)
    prio, padded = 0x20, 0x08
    cases = (  # (bytes sent, then the client's close or not, the line's length)
        (frame(HEADERS, END_HEADERS | END_STREAM, 1, blk)[:20], True, n),
        (frame(HEADERS, END_STREAM, 1, blk[:10]), True, 10),
        (frame(HEADERS, END_STREAM, 1, blk[:10]) +
         frame(CONTINUATION, END_HEADERS, 1, blk[10:])[:15], True, n),
        (frame(HEADERS, END_HEADERS | END_STREAM | prio | padded, 1,
               b'\x04\x00\x00\x00\x00\x10' + blk + b'\x00' * 4)[:30], True, n),
        (frame(HEADERS, END_STREAM, 1, blk[:10]) + frame(DATA, 0, 1, b'xx'), False, 10),
    )

    def lines():
        return [ln for ln in p.read('logs', 'cut.log').splitlines() if ln]
    # first the close in a frame header: no line
    c = H2Raw(p.port)
    t.defer(c.close)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, blk)[:4])
    c.sock.shutdown(socket.SHUT_WR)
    _until_closed(c)
    c.close()
    wait_for(lambda: 'client prematurely closed connection' in p.error_log(),
             what='the close in a frame header')
    for i, (data, close, _) in enumerate(cases):
        c = H2Raw(p.port)
        t.defer(c.close)
        c.send(data)
        if close:
            c.sock.shutdown(socket.SHUT_WR)
        _until_closed(c)
        c.close()
        wait_for(lambda: len(lines()) == i + 1, what='the line of case %d' % i)
    assert lines() == ['000 0 %d "-"' % length for _, _, length in cases], lines()


def test_h2_ignore_client_abort_upstream_finishes(t):
    """proxy_ignore_client_abort on: a stream whose client connection is
    gone, or which the client reset, while the upstream thinks keeps its
    upstream request, as nginx's (it sets no broken-connection check
    then): the upstream's connection stays open until it answers, and the
    access log has the answer's status (200, nothing sent), written once
    it came; a reset stream's connection serves the next stream. lbd
    logged 499 at the close or reset and closed the upstream connection."""
    from harness import raw_server
    got = {'/close': threading.Event(), '/reset': threading.Event()}
    go = {'/close': threading.Event(), '/reset': threading.Event()}
    seen = {}

    def handle(c):
        head = b''
        while b'\r\n\r\n' not in head:
            d = c.recv(4096)
            if not d:
                return False
            head += d
        path = head.split(b' ')[1].decode()
        if path in got:
            got[path].set()
            go[path].wait(10)
            c.setblocking(False)
            try:  # still connected, nothing from the proxy (an EOF: it closed)
                seen[path] = c.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                seen[path] = 'open'
            c.settimeout(5)
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')
        return False
    up = raw_server(t, handle, threaded=True)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    location / { proxy_ignore_client_abort on; proxy_pass http://127.0.0.1:%d; }
}""" % up)

    def logged(path):
        return [ln for ln in p.access_log().splitlines() if '"GET %s HTTP/2.0"' % path in ln]
    # the client's connection closed
    c = H2Raw(p.port)
    t.defer(c.close)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block('/close')))
    assert got['/close'].wait(10)
    c.sock.shutdown(socket.SHUT_WR)
    # the proxy read the close (nginx keeps the socket until the stream ends)
    wait_for(lambda: 'client prematurely closed connection while processing HTTP/2' in
             p.error_log(), what='the close read')
    c.close()
    go['/close'].set()
    wait_for(lambda: logged('/close'), what='the log line of /close')
    # the stream reset (a PING after it: its ACK says the reset was read)
    c = H2Raw(p.port)
    t.defer(c.close)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, req_block('/reset')))
    assert got['/reset'].wait(10)
    c.send(frame(RST_STREAM, 0, 1, struct.pack('>I', 8)) + frame(PING, 0, 0, b'12345678'))
    deadline = time.monotonic() + 10
    while True:
        f = c.read_frame(deadline)
        assert f is not None, 'closed before the PING ACK'
        if f[0] == PING and f[1] & ACK:
            break
    go['/reset'].set()
    wait_for(lambda: logged('/reset'), what='the log line of /reset')
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, req_block('/next')))
    assert _stream_answered(c, 3) == b'hello'
    c.close()
    assert seen == {'/close': 'open', '/reset': 'open'}, seen
    for path in ('/close', '/reset'):
        assert len(logged(path)) == 1 and '" 200 0 ' in logged(path)[0], p.access_log()
