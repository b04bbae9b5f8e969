# SPDX-License-Identifier: MIT
"""uwsgi over TLS: `uwsgi_pass suwsgi://...` (an address, an upstream
block, variables) and the uwsgi_ssl_* directives, same config for nginx
1.22 and lbd. The backends are the real uWSGI 2.0 (--ssl-socket, with a
client CA too) running test_uwsgi's echo app, and a small uwsgi-protocol
server behind Python's ssl module (TLSUwsgi) that records, per
connection, the SNI name, whether the session was resumed, the protocol,
the cipher and the client certificate, and answers with that record and
the vars it got. Checked: params and bodies both ways byte-exact through
uWSGI, an upstream block, uwsgi_ssl_verify on (a trusted chain and name
pass; a wrong name or an untrusted chain: 502 and nginx's error log line
naming suwsgi://) and off (the same bad certificate passes), the
handshake against a server that is not TLS (502, the next server tried),
uwsgi_ssl_server_name and uwsgi_ssl_name, uwsgi_ssl_certificate /
_certificate_key / _password_file (a client certificate the backend
requires), uwsgi_ssl_session_reuse on and off, uwsgi_ssl_protocols /
_ciphers / _conf_command, proxy_ssl_* not applying to uwsgi_pass, a
scheme in a variable's value, and `-t` errors."""

import hashlib
import json
import os
import re
import ssl
import struct
import subprocess
import threading

from harness import conf_line, raw_server, wait_for
from test_tls import make_cert
from test_upssl import GarbageServer, certs
from test_uwsgi import Uwsgi, big_bytes, jbody


class TLSUwsgi:
    """A uwsgi-protocol server behind TLS on 127.0.0.1:.port. Each
    connection: the handshake (a failure is kept in .failures), one
    packet read (vars, then the body by CONTENT_LENGTH), recorded in .tls
    as a dict (sni, reused, version, cipher, peer: the client
    certificate's CN or None, env, len, sha) and sent back as JSON in an
    HTTP-style answer, then the connection closed. CLIENT_CA: client
    certificates required, checked against that file."""

    def __init__(self, t, crt, key, client_ca=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(crt, key)
        if client_ca:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(client_ca)
        self._sni = threading.local()
        self.ctx.sni_callback = self._on_sni
        self.lock = threading.Lock()
        self.tls = []
        self.failures = []
        self.port = raw_server(t, self._handle, threaded=True)

    def _on_sni(self, sock, name, ctx):
        self._sni.name = name

    @staticmethod
    def _exact(s, n):
        b = b''
        while len(b) < n:
            d = s.recv(n - len(b))
            if not d:
                raise OSError('short read')
            b += d
        return b

    def _handle(self, s):
        self._sni.name = None
        try:
            c = self.ctx.wrap_socket(s, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self.lock:
                self.failures.append(str(e))
            return False
        try:
            cn = None
            for rdn in (c.getpeercert() or {}).get('subject', ()):
                for k, v in rdn:
                    if k == 'commonName':
                        cn = v
            h = self._exact(c, 4)
            size = struct.unpack('<H', h[1:3])[0]
            raw = self._exact(c, size)
            env, p = {}, 0
            while p < size:
                kl = struct.unpack('<H', raw[p:p + 2])[0]
                k = raw[p + 2:p + 2 + kl].decode('latin-1')
                p += 2 + kl
                vl = struct.unpack('<H', raw[p:p + 2])[0]
                env[k] = raw[p + 2:p + 2 + vl].decode('latin-1')
                p += 2 + vl
            body = self._exact(c, int(env.get('CONTENT_LENGTH') or 0))
            rec = {'sni': self._sni.name, 'reused': c.session_reused,
                   'version': c.version(), 'cipher': c.cipher()[0], 'peer': cn,
                   'env': env, 'len': len(body),
                   'sha': hashlib.sha256(body).hexdigest()}
            with self.lock:
                self.tls.append(rec)
            out = json.dumps(rec).encode()
            c.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
                      b'Content-Length: %d\r\n\r\n' % len(out) + out)
        finally:
            c.close()
        return False


def uws_proxy(t, server, http_extra='', start=True, **subs):
    return t.proxy("""
%s
server {
    listen 127.0.0.1:{port};
    include /etc/nginx/uwsgi_params;
%s
}""" % (http_extra, server), start=start, **subs)


def test_uwsgi_ssl_real_uwsgi(t):
    """suwsgi:// to uWSGI's --ssl-socket: the app sees uwsgi_params and
    the client's headers; a POST body and a 3 MiB answer byte-exact; an
    upstream block (suwsgi://NAME); the access log's $upstream_addr; a
    plain uwsgi_pass to the TLS socket fails (502)."""
    d, crt, key = certs(t)
    app = Uwsgi(t, ssl='%s,%s' % (crt, key))
    p = uws_proxy(t, """
    access_log {prefix}/logs/up.log up;
    client_max_body_size 8m;
    location / { uwsgi_pass suwsgi://{addr}; }
    location /pool/ { uwsgi_pass suwsgi://apps; }
    location = /big { uwsgi_pass suwsgi://apps; }
    location /plain/ { uwsgi_pass {addr}; }
""", http_extra="""
log_format up '$status $upstream_addr $upstream_status';
upstream apps { server {addr}; }
""", addr=app.addr)
    j = jbody(p.get('/x/y?a=1', headers={'X-Hello': 'there'}))
    assert j['env']['REQUEST_URI'] == '/x/y?a=1', j['env']
    assert j['env']['QUERY_STRING'] == 'a=1'
    assert j['env']['HTTP_X_HELLO'] == 'there'
    body = os.urandom(200000)
    j = jbody(p.req('POST', '/pool/post', body=body))
    assert j['len'] == len(body) and j['sha'] == hashlib.sha256(body).hexdigest()
    n = 3 * 1024 * 1024 + 7
    for q in ('&cl=1', ''):  # Content-Length, then close-delimited
        r = p.get('/big?n=%d%s' % (n, q), timeout=30)
        assert r.status == 200 and len(r.body) == n, (r.status, len(r.body), r.headers)
        assert r.body == big_bytes(n)
    assert p.get('/plain/x').status == 502
    wait_for(lambda: '200 %s 200' % app.addr in p.read('logs', 'up.log'),
             what='access log line')


def test_uwsgi_ssl_real_uwsgi_client_cert(t):
    """uWSGI requiring a client certificate (its --ssl-socket CA field):
    uwsgi_ssl_certificate and _certificate_key (encrypted, with
    uwsgi_ssl_password_file) pass; without them the handshake fails:
    502."""
    d, crt, key = certs(t)
    ccrt, ckey = make_cert(t, d, 'client', 'lb-client.test')
    enc = os.path.join(d, 'client.enc.key')
    subprocess.run(['openssl', 'pkey', '-in', ckey, '-aes256', '-passout', 'pass:s3cret',
                    '-out', enc], check=True, capture_output=True, timeout=60)
    os.chmod(enc, 0o644)
    pw = t.write(os.path.join(d, 'pw.txt'), 'wrong\ns3cret\n')
    app = Uwsgi(t, ssl='%s,%s,HIGH,!%s' % (crt, key, ccrt))  # '!': required
    # TLS 1.2: the refusal is the handshake's (TLS 1.3 tells it after)
    p = uws_proxy(t, """
    uwsgi_ssl_protocols TLSv1.2;
    location /13/ { uwsgi_pass suwsgi://{addr}; uwsgi_ssl_session_reuse off;
                    uwsgi_ssl_protocols TLSv1.3; }
    location / { uwsgi_pass suwsgi://{addr};
                 uwsgi_ssl_certificate {ccrt}; uwsgi_ssl_certificate_key {enc};
                 uwsgi_ssl_password_file {pw}; }
    # (no resumption: the session made with the certificate would do)
    location /none/ { uwsgi_pass suwsgi://{addr}; uwsgi_ssl_session_reuse off; }
    location /px/ { uwsgi_pass suwsgi://{addr}; uwsgi_ssl_session_reuse off;
                    proxy_ssl_certificate {ccrt}; proxy_ssl_certificate_key {ckey}; }
""", addr=app.addr, ccrt=ccrt, enc=enc, pw=pw, ckey=ckey)
    assert jbody(p.get('/x'))['env']['PATH_INFO'] == '/x'
    assert p.get('/none/x').status == 502
    # proxy_ssl_* are the proxy module's: no certificate sent
    assert p.get('/px/x').status == 502
    assert p.get('/13/x').status == 502
    assert re.search(r'SSL_do_handshake\(\) failed .* while SSL handshaking to upstream, '
                     r'client: 127\.0\.0\.1, .*upstream: "suwsgi://%s"' % re.escape(app.addr),
                     p.error_log()), p.error_log()


def test_uwsgi_ssl_verify(t):
    """uwsgi_ssl_verify on: a trusted chain and uwsgi_ssl_name pass; a
    wrong name and an untrusted chain are 502 with nginx's log lines
    (upstream "suwsgi://..."), the app never reached; off: the same
    certificate passes."""
    d, crt, key = certs(t)
    other, _ = make_cert(t, d, 'other', 'other.test')
    b = TLSUwsgi(t, crt, key)
    p = uws_proxy(t, """
    uwsgi_ssl_trusted_certificate {crt};
    uwsgi_ssl_session_reuse off;
    location /ok/ { uwsgi_ssl_verify on; uwsgi_pass suwsgi://127.0.0.1:{b};
                    uwsgi_ssl_name backend.test; }
    location /name/ { uwsgi_ssl_verify on; uwsgi_pass suwsgi://127.0.0.1:{b};
                      uwsgi_ssl_name wrong.test; }
    location /ca/ { uwsgi_ssl_verify on; uwsgi_pass suwsgi://127.0.0.1:{b};
                    uwsgi_ssl_name backend.test; uwsgi_ssl_trusted_certificate {other}; }
    location /off/ { uwsgi_pass suwsgi://127.0.0.1:{b}; uwsgi_ssl_name wrong.test;
                     uwsgi_ssl_trusted_certificate {other}; }
""", b=b.port, crt=crt, other=other)
    assert jbody(p.get('/ok/1'))['env']['REQUEST_URI'] == '/ok/1'
    assert p.get('/name/1').status == 502
    assert p.get('/ca/1').status == 502
    assert len(b.tls) == 1, b.tls
    assert p.get('/off/1').status == 200
    assert len(b.tls) == 2, b.tls
    log = p.error_log()
    assert re.search(r'upstream SSL certificate does not match "wrong\.test" while SSL '
                     r'handshaking to upstream, client: 127\.0\.0\.1, server: , request: '
                     r'"GET /name/1 HTTP/1\.1", upstream: "suwsgi://127\.0\.0\.1:%d"'
                     % b.port, log), log
    assert re.search(r'upstream SSL certificate verify error: \(\d+:[^)]+\) while SSL '
                     r'handshaking to upstream, .*"GET /ca/1 HTTP/1\.1", '
                     r'upstream: "suwsgi://', log), log


def test_uwsgi_ssl_handshake_failure_next(t):
    """A server that is not TLS behind suwsgi://: the handshake fails, an
    `error` for uwsgi_next_upstream: the next server (TLS) answers; alone
    it is 502 with nginx's log line."""
    d, crt, key = certs(t)
    good = TLSUwsgi(t, crt, key)
    bad = GarbageServer()
    t.defer(bad.close)
    p = uws_proxy(t, """
    location / { uwsgi_pass suwsgi://pool; }
    location /one/ { uwsgi_pass suwsgi://{plain}; }
""", http_extra="""
upstream pool { server {plain}; server 127.0.0.1:{good}; }
""", plain='127.0.0.1:%d' % bad.port, good=good.port)
    for i in range(2):  # round robin: the first one tries the bad server
        j = jbody(p.get('/n%d' % i))
        assert j['env']['PATH_INFO'] == '/n%d' % i
    assert len(good.tls) == 2
    assert p.get('/one/x').status == 502
    assert re.search(r'SSL_do_handshake\(\) failed .* while SSL handshaking to upstream, '
                     r'client: 127\.0\.0\.1, .*upstream: "suwsgi://127\.0\.0\.1:%d"' % bad.port,
                     p.error_log()), p.error_log()


def test_uwsgi_ssl_sni_and_name(t):
    """uwsgi_ssl_server_name on: SNI from the upstream block's name, or
    from uwsgi_ssl_name with a variable (its port dropped); no SNI for an
    address, nor with it off (the default)."""
    d, crt, key = certs(t)
    b = TLSUwsgi(t, crt, key)
    p = uws_proxy(t, """
    uwsgi_ssl_server_name on;
    uwsgi_ssl_session_reuse off;
    location /up/ { uwsgi_pass suwsgi://backend.test; }
    location /var/ { uwsgi_pass suwsgi://127.0.0.1:{b}; uwsgi_ssl_name $http_x_name; }
    location /ip/ { uwsgi_pass suwsgi://127.0.0.1:{b}; }
    location /off/ { uwsgi_pass suwsgi://backend.test; uwsgi_ssl_server_name off; }
    location /px/ { uwsgi_pass suwsgi://backend.test; uwsgi_ssl_server_name off;
                    proxy_ssl_server_name on; }
""", http_extra='upstream backend.test { server 127.0.0.1:{b}; }', b=b.port)
    assert p.get('/up/1').status == 200
    assert b.tls[-1]['sni'] == 'backend.test', b.tls
    assert p.get('/var/1', headers={'X-Name': 'chosen.example:8443'}).status == 200
    assert b.tls[-1]['sni'] == 'chosen.example', b.tls
    assert p.get('/ip/1').status == 200
    assert b.tls[-1]['sni'] is None, b.tls
    assert p.get('/off/1').status == 200
    assert b.tls[-1]['sni'] is None, b.tls
    assert p.get('/px/1').status == 200
    assert b.tls[-1]['sni'] is None, b.tls


def test_uwsgi_ssl_client_certificate(t):
    """uwsgi_ssl_certificate / _certificate_key: the backend sees the
    client certificate (inherited from the server level); each is
    inherited on its own, as nginx: the server's certificate pairs with a
    location's own key."""
    d, crt, key = certs(t)
    ccrt, ckey = make_cert(t, d, 'client', 'lb-client.test')
    b = TLSUwsgi(t, crt, key, client_ca=ccrt)
    p = uws_proxy(t, """
    uwsgi_ssl_certificate {ccrt};
    uwsgi_ssl_certificate_key {ckey};
    location / { uwsgi_pass suwsgi://127.0.0.1:{b}; }
""", b=b.port, ccrt=ccrt, ckey=ckey)
    assert p.get('/x').status == 200
    assert b.tls[-1]['peer'] == 'lb-client.test', b.tls
    p2 = uws_proxy(t, """
    uwsgi_ssl_session_reuse off;
    uwsgi_ssl_certificate {ccrt};
    location / { uwsgi_pass suwsgi://127.0.0.1:{b}; uwsgi_ssl_certificate_key {ckey}; }
""", b=b.port, ccrt=ccrt, ckey=ckey)
    assert p2.get('/y').status == 200
    assert b.tls[-1]['peer'] == 'lb-client.test', b.tls


def test_uwsgi_ssl_session_reuse(t):
    """uwsgi_ssl_session_reuse on (the default): every connection after
    the first resumes the server's session (uwsgi opens one connection
    per request); off: full handshakes only."""
    d, crt, key = certs(t)
    b1 = TLSUwsgi(t, crt, key)
    b2 = TLSUwsgi(t, crt, key)
    p = uws_proxy(t, """
    location /on/ { uwsgi_pass suwsgi://127.0.0.1:{b1}; }
    location /off/ { uwsgi_pass suwsgi://127.0.0.1:{b2}; uwsgi_ssl_session_reuse off; }
""", b1=b1.port, b2=b2.port)
    for i in range(4):
        assert p.get('/on/%d' % i).status == 200
        assert p.get('/off/%d' % i).status == 200
    assert len(b1.tls) == 4 and len(b2.tls) == 4
    assert not b1.tls[0]['reused'] and all(x['reused'] for x in b1.tls[1:]), b1.tls
    assert not any(x['reused'] for x in b2.tls), b2.tls


def test_uwsgi_ssl_protocols_ciphers(t):
    """uwsgi_ssl_protocols, uwsgi_ssl_ciphers and uwsgi_ssl_conf_command
    reach the handshake; proxy_ssl_protocols does not (lbd's default
    protocols are TLSv1.2 TLSv1.3, nginx's TLSv1 TLSv1.1 TLSv1.2: both
    set here)."""
    d, crt, key = certs(t)
    b = TLSUwsgi(t, crt, key)
    p = uws_proxy(t, """
    uwsgi_ssl_session_reuse off;
    location /12/ { uwsgi_pass suwsgi://127.0.0.1:{b}; uwsgi_ssl_protocols TLSv1.2;
                    uwsgi_ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256; }
    location /13/ { uwsgi_pass suwsgi://127.0.0.1:{b}; uwsgi_ssl_protocols TLSv1.3;
                    uwsgi_ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256; }
    location /px/ { uwsgi_pass suwsgi://127.0.0.1:{b}; uwsgi_ssl_protocols TLSv1.2;
                    proxy_ssl_protocols TLSv1.3; }
""", b=b.port)
    assert p.get('/12/x').status == 200
    assert (b.tls[-1]['version'], b.tls[-1]['cipher']) == \
        ('TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256'), b.tls
    assert p.get('/13/x').status == 200
    assert (b.tls[-1]['version'], b.tls[-1]['cipher']) == \
        ('TLSv1.3', 'TLS_CHACHA20_POLY1305_SHA256'), b.tls
    assert p.get('/px/x').status == 200
    assert b.tls[-1]['version'] == 'TLSv1.2', b.tls


def test_uwsgi_ssl_variables(t):
    """uwsgi_pass with variables: a value's own suwsgi:// (or uwsgi://)
    scheme is read per request, and suwsgi://$var is TLS too; the error
    log names the scheme."""
    d, crt, key = certs(t)
    b = TLSUwsgi(t, crt, key)
    plain = Uwsgi(t)
    bad = GarbageServer()
    t.defer(bad.close)
    p = uws_proxy(t, """
    location /v/ { uwsgi_pass $arg_to; }
    location /s/ { uwsgi_pass suwsgi://$arg_to; }
""")
    j = jbody(p.get('/v/1?to=suwsgi://127.0.0.1:%d' % b.port))
    assert j['env']['REQUEST_URI'].startswith('/v/1')
    assert len(b.tls) == 1
    j = jbody(p.get('/s/2?to=127.0.0.1:%d' % b.port))
    assert j['env']['PATH_INFO'] == '/s/2' and len(b.tls) == 2
    j = jbody(p.get('/v/3?to=uwsgi://%s' % plain.addr))
    assert j['env']['PATH_INFO'] == '/v/3'
    j = jbody(p.get('/v/4?to=%s' % plain.addr))
    assert j['env']['PATH_INFO'] == '/v/4'
    # TLS to a server that is not: the handshake fails
    assert p.get('/v/5?to=suwsgi://127.0.0.1:%d' % bad.port).status == 502
    assert re.search(r'while SSL handshaking to upstream, .*upstream: "suwsgi://127\.0\.0\.1:%d"'
                     % bad.port, p.error_log()), p.error_log()


def test_uwsgi_ssl_t_errors(t):
    """`-t`: nginx's messages for a certificate without its key, verify
    without trusted certificates (both at the http block's end in lbd,
    with no line in nginx), a missing trusted file and a bad key (lbd
    names the directive's line); a good configuration passes."""
    d, crt, key = certs(t)
    bad = t.write(os.path.join(d, 'bad.key'), 'not a key\n')
    missing = os.path.join(d, 'missing.pem')
    cases = [
        ('uwsgi_ssl_certificate %s;' % crt,
         'no "uwsgi_ssl_certificate_key" is defined for certificate "%s"' % crt, None),
        ('uwsgi_ssl_verify on;', 'no uwsgi_ssl_trusted_certificate for uwsgi_ssl_verify', None),
        ('uwsgi_ssl_verify on; uwsgi_ssl_trusted_certificate %s;' % missing,
         'SSL_CTX_load_verify_locations("%s") failed' % missing, 'uwsgi_ssl_trusted'),
        ('uwsgi_ssl_certificate %s; uwsgi_ssl_certificate_key %s;' % (crt, bad),
         'cannot load certificate key "%s"' % bad, 'uwsgi_ssl_certificate_key'),
        ('uwsgi_ssl_protocols TLSv1.2 SSLv9;', 'invalid value "SSLv9"', 'uwsgi_ssl_protocols'),
    ]
    for directive, want, line_of in cases:
        p = uws_proxy(t, """
    location / { uwsgi_pass suwsgi://127.0.0.1:9; %s }
""" % directive, start=False)
        p.write_conf()
        res = p.run('-t')
        out = res.stdout + res.stderr
        assert res.returncode != 0 and want in out, (directive, out)
        if line_of and not t.is_nginx:
            assert conf_line(p, line_of) in out, (directive, out)
    # a plain uwsgi_pass makes no context: nothing checked (nginx too)
    for loc in ('uwsgi_pass 127.0.0.1:9; uwsgi_ssl_verify on;',
                'uwsgi_pass suwsgi://127.0.0.1:9; uwsgi_ssl_verify on; '
                'uwsgi_ssl_trusted_certificate %s;' % crt):
        p = uws_proxy(t, """
    location / { %s }
""" % loc, start=False)
        p.write_conf()
        res = p.run('-t')
        assert res.returncode == 0, (loc, res.stderr)
        assert 'not supported' not in res.stderr, res.stderr
