# SPDX-License-Identifier: MIT
"""Request heads, the rest of nginx's buffer rules: the `Host` server's
`large_client_header_buffers`, `max_headers` and refused hosts answered
at their line in an unfinished head, empty lines before a request line,
a PROXY header's room, pipelined requests in the buffer the one before
ended in, and the lines nginx logs when a client goes away before or in
the middle of a head. Each test runs against nginx 1.22 and lbd with the
same config (see README's "Request head buffers")."""

import os
import re
import socket
import ssl
import struct
import time

from harness import recv_until_close, wait_for
from test_errlog import _line
from test_errlog_net import BAD_MAC, _tls_client, _until_closed
from test_upssl import certs

CONF = """
server {
    listen 127.0.0.1:{port};
    server_name x;
    location / { return 200 "ok\\n"; }
}
server {
    listen 127.0.0.1:{port2} ssl;
    server_name x;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "ok\\n"; }
}"""

HEAD = b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'


def _proxy(t):
    d, crt, key = certs(t)
    return t.proxy(CONF % (crt, key))


def _count(p, text):
    return sum(1 for ln in p.error_log().splitlines() if ln.endswith(text))


def _access(p, want):
    """Wait for the access log to hold the lines WANT (their request and
    status, in order), nothing else."""
    rx = re.compile(r'"([^"]*)" (\d+) ')

    def got():
        return [(m.group(1), int(m.group(2)))
                for m in map(rx.search, p.access_log().splitlines()) if m]
    wait_for(lambda: got() == want, what='access log %r (has %r)' % (want, got()))


def _recv_until(s, end):
    """Read S until what came ends with END (the connection must not end
    first)."""
    got = b''
    while not got.endswith(end):
        x = s.recv(4096)
        assert x, got
        got += x
    return got


def _answered(s, data):
    """Send DATA on S, read its answer to the end of a 200 "ok"."""
    s.sendall(data)
    return _recv_until(s, b'\r\n\r\nok\n')


def _half_close(port, data):
    """DATA then the client's FIN: nothing may come back but the close."""
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    try:
        got = s.recv(4096)  # the close, not client_header_timeout
    finally:
        s.close()
    assert got == b'', got


def test_headbuf_idle_close_lines(t):
    # a connection closed before its first byte; a keep-alive connection
    # closed (or reset) between requests: nginx's info lines, no request
    p = _proxy(t)
    srv = ', client: 127.0.0.1, server: 127.0.0.1:%d' % p.port
    waiting = 'client closed connection while waiting for request' + srv
    # the harness's readiness check is one such connection per port
    wait_for(lambda: _count(p, waiting) == 1, what='the readiness line')
    socket.create_connection(('127.0.0.1', p.port), timeout=5).close()
    wait_for(lambda: _count(p, waiting) == 2, what=waiting)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    _answered(s, HEAD)
    s.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b''
    s.close()
    _line(p, r'\[info\] \d+#\d+: \*\d+ client 127\.0\.0\.1 closed keepalive connection$')
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    _answered(s, HEAD)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
    _line(p, r'\[info\] \d+#\d+: \*\d+ client 127\.0\.0\.1 closed keepalive connection '
          r'\(104: Connection reset by peer\)$')
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
    _line(p, r'\[info\] \d+#\d+: \*\d+ recv\(\) failed \(104: Connection reset by peer\) '
          r'while waiting for request' + re.escape(srv) + '$')
    # over TLS, after the handshake
    tls = ', client: 127.0.0.1, server: 127.0.0.1:%d' % int(p.subs['port2'])
    # (TLS 1.2: 1.3's session tickets, unread, would make the close a reset)
    s = _tls_client(int(p.subs['port2']), ssl.TLSVersion.TLSv1_2)
    s.close()
    _line(p, r'\[info\] \d+#\d+: \*\d+ client closed connection while waiting for request' +
          re.escape(tls) + '$')
    _access(p, [('GET / HTTP/1.1', 200)] * 2)


def test_headbuf_premature_close(t):
    # the client's FIN in the middle of a head (it may come with the last
    # bytes): answered with the close at once, nginx's line with the
    # request so far, and its 400 in the access log
    p = _proxy(t)
    _half_close(p.port, b'GET /abc HT')
    _line(p, r'\[info\] \d+#\d+: \*\d+ client prematurely closed connection while reading '
          r'client request line, client: 127\.0\.0\.1, server: x, request: "GET /abc HT"$')
    _half_close(p.port, b'GET /d HTTP/1.1\r\nHost: x\r\nX-A: b')
    _line(p, r'\[info\] \d+#\d+: \*\d+ client prematurely closed connection while reading '
          r'client request headers, client: 127\.0\.0\.1, server: x, request: '
          r'"GET /d HTTP/1\.1", host: "x"$')
    # empty lines only: a request begun, no request line yet
    _half_close(p.port, b'\r\n\r\n')
    _line(p, r'\[info\] \d+#\d+: \*\d+ client prematurely closed connection while reading '
          r'client request line, client: 127\.0\.0\.1, server: x$')
    # the second request of a connection
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    _answered(s, HEAD)
    s.sendall(b'GET /p2 HTTP/1.1\r\n')
    s.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b''
    s.close()
    _line(p, r'\[info\] \d+#\d+: \*\d+ client prematurely closed connection while reading '
          r'client request headers, client: 127\.0\.0\.1, server: x, request: '
          r'"GET /p2 HTTP/1\.1"$')
    # a reset in the middle of a head
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    s.sendall(b'GET /rst HTTP/1.1\r\n')
    wait_for(lambda: _count(p, 'request: "GET /p2 HTTP/1.1"') == 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
    _line(p, r'\[info\] \d+#\d+: \*\d+ recv\(\) failed \(104: Connection reset by peer\) while '
          r'reading client request headers, client: 127\.0\.0\.1, server: x, request: '
          r'"GET /rst HTTP/1\.1"$')
    _access(p, [('GET /abc HT', 400), ('GET /d HTTP/1.1', 400), ('', 400),
                ('GET / HTTP/1.1', 200), ('GET /p2 HTTP/1.1', 400),
                ('GET /rst HTTP/1.1', 400)])


def test_headbuf_premature_close_tls(t):
    # the same over TLS (with or without the client's close_notify), and
    # a failed TLS read in the middle of a head: its line names the
    # default server and the request so far
    p = _proxy(t)
    port = int(p.subs['port2'])
    for notify in (False, True):
        s = _tls_client(port)
        s.sendall(b'GET /t%d HT' % notify)
        if notify:
            try:
                s = s.unwrap()  # nginx closes without its close_notify
            except ssl.SSLError:
                pass
        else:
            s.shutdown(socket.SHUT_WR)
        _until_closed(s)
        _line(p, r'\[info\] \d+#\d+: \*\d+ client prematurely closed connection while '
              r'reading client request line, client: 127\.0\.0\.1, server: x, request: '
              r'"GET /t%d HT"$' % notify)
    n = 5  # *1, *2: the readiness checks; *3, *4: the closes above
    for data, what, req in ((b'GET /m HT', 'line', ', request: "GET /m HT"'),
                            (b'GET /m HTTP/1.1\r\nHost: x\r\nX-A: b', 'headers',
                             ', request: "GET /m HTTP/1.1", host: "x"'),
                            (b'\r\n', 'line', '')):
        s = _tls_client(port, ssl.TLSVersion.TLSv1_3)
        s.sendall(data)
        # (read with the bytes before it, the bad record is met before
        # they are a request: nginx says "waiting for request" then; a
        # pause makes the case of a head begun the likely one)
        time.sleep(0.1)
        os.write(s.fileno(), BAD_MAC)
        _until_closed(s)
        _line(p, r'\[info\] \d+#\d+: \*%d SSL_read\(\) failed \(SSL: error:0A000119:SSL '
              r'routines::decryption failed or bad record mac\) while (reading client '
              r'request %s, client: 127\.0\.0\.1, server: x%s|waiting for request, client: '
              r'127\.0\.0\.1, server: 127\.0\.0\.1:%d)$' % (n, what, re.escape(req), port))
        n += 1
    _access(p, [('GET /t0 HT', 400), ('GET /t1 HT', 400), ('GET /m HT', 400),
                ('GET /m HTTP/1.1', 400), ('', 400)])


# the default server of each address, and a server "y" with other
# large_client_header_buffers (and max_headers) than it
HOST_CONF = """
server {
    listen 127.0.0.1:{port};
    server_name x;
    client_header_buffer_size 1k;
    large_client_header_buffers 1 2k;
    location / { return 200 "x\\n"; }
}
server {
    listen 127.0.0.1:{port};
    server_name y;
    large_client_header_buffers 4 8k;
    max_headers 3;
    location / { return 200 "y\\n"; }
}
server {
    listen 127.0.0.1:{port2};
    server_name x;
    location / { return 200 "x\\n"; }
}
server {
    listen 127.0.0.1:{port2};
    server_name y;
    large_client_header_buffers 1 2k;
    location / { return 200 "y\\n"; }
}"""


def _fields(n, size):
    """N field lines of SIZE bytes each, CRLF included."""
    return b''.join(b'X-H%d: ' % i + b'c' * (size - 8 - len(str(i))) + b'\r\n'
                    for i in range(n))


def _exchange(port, data):
    """DATA (a head, whole or not), then what the proxy answers up to its
    close: it must answer without waiting for more."""
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    out = b''
    try:
        s.sendall(data)
        if data.endswith(b'\r\n\r\n'):
            s.shutdown(socket.SHUT_WR)
        out = recv_until_close(s, reset_ok=True)
    except ConnectionResetError:
        pass  # sending
    except socket.timeout as e:
        raise AssertionError('no answer to the head so far: %r' % e.got[:200])
    finally:
        s.close()
    return out


def test_headbuf_host_server_buffers(t):
    p = t.proxy(HOST_CONF)
    port2 = int(p.subs['port2'])
    cases = [
        # Host names y: its 4 8k hold two 5000-byte lines (x's 1 2k would not)
        (p.port, b'GET / HTTP/1.1\r\nHost: y\r\n' + _fields(2, 5000) + b'\r\n', b'200', b'y\n'),
        # absolute-form: the request line names y before any field line
        (p.port, b'GET http://y/ HTTP/1.1\r\nHost: x\r\n' + _fields(2, 5000) + b'\r\n',
         b'200', b'y\n'),
        # a line before Host is held to the default server's buffers
        (p.port, b'GET / HTTP/1.1\r\n' + _fields(1, 3000) + b'Host: y\r\n\r\n', b'400',
         b'Request Header Or Cookie Too Large'),
        # y's smaller buffers (1 2k) after its Host line: answered at the
        # byte they fill, the head unfinished
        (port2, b'GET / HTTP/1.1\r\nHost: y\r\n' + _fields(1, 3000), b'400',
         b'Request Header Or Cookie Too Large'),
        # the same on the default server: 4 8k hold it
        (port2, b'GET / HTTP/1.1\r\nHost: x\r\n' + _fields(1, 3000) + b'\r\n', b'200', b'x\n'),
    ]
    for port, data, status, body in cases:
        out = _exchange(port, data)
        assert out.startswith(b'HTTP/1.1 ' + status), (data[:40], out[:200])
        assert body in out, (data[:40], out[-200:])
    # the line names the server whose buffers ran out
    _line(p, r'\[info\] \d+#\d+: \*\d+ client sent too long header line: "X-H0: c{1742}\.\.\." '
          r'while reading client request headers, client: 127\.0\.0\.1, server: x, request: '
          r'"GET / HTTP/1\.1"$')
    _line(p, r'\[info\] \d+#\d+: \*\d+ client sent too long header line: "X-H0: c{1742}\.\.\." '
          r'while reading client request headers, client: 127\.0\.0\.1, server: y, request: '
          r'"GET / HTTP/1\.1", host: "y"$')


def test_headbuf_max_headers_after_host(t):
    # y's max_headers 3 counts from its Host line on: a fourth line is
    # answered at once, the head unfinished; three lines wait for the end
    p = t.proxy(HOST_CONF)
    out = _exchange(p.port, b'GET / HTTP/1.1\r\nHost: y\r\nA: 1\r\nB: 1\r\nC: 1\r\n')
    assert out.startswith(b'HTTP/1.1 400 '), out[:200]
    assert b'Request Header Or Cookie Too Large' in out, out
    _line(p, r'\[info\] \d+#\d+: \*\d+ client sent too many header lines while reading client '
          r'request headers, client: 127\.0\.0\.1, server: y, request: "GET / HTTP/1\.1", '
          r'host: "y"$')
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    s.sendall(b'GET / HTTP/1.1\r\nHost: y\r\nA: 1\r\nB: 1\r\n')
    s.sendall(b'\r\n')
    got = _recv_until(s, b'\r\n\r\ny\n')
    assert got.startswith(b'HTTP/1.1 200 '), got
    s.close()


def test_headbuf_empty_lines(t):
    # any number of empty lines before a request line (nginx reads on into
    # its first buffer from its start when they fill it), none of them in
    # $request_length; those in the buffer the request line starts in take
    # room there
    p = t.proxy("""
    log_format rl '$request_length $status "$request"';
    server {
        listen 127.0.0.1:{port};
        server_name x;
        client_header_buffer_size 1k;
        large_client_header_buffers 1 2k;
        access_log {prefix}/logs/rl.log rl;
        location / { return 200 "x\\n"; }
    }""")
    head = b'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n'
    for data in (b'\r\n' * 30000 + head % b'a', b'\n' * 70001 + head % b'b',
                 b'\r\n' * 500 + head[:-2] % b'c' + b'X-A: ' + b'a' * 1000 + b'\r\n\r\n'):
        out = _exchange(p.port, data + b'GET /z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        assert out.startswith(b'HTTP/1.1 200 ') and out.count(b'x\n') == 2, out[:300]
    # a 2045-byte field line after Host fits the large buffer it moves to
    # from the first; after 1000 bytes of empty lines the Host line moves
    # there with it, and it does not
    big = head[:-2] % b'd' + b'X-A: ' + b'a' * 2038 + b'\r\n\r\n'
    out = _exchange(p.port, big)
    assert out.startswith(b'HTTP/1.1 200 '), out[:300]
    out = _exchange(p.port, b'\r\n' * 500 + big)
    assert out.startswith(b'HTTP/1.1 400 '), out[:200]
    # pipelined after a request, the same
    out = _exchange(p.port, head % b'e' + b'\r\n' * 3000 + head % b'f' +
                    b'GET /z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert out.count(b'HTTP/1.1 200 ') == 3, out

    def lines():
        return p.read('logs', 'rl.log').splitlines()
    wait_for(lambda: len(lines()) == 11, what='11 log lines')
    got = [ln for ln in lines() if '/z' not in ln]
    assert got == ['28 200 "GET /a HTTP/1.1"', '28 200 "GET /b HTTP/1.1"',
                   '1035 200 "GET /c HTTP/1.1"', '2073 200 "GET /d HTTP/1.1"',
                   '26 400 "GET /d HTTP/1.1"',
                   '28 200 "GET /e HTTP/1.1"', '28 200 "GET /f HTTP/1.1"'], got


def test_headbuf_proxy_protocol_room(t):
    # a PROXY header read with the request's first bytes takes room in
    # nginx's first buffer (plain HTTP; over TLS it is peeked, no room)
    d, crt, key = certs(t)
    p = t.proxy("""
    server {
        listen 127.0.0.1:{port} proxy_protocol;
        listen 127.0.0.1:{port2} ssl proxy_protocol;
        server_name x;
        ssl_certificate %s;
        ssl_certificate_key %s;
        client_header_buffer_size 1k;
        large_client_header_buffers 1 2k;
        location / { return 200 "x\\n"; }
    }""" % (crt, key))
    pp = b'PROXY TCP4 1.2.3.4 5.6.7.8 111 222\r\n'
    # X-A ends in the first buffer, X-B moves to the large one and fits;
    # 36 bytes less in the first buffer move X-A too, and X-B does not fit
    head = (b'GET / HTTP/1.1\r\nHost: x\r\nX-A: ' + b'a' * 988 + b'\r\nX-B: ' + b'b' * 2033 +
            b'\r\n\r\n')
    out = _exchange(p.port, pp + head)
    assert out.startswith(b'HTTP/1.1 400 '), out[:200]
    assert b'Request Header Or Cookie Too Large' in out, out
    out = _exchange(p.port, b'PROXY UNKNOWN\r\n' + head)
    assert out.startswith(b'HTTP/1.1 400 '), out[:200]
    # a head that ends in 1024 bytes but not in 1024 - 36 fits all the same
    out = _exchange(p.port, pp + b'GET / HTTP/1.1\r\nHost: x\r\nX-A: ' + b'a' * 1000 +
                    b'\r\n\r\n')
    assert out.startswith(b'HTTP/1.1 200 '), out[:200]
    # over TLS the whole first buffer is the request's
    s = socket.create_connection(('127.0.0.1', int(p.subs['port2'])), timeout=5)
    s.sendall(pp)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s)
    s.sendall(head)
    got = _recv_until(s, b'\r\n\r\nx\n')
    assert got.startswith(b'HTTP/1.1 200 '), got
    s.close()


def test_headbuf_bad_host_at_line(t):
    # a host nginx refuses is answered at its line, the head unfinished,
    # and (whole or not) with nginx's line
    p = t.proxy("""
    server {
        listen 127.0.0.1:{port};
        server_name x;
        location / { return 200 "x\\n"; }
    }""")
    cases = [
        (b'GET / HTTP/1.1\r\nHost: a..b\r\nX-A: 1\r\n', r'invalid host header while reading '
         r'client request headers, client: 127\.0\.0\.1, server: x, request: "GET / HTTP/1\.1", '
         r'host: "a\.\.b"'),
        (b'GET http://c..d/ HTTP/1.1\r\nX-A: 1\r\n', r'invalid host in request line while '
         r'reading client request line, client: 127\.0\.0\.1, server: x, request: '
         r'"GET http://c\.\.d/ HTTP/1\.1"'),
        (b'GET http://u@e/ HTTP/1.1\r\n', r'invalid request while reading client request '
         r'line, client: 127\.0\.0\.1, server: x, request: "GET http://u@e/ HTTP/1\.1"'),
        # whole heads: the same lines (a request line's error comes before
        # its field lines: no host part)
        (b'GET / HTTP/1.1\r\nHost: f..g\r\n\r\n', r'invalid host header while reading client '
         r'request headers, client: 127\.0\.0\.1, server: x, request: "GET / HTTP/1\.1", '
         r'host: "f\.\.g"'),
        (b'GET http://h..i/ HTTP/1.1\r\nHost: x\r\n\r\n', r'invalid host in request line while '
         r'reading client request line, client: 127\.0\.0\.1, server: x, request: '
         r'"GET http://h\.\.i/ HTTP/1\.1"'),
    ]
    for data, text in cases:
        out = _exchange(p.port, data)
        assert out.startswith(b'HTTP/1.1 400 '), (data, out[:200])
        _line(p, r'\[info\] \d+#\d+: \*\d+ client sent ' + text + '$')


def test_headbuf_pipelined(t):
    # a pipelined request starts in the buffer where the one before it
    # ended: after a head that spilled into the only large buffer (1 2k),
    # a request line that crosses its end finds no buffer: 414, with what
    # that buffer held of it
    p = t.proxy("""
    server {
        listen 127.0.0.1:{port};
        server_name x;
        client_header_buffer_size 1k;
        large_client_header_buffers 1 2k;
        location / { return 200 "x\\n"; }
    }""")
    big = b'GET /d HTTP/1.1\r\nHost: x\r\nX-A: ' + b'a' * 2038 + b'\r\n\r\n'
    out = _exchange(p.port, big + b'GET /z HTTP/1.1\r\nHost: x\r\n\r\n')
    assert out.startswith(b'HTTP/1.1 200 ') and b'HTTP/1.1 414 ' in out, out
    _line(p, r'\[info\] \d+#\d+: \*\d+ client sent too long URI while reading client pipelined '
          r'request line, client: 127\.0\.0\.1, server: x, request: "G"$')
    # after a head that ended in the first buffer, the rest of it and then
    # the large one: both fit here
    small = b'GET /e HTTP/1.1\r\nHost: x\r\n\r\n'
    out = _exchange(p.port, small + b'GET /f HTTP/1.1\r\nHost: x\r\nX-B: ' + b'b' * 2000 +
                    b'\r\n\r\n')
    assert out.count(b'HTTP/1.1 200 ') == 2, out
    # sent after the answer, the same request has fresh buffers
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    for data in (big, b'GET /z HTTP/1.1\r\nHost: x\r\n\r\n'):
        s.sendall(data)
        got = _recv_until(s, b'\r\n\r\nx\n')
        assert got.startswith(b'HTTP/1.1 200 '), got
    s.close()
