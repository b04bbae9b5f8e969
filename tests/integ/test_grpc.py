# SPDX-License-Identifier: MIT
"""grpc_pass (ngx_http_grpc_module) against a real gRPC server: Debian's
python3-grpcio (for /usr/bin/python3, which the harness's python may not
be) runs grpc_echo_server.py, and grpc_client.py makes the calls through the
proxy's plaintext `listen ... http2` (h2c by prior knowledge), the same
config text for nginx 1.22 and lbd. Checked: unary; server streaming (the
first message reaches the client before the server sends the second: the
client's file releases it); client streaming (the server has the first
message while the client still holds the second); an error status and
message in the trailers after a message; a Trailers-Only answer;
grpc_set_header and the client's metadata reaching the server; the server
down (502, nginx's log line naming grpc://), grpc_read_timeout (504);
bidirectional streaming (full duplex: ping-pong rounds, the server ending
the call first, a client cancel reaching the server, 3 MiB each way, the
timeouts with both directions open);
an HTTP/1.1 client (chunked, the trailers in the last chunk); -t errors."""

import hashlib
import json
import os
import signal
import socket
import subprocess

from harness import free_port, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
PY = '/usr/bin/python3'  # Debian's, with python3-grpcio


def have_grpc():
    return subprocess.run([PY, '-c', 'import grpc'], capture_output=True).returncode == 0


class GrpcServer:
    """grpc_echo_server.py on 127.0.0.1:PORT with its file gates in DIR
    (over TLS with TLS = (cert, key)), stopped at the test's end."""

    def __init__(self, t, tls=None):
        if not have_grpc():
            t.skip('python3-grpcio is not installed for %s (scripts/deps.sh)' % PY)
        self.dir = t.tmpdir('grpc-')
        self.port = free_port()
        self.log = os.path.join(self.dir, 'server.log')
        with open(self.log, 'w') as f:
            self.proc = subprocess.Popen(
                [PY, os.path.join(HERE, 'grpc_echo_server.py'), str(self.port), self.dir] +
                list(tls or ()),
                stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                start_new_session=True)
        t.defer(self.stop)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError('grpc server exited: %s' % self.text())
            return 'ready' in self.text()
        wait_for(up, 20, what='grpc server up')

    def text(self):
        with open(self.log) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


def call(port, **a):
    """One gRPC call through PORT (grpc_client.py): its JSON result."""
    r = subprocess.run([PY, os.path.join(HERE, 'grpc_client.py'), str(port), json.dumps(a)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def grpc_proxy(t, target, loc_extra='', srv_extra='', http_extra=''):
    return t.proxy("""
%s
server {
    listen 127.0.0.1:{port} http2;
    %s
    location /test.Echo/ {
        grpc_pass %s;
        %s
    }
}""" % (http_extra, srv_extra, target, loc_extra))


def test_grpc_unary_and_metadata(t):
    """A unary call; grpc_set_header's field and the client's metadata
    reach the server, Host does not (:authority is the grpc_pass host);
    the access log has 200, $upstream_addr the server."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port,
                   loc_extra='grpc_set_header X-Added "v-$request_method";',
                   http_extra='log_format up "$status $upstream_addr $upstream_status";'
                   ' access_log {prefix}/logs/up.log up;')
    r = call(p.port, call='unary', method='Unary', req='hello')
    assert r['code'] == 'OK' and r['resp'] == ['echo:hello'], r
    r = call(p.port, call='unary', method='Meta', req='x', meta=[['x-user', 'bob']])
    assert r['code'] == 'OK', r
    md = dict(json.loads(r['resp'][0]))
    assert md.get('x-added') == 'v-POST', md
    assert md.get('x-user') == 'bob', md
    assert 'host' not in md, md
    assert '200 127.0.0.1:%d 200' % s.port in p.read('logs', 'up.log')


def test_grpc_server_streaming(t):
    """Server streaming: the client has "one" before the server sends
    "two" (the server waits for the file the client makes on seeing
    "one"): nothing is held back; the status is OK."""
    s = GrpcServer(t)
    p = grpc_proxy(t, '127.0.0.1:%d' % s.port)
    r = call(p.port, call='sstream', method='ServerStream', req='gate-ss', dir=s.dir)
    assert r['code'] == 'OK', r
    assert r['resp'] == ['one', 'two'] and r['order'] == ['first-seen'], r


def test_grpc_client_streaming(t):
    """Client streaming: the server sees the first message while the
    client still holds the second (it waits for the server's file): the
    body goes up as it comes, not read whole first; a server that answers
    before the client's stream ended: its status reaches the client."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port)
    r = call(p.port, call='cstream', method='ClientStream', msgs=['a', 'bb', 'ccc'], dir=s.dir)
    assert r['code'] == 'OK' and r['resp'] == ['a+bb+ccc'], r
    assert r['order'] == ['got1'], r
    # the server answers (an error) before the client's stream has ended
    os.unlink(os.path.join(s.dir, 'got1'))
    r = call(p.port, call='cstream', method='ClientStreamFail', msgs=['a', 'bb'], dir=s.dir)
    assert r['code'] == 'FAILED_PRECONDITION' and r['details'] == 'stop early', r


def test_grpc_error_status(t):
    """grpc-status and grpc-message reach the client: in the trailers after
    a message (FailLate), and in a Trailers-Only answer (Fail: one HEADERS
    that ends the stream)."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port)
    r = call(p.port, call='sstream', method='FailLate', req='x')
    assert r['code'] == 'NOT_FOUND' and r['details'] == 'gone late', r
    assert r['resp'] == ['partial'], r
    r = call(p.port, call='unary', method='Fail', req='x')
    assert r['code'] == 'INVALID_ARGUMENT' and r['details'] == 'bad thing', r
    # and the connection goes on serving
    r = call(p.port, call='unary', method='Unary', req='after')
    assert r['resp'] == ['echo:after'], r


def test_grpc_upstream_down_and_timeout(t):
    """The server down: 502 (the client sees UNAVAILABLE), nginx's connect()
    line naming grpc://; grpc_read_timeout passed: 504 and "upstream timed
    out"; an upstream block passes a dead server over to a live one."""
    s = GrpcServer(t)
    dead = t.dead_port()
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % dead,
                   http_extra='log_format st "$status"; access_log {prefix}/logs/st.log st;')
    r = call(p.port, call='unary', method='Unary', req='x')
    assert r['code'] == 'UNAVAILABLE' and '502' in r['details'], r
    log = p.error_log()
    assert 'connect() failed (111: Connection refused) while connecting to upstream' in log, log
    assert 'upstream: "grpc://127.0.0.1:%d"' % dead in log, log
    assert p.read('logs', 'st.log').split() == ['502']
    p.stop()
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port, loc_extra='grpc_read_timeout 300ms;')
    r = call(p.port, call='unary', method='Slow', req='never')
    assert r['code'] == 'UNAVAILABLE' and '504' in r['details'], r
    assert 'upstream timed out (110: Connection timed out) while reading response header ' \
        'from upstream' in p.error_log()
    p.stop()
    p = grpc_proxy(t, 'grpc://app', http_extra="""
upstream app { server 127.0.0.1:%d; server 127.0.0.1:%d; }""" % (dead, s.port))
    for i in range(3):
        r = call(p.port, call='unary', method='Unary', req='n%d' % i)
        assert r['resp'] == ['echo:n%d' % i], r


def http11_call(port):
    """A unary call to Unary as an HTTP/1.1 client: the raw answer up to
    the end of its last chunk's trailers."""
    msg = b'\x00\x00\x00\x00\x02hi'
    c = socket.create_connection(('127.0.0.1', port), timeout=10)
    c.sendall(b'POST /test.Echo/Unary HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc\r\n'
              b'TE: trailers\r\nContent-Length: %d\r\n\r\n' % len(msg) + msg)
    raw = b''
    for _ in range(1000):  # the last chunk and its trailers, then the empty line
        i = raw.find(b'\r\n0\r\n')
        if i >= 0 and raw.find(b'\r\n\r\n', i) >= 0:
            break
        d = c.recv(65536)
        if not d:
            break
        raw += d
    c.close()
    return raw


def test_grpc_http11_client(t):
    """An HTTP/1.1 client to grpc_pass: the answer chunked, grpc-status in
    the last chunk's trailers; grpc_hide_header hides a field of the
    server's head that is passed without it."""
    s = GrpcServer(t)
    # nginx 1.22 speaks only HTTP/2 on a plaintext `listen ... http2`
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /test.Echo/ { grpc_pass grpc://127.0.0.1:%d; }
}
server {
    listen 127.0.0.1:{port2};
    location /test.Echo/ {
        grpc_hide_header grpc-accept-encoding;
        grpc_pass grpc://127.0.0.1:%d;
    }
}""" % (s.port, s.port), port2=free_port())
    raw = http11_call(p.port)
    head, _, body = raw.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200'), raw
    assert b'transfer-encoding: chunked' in head.lower(), raw
    assert b'echo:hi' in body, raw
    assert b'\r\n0\r\ngrpc-status: 0\r\n' in raw, raw
    assert b'grpc-accept-encoding:' in head.lower(), raw
    raw = http11_call(int(p.subs['port2']))
    head, _, body = raw.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200') and b'echo:hi' in body, raw
    assert b'grpc-accept-encoding:' not in head.lower(), raw


def test_grpc_config_errors(t):
    """-t: a duplicate grpc_pass, a URI after the address, an unknown
    grpc_next_upstream value, a bad time, grpc_set_header with one
    argument, grpc_ssl_verify without grpc_ssl_trusted_certificate."""
    cases = [
        ('grpc_pass 127.0.0.1:1; grpc_pass 127.0.0.1:2;', '"grpc_pass" directive is duplicate'),
        ('grpc_pass grpc://127.0.0.1:1/x;', 'invalid host in upstream "127.0.0.1:1/x"'),
        ('grpc_next_upstream bogus; grpc_pass 127.0.0.1:1;', 'invalid value "bogus"'),
        ('grpc_connect_timeout 1x; grpc_pass 127.0.0.1:1;', 'invalid value'),
        ('grpc_set_header X; grpc_pass 127.0.0.1:1;',
         'invalid number of arguments in "grpc_set_header" directive'),
        ('grpc_ssl_verify on; grpc_pass grpcs://127.0.0.1:1;',
         'no grpc_ssl_trusted_certificate for grpc_ssl_verify'),
    ]
    for conf, msg in cases:
        p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    location / { %s }
}""" % conf, start=False)
        p.write_conf()
        r = p.run('-t')
        assert r.returncode != 0, conf
        assert msg in r.stderr, (conf, r.stderr)
        if 'ssl_verify' not in conf:  # nginx names no line for that one
            assert 'nginx.conf:' in r.stderr, r.stderr


def test_grpc_upstream_dies_mid_stream(t):
    """The server process ends after its first message (the client's file
    says it has it): the client's stream is reset, not ended as if whole
    (an error, never OK), the first message got through, and the error log
    has nginx's "upstream prematurely closed connection"."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port)
    r = call(p.port, call='sstream', method='Die', req='gate-die', dir=s.dir)
    assert r['resp'] == ['one'] and r['code'] not in ('OK', 'NOT_FOUND'), r
    wait_for(lambda: 'upstream prematurely closed connection while reading upstream'
             in p.error_log(), 5, what='the log line')


def test_grpc_big_messages_and_concurrency(t):
    """A 1 MiB request and a 1 MiB answer (past the 64 KiB initial windows
    both ways: flow control is honoured, nothing lost), byte-exact; 20
    calls at once on one client connection (20 streams, each its own
    upstream connection)."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port, srv_extra='client_max_body_size 0;')
    n = 1 << 20
    r = call(p.port, call='unary', method='Size', req='%d:' % n, pad=n, digest=True)
    assert r['code'] == 'OK', r
    want = hashlib.sha256(bytes((i * 7 + 3) & 255 for i in range(256)) * (n // 256)).hexdigest()
    assert r['resp'][0] == r['sent'], r  # the server got the request whole
    assert r['resp'][1:] == [n, want], r
    r = call(p.port, call='many', method='Unary', n=20)
    assert r['code'] == 'OK', r
    assert r['resp'] == ['echo:%d' % i for i in range(20)], r


def test_grpc_pass_variables(t):
    """grpc_pass with a variable: an address, or an upstream block's name,
    chosen per request."""
    s = GrpcServer(t)
    dead = t.dead_port()
    p = grpc_proxy(t, '$up', srv_extra='set $up 127.0.0.1:%d; '
                   'if ($http_x_pick) { set $up $http_x_pick; }' % s.port,
                   http_extra='upstream app { server 127.0.0.1:%d; }\n'
                   'upstream down { server 127.0.0.1:%d; }' % (s.port, dead))
    r = call(p.port, call='unary', method='Unary', req='v1')
    assert r['resp'] == ['echo:v1'], r
    r = call(p.port, call='unary', method='Unary', req='v2', meta=[['x-pick', 'app']])
    assert r['resp'] == ['echo:v2'], r
    r = call(p.port, call='unary', method='Unary', req='v3', meta=[['x-pick', 'down']])
    assert r['code'] == 'UNAVAILABLE' and '502' in r['details'], r



def test_grpc_pass_variable_with_scheme(t):
    """grpc_pass $var whose value carries its scheme, as nginx takes it:
    grpc://ADDR, grpc://UPSTREAM, and grpcs://ADDR (TLS with ALPN "h2",
    though the directive named no TLS)."""
    from test_upssl import certs
    d, crt, key = certs(t)
    s = GrpcServer(t)
    st = GrpcServer(t, tls=(crt, key))
    p = grpc_proxy(t, '$up', srv_extra='set $up grpc://127.0.0.1:%d; '
                   'if ($http_x_pick) { set $up $http_x_pick; }' % s.port,
                   http_extra='upstream app { server 127.0.0.1:%d; }' % s.port)
    r = call(p.port, call='unary', method='Unary', req='v1')
    assert r['code'] == 'OK' and r['resp'] == ['echo:v1'], (r, p.error_log()[-600:])
    r = call(p.port, call='unary', method='Unary', req='v2', meta=[['x-pick', 'grpc://app']])
    assert r['code'] == 'OK' and r['resp'] == ['echo:v2'], (r, p.error_log()[-600:])
    r = call(p.port, call='unary', method='Unary', req='v3',
             meta=[['x-pick', 'grpcs://127.0.0.1:%d' % st.port]])
    assert r['code'] == 'OK' and r['resp'] == ['echo:v3'], (r, p.error_log()[-600:])
    r = call(p.port, call='unary', method='Unary', req='v4',
             meta=[['x-pick', 'GRPCS://127.0.0.1:%d' % st.port]])
    assert r['code'] == 'OK' and r['resp'] == ['echo:v4'], (r, p.error_log()[-600:])

def test_grpc_pass_variable_after_scheme(t):
    """grpc_pass grpc://$var: the value is the host, as nginx's (it strips
    one scheme from the whole): a value with its own scheme, or with a
    path, is 500 and nginx's "invalid host in upstream" line naming what
    followed the scheme. (lbd before: the value's scheme stripped too, and
    the call went through.)"""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://$up', srv_extra='set $up 127.0.0.1:%d; '
                   'if ($http_x_pick) { set $up $http_x_pick; }' % s.port,
                   http_extra='upstream app { server 127.0.0.1:%d; }' % s.port)
    r = call(p.port, call='unary', method='Unary', req='v1')
    assert r['code'] == 'OK' and r['resp'] == ['echo:v1'], (r, p.error_log()[-600:])
    for pick in ('grpc://127.0.0.1:%d' % s.port, 'grpc://app', '127.0.0.1:%d/x' % s.port):
        r = call(p.port, call='unary', method='Unary', req='v2', meta=[['x-pick', pick]])
        assert 'status: 500' in r['details'], (pick, r)
        line = 'invalid host in upstream "%s", client: 127.0.0.1' % pick
        wait_for(lambda: line in p.error_log(), 5, what=line)


def test_grpcs(t):
    """grpcs://: TLS to the server with ALPN "h2" (a gRPC server refuses a
    handshake without it); unary and server streaming through it;
    grpc_ssl_verify with the server's certificate trusted passes, with
    another one: 502 and nginx's verify error in the log."""
    from test_upssl import certs
    from test_tls import make_cert
    d, crt, key = certs(t)
    other, _ = make_cert(t, d, 'other', 'other.test')
    s = GrpcServer(t, tls=(crt, key))
    p = grpc_proxy(t, 'grpcs://127.0.0.1:%d' % s.port, loc_extra="""
        grpc_ssl_verify on;
        grpc_ssl_name backend.test;
        grpc_ssl_trusted_certificate %s;""" % crt)
    r = call(p.port, call='unary', method='Unary', req='tls')
    assert r['code'] == 'OK' and r['resp'] == ['echo:tls'], (r, p.error_log()[-800:])
    r = call(p.port, call='sstream', method='ServerStream', req='gate-tls', dir=s.dir)
    assert r['resp'] == ['one', 'two'] and r['order'] == ['first-seen'], r
    p.stop()
    p = grpc_proxy(t, 'grpcs://127.0.0.1:%d' % s.port, loc_extra="""
        grpc_ssl_verify on;
        grpc_ssl_name backend.test;
        grpc_ssl_trusted_certificate %s;""" % other)
    r = call(p.port, call='unary', method='Unary', req='x')
    assert r['code'] == 'UNAVAILABLE' and '502' in r['details'], r
    log = p.error_log()
    assert 'upstream SSL certificate verify error' in log, log
    assert 'upstream: "grpcs://127.0.0.1:%d"' % s.port in log, log


def test_grpc_upstream_keepalive(t):
    """`keepalive` in the upstream block: calls from three client
    connections, one after the other, reach the server on one kept
    connection (the same peer port); calls at once, an error status, and
    calls after them on the kept connections; without keepalive, each
    call its own connection."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://app', http_extra="""
upstream app { server 127.0.0.1:%d; keepalive 4; }""" % s.port)
    peers = [call(p.port, call='unary', method='Peer', req='x')['resp'][0] for _ in range(3)]
    assert len(set(peers)) == 1, peers
    r = call(p.port, call='unary', method='Unary', req='after')
    assert r['resp'] == ['echo:after'], r
    for _ in range(2):  # calls at once: kept connections, each one stream at a time
        r = call(p.port, call='many', method='Unary', n=10)
        assert r['resp'] == ['echo:%d' % i for i in range(10)], r
    r = call(p.port, call='sstream', method='FailLate', req='x')
    assert r['code'] == 'NOT_FOUND' and r['resp'] == ['partial'], r
    r = call(p.port, call='unary', method='Unary', req='last')
    assert r['resp'] == ['echo:last'], r
    p.stop()
    p = grpc_proxy(t, 'grpc://app', http_extra="""
upstream app { server 127.0.0.1:%d; }""" % s.port)
    peers = [call(p.port, call='unary', method='Peer', req='x')['resp'][0] for _ in range(3)]
    assert len(set(peers)) == 3, peers


def test_grpc_bidi_ping_pong(t):
    """Bidirectional streaming, full duplex: the client sends each message
    only once the answer to the one before came (five rounds), so the
    answers must reach it while its stream is still open (an answer held
    until the request ended would hang here: the short deadline says so);
    the access log has 200."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port,
                   http_extra='log_format st "$status $body_bytes_sent $upstream_bytes_sent '
                   '$upstream_bytes_received"; access_log {prefix}/logs/st.log st;')
    msgs = ['m%d' % i for i in range(5)]
    r = call(p.port, call='bidi', method='Bidi', msgs=msgs, timeout=5)
    assert r['code'] == 'OK' and r['resp'] == ['echo:' + m for m in msgs], r
    assert r['order'] == [], r
    # twice on one process's channel, and a unary call after: nothing left over
    r = call(p.port, call='unary', method='Unary', req='after')
    assert r['resp'] == ['echo:after'], r
    wait_for(lambda: len(p.read('logs', 'st.log').splitlines()) == 2, 5, what='log lines')
    st, body, up_tx, up_rx = p.read('logs', 'st.log').splitlines()[0].split()
    # the answers: 5 gRPC messages of 7 bytes ("echo:mN") and their 5-byte
    # prefixes; the upstream's counts are its frames (as nginx's, within a
    # few frames' size: HPACK and SETTINGS differ)
    assert st == '200' and int(body) == 5 * (5 + 7), p.read('logs', 'st.log')
    assert 5 * 7 + 100 < int(up_tx) < 5 * 7 + 600, p.read('logs', 'st.log')
    assert 5 * 12 + 50 < int(up_rx) < 5 * 12 + 600, p.read('logs', 'st.log')


def test_grpc_bidi_upstream_ends_first(t):
    """The server answers and ends the call (its trailers) while the client
    still streams: the client has the answer and the status at once, and
    its stream is then reset with NO_ERROR (raw frames), as nginx's."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port)
    r = call(p.port, call='bidi', method='BidiEarly', msgs=['a', 'b', 'c'], hold=10, timeout=5)
    assert r['code'] == 'OK' and r['resp'] == ['first:a'], r
    assert ['x-early', 'yes'] in r['trailing'], r
    from test_h2 import (H2Raw, frame, req_block, HEADERS, DATA, RST_STREAM, SETTINGS,
                         END_HEADERS, END_STREAM, ACK)
    import struct
    import time
    c = H2Raw(p.port)
    t.defer(c.close)
    c.send(frame(HEADERS, END_HEADERS, 1, req_block(
        '/test.Echo/BidiEarly', method='POST',
        extra=[('content-type', 'application/grpc'), ('te', 'trailers')])) +
        frame(DATA, 0, 1, b'\x00\x00\x00\x00\x01a'))
    seen, deadline = [], time.monotonic() + 10
    while True:
        f = c.read_frame(deadline)
        assert f is not None, seen
        ftype, flags, sid, payload = f
        if ftype == SETTINGS and not flags & ACK:
            c.send(frame(SETTINGS, ACK, 0))
        if sid != 1 or ftype not in (HEADERS, DATA, RST_STREAM):
            continue  # nginx sends a WINDOW_UPDATE too
        if ftype == RST_STREAM:
            seen.append(('rst', struct.unpack('>I', payload)[0]))
            break
        seen.append((ftype, bool(flags & END_STREAM)))
    # the head, the message, the trailers ending the stream, then NO_ERROR
    assert seen == [(HEADERS, False), (DATA, False), (HEADERS, True), ('rst', 0)], seen


def test_grpc_bidi_client_cancel(t):
    """The client cancels a bidirectional call after the first answer,
    its stream still open: the server sees the call cancelled (not ended
    as if the client had finished), the log says nginx's "client canceled
    stream 1" line, the access log keeps 200."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port,
                   http_extra='log_format st "$status"; access_log {prefix}/logs/st.log st;')
    r = call(p.port, call='bidi', method='BidiCancel', msgs=['a'], hold=10, cancel=True,
             dir=s.dir, timeout=5)
    assert r['resp'] == ['echo:a'] and r['order'] == ['cancelled-file'], r
    wait_for(lambda: 'client canceled stream 1 while sending request to upstream'
             in p.error_log(), 5, what='the log line')
    wait_for(lambda: p.read('logs', 'st.log').split() == ['200'], 5, what='the access log')


def test_grpc_bidi_flow_control(t):
    """A big bidirectional exchange: 12 messages of 256 KiB each way (3 MiB,
    past every window both ways), the answers read as they come while the
    client still sends: byte-exact."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port, srv_extra='client_max_body_size 0;')
    big, n = 256 << 10, 12
    r = call(p.port, call='bidi', method='Bidi', big=big, n=n, timeout=30)
    assert r['code'] == 'OK', r
    want = ['%d:%s' % (big + 5, hashlib.sha256(b'echo:' + bytes([65 + i % 26]) * big).hexdigest())
            for i in range(n)]
    assert r['resp'] == want, r


def test_grpc_bidi_timeouts(t):
    """Both directions open, nothing moving: grpc_read_timeout after the
    first answer resets the client's stream ("upstream timed out ... while
    reading upstream"); so does client_body_timeout, counted from the
    client's last message; the access log keeps 200 for both."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port, srv_extra="""
    location /t/ {
        rewrite ^/t(/.*)$ $1 break;
        grpc_read_timeout 500ms;
        grpc_pass grpc://127.0.0.1:%d;
    }
    location /b/ {
        rewrite ^/b(/.*)$ $1 break;
        client_body_timeout 500ms;
        grpc_pass grpc://127.0.0.1:%d;
    }""" % (s.port, s.port), http_extra='log_format st "$status";'
                   ' access_log {prefix}/logs/st.log st;')
    for pre in ('/t', '/b'):
        r = call(p.port, call='bidi', method='Bidi', prefix=pre, msgs=['a'], hold=10, timeout=8)
        assert r['resp'] == ['echo:a'] and r['code'] == 'INTERNAL', r
        assert 'RST_STREAM' in r['details'], r  # reset, never ended as if whole
    assert 'upstream timed out (110: Connection timed out) while reading upstream' \
        in p.error_log()
    wait_for(lambda: p.read('logs', 'st.log').split() == ['200', '200'], 5,
             what='log lines: %r' % p.read('logs', 'st.log'))


def test_grpc_bidi_upstream_dies_mid_call(t):
    """The server process ends after its first answer, the client's stream
    still open: the client's stream is reset (an error, never OK), the
    first answer got through, and nginx's "upstream prematurely closed
    connection" is logged."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port)
    r = call(p.port, call='bidi', method='BidiDie', msgs=['gate-bd'], hold=10, dir=s.dir,
             timeout=8)
    assert r['resp'] == ['echo:gate-bd'] and r['code'] not in ('OK', 'DEADLINE_EXCEEDED'), r
    wait_for(lambda: 'upstream prematurely closed connection while reading upstream'
             in p.error_log(), 5, what='the log line')


def test_grpc_internal_trailers_variable(t):
    """$grpc_internal_trailers: "trailers" when the client's TE says so (a
    gRPC client's), else not found ("-" in the log), as nginx's."""
    s = GrpcServer(t)
    p = grpc_proxy(t, 'grpc://127.0.0.1:%d' % s.port,
                   http_extra='log_format te "$grpc_internal_trailers";'
                   ' access_log {prefix}/logs/te.log te;')
    r = call(p.port, call='unary', method='Unary', req='x')
    assert r['resp'] == ['echo:x'], r
    # no TE: curl over h2c by prior knowledge (the server's answer does not matter)
    subprocess.run(['curl', '-s', '-o', '/dev/null', '--max-time', '10',
                    '--http2-prior-knowledge', '-H', 'content-type: application/grpc',
                    '--data-binary', 'x', 'http://127.0.0.1:%d/test.Echo/Unary' % p.port],
                   check=False)
    wait_for(lambda: p.read('logs', 'te.log').split() == ['trailers', '-'], 5,
             what='log lines: %r' % p.read('logs', 'te.log'))
