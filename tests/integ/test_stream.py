# SPDX-License-Identifier: MIT
"""TCP proxying with nginx's `stream {}` module, against nginx (with
libnginx-mod-stream loaded) and lbd, same config: byte-exact echo of 1 MiB
each way at once, round robin, weights, hash and least_conn, connect
failure -> next upstream, all servers down -> the client is closed,
proxy_timeout, half-close both ways, SNI routing with ssl_preread + map to
two TLS backends (TLS passes through: the client sees the backend's own
certificate), the PROXY protocol v1 header, the stream access log, and a
stream held across a reload.

Backends here are raw TCP servers: each says its name on connect (mode
'hello'), echoes ('echo'), answers the byte count at EOF then keeps
sending ('sink'), reads a PROXY line ('proxy'), or speaks TLS ('tls')."""

import hashlib
import re
import os
import socket
import ssl
import subprocess
import threading

from harness import make_conf, recv_until_close, wait_for
from test_tls import make_cert, der_of
import splicekit

MAIN = 'load_module /usr/share/nginx/modules/ngx_stream_module.so;\n'


class TcpBackend:
    """A threaded raw TCP server on 127.0.0.1 (see the module doc)."""

    def __init__(self, name, mode='echo', ctx=None):
        self.name, self.mode, self.ctx = name, mode, ctx
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.active = 0  # connections being served (hello: until the proxy closes)
        self.lock = threading.Lock()
        self.lines = []
        self.open = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stop = True
        for s in [self.sock] + self.open:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with self.lock:
                self.active += 1
            self.open.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            self._serve_one(c)
        finally:
            with self.lock:
                self.active -= 1

    def _serve_one(self, c):
        c.settimeout(30)
        try:
            if self.mode == 'hello':
                c.sendall(self.name.encode() + b'\n')
                while c.recv(65536):
                    pass
            elif self.mode == 'echo':
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    c.sendall(d)
                c.shutdown(socket.SHUT_WR)
            elif self.mode == 'sink':
                n = 0
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    n += len(d)
                # the client's FIN arrived: keep sending after it
                for i in range(3):
                    c.sendall(b'got %d part %d\n' % (n, i))
                c.shutdown(socket.SHUT_WR)
            elif self.mode == 'proxy':
                buf = b''
                while b'\r\n' not in buf:
                    d = c.recv(1)
                    if not d:
                        break
                    buf += d
                self.lines.append(buf)
                c.sendall(b'ok\n')
                while c.recv(65536):
                    pass
            elif self.mode == 'tls':
                s = self.ctx.wrap_socket(c, server_side=True)
                s.sendall(self.name.encode() + b'\n')
                s.recv(100)
                s.close()
                return
        except (OSError, ssl.SSLError):
            pass
        try:
            c.close()
        except OSError:
            pass


def backend(t, name, mode='echo', ctx=None):
    b = TcpBackend(name, mode, ctx)
    t.defer(b.close)
    return b


def stream_proxy(t, body, **kw):
    """A proxy whose main context has a stream {} with BODY."""
    main = MAIN + 'stream {\n' + body + '\n}\n'
    return t.proxy('', main=main, **kw)


def connect(port, timeout=10):
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    return s


def read_line(s):
    buf = b''
    while not buf.endswith(b'\n'):
        d = s.recv(1)
        if not d:
            break
        buf += d
    return buf


def hello_of(port):
    s = connect(port)
    try:
        return read_line(s).strip().decode()
    finally:
        s.close()


def test_stream_echo_bulk_both_ways(t):
    """1 MiB up and 1 MiB back at the same time, byte-exact."""
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{e}; }""", e=e)
    data = os.urandom(1 << 20)
    s = connect(p.port)
    got = []

    def reader():
        n = 0
        while n < len(data):
            d = s.recv(65536)
            if not d:
                break
            got.append(d)
            n += len(d)
    th = threading.Thread(target=reader)
    th.start()
    s.sendall(data)
    th.join(30)
    s.close()
    assert hashlib.sha256(b''.join(got)).hexdigest() == \
        hashlib.sha256(data).hexdigest()


def test_stream_round_robin_and_weights(t):
    b1, b2, b3 = (backend(t, n, 'hello') for n in ('b1', 'b2', 'b3'))
    p = stream_proxy(t, """
    upstream rr { server 127.0.0.1:{b1}; server 127.0.0.1:{b2}; }
    upstream w { server 127.0.0.1:{b1} weight=3; server 127.0.0.1:{b3}; }
    server { listen 127.0.0.1:{port}; proxy_pass rr; }
    server { listen 127.0.0.1:{port2}; proxy_pass w; }""", b1=b1, b2=b2, b3=b3)
    # (the harness's readiness probe took one turn already)
    seq = [hello_of(p.port) for _ in range(4)]
    assert seq in (['b1', 'b2'] * 2, ['b2', 'b1'] * 2), seq
    got = [hello_of(p.subs['port2']) for _ in range(8)]
    assert got.count('b1') == 6 and got.count('b3') == 2, got


def test_stream_hash_and_least_conn(t):
    b1, b2 = (backend(t, n, 'hello') for n in ('b1', 'b2'))
    p = stream_proxy(t, """
    upstream h { hash $remote_addr consistent; server 127.0.0.1:{b1}; server 127.0.0.1:{b2}; }
    upstream lc { least_conn; server 127.0.0.1:{b1}; server 127.0.0.1:{b2}; }
    server { listen 127.0.0.1:{port}; proxy_pass h; }
    server { listen 127.0.0.1:{port2}; proxy_pass lc; }""", b1=b1, b2=b2)
    got = {hello_of(p.port) for _ in range(6)}
    assert len(got) == 1, got
    # every earlier stream gone at the backends (the harness's readiness
    # probe's too: under ASan it was still open once, making a tie)
    wait_for(lambda: b1.active + b2.active == 0, 10, what='earlier streams closed')
    # hold one stream open: least_conn sends the next ones elsewhere
    held = connect(p.subs['port2'])
    first = read_line(held).strip().decode()
    other = {'b1': 'b2', 'b2': 'b1'}[first]
    seq = []
    for _ in range(3):
        seq.append(hello_of(p.subs['port2']))
        # the proxy may close this stream's upstream side a moment after
        # the client left: until it does, the two servers tie
        wait_for(lambda: b1.active + b2.active == 1, 10, what='the stream closed')
    assert seq == [other] * 3, seq
    held.close()


def test_stream_next_upstream_and_all_down(t):
    ok = backend(t, 'ok', 'hello')
    dead1, dead2 = t.dead_port(), t.dead_port()
    p = stream_proxy(t, """
    upstream u { server 127.0.0.1:{d1}; server 127.0.0.1:{ok}; }
    upstream down { server 127.0.0.1:{d1}; server 127.0.0.1:{d2}; }
    server { listen 127.0.0.1:{port}; proxy_pass u; }
    server { listen 127.0.0.1:{port2}; proxy_pass down; }""",
                     ok=ok, d1=dead1, d2=dead2)
    assert [hello_of(p.port) for _ in range(3)] == ['ok'] * 3
    s = connect(p.subs['port2'])
    try:
        d = s.recv(10)
    except ConnectionResetError:
        d = b''
    s.close()
    assert d == b''
    assert 'connect() failed (111: Connection refused) while connecting to upstream' \
        in p.error_log()


def test_stream_proxy_timeout_closes_idle(t):
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{e}; proxy_timeout 1s; }""",
                     e=e)
    s = connect(p.port, timeout=15)
    s.sendall(b'x')
    assert s.recv(1) == b'x'
    assert s.recv(10) == b''  # closed by the proxy once idle for 1s
    s.close()


def test_stream_half_close(t):
    """proxy_half_close on: the client's FIN reaches the backend, which
    keeps sending after it. Off (the default): the FIN ends the session."""
    k = backend(t, 'k', 'sink')
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{k}; proxy_half_close on; }
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:{k}; }""", k=k)
    s = connect(p.subs['port2'])
    s.sendall(b'a' * 1000)
    s.shutdown(socket.SHUT_WR)
    try:
        assert s.recv(65536) == b''
    except ConnectionResetError:
        pass
    s.close()
    s = connect(p.port)
    s.sendall(b'a' * 1000)
    s.shutdown(socket.SHUT_WR)
    buf = recv_until_close(s)
    s.close()
    assert buf == b'got 1000 part 0\ngot 1000 part 1\ngot 1000 part 2\n', buf


def _tls_server_ctx(t, d, name):
    crt, key = make_cert(t, d, name, name + '.test')
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx, crt


def test_stream_sni_routing_passthrough(t):
    d = t.tmpdir('certs-')
    ca, crta = _tls_server_ctx(t, d, 'a')
    cb, crtb = _tls_server_ctx(t, d, 'b')
    ba, bb = backend(t, 'A', 'tls', ca), backend(t, 'B', 'tls', cb)
    p = stream_proxy(t, """
    map $ssl_preread_server_name $be {
        a.test     127.0.0.1:{ba};
        b.test     127.0.0.1:{bb};
        default    127.0.0.1:{ba};
    }
    server { listen 127.0.0.1:{port}; ssl_preread on; proxy_pass $be; }""",
                     ba=ba, bb=bb)
    for sni, crt, name in (('b.test', crtb, 'B'), ('a.test', crta, 'A'),
                           ('b.test', crtb, 'B')):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(['h2', 'http/1.1'])
        s = ctx.wrap_socket(connect(p.port), server_hostname=sni)
        # the backend's own certificate: the proxy did not terminate TLS
        assert s.getpeercert(binary_form=True) == der_of(crt)
        assert read_line(s).strip().decode() == name
        s.close()


def test_stream_proxy_protocol(t):
    b = backend(t, 'p', 'proxy')
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; proxy_protocol on; }""",
                     b=b)
    s = connect(p.port)
    assert read_line(s) == b'ok\n'
    cport = s.getsockname()[1]
    s.close()
    # among the lines: the harness's readiness probe has one too, which
    # may reach the backend after ours (seen with nginx under load)
    assert ('PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n' %
            (cport, p.port)).encode() in b.lines, b.lines


def test_stream_access_log(t):
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    log_format basic '$remote_addr $protocol $status $bytes_sent $bytes_received $upstream_addr';
    access_log {prefix}/logs/stream.log basic;
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{e}; }""", e=e)
    s = connect(p.port)
    s.sendall(b'hello')
    assert s.recv(5) == b'hello'
    s.sendall(b'abc')
    assert s.recv(3) == b'abc'
    s.shutdown(socket.SHUT_WR)
    assert s.recv(10) == b''
    s.close()
    # the harness's readiness probe is the first line (0 bytes)
    want = '127.0.0.1 TCP 200 8 8 127.0.0.1:%d' % e.port
    wait_for(lambda: p.read('logs', 'stream.log').endswith(want + '\n'), 10,
             what='log line %r (have %r)' % (want, p.read('logs', 'stream.log')))
    first = p.read('logs', 'stream.log').split('\n')[0]
    assert first == '127.0.0.1 TCP 200 0 0 127.0.0.1:%d' % e.port, first


def test_stream_held_across_reload(t):
    import signal
    e = backend(t, 'e', 'echo')
    body = """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{e}; }"""
    p = stream_proxy(t, body, e=e)
    s = connect(p.port)
    s.sendall(b'one')
    assert s.recv(3) == b'one'
    p.write_conf(http='', main=MAIN + 'stream {\n' + body +
                 '\n    proxy_timeout 5m;\n}\n')
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'reconfigur' in p.error_log() or
             'signal 1' in p.error_log() or 'reload' in p.error_log(),
             10, what='the reload')
    for i in range(3):
        msg = b'after %d' % i
        s.sendall(msg)
        assert s.recv(len(msg)) == msg
    s2 = connect(p.port)
    s2.sendall(b'new')
    assert s2.recv(3) == b'new'
    s2.close()
    s.close()


def test_stream_config_errors(t):
    if t.is_nginx:
        t.skip('lbd messages')
    p = stream_proxy(t, """
    upstream u { server 127.0.0.1; }
    server { listen 127.0.0.1:{port}; proxy_pass u; }""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode != 0 and 'no port in upstream "127.0.0.1"' in r.stderr, r.stderr
    # the stream module's load_module line is silent; another module warns
    p.write_conf(make_conf('', main=MAIN + 'load_module modules/other.so;\n'
                           'stream { server { listen 127.0.0.1:{port}; '
                           'proxy_pass 127.0.0.1:1; } }\n'))
    r = p.run('-t')
    assert r.returncode == 0, r.stderr
    out = r.stderr + p.error_log()
    assert 'ngx_stream_module' not in out, out
    assert '"load_module" directive has no effect in lbd and is ignored' in out, out


def test_stream_lbctl_conns_and_kernel_splice(t):
    """lbd only: stream sessions are listed by `lbctl conns` with their
    path (sockmap by default where the kernel path is available, splice(2)
    with `kernel_splice off`), bytes each way; they leave the list when
    they end."""
    if t.is_nginx:
        t.skip('nginx has no control socket')
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{e}; kernel_splice off; }
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:{e}; }""",
                     e=e)
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')

    def conns():
        return subprocess.run([exe, '-s', p.path('logs', 'lbd.sock'), 'conns'],
                              capture_output=True, text=True, timeout=20).stdout

    for port, paths in ((p.port, ('splice',)), (p.subs['port2'], ('sockmap', 'splice'))):
        s = connect(port)
        data = os.urandom(200000)
        s.sendall(data)
        got = b''
        while len(got) < len(data):
            d = s.recv(65536)
            assert d
            got += d
        assert got == data
        me = '127.0.0.1:%d' % s.getsockname()[1]

        def row_of():
            return [ln.split() for ln in conns().splitlines() if me in ln]
        # (lbd counts a splice(2) after it returns: on a busy machine the
        # client can read the bytes first)
        try:
            wait_for(lambda: [r[4:6] for r in row_of()] == [['200000', '200000']], 5)
        except AssertionError:
            pass
        row = row_of()
        assert len(row) == 1 and row[0][1] == '127.0.0.1:%d' % e.port, conns()
        assert row[0][2] in paths, row
        assert row[0][4:6] == ['200000', '200000'], row
        s.close()
        wait_for(lambda: me not in conns(), 10, what='the stream to leave the list')


# ---- sizes and bounds (issue 5, item 3) ---------------------------------------


class DuplexBackend(TcpBackend):
    """Per connection: N bytes of stream 22 out while checking N bytes of
    stream 11 in (splicekit), then a 40-byte verdict; or, in mode 'rst',
    echo until EOF/reset (recorded in .ends) or reset itself on '!reset'."""

    def __init__(self, name, mode, n=0):
        self.n, self.results, self.ends = n, [], []
        super().__init__(name, mode)

    def _serve(self, c):
        c.settimeout(60)
        try:
            if self.mode == 'duplex':
                got, bad, err = splicekit.duplex(c, self.n, 22, 11)
                self.results.append((got, bad, err))
                c.sendall(b'%-40s' % (b'up %d bad %s' % (got, str(bad).encode())))
                c.recv(1)
            elif self.mode == 'rst':
                splicekit.rst_echo(c, self.ends)
        except OSError:
            pass
        c.close()


def _recv_n(s, n):
    buf = b''
    while len(buf) < n:
        d = s.recv(n - len(buf))
        assert d, 'closed after %r' % buf
        buf += d
    return buf


def _stream_duplex(t, off):
    n = 256 << 20
    b = DuplexBackend('d', 'duplex', n)
    t.defer(b.close)
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; %s }""" %
                     ('kernel_splice off;' if off else ''), b=b)
    s = connect(p.port, timeout=60)
    got, bad, err = splicekit.duplex(s, n, 11, 22)
    assert err is None, err
    assert (got, bad) == (n, None), 'down: %d bytes, first wrong at %s' % (got, bad)
    verdict = _recv_n(s, 40)
    assert verdict.split() == [b'up', b'%d' % n, b'bad', b'None'], verdict
    s.close()


def test_stream_duplex_256mib_byte_exact(t):
    """256 MiB each way at once through a stream {} session on the default
    path (sockmap on lbd), every byte checked at its position (see
    test_websocket.test_duplex_256mib_byte_exact)."""
    _stream_duplex(t, False)


def test_stream_duplex_256mib_byte_exact_relay(t):
    """The same through lbd's splice(2) relay (`kernel_splice off`)."""
    if t.is_nginx:
        t.skip('lbd\'s kernel_splice off')
    _stream_duplex(t, True)


def test_stream_rst_propagated(t):
    """A client reset reaches the backend as a reset (nginx: a close), a
    backend reset reaches the client, on each of lbd's paths."""
    paths = [('nginx', '')] if t.is_nginx else [('sockmap', ''),
                                                 ('splice', 'kernel_splice off;')]
    for label, extra in paths:
        b = DuplexBackend('r', 'rst')
        t.defer(b.close)
        p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; %s }""" % extra, b=b)
        want = ('eof', 'reset') if t.is_nginx else ('reset',)
        s = connect(p.port)
        s.sendall(b'ping')
        assert _recv_n(s, 4) == b'ping'
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     b'\x01\x00\x00\x00\x00\x00\x00\x00')
        s.close()
        # (the harness's readiness probe was a session too: it ends with
        # an EOF, at any time)
        wait_for(lambda: b.accepted >= 2 and len(b.ends) >= 2, 10,
                 what='%s: the backend to see the end (%r)' % (label, b.ends))
        assert (t.is_nginx or 'reset' in b.ends) and set(b.ends) <= set(want + ('eof',)), \
            (label, b.ends)
        s = connect(p.port)
        s.sendall(b'pong')
        assert _recv_n(s, 4) == b'pong'
        s.sendall(b'!reset')
        try:
            end = 'eof' if s.recv(100) == b'' else 'data'
        except ConnectionResetError:
            end = 'reset'
        assert end in want, (label, end)
        s.close()
        p.stop()


def test_stream_disconnected_lines(t):
    """nginx's info line at the end of a session one side closed: "client
    disconnected" or "upstream disconnected", with the bytes from/to each
    side, on each of lbd's paths (sockmap, splice(2))."""
    from harness import raw_server

    def handle(c):
        got = c.recv(100)
        if got == b'bye':
            c.sendall(b'ok')  # and the upstream closes
            return False
        c.sendall(got)
        while c.recv(100):  # until the proxy closes
            pass
        return False
    up = raw_server(t, handle, threaded=True)
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:%d; }
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:%d; %s }""" %
                     (up, up, '' if t.is_nginx else 'kernel_splice off;'))
    for port in (p.port, p.subs['port2']):
        s = connect(port)
        s.sendall(b'hello')
        assert _recv_n(s, 5) == b'hello'
        s.close()
        s = connect(port)
        s.sendall(b'bye')
        assert _recv_n(s, 2) == b'ok' and s.recv(10) == b''
        s.close()
    for who, want in (('client', '5/5, bytes from/to upstream:5/5'),
                      ('upstream', '3/2, bytes from/to upstream:2/3')):
        line = r'\[info\] \d+#\d+: \*\d+ %s disconnected, bytes from/to client:%s\n' % (who, want)
        wait_for(lambda: len(re.findall(line, p.error_log())) == 2, what='two lines %r' % line)


def test_stream_connected_lines(t):
    """nginx's info lines as a session starts: "client ADDR:PORT connected
    to LISTEN" when it is accepted (a session refused at once has it too)
    and "proxy LOCAL:PORT connected to UPSTREAM" once the upstream is
    connected, with the ports each socket had."""
    from harness import raw_server
    seen = []

    def handle(c):
        seen.append(c.getpeername()[1])
        c.sendall(c.recv(100))
        return False
    up = raw_server(t, handle)
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:%d; }
    server { listen 127.0.0.1:{port2}; deny all; proxy_pass 127.0.0.1:%d; }""" % (up, up))
    s = connect(p.port)
    me = s.getsockname()[1]
    s.sendall(b'hi')
    assert _recv_n(s, 2) == b'hi'
    s.close()
    s = connect(p.subs['port2'])
    me2 = s.getsockname()[1]
    assert s.recv(10) == b''
    s.close()
    line = r'\[info\] \d+#\d+: \*(\d+) client 127\.0\.0\.1:%d connected to 127\.0\.0\.1:%d\n'
    want = [line % (me, p.port), line % (me2, p.subs['port2'])]
    wait_for(lambda: all(re.search(w, p.error_log()) for w in want), what='the client lines')
    log = p.error_log()
    a, b = (re.search(w, log) for w in want)
    # the session's proxy line after its client line, from the port the
    # upstream saw; none for the refused one
    up_line = r'\[info\] \d+#\d+: \*%s proxy 127\.0\.0\.1:(\d+) connected to 127\.0\.0\.1:%d\n'
    m = re.search(up_line % (a.group(1), up), log)
    assert m and m.start() > a.start() and int(m.group(1)) in seen, log[a.start():]
    assert not re.search(r': \*%s proxy ' % b.group(1), log), log[b.start():]


def test_stream_wildcard_listen_text(t):
    """A wildcard listen (0.0.0.0:PORT, [::]:PORT, udp too) is named as
    nginx names it in the "connected to" line and the "server:" of error
    lines: the listen's text, not the address the client connected to
    ($server_addr stays that one). Traffic goes to 127.0.0.1 / ::1."""
    from harness import free_port, raw_server

    def handle(c):
        c.sendall(c.recv(100))
        return False
    up = raw_server(t, handle, threaded=True)
    dead = t.dead_port()
    p6, pd, pu = free_port(), free_port(), free_port()
    p = stream_proxy(t, """
    log_format sa '$server_addr:$server_port';
    access_log {prefix}/logs/sa.log sa;
    server { listen 0.0.0.0:{port}; proxy_pass 127.0.0.1:%d; }
    server { listen [::]:%d; proxy_pass 127.0.0.1:%d; }
    server { listen %d; proxy_pass 127.0.0.1:%d; }
    server { listen %d udp; proxy_pass 127.0.0.1:%d; proxy_responses 0; }""" %
                     (up, p6, up, pd, dead, pu, up))
    for port, fam, addr in ((p.port, socket.AF_INET, '127.0.0.1'),
                            (p6, socket.AF_INET6, '::1'), (pd, socket.AF_INET, '127.0.0.1')):
        s = socket.socket(fam)
        s.settimeout(10)
        s.connect((addr, port))
        s.sendall(b'hi')
        try:
            s.recv(10)  # the echo, or the close (or reset) of the refused one
        except ConnectionResetError:
            pass
        s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b'x', ('127.0.0.1', pu))
    u.close()
    want = [r'client 127\.0\.0\.1:\d+ connected to 0\.0\.0\.0:%d\n' % p.port,
            r'client \[::1\]:\d+ connected to \[::\]:%d\n' % p6,
            r'client 127\.0\.0\.1:\d+ connected to 0\.0\.0\.0:%d\n' % pd,
            r'connect\(\) failed \(111: Connection refused\) while connecting to upstream, '
            r'client: 127\.0\.0\.1, server: 0\.0\.0\.0:%d, ' % pd,
            r'udp client 127\.0\.0\.1:\d+ connected to 0\.0\.0\.0:%d\n' % pu]
    wait_for(lambda: all(re.search(w, p.error_log()) for w in want),
             what='the wildcard lines: %s' % [w for w in want if not re.search(w, p.error_log())])
    assert not re.search(r'connected to (127\.0\.0\.1|\[::1\]):(%d|%d|%d|%d)\n' %
                         (p.port, p6, pd, pu), p.error_log()), p.error_log()
    wait_for(lambda: '::1:%d' % p6 in p.read('logs', 'sa.log'), what='the access lines')
    assert '127.0.0.1:%d' % p.port in p.read('logs', 'sa.log'), p.read('logs', 'sa.log')
