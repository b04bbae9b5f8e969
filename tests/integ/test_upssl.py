# SPDX-License-Identifier: MIT
"""HTTPS upstreams (`proxy_pass https://...` and the proxy_ssl_*
directives), same config for nginx and lbd. The backends are the harness's
fake upstream behind Python's ssl module (TLSBackend records the SNI name,
whether the session was resumed, the protocol, the cipher and the client
certificate of each connection). Certificates are made with the openssl
CLI (test_tls.make_cert). Checked: a URI part and $proxy_host, default
no SNI, proxy_ssl_server_name/proxy_ssl_name (a variable too), verify
(good chain and name, wrong name, untrusted chain: 502 and nginx's log
line, the next server tried), a handshake failure against a plain server,
proxy_next_upstream off, the handshake under proxy_connect_timeout,
session resumption (and proxy_ssl_session_reuse off), the keepalive pool
(one TLS connection for many requests, an idle one the server closed is
not reused), every balancing method, bodies both ways (Content-Length,
chunked, 4 MiB, unbuffered), backpressure from a stalled client
(proxy_buffering off holds the backend, on lets it finish), an h2c
client, a client certificate with an encrypted key and
proxy_ssl_password_file, proxy_ssl_protocols/proxy_ssl_ciphers,
proxy_ssl_verify_depth, proxy_ssl_crl, a WebSocket to an https upstream,
reloads (new settings; a bad file keeps the old configuration), and `-t`
errors."""

import hashlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

from harness import Backend, conf_line, wait_for
from test_tls import make_cert


class TLSBackend(Backend):
    """Backend behind TLS. Records per connection (in .tls) a dict: sni,
    reused, version, cipher, peer (client certificate subject CN or None);
    failed handshakes in .failures. close_idle: close each connection
    right after its first response (no Connection: close said)."""

    def __init__(self, name, crt, key, client_ca=None, close_idle=False,
                 **kw):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(crt, key)
        if client_ca:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(client_ca)
        self._sni = threading.local()
        self.ctx.sni_callback = self._on_sni
        self.tls = []
        self.failures = []
        self.close_idle = close_idle
        self.closed = 0  # connections served and closed
        super().__init__(name, **kw)

    def _on_sni(self, sock, name, ctx):
        self._sni.name = name

    def _serve(self, c, cid):
        self._sni.name = None
        try:
            c.settimeout(10)
            s = self.ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.lock:
                self.failures.append(str(e))
            c.close()
            return
        peer = s.getpeercert()
        cn = None
        if peer:
            for rdn in peer.get('subject', ()):
                for k, v in rdn:
                    if k == 'commonName':
                        cn = v
        with self.lock:
            self.tls.append({'sni': self._sni.name, 'reused': s.session_reused,
                             'version': s.version(), 'cipher': s.cipher()[0],
                             'peer': cn})
            self._conns.discard(c)
            self._conns.add(s)
        super()._serve(s, cid)
        with self.lock:
            self.closed += 1  # the socket is closed by now

    def _respond(self, c, req):
        close = self.close_idle  # as it was when the request came
        keep = super()._respond(c, req)
        return keep and not close


class GarbageServer:
    """Answers every connection with a plain HTTP 400 and a close: a
    TLS client's handshake fails ("wrong version number")."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(c,), daemon=True).start()

    @staticmethod
    def _answer(c):
        # after the ClientHello, and the close only once the peer is done:
        # the client reads the answer rather than a reset
        try:
            c.settimeout(5)
            c.recv(65536)
            c.sendall(b'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        except OSError:
            pass
        c.close()

    def close(self):
        self.sock.close()


def tls_backend(t, name, crt, key, **kw):
    b = TLSBackend(name, crt, key, **kw)
    t._backends.append(b)
    return b


def certs(t):
    """(dir, backend.test cert, key): a self-signed certificate that is
    its own CA, for the name backend.test and the address 127.0.0.1."""
    d = t.tmpdir('upssl-')
    crt, key = os.path.join(d, 'b.crt'), os.path.join(d, 'b.key')
    subprocess.run(['openssl', 'req', '-x509', '-nodes', '-days', '30',
                    '-subj', '/CN=backend.test', '-addext',
                    'subjectAltName=DNS:backend.test,IP:127.0.0.1',
                    '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                    '-keyout', key, '-out', crt],
                   check=True, capture_output=True, timeout=60)
    for f in (crt, key):
        os.chmod(f, 0o644)
    return d, crt, key


def test_upssl_basic(t):
    """https://ADDR:PORT/URI: the request reaches the TLS backend with the
    URI replaced and Host = $proxy_host; no SNI by default; the access
    log's $upstream_addr names the server."""
    d, crt, key = certs(t)
    b = tls_backend(t, 'b1', crt, key)
    p = t.proxy("""
log_format up '$status $upstream_addr $upstream_status';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/up.log up;
    location /a/ { proxy_pass https://127.0.0.1:{b}/pre/; }
}""", b=b)
    r = p.get('/a/x?q=1')
    assert r.status == 200 and r.backend == 'b1', r
    j = r.json()
    assert j['target'] == '/pre/x?q=1', j
    assert b.last().header('Host') == '127.0.0.1:%d' % b.port, b.last().headers
    assert b.tls[0]['sni'] is None, b.tls
    wait_for(lambda: '200 127.0.0.1:%d 200' % b.port in p.read('logs', 'up.log'),
             what='access log line')


def test_upssl_sni_and_name(t):
    """proxy_ssl_server_name on: SNI from $proxy_host (an upstream block's
    name), or from proxy_ssl_name with a variable; an address is never
    sent as SNI."""
    d, crt, key = certs(t)
    b = tls_backend(t, 'b1', crt, key)
    p = t.proxy("""
upstream backend.test { server 127.0.0.1:{b}; }
server {
    listen 127.0.0.1:{port};
    proxy_ssl_server_name on;
    location /up/ { proxy_pass https://backend.test; }
    location /var/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_name $http_x_name;
                     proxy_ssl_session_reuse off; }
    location /ip/ { proxy_pass https://127.0.0.1:{b}; }
    location /off/ { proxy_pass https://backend.test; proxy_ssl_server_name off;
                     proxy_ssl_session_reuse off; }
}""", b=b)
    assert p.get('/up/1').status == 200
    assert b.tls[-1]['sni'] == 'backend.test', b.tls
    assert b.last().header('Host') == 'backend.test'
    assert p.get('/ip/1').status == 200
    assert b.tls[-1]['sni'] is None, b.tls
    assert p.get('/var/1', headers={'X-Name': 'chosen.example:8443'}).status == 200
    assert b.tls[-1]['sni'] == 'chosen.example', b.tls
    assert p.get('/off/1').status == 200
    assert b.tls[-1]['sni'] is None, b.tls


def test_upssl_verify(t):
    """proxy_ssl_verify on: a trusted chain and matching name pass; a
    name the certificate lacks (an address too, though the certificate
    has it as an IP SAN: nginx 1.22 checks host names only) and an
    untrusted chain are 502 with
    nginx's error log lines, the backend's request never sent."""
    d, crt, key = certs(t)
    other, _ = make_cert(t, d, 'other', 'other.test')
    b = tls_backend(t, 'b1', crt, key)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate {crt};
    proxy_ssl_session_reuse off;  # a resumed session keeps its verify result
    location /ok/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_name backend.test; }
    location /ip/ { proxy_pass https://127.0.0.1:{b}; }
    location /name/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_name wrong.test; }
    location /ca/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_name backend.test;
                    proxy_ssl_trusted_certificate {other}; }
}""", b=b, crt=crt, other=other)
    assert p.get('/ok/1').status == 200
    # nginx 1.22 checks the name as a host name only: an IP SAN is no match
    assert p.get('/ip/1').status == 502
    assert p.get('/name/1').status == 502
    assert p.get('/ca/1').status == 502
    assert b.count() == 1, b.paths()
    log = p.error_log()
    assert 'upstream SSL certificate does not match "127.0.0.1"' in log, log
    assert re.search(r'upstream SSL certificate does not match "wrong\.test" while SSL '
                     r'handshaking to upstream, client: 127\.0\.0\.1, server: , request: '
                     r'"GET /name/1 HTTP/1\.1", upstream: "https://127\.0\.0\.1:\d+/name/1"',
                     log), log
    assert re.search(r'upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL '
                     r'handshaking to upstream', log), log


def test_upssl_failures_next_upstream(t):
    """A handshake failure (a plain HTTP server) and a verify failure are
    `error`s for proxy_next_upstream: the next server answers; with
    proxy_next_upstream off the client gets 502."""
    d, crt, key = certs(t)
    good = tls_backend(t, 'good', crt, key)
    plain = GarbageServer()
    t.defer(plain.close)
    p = t.proxy("""
upstream pool { server 127.0.0.1:{plain}; server 127.0.0.1:{good}; }
upstream pair { server 127.0.0.1:{plain}; server 127.0.0.1:{good}; }
upstream one { server 127.0.0.1:{plain}; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass https://pool; }
    location /off/ { proxy_pass https://pair; proxy_next_upstream off; }
    location /one/ { proxy_pass https://one; }
}""", plain=plain, good=good)
    for i in range(4):
        r = p.get('/n%d' % i)
        assert (r.status, r.backend) == (200, 'good'), r
    assert p.get('/one/x').status == 502
    # round robin starts with the first server: no next one when it fails
    assert p.get('/off/x').status == 502
    assert p.get('/off/y').status == 200
    log = p.error_log()
    assert re.search(r'SSL_do_handshake\(\) failed .* while SSL handshaking to upstream, '
                     r'client: 127\.0\.0\.1, .*upstream: "https://127\.0\.0\.1:%d/' % plain.port,
                     log), log


def test_upssl_handshake_timeout(t):
    """A server that accepts but never answers the ClientHello: the
    handshake is under proxy_connect_timeout (504, nginx's line)."""
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(8)
    t.defer(ls.close)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass https://127.0.0.1:{mute}; proxy_connect_timeout 1s; }
}""", mute=ls.getsockname()[1])
    r = p.get('/x')
    assert r.status == 504, r
    assert 'upstream timed out (110: Connection timed out) while SSL handshaking to upstream' \
        in p.error_log()


def test_upssl_session_reuse(t):
    """proxy_ssl_session_reuse on (default): later connections resume the
    server's session; off: every handshake is a full one."""
    d, crt, key = certs(t)
    b1 = tls_backend(t, 'b1', crt, key)
    b2 = tls_backend(t, 'b2', crt, key)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /on/ { proxy_pass https://127.0.0.1:{b1}; }
    location /off/ { proxy_pass https://127.0.0.1:{b2}; proxy_ssl_session_reuse off; }
}""", b1=b1, b2=b2)
    for i in range(4):
        assert p.get('/on/%d' % i).status == 200
        assert p.get('/off/%d' % i).status == 200
    assert len(b1.tls) == 4 and len(b2.tls) == 4
    assert not b1.tls[0]['reused'] and all(x['reused'] for x in b1.tls[1:]), b1.tls
    assert not any(x['reused'] for x in b2.tls), b2.tls


KA_CONF = """
upstream pool { %s server 127.0.0.1:{b1}; server 127.0.0.1:{b2}; keepalive 8; }
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass https://pool;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}"""


def test_upssl_keepalive_pool(t):
    """keepalive: idle TLS connections are reused (one per server for 10
    requests); one the server closed while idle is not reused."""
    d, crt, key = certs(t)
    b1 = tls_backend(t, 'b1', crt, key)
    b2 = tls_backend(t, 'b2', crt, key)
    p = t.proxy(KA_CONF % '', b1=b1, b2=b2)
    for i in range(10):
        r = p.get('/k%d' % i)
        assert r.status == 200, r
    assert (b1.connections, b2.connections) == (1, 1)
    assert (b1.count(), b2.count()) == (5, 5)
    # the servers now close after each answer: lbd sees the close_notify/FIN
    b1.close_idle = b2.close_idle = True
    for i in range(6):
        r = p.get('/c%d' % i)
        assert r.status == 200, r
        # the backend has closed it; the FIN reaches the idle proxy at once
        wait_for(lambda: b1.closed + b2.closed >= i + 1, what='backend closes')
        time.sleep(0.1)
    # the two pooled connections served one request each, then 4 new ones
    assert b1.connections + b2.connections == 6, (b1.connections, b2.connections)
    assert not b1.failures and not b2.failures
    assert 'prematurely closed' not in p.error_log()


def test_upssl_balancing_methods(t):
    """Every balancing method picks among https servers as among http ones."""
    d, crt, key = certs(t)
    b1 = tls_backend(t, 'b1', crt, key)
    b2 = tls_backend(t, 'b2', crt, key)
    for method in ('', 'least_conn;', 'ip_hash;', 'hash $arg_k;', 'hash $arg_k consistent;',
                   'random;', 'random two least_conn;'):
        p = t.proxy(KA_CONF % method, b1=b1, b2=b2)
        seen = set()
        for i in range(12):
            r = p.get('/m?k=%d' % i)
            assert r.status == 200, (method, r)
            seen.add(r.backend)
        if method == 'ip_hash;':
            assert len(seen) == 1, seen
        elif method in ('', 'least_conn;'):
            assert seen == {'b1', 'b2'}, (method, seen)
        p.stop()


def test_upssl_bodies(t):
    """Request bodies (Content-Length, chunked, 4 MiB, unbuffered) and
    response bodies (4 MiB, chunked) cross the TLS leg byte-exact."""
    d, crt, key = certs(t)
    b = tls_backend(t, 'b1', crt, key)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    client_max_body_size 16m;
    location / { proxy_pass https://127.0.0.1:{b}; proxy_http_version 1.1; }
    location /u/ { proxy_pass https://127.0.0.1:{b}; proxy_http_version 1.1;
                   proxy_request_buffering off; }
}""", b=b)
    big = os.urandom(4 << 20)
    for path in ('/in', '/u/in'):
        r = p.req('POST', path, body=big)
        j = r.json()
        assert r.status == 200 and j['body_len'] == len(big), (path, r.status)
        assert j['body_sha256'] == hashlib.sha256(big).hexdigest()
        c = p.conn()
        body = b'5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'
        c.send(b'POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
               % path.encode() + body)
        r = c.read_response()
        assert r.status == 200 and r.json()['body_sha256'] == \
            hashlib.sha256(b'hello world').hexdigest(), r
        c.close()
    r = p.get('/size/4194304')
    pat = b'0123456789abcdef' * 64
    assert r.status == 200 and r.body == (pat * 4097)[:4 << 20]
    r = p.get('/chunked')
    assert r.status == 200 and r.body == b''.join(Backend.CHUNKS)


def test_upssl_client_certificate(t):
    """proxy_ssl_certificate / _key (encrypted, proxy_ssl_password_file):
    the backend that requires a client certificate sees it."""
    d, crt, key = certs(t)
    ccrt, ckey = make_cert(t, d, 'client', 'lb-client.test')
    enc = os.path.join(d, 'client.enc.key')
    subprocess.run(['openssl', 'pkey', '-in', ckey, '-aes256', '-passout', 'pass:s3cret',
                    '-out', enc], check=True, capture_output=True, timeout=60)
    os.chmod(enc, 0o644)
    pw = t.write(os.path.join(d, 'pw.txt'), 'wrong\ns3cret\n')
    b = tls_backend(t, 'b1', crt, key, client_ca=ccrt)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass https://127.0.0.1:{b};
                 proxy_ssl_certificate {ccrt}; proxy_ssl_certificate_key {enc};
                 proxy_ssl_password_file {pw}; }
    location /none/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_session_reuse off; }
}""", b=b, ccrt=ccrt, enc=enc, pw=pw)
    assert p.get('/x').status == 200
    assert b.tls[-1]['peer'] == 'lb-client.test', b.tls
    assert p.get('/none/x').status == 502
    # the backend thread records its failed handshake after the alert it
    # sent, which may be after lbd's 502 reached the client
    wait_for(lambda: b.failures, what='the backend to record the refused handshake')


def test_upssl_protocols_ciphers(t):
    """proxy_ssl_protocols and proxy_ssl_ciphers reach the handshake."""
    d, crt, key = certs(t)
    b = tls_backend(t, 'b1', crt, key)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /12/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_protocols TLSv1.2;
                    proxy_ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256; }
    location /13/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_protocols TLSv1.3; }
}""", b=b)
    assert p.get('/12/x').status == 200
    assert (b.tls[-1]['version'], b.tls[-1]['cipher']) == \
        ('TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256'), b.tls
    assert p.get('/13/x').status == 200
    assert b.tls[-1]['version'] == 'TLSv1.3', b.tls


def test_upssl_conf_command(t):
    """proxy_ssl_conf_command goes to OpenSSL's SSL_CONF_cmd after every
    other setting (here TLS 1.3's suites, which proxy_ssl_ciphers cannot
    set); a level's list replaces the outer one; an unknown command is a
    -t error naming the line, as nginx."""
    d, crt, key = certs(t)
    b = tls_backend(t, 'b1', crt, key)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_ssl_protocols TLSv1.3;
    proxy_ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;
    location /a/ { proxy_pass https://127.0.0.1:{b}; }
    location /b/ { proxy_pass https://127.0.0.1:{b};
                   proxy_ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256; }
}""", b=b)
    assert p.get('/a/x').status == 200
    assert b.tls[-1]['cipher'] == 'TLS_CHACHA20_POLY1305_SHA256', b.tls
    assert p.get('/b/x').status == 200
    assert b.tls[-1]['cipher'] == 'TLS_AES_128_GCM_SHA256', b.tls
    p.write_conf(http="""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass https://127.0.0.1:9;
                 proxy_ssl_conf_command NoSuchCommand x; }
}""")
    r = p.run('-t')
    assert r.returncode != 0
    assert 'SSL_CONF_cmd("NoSuchCommand", "x") failed' in r.stderr, r.stderr


def test_upssl_crl(t):
    """proxy_ssl_crl: a server certificate its CA revoked fails verify."""
    d, crt, key = certs(t)
    ca_key, ca_crt = os.path.join(d, 'ca.key'), os.path.join(d, 'ca.crt')
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True, timeout=60, cwd=d)
    run('openssl', 'req', '-x509', '-nodes', '-days', '30', '-subj', '/CN=test CA',
        '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', ca_key, '-out', ca_crt)
    srv_key, srv_csr, srv_crt = (os.path.join(d, n) for n in ('s.key', 's.csr', 's.crt'))
    run('openssl', 'req', '-nodes', '-subj', '/CN=backend.test', '-newkey', 'ec', '-pkeyopt',
        'ec_paramgen_curve:P-256', '-keyout', srv_key, '-out', srv_csr)
    ext = t.write(os.path.join(d, 'ext.cnf'), 'subjectAltName=DNS:backend.test\n')
    run('openssl', 'x509', '-req', '-in', srv_csr, '-CA', ca_crt, '-CAkey', ca_key,
        '-CAcreateserial', '-days', '30', '-extfile', ext, '-out', srv_crt)
    # a minimal CA database to revoke with
    t.write(os.path.join(d, 'index.txt'), '')
    t.write(os.path.join(d, 'crlnumber'), '01\n')
    cnf = t.write(os.path.join(d, 'ca.cnf'), """
[ca]
default_ca = c
[c]
database = %(d)s/index.txt
crlnumber = %(d)s/crlnumber
default_md = sha256
default_crl_days = 30
""" % {'d': d})
    empty_crl, revoked_crl = os.path.join(d, 'empty.crl'), os.path.join(d, 'revoked.crl')
    run('openssl', 'ca', '-config', cnf, '-gencrl', '-keyfile', ca_key, '-cert', ca_crt,
        '-out', empty_crl)
    run('openssl', 'ca', '-config', cnf, '-revoke', srv_crt, '-keyfile', ca_key, '-cert', ca_crt)
    run('openssl', 'ca', '-config', cnf, '-gencrl', '-keyfile', ca_key, '-cert', ca_crt,
        '-out', revoked_crl)
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    b = tls_backend(t, 'b1', srv_crt, srv_key)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_ssl_session_reuse off;  # a resumed session keeps its verify result
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate {ca};
    proxy_ssl_name backend.test;
    location /good/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_crl {empty}; }
    location /bad/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_crl {revoked}; }
}""", b=b, ca=ca_crt, empty=empty_crl, revoked=revoked_crl)
    assert p.get('/good/x').status == 200
    assert p.get('/bad/x').status == 502
    assert re.search(r'upstream SSL certificate verify error: \(23:certificate revoked\)',
                     p.error_log()), p.error_log()


def test_upssl_websocket(t):
    """An Upgrade to an https upstream: 101, then bytes both ways through
    the TLS leg (relayed in userspace by lbd), 1 MiB each way byte-exact."""
    from test_websocket import UpgradeServer, _upgrade_req, _read_head, _recv_exact, pattern
    d, crt, key = certs(t)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(crt, key)

    class TLSUpgrade(UpgradeServer):
        def _serve(self, c):
            try:
                c.settimeout(20)
                c = sctx.wrap_socket(c, server_side=True)
            except (ssl.SSLError, OSError):
                c.close()
                return
            super()._serve(c)

    ws = TLSUpgrade()
    t.defer(ws.close)
    p = t.proxy("""
map $http_upgrade $connection_upgrade { default upgrade; '' close; }
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass https://127.0.0.1:{ws};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
    }
}""", ws=ws.port)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=20)
    s.sendall(_upgrade_req('/echo') + b'early!')
    head, rest = _read_head(s)
    assert head.startswith('HTTP/1.1 101'), head
    assert _recv_exact(s, 6, rest) == b'early!'
    for i in range(5):
        msg = b'message %d' % i
        s.sendall(msg)
        assert _recv_exact(s, len(msg)) == msg
    big = pattern(1 << 20)
    done = []
    th = threading.Thread(target=lambda: (s.sendall(big), done.append(1)), daemon=True)
    th.start()
    assert _recv_exact(s, len(big)) == big
    th.join(20)
    assert done
    s.close()


def test_upssl_t_errors(t):
    """`-t`: nginx's messages for a missing trusted certificate file, a
    key that is not one, a certificate without its key and verify
    without trusted certificates; lbd names the directive's FILE:LINE."""
    d, crt, key = certs(t)
    bad = t.write(os.path.join(d, 'bad.key'), 'not a key\n')
    missing = os.path.join(d, 'missing.pem')
    cases = [
        ('proxy_ssl_verify on; proxy_ssl_trusted_certificate %s;' % missing,
         'SSL_CTX_load_verify_locations("%s") failed' % missing, 'proxy_ssl_trusted'),
        ('proxy_ssl_certificate %s; proxy_ssl_certificate_key %s;' % (crt, bad),
         'cannot load certificate key "%s"' % bad, 'proxy_ssl_certificate_key'),
        ('proxy_ssl_certificate %s;' % crt,
         'no "proxy_ssl_certificate_key" is defined for certificate "%s"' % crt, None),
        ('proxy_ssl_verify on;', 'no proxy_ssl_trusted_certificate for proxy_ssl_verify', None),
    ]
    for directive, want, line_of in cases:
        p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass https://127.0.0.1:9; %s }
}""" % directive, start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        assert res.returncode != 0 and want in out, (directive, out)
        if line_of and not t.is_nginx:
            assert conf_line(p, line_of) in out, (directive, out)
    # a good configuration passes
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass https://127.0.0.1:9; proxy_ssl_verify on;
                 proxy_ssl_trusted_certificate %s; }
}""" % crt, start=False)
    p.write_conf()
    res = p.run('-t')
    assert res.returncode == 0, res.stderr


def test_upssl_h2_client(t):
    """An HTTP/2 client (h2c) to an https upstream: a POST body and a
    1 MiB answer, byte-exact."""
    from test_h2 import curl_h2
    d, crt, key = certs(t)
    b = tls_backend(t, 'b1', crt, key)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    location / { proxy_pass https://127.0.0.1:{b}; }
}""", b=b)
    data = os.path.join(d, 'post.bin')
    t.write(data, os.urandom(100000))
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/in' % p.port,
                                    ['--data-binary', '@' + data], prior=True)
    assert (ver, code) == ('2', 200), (ver, code, head)
    with open(data, 'rb') as f:
        assert json.loads(body)['body_sha256'] == hashlib.sha256(f.read()).hexdigest()
    ver, code, head, body = curl_h2('http://127.0.0.1:%d/size/1048576' % p.port, prior=True)
    pat = b'0123456789abcdef' * 64
    assert code == 200 and body == (pat * 1025)[:1 << 20]


def test_upssl_verify_depth(t):
    """proxy_ssl_verify_depth: a server certificate issued by an
    intermediate CA (sent in its chain) passes the default depth 1 (one
    untrusted CA); depth 0 fails it with nginx's verify error."""
    d, _, _ = certs(t)
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True, timeout=60, cwd=d)
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
    ca_ext = t.write(os.path.join(d, 'ca.ext'),
                     'basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n')
    leaf_ext = t.write(os.path.join(d, 'leaf.ext'), 'subjectAltName=DNS:backend.test\n')
    run('openssl', 'req', '-x509', '-days', '30', '-subj', '/CN=root', *ec,
        '-keyout', 'root.key', '-out', 'root.crt')
    run('openssl', 'req', '-subj', '/CN=inter', *ec, '-keyout', 'inter.key', '-out', 'inter.csr')
    run('openssl', 'x509', '-req', '-in', 'inter.csr', '-CA', 'root.crt', '-CAkey', 'root.key',
        '-CAcreateserial', '-days', '30', '-extfile', ca_ext, '-out', 'inter.crt')
    run('openssl', 'req', '-subj', '/CN=backend.test', *ec, '-keyout', 'leaf.key',
        '-out', 'leaf.csr')
    run('openssl', 'x509', '-req', '-in', 'leaf.csr', '-CA', 'inter.crt', '-CAkey', 'inter.key',
        '-CAcreateserial', '-days', '30', '-extfile', leaf_ext, '-out', 'leaf.crt')
    with open(os.path.join(d, 'leaf.crt')) as a, open(os.path.join(d, 'inter.crt')) as b2:
        chain = t.write(os.path.join(d, 'chain.crt'), a.read() + b2.read())
    for f in os.listdir(d):
        os.chmod(os.path.join(d, f), 0o644)
    b = tls_backend(t, 'b1', chain, os.path.join(d, 'leaf.key'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_ssl_verify on;
    proxy_ssl_trusted_certificate {root};
    proxy_ssl_name backend.test;
    proxy_ssl_session_reuse off;
    location /d1/ { proxy_pass https://127.0.0.1:{b}; }
    location /d0/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_verify_depth 0; }
}""", b=b, root=os.path.join(d, 'root.crt'))
    assert p.get('/d1/x').status == 200
    assert p.get('/d0/x').status == 502
    assert re.search(r'upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL '
                     r'handshaking to upstream', p.error_log()), p.error_log()


RELOAD_CONF = """
upstream pool { server 127.0.0.1:{b}; keepalive 4; }
server {
    listen 127.0.0.1:{port};
    proxy_ssl_server_name on;
    location / {
        proxy_pass https://pool;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_ssl_name %s;
    }
}"""


def test_upssl_reload(t):
    """A reload (HUP) takes the new proxy_ssl_* settings (the new SNI on a
    new connection: the old generation's pooled connection is not reused)
    and a reload with a bad trusted certificate file keeps the old
    configuration serving."""
    d, crt, key = certs(t)
    b = tls_backend(t, 'b1', crt, key)
    p = t.proxy(RELOAD_CONF % 'one.test', b=b)
    assert p.get('/1').status == 200
    assert p.get('/2').status == 200
    assert b.connections == 1 and b.tls[-1]['sni'] == 'one.test', b.tls
    p.write_conf(http=RELOAD_CONF.replace('{b}', str(b.port)) % 'two.test')
    p.signal(signal.SIGHUP)
    wait_for(lambda: p.get('/3').status == 200 and b.tls[-1]['sni'] == 'two.test',
             timeout=10, what='the new proxy_ssl_name in use')
    bad = RELOAD_CONF.replace('{b}', str(b.port)) % 'three.test'
    bad = bad.replace('proxy_ssl_name', 'proxy_ssl_verify on; proxy_ssl_trusted_certificate '
                      + os.path.join(d, 'nope.pem') + '; proxy_ssl_name')
    p.write_conf(http=bad)
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'nope.pem' in p.error_log(), what='the reload error in error.log')
    assert p.alive()
    r = p.get('/4')
    assert r.status == 200, r


def test_upssl_backpressure(t):
    """A big answer (test_buffering.SIZE) over the TLS leg to a client that stops reading:
    with proxy_buffering off the backend is held (it cannot finish until
    the client reads), with it on (a temp file) the backend finishes;
    both bodies byte-exact."""
    import test_buffering as tb
    d, crt, key = certs(t)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(crt, key)

    class TLSBig(tb.BigBackend):
        def _serve(self, c, cid):
            c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
            try:
                c.settimeout(20)
                c = sctx.wrap_socket(c, server_side=True)
            except (ssl.SSLError, OSError):
                c.close()
                return
            super()._serve(c, cid)

    b = TLSBig()
    t.defer(b.close)
    conf = tb.CONF.replace('proxy_pass http://big', 'proxy_pass https://big')
    p = t.proxy(conf % 'proxy_buffering off;', b=b.port)
    tb._held(t, b, p, '/big')
    p.stop()
    p = t.proxy(conf % '', b=b.port)
    c = tb.SlowClient(p.port, '/big')
    rec = b.log[-1]
    wait_for(lambda: rec['done'], 20, what='backend finished while the client reads nothing')
    assert c.read_all() == tb.EXPECTED


def test_upssl_with_variables(t):
    """proxy_pass https:// with variables: an upstream block by name (with
    SNI and the verified name from it), a literal address (not verified:
    nginx matches no IP address against a certificate), as with a literal
    URL."""
    d, crt, key = certs(t)
    b = tls_backend(t, 'b1', crt, key)
    p = t.proxy("""
upstream backend.test { server 127.0.0.1:{b}; }
map $arg_to $dest { default backend.test; ip 127.0.0.1:{b}; }
server {
    listen 127.0.0.1:{port};
    proxy_ssl_server_name on;
    proxy_ssl_trusted_certificate {crt};
    location / { proxy_pass https://$dest; proxy_ssl_verify on; }
    location /ip/ { proxy_pass https://$dest; }
}""", b=b, crt=crt)
    r = p.get('/v/1')
    assert (r.status, r.backend) == (200, 'b1'), r
    assert b.tls[-1]['sni'] == 'backend.test', b.tls
    assert b.last().header('Host') == 'backend.test'
    r = p.get('/ip/2?to=ip')
    assert (r.status, r.backend) == (200, 'b1'), r
    assert b.last().header('Host') == '127.0.0.1:%d' % b.port


def test_upssl_client_certificate_inherited_apart(t):
    """proxy_ssl_certificate and proxy_ssl_certificate_key are inherited
    each on its own, as nginx merges them: a location naming only the key
    pairs it with the server's certificate, one naming only the
    certificate with its outer location's key, fixed or chosen by a
    variable (the backend sees that client)."""
    d, crt, key = certs(t)
    acrt, akey = make_cert(t, d, 'ca', 'client-a.test')
    bcrt, bkey = make_cert(t, d, 'cb', 'client-b.test')
    cas = os.path.join(d, 'cas.pem')
    with open(cas, 'w') as f:
        f.write(open(acrt).read() + open(bcrt).read())
    b = tls_backend(t, 'b1', crt, key, client_ca=cas)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_ssl_session_reuse off;  # each connection shows its certificate
    proxy_ssl_certificate {acrt};
    location /k/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_certificate_key {akey}; }
    location /o/ {
        proxy_ssl_certificate_key {bkey};
        location /o/c/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_certificate {bcrt}; }
        location /o/v/ { proxy_pass https://127.0.0.1:{b}; proxy_ssl_certificate $arg_c; }
    }
}""", b=b, acrt=acrt, akey=akey, bcrt=bcrt, bkey=bkey)
    assert p.get('/k/x').status == 200
    assert b.tls[-1]['peer'] == 'client-a.test', b.tls
    assert p.get('/o/c/x').status == 200
    assert b.tls[-1]['peer'] == 'client-b.test', b.tls
    assert p.get('/o/v/x?c=' + bcrt).status == 200
    assert b.tls[-1]['peer'] == 'client-b.test', b.tls
    # a key that does not fit the certificate it is now paired with
    for loc, bad in (('proxy_ssl_certificate_key %s;' % bkey, bkey),
                     ('proxy_ssl_certificate %s;' % bcrt, akey)):
        q = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_ssl_certificate %s; proxy_ssl_certificate_key %s;
    location / { proxy_pass https://127.0.0.1:1; %s }
}""" % (acrt, akey, loc), start=False)
        q.write_conf()
        res = q.run('-t')
        out = res.stdout + res.stderr
        assert res.returncode != 0, out
        assert 'SSL_CTX_use_PrivateKey("%s") failed' % bad in out, out
        assert 'key values mismatch' in out, out
