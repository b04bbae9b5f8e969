# SPDX-License-Identifier: MIT
"""TLS in `stream {}`, same config for nginx 1.22 (libnginx-mod-stream) and
lbd: `listen ... ssl` with ngx_stream_ssl_module's directives (ECDSA and
RSA certificates in one server, protocols, ciphers, the session cache and
tickets, ssl_handshake_timeout, ssl_verify_client, ssl_password_file,
ssl_dhparam), $ssl_* in the stream log, and the stream proxy's proxy_ssl*
towards TLS backends (SNI and proxy_ssl_name, verify with a trusted CA,
session reuse, a failed handshake or verify = the next server). Bytes are
checked byte for byte, 1 MiB each way at once through both TLS legs, half
close and proxy_timeout; a stalled TLS reader holds the backend back
(lbd's RSS bounded); `-t` errors with FILE:LINE and a reload picking up
a renewed certificate. lbd only: `lbctl conns` lists a TLS stream on the
copy path (never sockmap/splice), with its byte counts.

Backends: test_stream's raw TCP servers, plus TlsEcho (echo behind
Python's ssl, recording each connection's SNI and resumption)."""

import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess
import threading

from harness import lbd_sanitized, raw_server, wait_for
from test_stream import MAIN, backend, connect, read_line, stream_proxy
from test_tls import make_cert, der_of

LOGF = ("log_format tls '$status $ssl_protocol $ssl_cipher $ssl_server_name "
        "$ssl_session_reused $bytes_sent $bytes_received';")


def cli_ctx(**kw):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def tls_connect(port, ctx=None, sni=None, session=None, timeout=15):
    s = connect(port, timeout=timeout)
    return (ctx or cli_ctx()).wrap_socket(s, server_hostname=sni, session=session)


def make_ca(t, d):
    """A CA and a server certificate it signed for backend.test; a client
    certificate it signed. Returns dict of paths."""
    def run(*a):
        subprocess.run(list(a), check=True, capture_output=True, timeout=60)
    p = {k: os.path.join(d, k) for k in ('ca.crt', 'ca.key', 's.crt', 's.key', 's.csr',
                                         'c.crt', 'c.key', 'c.csr')}
    run('openssl', 'req', '-x509', '-nodes', '-days', '30', '-subj', '/CN=Test CA',
        '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
        '-keyout', p['ca.key'], '-out', p['ca.crt'])
    for who, cn in (('s', 'backend.test'), ('c', 'client.test')):
        run('openssl', 'req', '-nodes', '-subj', '/CN=' + cn, '-newkey', 'ec',
            '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', p[who + '.key'],
            '-out', p[who + '.csr'])
        ext = os.path.join(d, who + '.ext')
        with open(ext, 'w') as f:
            f.write('subjectAltName=DNS:%s\n' % cn)
        run('openssl', 'x509', '-req', '-days', '30', '-in', p[who + '.csr'],
            '-CA', p['ca.crt'], '-CAkey', p['ca.key'], '-CAcreateserial',
            '-extfile', ext, '-out', p[who + '.crt'])
    for f in p.values():
        os.chmod(f, 0o644)
    return p


class TlsEcho:
    """Echo server behind TLS on 127.0.0.1: records (sni, reused) per
    handshake in .seen, failed handshakes in .failures; 'hello' mode says
    its name first."""

    def __init__(self, name, crt, key, hello=False, client_ca=None, proxy_line=False):
        self.name, self.hello, self.proxy_line = name, hello, proxy_line
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(crt, key)
        if client_ca:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(client_ca)
        self.lines, self.peers = [], []
        self.ctx.sni_callback = self._sni
        self._names = {}
        self.seen, self.failures = [], 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.open = []
        threading.Thread(target=self._accept, daemon=True).start()

    def __str__(self):
        return str(self.port)

    def _sni(self, sock, name, ctx):
        self._names[id(sock)] = name

    def close(self):
        for s in [self.sock] + self.open:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.open.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(30)
        try:
            if self.proxy_line:  # a PROXY v1 line in the clear, then TLS
                line = b''
                while not line.endswith(b'\r\n') and len(line) < 120:
                    ch = c.recv(1)
                    if not ch:
                        break
                    line += ch
                self.lines.append(line)
            s = self.ctx.wrap_socket(c, server_side=True)
        except (OSError, ssl.SSLError):
            self.failures += 1
            c.close()
            return
        self.seen.append((self._names.get(id(s)), s.session_reused))
        cert = s.getpeercert()
        self.peers.append(dict(x[0] for x in cert['subject'])['commonName'] if cert else None)
        try:
            if self.hello:
                s.sendall(self.name.encode() + b'\n')
            while True:
                d = s.recv(65536)
                if not d:
                    break
                s.sendall(d)
            s.close()
        except (OSError, ssl.SSLError):
            pass


def tls_echo(t, name, crt, key, hello=False, **kw):
    b = TlsEcho(name, crt, key, hello, **kw)
    t.defer(b.close)
    return b


def duplex(s, n=1 << 20):
    """N random bytes up while reading N back at once, byte-exact; one
    thread (an SSL object must not be read and written from two)."""
    import select
    data = os.urandom(n)
    got = bytearray()
    off = 0
    s.setblocking(False)
    try:
        for _ in range(200000):
            if len(got) >= n:
                break
            want_w = off < n
            r, w, _x = select.select([s], [s] if want_w else [], [], 30)
            assert r or w, 'stalled at %d/%d' % (off, len(got))
            if w and want_w:
                try:
                    off += s.send(data[off:off + 65536])
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                    pass
            while True:
                try:
                    dd = s.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    break
                assert dd, 'closed at %d' % len(got)
                got += dd
    finally:
        s.setblocking(True)
    assert hashlib.sha256(bytes(got)).digest() == hashlib.sha256(data).digest(), \
        (len(got), len(data))


def log_lines(p, name='stream.log'):
    try:
        return p.read('logs', name).splitlines()
    except OSError:
        return []


def test_stream_ssl_terminate_ecdsa_rsa(t):
    """listen ssl with an ECDSA and an RSA certificate: a client gets the
    one its suites allow; 1 MiB each way at once, byte-exact; $ssl_* and
    the byte counts in the stream log; SNI is logged, not used to pick a
    server (stream has no server_name in 1.22)."""
    d = t.tmpdir('sssl-')
    ec, eck = make_cert(t, d, 'ec', 'proxy.test')
    rsa, rsak = make_cert(t, d, 'rsa', 'proxy.test', kind='rsa')
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, LOGF + """
    access_log {prefix}/logs/stream.log tls;
    server {
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {ec}; ssl_certificate_key {eck};
        ssl_certificate {rsa}; ssl_certificate_key {rsak};
        ssl_protocols TLSv1.2 TLSv1.3;  # (1.22's default has no TLSv1.3)
        proxy_pass 127.0.0.1:{e};
    }""", e=e, ec=ec, eck=eck, rsa=rsa, rsak=rsak)
    s = tls_connect(p.port, sni='db.example')
    assert s.getpeercert(binary_form=True) == der_of(ec)
    duplex(s)
    s.close()
    ctx = cli_ctx(maximum_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers('ECDHE-RSA-AES128-GCM-SHA256')
    s = tls_connect(p.port, ctx)
    assert s.getpeercert(binary_form=True) == der_of(rsa)
    assert s.version() == 'TLSv1.2'
    s.sendall(b'ping')
    assert s.recv(4) == b'ping'
    s.close()
    n = 1 << 20
    want1 = '200 TLSv1.3 TLS_AES_256_GCM_SHA384 db.example . %d %d' % (n, n)
    want2 = '200 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 - . 4 4'
    wait_for(lambda: want2 in log_lines(p), 10,
             what='log lines (have %r)' % log_lines(p))
    assert want1 in log_lines(p), log_lines(p)


def test_stream_ssl_return(t):
    """`return` on a TLS server answers inside TLS, with $ssl_* values."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'ec', 'proxy.test')
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port} ssl; ssl_certificate {crt}; ssl_certificate_key {key};
             ssl_protocols TLSv1.3; return "hi $ssl_protocol $ssl_server_name\\n"; }""",
                     crt=crt, key=key)
    s = tls_connect(p.port, sni='svc.test')
    assert read_line(s) == b'hi TLSv1.3 svc.test\n'
    s.close()


def test_stream_ssl_alpn(t):
    """Without ssl_alpn a stream server answers no ALPN; with it, the first
    of its own protocols the client offers ($ssl_alpn_protocol), and none
    in common fails the handshake."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'ec', 'proxy.test')
    p = stream_proxy(t, """
    ssl_certificate {crt}; ssl_certificate_key {key};
    server { listen 127.0.0.1:{port} ssl; return "[$ssl_alpn_protocol]\\n"; }
    server { listen 127.0.0.1:{port2} ssl; ssl_alpn mqtt x-b;
             return "[$ssl_alpn_protocol]\\n"; }""", crt=crt, key=key)

    def ask(port, protos):
        ctx = cli_ctx()
        ctx.set_alpn_protocols(protos)
        s = tls_connect(port, ctx)
        try:
            return s.selected_alpn_protocol(), read_line(s)
        finally:
            s.close()
    assert ask(p.port, ['http/1.1', 'mqtt']) == (None, b'[]\n')
    assert ask(p.subs['port2'], ['x-b', 'mqtt']) == ('mqtt', b'[mqtt]\n')
    assert ask(p.subs['port2'], ['x-b']) == ('x-b', b'[x-b]\n')
    try:
        ask(p.subs['port2'], ['http/1.1'])
        raise AssertionError('handshake without a common protocol')
    except (ssl.SSLError, ConnectionResetError):
        pass


def test_stream_proxy_ssl_handshake_timeout(t):
    """An upstream that never answers the ClientHello: after
    proxy_connect_timeout the handshake fails that server (nginx's
    "upstream timed out ... while SSL handshaking to upstream") and the
    next one serves; with no other server the client is closed. lbd also
    logs "upstream timed out ... while SSL handshaking to upstream"."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'ec', 'backend.test')
    mute = backend(t, 'mute', 'sink')
    good = tls_echo(t, 'good', crt, key, hello=True)
    p = stream_proxy(t, """
    upstream u { server 127.0.0.1:{mute}; server 127.0.0.1:{good}; }
    proxy_ssl on; proxy_connect_timeout 1s;
    server { listen 127.0.0.1:{port}; proxy_pass u; }
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:{mute}; }""", mute=mute, good=good)
    for _ in range(2):  # (round robin: one of them meets the mute server first)
        s = connect(p.port, timeout=20)
        assert read_line(s) == b'good\n'
        s.close()
    s = connect(p.subs['port2'], timeout=20)
    assert s.recv(10) == b''  # its only server timed out
    s.close()
    if t.is_nginx:  # (nginx 1.22 logs no line for it, only max_fails' warning)
        return
    wait_for(lambda: re.search(r'upstream timed out \(110: Connection timed out\) while SSL '
                               r'handshaking to upstream', p.error_log()), 10,
             what='the timeout line')


def test_stream_ssl_protocols_ciphers_dhparam_curve(t):
    """ssl_protocols TLSv1.2 refuses a TLS 1.3-only client; ssl_ciphers
    with ssl_prefer_server_ciphers picks the server's first; ssl_dhparam
    and ssl_ecdh_curve load."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'rsa', 'proxy.test', kind='rsa')
    dh = os.path.join(d, 'dh.pem')
    subprocess.run(['openssl', 'genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt',
                    'group:ffdhe2048', '-out', dh], check=True, capture_output=True,
                   timeout=120)
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    server {
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {crt}; ssl_certificate_key {key};
        ssl_protocols TLSv1.2;
        ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256;
        ssl_prefer_server_ciphers on;
        ssl_dhparam {dh};
        ssl_ecdh_curve prime256v1:secp384r1;
        proxy_pass 127.0.0.1:{e};
    }""", e=e, crt=crt, key=key, dh=dh)
    try:
        tls_connect(p.port, cli_ctx(minimum_version=ssl.TLSVersion.TLSv1_3)).close()
        raise AssertionError('TLS 1.3 accepted')
    except (ssl.SSLError, ConnectionResetError):
        pass
    ctx = cli_ctx(maximum_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers('ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384')
    s = tls_connect(p.port, ctx)
    assert s.cipher()[0] == 'ECDHE-RSA-AES256-GCM-SHA384', s.cipher()
    s.sendall(b'x')
    assert s.recv(1) == b'x'
    s.close()
    ctx = cli_ctx(maximum_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers('DHE-RSA-AES128-GCM-SHA256')
    s = tls_connect(p.port, ctx)
    assert s.cipher()[0] == 'DHE-RSA-AES128-GCM-SHA256', s.cipher()
    s.close()


def test_stream_ssl_session_reuse(t):
    """A shared session cache resumes a TLS 1.2 session by id (tickets
    off), logged "r"; with tickets (the default) and no cache, a TLS 1.3
    ticket resumes too."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'ec', 'proxy.test')
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, LOGF + """
    access_log {prefix}/logs/stream.log tls;
    ssl_certificate {crt}; ssl_certificate_key {key};
    server {
        listen 127.0.0.1:{port} ssl;
        ssl_session_cache shared:S:1m; ssl_session_timeout 10m;
        ssl_session_tickets off;
        proxy_pass 127.0.0.1:{e};
    }
    server { listen 127.0.0.1:{port2} ssl; proxy_pass 127.0.0.1:{e}; }""",
                     e=e, crt=crt, key=key)
    for port, maxv in ((p.port, ssl.TLSVersion.TLSv1_2), (p.subs['port2'], None)):
        ctx = cli_ctx(maximum_version=maxv) if maxv else cli_ctx()
        s = tls_connect(port, ctx)
        s.sendall(b'one')
        assert s.recv(3) == b'one'  # (a TLS 1.3 ticket arrives with data)
        sess = s.session
        s.close()
        s = tls_connect(port, ctx, session=sess)
        s.sendall(b'two')
        assert s.recv(3) == b'two'
        assert s.session_reused, port
        s.close()
    wait_for(lambda: sum(1 for ln in log_lines(p) if ' r ' in ln) == 2, 10,
             what='two resumed sessions logged (have %r)' % log_lines(p))


def test_stream_ssl_handshake_timeout_and_failure(t):
    """A silent client is cut after ssl_handshake_timeout, plain bytes to
    the TLS port fail the handshake: both end with status 500 logged and
    the upstream never contacted."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'ec', 'proxy.test')
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    log_format st '$status $upstream_addr';
    access_log {prefix}/logs/stream.log st;
    server {
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {crt}; ssl_certificate_key {key};
        ssl_handshake_timeout 1s;
        proxy_pass 127.0.0.1:{e};
    }""", e=e, crt=crt, key=key)
    base = e.accepted
    s = connect(p.port, timeout=15)
    assert s.recv(10) == b''  # closed by the proxy after 1 s
    s.close()
    s = connect(p.port, timeout=15)
    s.sendall(b'GET / HTTP/1.0\r\n\r\n')
    try:
        s.recv(100)
    except ConnectionResetError:
        pass
    s.close()
    wait_for(lambda: log_lines(p)[-2:] == ['500 -', '500 -'], 10,
             what='two 500 lines (have %r)' % log_lines(p))
    assert e.accepted == base


def test_stream_ssl_verify_client(t):
    """ssl_verify_client on: no certificate or one from another CA ends
    the session (500, nginx's info lines), the CA's client gets through;
    optional lets a client without a certificate through."""
    d = t.tmpdir('sssl-')
    pki = make_ca(t, d)
    other, otherk = make_cert(t, d, 'other', 'client.test')
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    log_format st '$status';
    access_log {prefix}/logs/stream.log st;
    error_log {prefix}/logs/error.log info;
    ssl_certificate {crt}; ssl_certificate_key {key};
    ssl_client_certificate {ca};
    server { listen 127.0.0.1:{port} ssl; ssl_verify_client on; proxy_pass 127.0.0.1:{e}; }
    server { listen 127.0.0.1:{port2} ssl; ssl_verify_client optional; ssl_verify_depth 2;
             proxy_pass 127.0.0.1:{e}; }""",
                     e=e, crt=pki['s.crt'], key=pki['s.key'], ca=pki['ca.crt'])

    def attempt(port, cert=None, key=None):
        ctx = cli_ctx()
        if cert:
            ctx.load_cert_chain(cert, key)
        try:
            s = tls_connect(port, ctx)
            s.sendall(b'hi')
            ok = s.recv(2) == b'hi'
            s.close()
            return ok
        except (ssl.SSLError, OSError):
            return False
    assert not attempt(p.port)
    assert not attempt(p.port, other, otherk)
    assert attempt(p.port, pki['c.crt'], pki['c.key'])
    assert attempt(p.subs['port2'])
    assert attempt(p.subs['port2'], pki['c.crt'], pki['c.key'])
    log = p.error_log()
    assert 'client sent no required SSL certificate while SSL handshaking' in log, log
    assert re.search(r'client SSL certificate verify error: \(\d+:[^)]+\) while SSL '
                     r'handshaking', log), log
    wait_for(lambda: log_lines(p)[-5:].count('500') == 2, 10,
             what='two 500 lines (have %r)' % log_lines(p))


def test_stream_ssl_half_close_and_timeout(t):
    """Over TLS: proxy_half_close on carries the client's end (close_notify
    + FIN) to the backend, which answers after it; proxy_timeout cuts an
    idle TLS stream."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'ec', 'proxy.test')
    k = backend(t, 'k', 'sink')
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    ssl_certificate {crt}; ssl_certificate_key {key};
    server { listen 127.0.0.1:{port} ssl; proxy_pass 127.0.0.1:{k}; proxy_half_close on; }
    server { listen 127.0.0.1:{port2} ssl; proxy_pass 127.0.0.1:{e}; proxy_timeout 1s; }""",
                     k=k, e=e, crt=crt, key=key)
    raw = connect(p.port)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = cli_ctx().wrap_bio(inc, out)

    def flush():
        dd = out.read()
        if dd:
            raw.sendall(dd)

    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            inc.write(raw.recv(65536))
    flush()
    obj.write(b'a' * 100000)
    flush()
    try:
        obj.unwrap()  # close_notify out; the peer's is still to come
    except ssl.SSLWantReadError:
        pass
    flush()
    raw.shutdown(socket.SHUT_WR)
    while True:
        dd = raw.recv(65536)
        if not dd:
            break
        inc.write(dd)
    raw.close()
    buf = b''
    while True:
        try:
            dd = obj.read(65536)
        except (ssl.SSLZeroReturnError, ssl.SSLWantReadError):
            break
        if not dd:
            break
        buf += dd
    assert buf == b'got 100000 part 0\ngot 100000 part 1\ngot 100000 part 2\n', buf
    s = tls_connect(p.subs['port2'])
    s.sendall(b'x')
    assert s.recv(1) == b'x'
    assert s.recv(10) == b''
    s.close()


def test_stream_proxy_ssl_upstream_reset(t):
    """A TLS upstream that resets its connection (no close_notify) after
    100 KB: nginx's SSL_read takes the socket error with nothing in
    OpenSSL's queue for the peer's close, so the client gets every byte
    and then a FIN, not a reset (lbd passed the reset on), the session is
    logged with $status 200, and the error log has nginx's info line
    "upstream disconnected, bytes from/to ..." and no error."""
    from test_errlog_net import _reset
    from test_upssl import certs
    d, crt, key = certs(t)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)

    def handle(c):
        s = ctx.wrap_socket(c, server_side=True)
        got = s.recv(100)
        s.sendall(b'<' + got + b'>' + b'x' * 100000)
        _reset(s)
        return False
    up = raw_server(t, handle, threaded=True)
    p = stream_proxy(t, """
    log_format s '$status $bytes_sent $bytes_received';
    server {
        listen 127.0.0.1:{port};
        access_log {prefix}/logs/s.log s;
        proxy_ssl on;
        proxy_pass 127.0.0.1:%d;
    }""" % up)
    s = connect(p.port)
    t.defer(s.close)
    s.sendall(b'abc')
    got = b''
    while True:
        try:
            x = s.recv(65536)
        except ConnectionResetError:
            raise AssertionError('reset after %d bytes' % len(got))
        if not x:
            break
        got += x
    assert got == b'<abc>' + b'x' * 100000, len(got)
    # (the harness's readiness probe is a session of its own)
    wait_for(lambda: '200 100005 3\n' in p.read('logs', 's.log'), what='the session line')
    wait_for(lambda: re.search(r'\[info\] \d+#\d+: \*\d+ upstream disconnected, bytes from/to '
                               r'client:3/100005, bytes from/to upstream:100005/3\n',
                               p.error_log()), what='the disconnected line')
    for word in ('[error]', '[crit]', '[alert]', 'failed'):
        assert word not in p.error_log(), p.error_log()


def test_stream_proxy_ssl_to_backend(t):
    """proxy_ssl on: plain client, TLS backend; SNI only with
    proxy_ssl_server_name on (the proxy_pass host by default, or
    proxy_ssl_name); proxy_ssl_verify against the CA; sessions resumed
    (proxy_ssl_session_reuse on, the default); 1 MiB each way."""
    d = t.tmpdir('sssl-')
    pki = make_ca(t, d)
    b = tls_echo(t, 'b', pki['s.crt'], pki['s.key'])
    p = stream_proxy(t, """
    upstream backend.test { server 127.0.0.1:{b}; }
    proxy_ssl on;
    proxy_ssl_protocols TLSv1.2 TLSv1.3;
    proxy_ssl_ciphers HIGH:!aNULL;
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; }
    server { listen 127.0.0.1:{port2}; proxy_pass backend.test;
             proxy_ssl_server_name on; proxy_ssl_verify on; proxy_ssl_verify_depth 2;
             proxy_ssl_trusted_certificate {ca}; }
    server { listen 127.0.0.1:{port3}; proxy_pass 127.0.0.1:{b};
             proxy_ssl_server_name on; proxy_ssl_name "svc.$server_port.test";
             proxy_ssl_session_reuse off; }""",
                     b=b, ca=pki['ca.crt'])
    # the harness's readiness probes make a handshake each
    try:
        wait_for(lambda: len(b.seen) >= 3, 5)
    except AssertionError:
        pass
    base = len(b.seen)
    s = connect(p.port)
    duplex(s)
    s.close()
    for port in (p.port, p.subs['port2'], p.subs['port2'], p.subs['port3'], p.subs['port3']):
        s = connect(port)
        s.sendall(b'hey')
        assert s.recv(3) == b'hey'
        s.close()
    p3 = p.subs['port3']
    seen = b.seen[base:]
    names = [x[0] for x in seen]
    assert names == [None, None, 'backend.test', 'backend.test',
                     'svc.%d.test' % p3, 'svc.%d.test' % p3], seen
    reused = [x[1] for x in seen]
    assert reused[1] is True and reused[3] is True, seen  # per server, kept
    assert reused[4] is False and reused[5] is False, seen


def test_stream_proxy_ssl_failures_next_upstream(t):
    """A plain server (handshake failure) and a certificate of another CA
    (verify error) fail their servers: the next one serves, with nginx's
    error lines; with all failing the client is closed."""
    d = t.tmpdir('sssl-')
    pki = make_ca(t, d)
    selfc, selfk = make_cert(t, d, 'self', 'backend.test')
    plain = backend(t, 'plain', 'hello')
    bad = tls_echo(t, 'bad', selfc, selfk, hello=True)
    good = tls_echo(t, 'good', pki['s.crt'], pki['s.key'], hello=True)
    p = stream_proxy(t, """
    upstream u { server 127.0.0.1:{plain}; server 127.0.0.1:{bad}; server 127.0.0.1:{good}; }
    upstream v { server 127.0.0.1:{bad}; }
    proxy_ssl on; proxy_ssl_verify on; proxy_ssl_trusted_certificate {ca};
    proxy_ssl_name backend.test;
    server { listen 127.0.0.1:{port}; proxy_pass u; }
    server { listen 127.0.0.1:{port2}; proxy_pass v; }""",
                     plain=plain, bad=bad, good=good, ca=pki['ca.crt'])
    s = connect(p.port)
    assert read_line(s) == b'good\n'
    s.close()
    s = connect(p.subs['port2'])
    assert s.recv(10) == b''
    s.close()
    log = p.error_log()
    assert re.search(r'upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL '
                     r'handshaking to upstream', log), log
    assert re.search(r'SSL_do_handshake\(\) failed \(SSL: .*\) while SSL handshaking to '
                     r'upstream, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+, upstream: '
                     r'"127\.0\.0\.1:%d"' % plain.port, log), log


def test_stream_proxy_ssl_client_cert_and_proxy_protocol(t):
    """proxy_ssl_certificate/_key: the backend requiring a client
    certificate of its CA sees ours; with proxy_protocol on, the PROXY
    line goes in the clear before the handshake (as nginx)."""
    d = t.tmpdir('sssl-')
    pki = make_ca(t, d)
    b = tls_echo(t, 'b', pki['s.crt'], pki['s.key'], client_ca=pki['ca.crt'],
                 proxy_line=True)
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; proxy_protocol on;
             proxy_ssl on; proxy_ssl_certificate {crt}; proxy_ssl_certificate_key {key}; }""",
                     b=b, crt=pki['c.crt'], key=pki['c.key'])
    s = connect(p.port)
    s.sendall(b'abc')
    assert s.recv(3) == b'abc'
    me = s.getsockname()[1]
    s.close()
    assert b'PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n' % (me, p.port) in b.lines, b.lines
    assert b.peers[-1] == 'client.test', b.peers


def test_stream_proxy_ssl_client_cert_inherited_apart(t):
    """proxy_ssl_certificate_key at the stream level pairs with a server's
    own proxy_ssl_certificate (each is inherited on its own, as nginx)."""
    d = t.tmpdir('sssl-')
    pki = make_ca(t, d)
    b = tls_echo(t, 'b', pki['s.crt'], pki['s.key'], client_ca=pki['ca.crt'])
    p = stream_proxy(t, """
    proxy_ssl_certificate_key {key};
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b};
             proxy_ssl on; proxy_ssl_certificate {crt}; }""",
                     b=b, crt=pki['c.crt'], key=pki['c.key'])
    s = connect(p.port)
    s.sendall(b'abc')
    assert s.recv(3) == b'abc'
    s.close()
    assert b.peers[-1] == 'client.test', b.peers


def test_stream_ssl_both_legs_and_password(t):
    """TLS in and out (an encrypted key with ssl_password_file): 4 MiB
    each way at once, byte-exact."""
    d = t.tmpdir('sssl-')
    pki = make_ca(t, d)
    enc = os.path.join(d, 'enc.key')
    subprocess.run(['openssl', 'pkey', '-in', pki['s.key'], '-aes256', '-passout',
                    'pass:sekrit', '-out', enc], check=True, capture_output=True, timeout=60)
    os.chmod(enc, 0o644)
    pw = os.path.join(d, 'pw')
    with open(pw, 'w') as f:
        f.write('wrong\nsekrit\n')
    b = tls_echo(t, 'b', pki['s.crt'], pki['s.key'])
    p = stream_proxy(t, """
    server {
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {crt}; ssl_certificate_key {enc}; ssl_password_file {pw};
        proxy_pass 127.0.0.1:{b}; proxy_ssl on;
    }""", b=b, crt=pki['s.crt'], enc=enc, pw=pw)
    s = tls_connect(p.port)
    duplex(s, 4 << 20)
    s.close()


def test_stream_ssl_reload_renewed_certificate(t):
    """A reload serves the renewed certificate; a bad key on reload keeps
    the old configuration serving."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'c', 'one.test')
    e = backend(t, 'e', 'echo')
    body = """
    server { listen 127.0.0.1:{port} ssl; ssl_certificate %s; ssl_certificate_key %s;
             proxy_pass 127.0.0.1:{e}; }"""
    p = stream_proxy(t, body % (crt, key), e=e)
    s = tls_connect(p.port)
    assert s.getpeercert(binary_form=True) == der_of(crt)
    s.close()
    make_cert(t, d, 'c', 'two.test')
    p.signal(signal.SIGHUP)
    wait_for(lambda: tls_connect(p.port).getpeercert(binary_form=True) == der_of(crt),
             15, what='the renewed certificate')
    with open(key, 'w') as f:
        f.write('broken\n')
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'ssl_certificate_key' in p.error_log() or
             'PEM' in p.error_log(), 15, what='the failed reload')
    s = tls_connect(p.port)
    s.sendall(b'still')
    assert s.recv(5) == b'still'
    s.close()


def test_stream_ssl_t_errors(t):
    """`-t`: listen ssl without a certificate, a key that does not exist,
    a certificate without its key; FILE:LINE in each."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'c', 'one.test')
    cases = [
        ("server { listen 127.0.0.1:{port} ssl; proxy_pass 127.0.0.1:1; }",
         r'no "ssl_certificate" is defined for the "listen \.\.\. ssl" directive in '
         r'\S+nginx\.conf:\d+'),
        # (nginx names no line here; lbd names the directive's)
        ("server { listen 127.0.0.1:{port} ssl; ssl_certificate %s; "
         "ssl_certificate_key %s/missing.key; proxy_pass 127.0.0.1:1; }" % (crt, d),
         r'cannot load certificate key "\S+missing\.key"' +
         ('' if t.is_nginx else r'.*nginx\.conf:\d+')),
        ("server { listen 127.0.0.1:{port} ssl; ssl_certificate %s; "
         "proxy_pass 127.0.0.1:1; }" % crt,
         r'no "ssl_certificate_key" is defined for the "listen \.\.\. ssl" directive in '
         r'\S+nginx\.conf:\d+'),
    ]
    for body, want in cases:
        p = stream_proxy(t, body, start=False)
        p.write_conf(http='', main=MAIN + 'stream {\n' + body + '\n}\n')
        r = p.run('-t')
        assert r.returncode != 0, body
        print(r.stderr)
        assert re.search(want, r.stderr), r.stderr


def test_stream_ssl_backpressure_slow_reader(t):
    """A TLS client that stops reading while the backend keeps sending:
    the proxy stops reading the backend (it blocks), lbd's memory stays
    bounded; the bytes it then reads arrive intact."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'ec', 'proxy.test')
    sent = {'n': 0, 'blocked': False}
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(4)
    t.defer(srv.close)
    chunk = bytes(range(256)) * 256  # 64 KiB

    def firehose():
        c, _ = srv.accept()
        c.settimeout(3)
        try:
            while sent['n'] < (256 << 20):
                c.sendall(chunk)
                sent['n'] += len(chunk)
        except (socket.timeout, OSError):
            sent['blocked'] = True
        c.settimeout(30)
        try:
            while True:
                c.sendall(chunk)
        except OSError:
            pass
    threading.Thread(target=firehose, daemon=True).start()
    port = srv.getsockname()[1]
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port} ssl; ssl_certificate {crt}; ssl_certificate_key {key};
             proxy_pass 127.0.0.1:{b}; }""", b=port, crt=crt, key=key)
    s = tls_connect(p.port, timeout=30)
    s.recv(1)
    wait_for(lambda: sent['blocked'], 30, what='the backend to block')
    assert sent['n'] < (64 << 20), sent  # bounded by socket buffers and a relay buffer
    if not t.is_nginx and not lbd_sanitized():  # (ASan's RSS is its own)
        with open('/proc/%d/status' % p.proc.pid) as f:
            rss = [int(ln.split()[1]) for ln in f if ln.startswith('VmRSS')][0]
        assert rss < 200 * 1024, rss
    got = b''
    while len(got) < (1 << 20):
        got += s.recv(65536)
    # the stream is 64 KiB periods of 0..255; we read from offset 1
    assert got[:65535] == chunk[1:], 'bytes out of order'
    s.close()


def test_stream_ssl_lbctl_conns_copy_path(t):
    """lbd only: a TLS stream is relayed through lbd's buffers even with
    kernel_splice on (the default): `lbctl conns` lists it as tls-copy
    with its plaintext byte counts."""
    if t.is_nginx:
        t.skip('nginx has no control socket')
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'ec', 'proxy.test')
    e = backend(t, 'e', 'echo')
    p = stream_proxy(t, """
    server { listen 127.0.0.1:{port} ssl; ssl_certificate {crt}; ssl_certificate_key {key};
             proxy_pass 127.0.0.1:{e}; kernel_splice on; }""", e=e, crt=crt, key=key)
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')

    def conns():
        return subprocess.run([exe, '-s', p.path('logs', 'lbd.sock'), 'conns'],
                              capture_output=True, text=True, timeout=20).stdout
    s = tls_connect(p.port)
    data = os.urandom(200000)
    s.sendall(data)
    got = b''
    while len(got) < len(data):
        got += s.recv(65536)
    assert got == data
    me = '127.0.0.1:%d' % s.getsockname()[1]
    wait_for(lambda: [ln.split()[2] for ln in conns().splitlines() if me in ln] == ['tls-copy'],
             10, what='a tls-copy row (have %r)' % conns())
    row = [ln.split() for ln in conns().splitlines() if me in ln][0]
    assert row[4:6] == ['200000', '200000'], row
    s.close()
    wait_for(lambda: me not in conns(), 10, what='the stream to leave the list')


def test_stream_ssl_preread_on_a_tls_server(t):
    """`ssl_preread on` on a `listen ... ssl` server: nginx's preread sees
    the decrypted bytes, finds no ClientHello and goes on with its
    variables empty, so a map on $ssl_preread_server_name takes its
    default; the stream itself works (lbd refused the combination at -t)."""
    d = t.tmpdir('sssl-')
    crt, key = make_cert(t, d, 'ec', 'proxy.test')
    a, b = backend(t, 'a', 'echo'), backend(t, 'b', 'echo')
    p = stream_proxy(t, """
    map $ssl_preread_server_name $be {
        svc.test 127.0.0.1:{b};
        default  127.0.0.1:{a};
    }
    log_format pr '[$ssl_preread_server_name] $upstream_addr';
    server { listen 127.0.0.1:{port} ssl; ssl_certificate {crt}; ssl_certificate_key {key};
             ssl_preread on; access_log {prefix}/logs/pr.log pr; proxy_pass $be; }""",
                     crt=crt, key=key, a=a, b=b)
    s = tls_connect(p.port, sni='svc.test')
    s.sendall(b'ping\n')
    assert read_line(s) == b'ping\n'
    s.close()
    want = '[-] 127.0.0.1:%d' % a.port
    wait_for(lambda: want in p.read('logs', 'pr.log'), what='the log line %r' % want)
