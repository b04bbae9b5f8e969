# SPDX-License-Identifier: MIT
"""`listen ... proxy_protocol` (inbound PROXY protocol v1 and v2) against
nginx 1.22 with the same config: the test client plays the load balancer
and writes the header before its request. $proxy_protocol_addr/_port/
_server_addr/_server_port in responses and the access log; several
requests on one connection after one header; `real_ip_header
proxy_protocol` with a trusted peer ($remote_addr, $remote_port, deny,
X-Forwarded-For to the upstream) and an untrusted one ($remote_addr stays
the peer); broken headers (not PROXY, bad v1, v2 of another version, v2
length past the buffer): closed without a response, nothing proxied,
nginx's "broken header" line; a TLS listener (the header before the
ClientHello); HTTP/2 by prior knowledge (curl --haproxy-protocol); a
stream server reading the header and sending its own to the upstream with
the original client (stream set_real_ip_from) or the peer (without); a
broken header in stream: nothing connected upstream, status 400 logged;
a silent client cut by client_header_timeout / proxy_protocol_timeout.
lbd only: fail2ban and the ban check on the header's client; a header
arriving one byte at a time (nginx 1.22 parses only its first read)."""

import socket
import ssl
import subprocess
import time

from harness import Conn, build_request, recv_until_close, wait_for
from test_tls import make_cert
from test_stream import MAIN, backend, read_line

V1 = b'PROXY TCP4 203.0.113.7 192.0.2.1 4321 443\r\n'
V1_6 = b'PROXY TCP6 2001:db8::7 2001:db8::1 4321 8443\r\n'
SIG = b'\r\n\r\n\x00\r\nQUIT\n'
# v2, PROXY, TCP over IPv4: 198.51.100.9:5555 -> 192.0.2.2:80, then a NOOP
# TLV and an AWS-style one (skipped)
V2 = SIG + b'\x21\x11\x00\x1a' + bytes([198, 51, 100, 9, 192, 0, 2, 2]) + \
    b'\x15\xb3\x00\x50' + b'\x04\x00\x00' + b'\xea\x00\x08vpce-123'
V2_LOCAL = SIG + b'\x20\x00\x00\x00'
UNKNOWN = b'PROXY UNKNOWN\r\n'

RET = 'return 200 "$proxy_protocol_addr|$proxy_protocol_port|' \
    '$proxy_protocol_server_addr|$proxy_protocol_server_port|$remote_addr";'


def _exchange(port, data, src='127.0.0.1', reqs=1):
    """Send DATA (a header and requests) from SRC; read REQS responses."""
    with Conn(port, source=src) as c:
        c.send(data)
        return [c.read_response() for _ in range(reqs)]


def _req(path='/ret'):
    return build_request('GET', path, [('Host', 'x')], host=None)


def _log_lines(p, name, n):
    def lines():
        ls = [x for x in p.read('logs', name).splitlines() if x.strip()]
        return ls if len(ls) >= n else None
    return wait_for(lines, what='%d lines in %s' % (n, name))


def test_pp_variables_v1_v2_and_log(t):
    p = t.proxy("""
log_format pp '$proxy_protocol_addr|$proxy_protocol_port|$proxy_protocol_server_addr|$proxy_protocol_server_port|$remote_addr|$request_uri';
access_log {prefix}/logs/pp.log pp;
server {
    listen 127.0.0.1:{port} proxy_protocol;
    location /ret { %s }
}""" % RET)
    r, = _exchange(p.port, V1 + _req())
    assert r.body == b'203.0.113.7|4321|192.0.2.1|443|127.0.0.1', r.body
    r, = _exchange(p.port, V1_6 + _req())
    assert r.body == b'2001:db8::7|4321|2001:db8::1|8443|127.0.0.1', r.body
    r, = _exchange(p.port, V2 + _req())
    assert r.body == b'198.51.100.9|5555|192.0.2.2|80|127.0.0.1', r.body
    # UNKNOWN and LOCAL: accepted, no addresses
    r, = _exchange(p.port, UNKNOWN + _req())
    assert (r.status, r.body) == (200, b'||||127.0.0.1'), r.body
    r, = _exchange(p.port, V2_LOCAL + _req())
    assert (r.status, r.body) == (200, b'||||127.0.0.1'), r.body
    # one header, then keep-alive requests (pipelined): each sees it
    r1, r2 = _exchange(p.port, V1 + _req('/ret?a') + _req('/ret?b'), reqs=2)
    assert r1.body == r2.body == b'203.0.113.7|4321|192.0.2.1|443|127.0.0.1'
    log = _log_lines(p, 'pp.log', 7)
    assert log[0] == '203.0.113.7|4321|192.0.2.1|443|127.0.0.1|/ret', log
    assert log[2] == '198.51.100.9|5555|192.0.2.2|80|127.0.0.1|/ret', log
    assert log[3] == '-|-|-|-|127.0.0.1|/ret', log
    assert log[6].endswith('|/ret?b'), log


def test_pp_real_ip(t):
    b1 = t.backend('b1')
    p = t.proxy("""
set_real_ip_from 127.0.0.1;
real_ip_header proxy_protocol;
server {
    listen 127.0.0.1:{port} proxy_protocol;
    location /ret { return 200 "$remote_addr|$remote_port|$realip_remote_addr|$proxy_protocol_addr"; }
    location /deny { deny 203.0.113.7; proxy_pass http://127.0.0.1:{b1}; }
    location / {
        proxy_pass http://127.0.0.1:{b1};
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Real-IP $remote_addr;
    }
}""", b1=b1)
    # trusted peer: the header's client, its port; the peer kept aside
    r, = _exchange(p.port, V1 + _req())
    assert r.body == b'203.0.113.7|4321|127.0.0.1|203.0.113.7', r.body
    r, = _exchange(p.port, V2 + _req())
    assert r.body == b'198.51.100.9|5555|127.0.0.1|198.51.100.9', r.body
    r, = _exchange(p.port, V1_6 + _req())
    assert r.body == b'2001:db8::7|4321|127.0.0.1|2001:db8::7', r.body
    # allow/deny see it
    r, = _exchange(p.port, V1 + _req('/deny'))
    assert r.status == 403
    r, = _exchange(p.port, V2 + _req('/deny'))
    assert (r.status, r.backend) == (200, 'b1')
    # the upstream sees it
    r, = _exchange(p.port, V1 + _req('/up'))
    assert r.status == 200
    req = b1.last()
    assert req.header('X-Forwarded-For') == '203.0.113.7', req.headers
    assert req.header('X-Real-IP') == '203.0.113.7', req.headers
    # untrusted peer: $remote_addr stays the peer; the variables still tell
    r, = _exchange(p.port, V1 + _req(), src='127.0.0.2')
    assert r.body.startswith(b'127.0.0.2|'), r.body
    assert r.body.endswith(b'|127.0.0.2|203.0.113.7'), r.body
    r, = _exchange(p.port, V1 + _req('/deny'), src='127.0.0.2')
    assert (r.status, r.backend) == (200, 'b1')
    # no addresses in the header: the peer
    r, = _exchange(p.port, UNKNOWN + _req())
    assert r.body.startswith(b'127.0.0.1|'), r.body


BROKEN = [
    # nginx 1.22 logs the whole read (CR LF and all), lbd up to a CR or LF
    (b'GET /up HTTP/1.1\r\nHost: x\r\n\r\n', 'broken header: "GET /up HTTP/1.1'),
    (b'PROXY TCP4 203.0.113.7 192.0.2.1 4321\r\n' + _req('/up'), 'broken header'),
    (b'PROXY TCP4 203.0.113.7 192.0.2.1 99999 443\r\n' + _req('/up'), 'broken header'),
    (SIG + b'\x31\x11\x00\x0c' + bytes(12) + _req('/up'),
     'unknown PROXY protocol version: 3'),
    (SIG + b'\x21\x11\xff\xff' + bytes(12) + _req('/up'), 'header is too large'),
]


def test_pp_broken_header_closes(t):
    b1 = t.backend('b1')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} proxy_protocol;
    location / { proxy_pass http://127.0.0.1:{b1}; }
}""", b1=b1)
    for data, msg in BROKEN:
        with Conn(p.port, timeout=5) as c:
            c.send(data)
            assert c.is_closed(), data
            assert c.buf == b'', (data, c.buf)
        wait_for(lambda: msg in p.error_log(), 10,
                 what='%r in the error log' % msg)
    assert 'while reading PROXY protocol, client: 127.0.0.1, server: 127.0.0.1:%d' \
        % p.port in p.error_log(), p.error_log()
    assert b1.requests == [], b1.requests
    # a good one still goes through
    r, = _exchange(p.port, V1 + _req('/up'))
    assert (r.status, r.backend) == (200, 'b1')


def test_pp_mixed_listens_of_one_address(t):
    """As nginx 1.22: `proxy_protocol` on one listen of an address makes
    every server on it expect the header."""
    p = t.proxy("""
server { listen 127.0.0.1:{port} proxy_protocol; server_name a; location / { return 200 "a $proxy_protocol_addr"; } }
server { listen 127.0.0.1:{port}; server_name b; location / { return 200 "b $proxy_protocol_addr"; } }
""")
    r, = _exchange(p.port, V1 + build_request('GET', '/', [('Host', 'b')], host=None))
    assert r.body == b'b 203.0.113.7', r.body
    with Conn(p.port, timeout=5) as c:
        c.send(build_request('GET', '/', [('Host', 'b')], host=None))
        assert c.is_closed()


def test_pp_tls_listener(t):
    d = t.tmpdir('certs-')
    crt, key = make_cert(t, d, 'a', 'a.test')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl proxy_protocol;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "$https $proxy_protocol_addr $proxy_protocol_port"; }
}""" % (crt, key))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for hdr, want in ((V1, b'on 203.0.113.7 4321'), (V2, b'on 198.51.100.9 5555')):
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
        s.sendall(hdr)  # the header in the clear, then the ClientHello
        ts = ctx.wrap_socket(s, server_hostname='a.test')
        ts.sendall(b'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
        data = recv_until_close(ts)
        ts.close()
        assert data.startswith(b'HTTP/1.1 200'), data
        assert data.endswith(want), data
    # a ClientHello where the header should be: closed, no handshake
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    try:
        ctx.wrap_socket(s, server_hostname='a.test')
        handshook = True
    except (ssl.SSLError, OSError):
        handshook = False
    finally:
        s.close()
    assert not handshook
    wait_for(lambda: 'broken header' in p.error_log(), 10, what='broken header')


def test_pp_http2_prior_knowledge(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2 proxy_protocol;
    location / { return 200 "$server_protocol $proxy_protocol_addr"; }
}""")
    out = subprocess.run(['curl', '-sS', '--http2-prior-knowledge', '--haproxy-protocol',
                          '-m', '10', 'http://127.0.0.1:%d/' % p.port],
                         capture_output=True, timeout=20)
    assert out.stdout == b'HTTP/2.0 127.0.0.1', (out.stdout, out.stderr)


def _stream(t, body, **kw):
    return t.proxy('', main=MAIN + 'stream {\n' + body + '\n}\n', **kw)


def test_pp_stream_to_upstream_proxy_protocol(t):
    b = backend(t, 'p', 'proxy')
    p = _stream(t, """
    log_format pp '$remote_addr $remote_port $proxy_protocol_addr $proxy_protocol_port $proxy_protocol_server_addr $proxy_protocol_server_port $realip_remote_addr';
    access_log {prefix}/logs/stream.log pp;
    server {
        listen 127.0.0.1:{port} proxy_protocol;
        set_real_ip_from 127.0.0.1;
        proxy_pass 127.0.0.1:{b};
        proxy_protocol on;
    }""", b=b)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(V1)
    assert read_line(s) == b'ok\n'
    s.close()
    # the upstream gets the original client; the destination is lbd's own
    want = ('PROXY TCP4 203.0.113.7 127.0.0.1 4321 %d\r\n' % p.port).encode()
    wait_for(lambda: want in b.lines, 10, what='%r in %r' % (want, b.lines))
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(V2)
    assert read_line(s) == b'ok\n'
    s.close()
    want2 = ('PROXY TCP4 198.51.100.9 127.0.0.1 5555 %d\r\n' % p.port).encode()
    wait_for(lambda: want2 in b.lines, 10, what='%r in %r' % (want2, b.lines))
    log = _log_lines(p, 'stream.log', 3)  # the readiness probe's line too
    assert '203.0.113.7 4321 203.0.113.7 4321 192.0.2.1 443 127.0.0.1' in log, log
    assert '198.51.100.9 5555 198.51.100.9 5555 192.0.2.2 80 127.0.0.1' in log, log


def test_pp_stream_untrusted_and_payload(t):
    b = backend(t, 'p', 'proxy')
    e = backend(t, 'e', 'echo')
    p = _stream(t, """
    server { listen 127.0.0.1:{port} proxy_protocol; proxy_pass 127.0.0.1:{b}; proxy_protocol on; }
    server { listen 127.0.0.1:{port2} proxy_protocol; proxy_pass 127.0.0.1:{e}; }""",
                b=b, e=e)
    # no set_real_ip_from: the upstream's header names the peer, as nginx
    s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
    s.sendall(V1)
    assert read_line(s) == b'ok\n'
    cport = s.getsockname()[1]
    s.close()
    want = ('PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n' % (cport, p.port)).encode()
    wait_for(lambda: want in b.lines, 10, what='%r in %r' % (want, b.lines))
    # the bytes after the header reach the upstream, exactly
    port2 = p.subs['port2']
    s = socket.create_connection(('127.0.0.1', port2), timeout=10)
    s.sendall(V2 + b'hello')
    got = b''
    while len(got) < 5:
        d = s.recv(10)
        if not d:
            break
        got += d
    assert got == b'hello', got
    s.close()


def test_pp_stream_broken_header(t):
    e = backend(t, 'e', 'echo')
    p = _stream(t, """
    log_format st '$remote_addr $status $bytes_received $proxy_protocol_addr';
    access_log {prefix}/logs/stream.log st;
    server { listen 127.0.0.1:{port} proxy_protocol; proxy_pass 127.0.0.1:{e}; }""", e=e)
    for data, msg in BROKEN[:1] + BROKEN[3:4]:
        s = socket.create_connection(('127.0.0.1', p.port), timeout=10)
        s.sendall(data)
        try:
            # closed with the request unread: a reset, as nginx's
            assert s.recv(10) == b''
        except ConnectionResetError:
            pass
        s.close()
        wait_for(lambda: msg in p.error_log(), 10, what='%r in the error log' % msg)
    assert e.accepted == 0
    # as nginx: one line per session, status 400, the harness's readiness
    # probe (closed before a byte) included
    log = _log_lines(p, 'stream.log', 3)
    assert log[-2:] == ['127.0.0.1 400 0 -'] * 2, log


def test_pp_silent_client_cut(t):
    """client_header_timeout (http) and proxy_protocol_timeout (stream)
    bound the wait for the header."""
    e = backend(t, 'e', 'echo')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} proxy_protocol;
    client_header_timeout 1s;
    location / { return 200; }
}""", main=MAIN + """stream {
    server { listen 127.0.0.1:{port2} proxy_protocol; proxy_protocol_timeout 1s; proxy_pass 127.0.0.1:{e}; }
}
""", e=e)
    for port in (p.port, p.subs['port2']):
        with Conn(port, timeout=10) as c:
            # closed well before the default 60s/30s (a deadline, not a timing)
            assert c.is_closed(timeout=8), port
    assert e.accepted == 0


def test_pp_fail2ban_and_ban_on_real_client(t):
    if t.is_nginx:
        t.skip('lbd fail2ban jails and ban list')
    b1 = t.backend('b1')
    p = t.proxy("""
fail2ban_jail probe status=404 maxretry=2 findtime=1m bantime=1m;
fail2ban probe;
set_real_ip_from 127.0.0.1;
real_ip_header proxy_protocol;
server {
    listen 127.0.0.1:{port} proxy_protocol;
    location / { proxy_pass http://127.0.0.1:{b1}; }
}""", main='bpf_pin_path off;', b1=b1)
    bad = b'PROXY TCP4 203.0.113.50 192.0.2.1 1000 80\r\n'
    good = b'PROXY TCP4 203.0.113.51 192.0.2.1 1000 80\r\n'
    for _ in range(2):
        r, = _exchange(p.port, bad + _req('/status/404'))
        assert r.status == 404
    # banned now, on the real client: 403 from the same load balancer,
    # whose other clients go on
    r, = _exchange(p.port, bad + _req('/x'))
    assert r.status == 403
    r, = _exchange(p.port, good + _req('/x'))
    assert (r.status, r.backend) == (200, 'b1')
    wait_for(lambda: 'banned 203.0.113.50 for 60s' in p.error_log(),
             what='the fail2ban line with the real address')


def test_pp_split_header(t):
    if t.is_nginx:
        t.skip('nginx 1.22 parses the PROXY header from its first read only')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} proxy_protocol;
    location /ret { %s }
}""" % RET)
    for hdr in (V1, V2):
        with Conn(p.port) as c:
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(hdr)):
                c.send(hdr[i:i + 1])
                time.sleep(0.001)  # pacing, so the bytes arrive apart
            c.send(_req())
            r = c.read_response()
        assert r.status == 200 and r.body.startswith(b'20' if hdr == V1 else b'19'), r.body
