# SPDX-License-Identifier: MIT
"""Error log lines for sockets and TLS sessions that fail, as nginx 1.22
writes them (text and level), since log readers written for nginx
(fail2ban filters, alerting, grep habits) key on them:

- a plain upstream that resets its connection in the middle of the
  answer's body: "recv() failed (104: Connection reset by peer) while
  reading upstream" with proxy_buffering off, "readv() failed (104: ...)"
  with it on (nginx reads a buffered answer with readv), and before the
  head "recv() failed (104: ...) while reading response header from
  upstream";
- a TLS upstream that resets: nginx's SSL_read takes a socket error with
  no OpenSSL error queued for the peer's close, so the line is "upstream
  prematurely closed connection while reading upstream" (or "... while
  reading response header from upstream");
- a client's TLS errors: "*N SSL_do_handshake() failed (SSL: ...) while
  SSL handshaking, client: A, server: LISTEN", "recv() failed (104: ...)
  while SSL handshaking" for a reset before the ClientHello, SSL_read
  failures "while waiting for request" / "while keepalive" / "while
  processing HTTP/2 connection" (the listening address as the server)
  or, inside a request, with the
  request's context and no action; at info when OpenSSL's first error
  blames the client's bytes and at crit otherwise (TLS 1.2's failed MAC
  comes first as the provider's "cipher operation failed"), as nginx's
  ngx_ssl_connection_error; plain HTTP to an ssl port with the request's
  context."""

import fcntl
import os
import socket
import ssl
import struct
import termios
import threading

from harness import raw_server, read_head, recv_until_close, wait_for
from test_errlog import _line
from test_upssl import certs

HEAD = b'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n'
BAD_MAC = b'\x17\x03\x03\x00\x20' + b'\x55' * 32  # application data, fails its MAC
NOT_TLS = b'HELLO WORLD GARBAGE\r\n\r\n'  # "wrong version number"
RESET = r'\(104: Connection reset by peer\)'


def _reset(s):
    """Close S with a reset (SO_LINGER 0) once the kernel has sent all it
    was given: a reset drops what is still queued."""
    def sent():
        out = fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, struct.pack('i', 0))
        return struct.unpack('i', out)[0] == 0
    wait_for(sent, timeout=5, what='the answer on the wire')
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()


def _resetting_upstream(t, answer, ctx=None, wait=False):
    """An upstream that reads a request head, writes ANSWER (through TLS
    with CTX) and resets the connection: with WAIT, once the event it
    returns is set (by _fetch, when the answer's head reached the client:
    an unbuffering proxy is then waiting on the upstream; nginx's line
    says "sending to client" when the reset comes while it is still
    sending the head). Returns (port, event)."""
    go = threading.Event()
    if not wait:
        go.set()

    def handle(c):
        s = ctx.wrap_socket(c, server_side=True) if ctx else c
        head, _ = read_head(s, chunk=4096, eof_ok=True)
        if not head:
            s.close()
            return False  # a readiness probe
        if answer:
            s.sendall(answer)
            go.wait(5)
        _reset(s)
        return False
    return raw_server(t, handle, threaded=True), go


def _fetch(port, path, go=None):
    """GET PATH; what came back before the proxy closed or cut. GO is set
    once the answer's head is in."""
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        s.sendall(b'GET %s HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n' %
                  path.encode())
        got = b''
        if go:
            head, rest = read_head(s, eof_ok=True, reset_ok=True)
            if rest is None:
                return head
            go.set()
            got = head + b'\r\n\r\n' + rest
        return got + recv_until_close(s, reset_ok=True)


def _ctx(path, port, scheme='http'):
    return (r', client: 127\.0\.0\.1, server: example\.test, request: "GET %s HTTP/1\.1", '
            r'upstream: "%s://127\.0\.0\.1:%d%s", host: "h\.test"$' % (path, scheme, port, path))


def test_errlog_net_upstream_reset_plain(t):
    body, _ = _resetting_upstream(t, HEAD + b'x' * 1000)
    body_off, go = _resetting_upstream(t, HEAD + b'x' * 1000, wait=True)
    head, _ = _resetting_upstream(t, None)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name example.test;
    location /on { proxy_pass http://127.0.0.1:%d; }
    location /off { proxy_pass http://127.0.0.1:%d; proxy_buffering off; }
    location /head { proxy_pass http://127.0.0.1:%d; }
}""" % (body, body_off, head))
    for path, port, call in (('/on', body, 'readv'), ('/off', body_off, 'recv')):
        got = _fetch(p.port, path, go if port == body_off else None)
        assert got.startswith(b'HTTP/1.1 200') and len(got) < 100000, got[:200]
        _line(p, r'\[error\] \d+#\d+: \*\d+ %s\(\) failed %s while reading upstream' %
              (call, RESET) + _ctx(path, port))
    assert _fetch(p.port, '/head').startswith(b'HTTP/1.1 502')
    _line(p, r'\[error\] \d+#\d+: \*\d+ recv\(\) failed %s while reading response header '
          r'from upstream' % RESET + _ctx('/head', head))


def test_errlog_net_upstream_reset_tls(t):
    d, crt, key = certs(t)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    body, _ = _resetting_upstream(t, HEAD + b'x' * 1000, ctx)
    body_off, go = _resetting_upstream(t, HEAD + b'x' * 1000, ctx, wait=True)
    head, _ = _resetting_upstream(t, None, ctx)
    p = t.proxy("""
proxy_ssl_protocols TLSv1.2 TLSv1.3;
server {
    listen 127.0.0.1:{port};
    server_name example.test;
    location /on { proxy_pass https://127.0.0.1:%d; }
    location /off { proxy_pass https://127.0.0.1:%d; proxy_buffering off; }
    location /head { proxy_pass https://127.0.0.1:%d; }
}""" % (body, body_off, head))
    for path, port in (('/on', body), ('/off', body_off)):
        got = _fetch(p.port, path, go if port == body_off else None)
        assert got.startswith(b'HTTP/1.1 200') and len(got) < 100000, got[:200]
        _line(p, r'\[error\] \d+#\d+: \*\d+ upstream prematurely closed connection while '
              r'reading upstream' + _ctx(path, port, 'https'))
    assert _fetch(p.port, '/head').startswith(b'HTTP/1.1 502')
    _line(p, r'\[error\] \d+#\d+: \*\d+ upstream prematurely closed connection while '
          r'reading response header from upstream' + _ctx('/head', head, 'https'))
    assert 'recv() failed' not in p.error_log()


def _tls_client(port, version=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx.wrap_socket(socket.create_connection(('127.0.0.1', port), timeout=5))


def _until_closed(s):
    recv_until_close(s, chunk=4096, end_on=(OSError,))  # SSLError and timeouts too
    s.close()


def test_errlog_net_client_tls(t):
    d, crt, key = certs(t)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl http2;
    server_name tls.test;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 ok; }
    location /body { proxy_pass http://127.0.0.1:{b}; }
}""" % (crt, key), b=t.backend('b'))
    port = p.port
    srv = r', client: 127\.0\.0\.1, server: 127\.0\.0\.1:%d$' % port

    def raw(data):
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        s.sendall(data)
        _until_closed(s)

    # the handshake: a bad record, bytes that are not TLS, a reset
    raw(b'\x16\x03\x01\x00\x05hello')
    _line(p, r'\[info\] \d+#\d+: \*\d+ SSL_do_handshake\(\) failed \(SSL: error:0A0000F4:SSL '
          r'routines::unexpected message\) while SSL handshaking' + srv)
    raw(b'\x16\x09\x09\x00\x05hello')
    _line(p, r'\[info\] \d+#\d+: \*\d+ SSL_do_handshake\(\) failed \(SSL: error:0A00010B:SSL '
          r'routines::wrong version number\) while SSL handshaking' + srv)
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
    _line(p, r'\[info\] \d+#\d+: \*\d+ recv\(\) failed %s while SSL handshaking' % RESET + srv)
    # plain HTTP: the request is read, then refused with its context
    raw(b'GET /plain HTTP/1.1\r\nHost: x\r\n\r\n')
    _line(p, r'\[info\] \d+#\d+: \*\d+ client sent plain HTTP request to HTTPS port while '
          r'reading client request headers, client: 127\.0\.0\.1, server: tls\.test, '
          r'request: "GET /plain HTTP/1\.1", host: "x"$')

    # after the handshake, before a request: crit for TLS 1.2's failed
    # MAC (the provider's error comes first), info for the others
    for version, garbage, level, text in (
            (ssl.TLSVersion.TLSv1_2, BAD_MAC, 'crit',
             r'error:1C800066:Provider routines::cipher operation failed '
             r'error:0A000119:SSL routines::decryption failed or bad record mac'),
            (ssl.TLSVersion.TLSv1_3, BAD_MAC, 'info',
             r'error:0A000119:SSL routines::decryption failed or bad record mac'),
            (ssl.TLSVersion.TLSv1_3, NOT_TLS, 'info',
             r'error:0A00010B:SSL routines::wrong version number')):
        s = _tls_client(port, version)
        os.write(s.fileno(), garbage)
        _until_closed(s)
        _line(p, r'\[%s\] \d+#\d+: \*\d+ SSL_read\(\) failed \(SSL: %s\) while waiting for '
              r'request' % (level, text) + srv)

    # in keep-alive, after an answer
    s = _tls_client(port)
    s.sendall(b'GET /ka HTTP/1.1\r\nHost: a\r\n\r\n')
    got = b''
    while not got.endswith(b'\r\n\r\nok'):
        x = s.recv(4096)
        assert x, got
        got += x
    os.write(s.fileno(), BAD_MAC)
    _until_closed(s)
    _line(p, r'\[info\] \d+#\d+: \*\d+ SSL_read\(\) failed \(SSL: error:0A000119:SSL '
          r'routines::decryption failed or bad record mac\) while keepalive' + srv)

    # an HTTP/2 connection
    s = _tls_client(port, alpn=['h2'])
    assert s.selected_alpn_protocol() == 'h2'
    os.write(s.fileno(), BAD_MAC)
    _until_closed(s)
    _line(p, r'\[info\] \d+#\d+: \*\d+ SSL_read\(\) failed \(SSL: error:0A000119:SSL '
          r'routines::decryption failed or bad record mac\) while processing HTTP/2 '
          r'connection' + srv)

    # inside a request (its body): the request's context, no action
    s = _tls_client(port)
    s.sendall(b'POST /body HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n'
              b'Expect: 100-continue\r\n\r\n')
    got, _ = read_head(s, chunk=4096)
    assert got.startswith(b'HTTP/1.1 100 '), got
    os.write(s.fileno(), BAD_MAC)
    _until_closed(s)
    _line(p, r'\[info\] \d+#\d+: \*\d+ SSL_read\(\) failed \(SSL: error:0A000119:SSL '
          r'routines::decryption failed or bad record mac\), client: 127\.0\.0\.1, server: '
          r'tls\.test, request: "POST /body HTTP/1\.1", host: "a"$')
