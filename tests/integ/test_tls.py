# SPDX-License-Identifier: MIT
"""TLS termination (issue 6, guide Step 7), same config for nginx and lbd:
TLS 1.2 and 1.3 handshakes, old versions refused, SNI among server blocks,
ECDSA and RSA certificates in one server, session resumption (tickets, and
certbot's options file with a shared cache and no tickets), HTTP->HTTPS
301, HSTS with `always`, proxying with X-Forwarded-Proto, 1 MiB both ways
and a 1 MiB static file through TLS, plain HTTP to the TLS port (400),
a bad certificate on reload keeps the old one serving, a renewed one is
served after reload. Certificates are made here with the openssl CLI."""

import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess

from harness import Conn, ConnClosed, wait_for, request

# What certbot writes to /etc/letsencrypt/options-ssl-nginx.conf, verbatim.
CERTBOT_OPTIONS = """\
# This file contains important security parameters. If you modify this file
# manually, Certbot will be unable to automatically provide future security
# updates. Instead, Certbot will print and log an error message with a path to
# the up-to-date file that you will need to refer to when manually updating
# this file. Contents are based on https://ssl-config.mozilla.org

ssl_session_cache shared:le_nginx_SSL:10m;
ssl_session_timeout 1440m;
ssl_session_tickets off;

ssl_protocols TLSv1.2 TLSv1.3;
ssl_prefer_server_ciphers off;

ssl_ciphers "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
"""


def make_cert(t, d, name, cn, kind='ec'):
    """A self-signed certificate for CN (also its SAN) in D/NAME.crt and
    D/NAME.key: ECDSA P-256 or RSA 2048. Returns (crt, key) paths."""
    crt, key = os.path.join(d, name + '.crt'), os.path.join(d, name + '.key')
    newkey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] \
        if kind == 'ec' else ['-newkey', 'rsa:2048']
    tmpc, tmpk = crt + '.new', key + '.new'
    subprocess.run(['openssl', 'req', '-x509', '-nodes', '-days', '30',
                    '-subj', '/CN=' + cn, '-addext',
                    'subjectAltName=DNS:' + cn, '-keyout', tmpk,
                    '-out', tmpc] + newkey,
                   check=True, capture_output=True, timeout=60)
    for p in (tmpc, tmpk):
        os.chmod(p, 0o644)
    # renames: a reload never sees a half-written file
    os.replace(tmpk, key)
    os.replace(tmpc, crt)
    return crt, key


def der_of(crt):
    with open(crt) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def client_ctx(minv=None, maxv=None, ciphers=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minv:
        ctx.minimum_version = minv
    if maxv:
        ctx.maximum_version = maxv
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


class TLSConn(Conn):
    """harness.Conn over TLS: same request/response helpers."""

    def __init__(self, port, ctx=None, sni='localhost', session=None,
                 timeout=5.0):
        self.timeout = timeout
        raw = socket.create_connection(('127.0.0.1', port), timeout=timeout)
        self.sock = (ctx or client_ctx()).wrap_socket(
            raw, server_hostname=sni, session=session)
        self.buf = b''
        self.eof = False

    def _fill(self, deadline):
        try:
            Conn._fill(self, deadline)
        except ssl.SSLError:
            self.eof = True
            raise ConnClosed('TLS stream ended')

    @property
    def version(self):
        return self.sock.version()

    def peer_der(self):
        return self.sock.getpeercert(binary_form=True)


def tls_get(port, path='/', host='localhost', sni=None, ctx=None,
            method='GET', body=b'', headers=None):
    with TLSConn(port, ctx=ctx, sni=sni or host) as c:
        r = c.request(method, path, headers=headers, body=body, host=host)
        r.tls_version = c.version
        r.peer = c.peer_der()
        return r


def _certs(t, *specs):
    d = t.tmpdir('certs-')
    out = {}
    for name, cn, kind in specs:
        out[name] = make_cert(t, d, name, cn, kind)
    return d, out


ECHO = 'return 200 "$scheme $https $ssl_protocol $ssl_server_name\\n";'


def test_tls_handshake_versions(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { %s }
}""" % (c['a'][0], c['a'][1], ECHO))
    for v, name in ((ssl.TLSVersion.TLSv1_2, 'TLSv1.2'),
                    (ssl.TLSVersion.TLSv1_3, 'TLSv1.3')):
        if t.is_nginx and name == 'TLSv1.3':
            # nginx 1.22's default ssl_protocols lack TLSv1.3 (1.23.4
            # added it); lbd's defaults are TLSv1.2 and TLSv1.3
            try:
                tls_get(p.port, host='a.test', ctx=client_ctx(v, v))
                raise AssertionError('nginx 1.22 did TLS 1.3 by default')
            except ssl.SSLError:
                continue
        r = tls_get(p.port, host='a.test', ctx=client_ctx(v, v))
        assert r.status == 200, r
        assert r.tls_version == name
        assert r.body == ('https on %s a.test\n' % name).encode(), r.body
    # TLS 1.0 and 1.1 are refused with the default settings
    for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        ctx = client_ctx(v, v, 'DEFAULT:@SECLEVEL=0')
        try:
            r = tls_get(p.port, host='a.test', ctx=ctx)
        except (ssl.SSLError, ConnectionResetError, ConnClosed):
            continue
        raise AssertionError('%s accepted: %r' % (v, r))
    assert tls_get(p.port, host='a.test').status == 200  # still serving
    # the refusal is logged at info with the client, as nginx does
    wait_for(lambda: re.search(r'SSL_do_handshake\(\) failed \(SSL: .*\) '
                               r'while SSL handshaking, client: 127\.0\.0\.1',
                               p.error_log()),
             what='the refused handshake in error.log')


def test_tls_sni_picks_server(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'), ('b', 'b.test', 'rsa'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "server a $ssl_server_name\\n"; }
}
server {
    listen 127.0.0.1:{port} ssl;
    server_name b.test *.b.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "server b $ssl_server_name\\n"; }
}""" % (c['a'] + c['b']))
    ra = tls_get(p.port, host='a.test')
    rb = tls_get(p.port, host='b.test')
    rw = tls_get(p.port, host='www.b.test')
    rx = tls_get(p.port, host='other.test')
    assert ra.peer == der_of(c['a'][0]) and ra.body == b'server a a.test\n'
    assert rb.peer == der_of(c['b'][0]) and rb.body == b'server b b.test\n'
    assert rw.peer == der_of(c['b'][0]) and rw.body == b'server b www.b.test\n'
    # unknown name: the default server (the first) answers with its cert
    assert rx.peer == der_of(c['a'][0]) and rx.body == b'server a other.test\n'


def test_tls_ecdsa_and_rsa_in_one_server(t):
    d, c = _certs(t, ('e', 'x.test', 'ec'), ('r', 'x.test', 'rsa'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name x.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "$ssl_cipher\\n"; }
}""" % (c['e'] + c['r']))
    v = ssl.TLSVersion.TLSv1_2
    re_ = tls_get(p.port, host='x.test',
                  ctx=client_ctx(v, v, 'ECDHE-ECDSA-AES128-GCM-SHA256'))
    rr = tls_get(p.port, host='x.test',
                 ctx=client_ctx(v, v, 'ECDHE-RSA-AES128-GCM-SHA256'))
    assert re_.peer == der_of(c['e'][0]), 'ECDSA client got another cert'
    assert rr.peer == der_of(c['r'][0]), 'RSA-only client got another cert'
    assert re_.body == b'ECDHE-ECDSA-AES128-GCM-SHA256\n'
    assert rr.body == b'ECDHE-RSA-AES128-GCM-SHA256\n'


def _resumes(port, version):
    ctx = client_ctx(version, version)
    with TLSConn(port, ctx=ctx, sni='a.test') as c1:
        assert c1.request(host='a.test').status == 200
        sess = c1.sock.session
        assert not c1.sock.session_reused
    with TLSConn(port, ctx=ctx, sni='a.test', session=sess) as c2:
        assert c2.request(host='a.test').status == 200
        return c2.sock.session_reused


def test_tls_session_resumption(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    opts = t.write(os.path.join(d, 'options-ssl-nginx.conf'), CERTBOT_OPTIONS)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 200 "tickets\\n"; }
}
server {
    listen 127.0.0.1:{port2} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    include %s;
    location / { return 200 "cache\\n"; }
}""" % (c['a'] + c['a'] + (opts,)))
    for port in (p.port, p.subs['port2']):
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            assert _resumes(port, v), 'no resumption on %d with %s' % (port, v)


def test_tls_session_cache_off(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_session_cache off;
    ssl_session_tickets off;
    location / { return 200 "x\\n"; }
}""" % c['a'])
    assert not _resumes(p.port, ssl.TLSVersion.TLSv1_2)


def test_tls_certbot_dhparam(t):
    d, c = _certs(t, ('r', 'a.test', 'rsa'))
    opts = t.write(os.path.join(d, 'options-ssl-nginx.conf'), CERTBOT_OPTIONS)
    dh = os.path.join(d, 'ssl-dhparams.pem')
    subprocess.run(['openssl', 'genpkey', '-genparam', '-algorithm', 'DH',
                    '-pkeyopt', 'group:ffdhe2048', '-out', dh], check=True,
                   capture_output=True, timeout=30)
    os.chmod(dh, 0o644)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    include %s;
    ssl_dhparam %s;
    location / { return 200 "$ssl_cipher\\n"; }
}""" % (c['r'] + (opts, dh)))
    v = ssl.TLSVersion.TLSv1_2
    r = tls_get(p.port, host='a.test',
                ctx=client_ctx(v, v, 'DHE-RSA-AES128-GCM-SHA256'))
    assert r.body == b'DHE-RSA-AES128-GCM-SHA256\n', r.body
    # a suite outside the list is refused
    try:
        r = tls_get(p.port, host='a.test',
                    ctx=client_ctx(v, v, 'AES128-SHA'))
        raise AssertionError('AES128-SHA accepted: %r' % r)
    except (ssl.SSLError, ConnectionResetError, ConnClosed):
        pass


def test_tls_redirect_and_hsts(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name a.test;
    return 301 https://$host$request_uri;
}
server {
    listen 127.0.0.1:{port2} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
    add_header X-Frame-Options "SAMEORIGIN" always;
    location / { return 200 "ok\\n"; }
    location /missing { return 404; }
    location /rel { return 301 /target; }
}""" % c['a'])
    r = p.get('/some/path?x=1&y=2', host='a.test')
    assert r.status == 301
    assert r.header('Location') == 'https://a.test/some/path?x=1&y=2'
    for path, st in (('/', 200), ('/missing', 404)):
        r = tls_get(p.subs['port2'], path, host='a.test')
        assert r.status == st
        assert r.header('Strict-Transport-Security') == \
            'max-age=31536000; includeSubDomains', (path, r)
        assert r.header('X-Frame-Options') == 'SAMEORIGIN'
    # a relative redirect made absolute names https and the port
    r = tls_get(p.subs['port2'], '/rel', host='a.test')
    assert r.status == 301
    assert r.header('Location') == 'https://a.test:%d/target' % p.subs['port2']


def test_tls_proxy_xfp_and_big_bodies(t):
    b1 = t.backend('b1')
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    client_max_body_size 4m;
    location / {
        proxy_pass http://127.0.0.1:{b1};
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-Proto $scheme;
    }
}""" % c['a'], b1=b1)
    with TLSConn(p.port, sni='a.test') as cn:
        r = cn.request('GET', '/x', host='a.test')
        assert (r.status, r.backend) == (200, 'b1')
        assert b1.last().header('X-Forwarded-Proto') == 'https'
        # 1 MiB from the backend, then 1 MiB up, on the same connection
        r = cn.request('GET', '/size/1048576', host='a.test')
        assert r.status == 200 and len(r.body) == 1048576, len(r.body)
        body = os.urandom(1 << 20)
        r = cn.request('POST', '/up', host='a.test', body=body)
        assert r.status == 200, r
        info = r.json()
        assert info['body_len'] == len(body), info['body_len']
        assert info['body_sha256'] == hashlib.sha256(body).hexdigest()


def test_tls_static_file(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    root = t.tmpdir('root-')
    data = os.urandom((1 << 20) + 123)
    t.write(os.path.join(root, 'big.bin'), data)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    sendfile on;
    root %s;
}""" % (c['a'] + (root,)))
    r = tls_get(p.port, '/big.bin')
    assert r.status == 200
    assert hashlib.sha256(r.body).digest() == hashlib.sha256(data).digest()


def test_tls_plain_http_to_tls_port(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "ok\\n"; }
}""" % c['a'])
    with Conn(p.port) as cn:
        r = cn.request('GET', '/', host='a.test')
        assert r.status == 400
        assert b'<title>400 The plain HTTP request was sent to HTTPS port' \
            b'</title>' in r.body, r.body
        assert b'<center>The plain HTTP request was sent to HTTPS port' \
            b'</center>' in r.body
        assert r.header('Connection') == 'close'
        assert cn.is_closed(3)
    assert tls_get(p.port, host='a.test').status == 200


def _tls_conf(crt, key):
    return """
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "ok\\n"; }
}""" % (crt, key)


def test_tls_reload_bad_key_keeps_serving(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'), ('other', 'o.test', 'ec'))
    p = t.proxy(_tls_conf(*c['a']))
    old = tls_get(p.port, host='a.test').peer
    # the key of another certificate: a mismatch
    p.write_conf(http=_tls_conf(c['a'][0], c['other'][1]))
    r = p.run('-t')
    assert r.returncode != 0
    assert 'SSL_CTX_use_PrivateKey("%s") failed' % c['other'][1] in r.stderr
    if not t.is_nginx:
        assert 'in %s:' % p.conf_path in r.stderr, r.stderr
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'key values mismatch' in p.error_log(),
             what='the reload error in error.log')
    assert p.alive()
    r = tls_get(p.port, host='a.test')
    assert r.status == 200 and r.peer == old
    # a missing certificate file likewise
    p.write_conf(http=_tls_conf(os.path.join(d, 'nope.crt'), c['a'][1]))
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'nope.crt' in p.error_log(),
             what='the missing file in error.log')
    assert p.alive()
    assert tls_get(p.port, host='a.test').peer == old


def test_tls_reload_renewed_cert(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy(_tls_conf(*c['a']))
    with TLSConn(p.port, sni='a.test') as held:
        assert held.request(host='a.test').status == 200
        old = held.peer_der()
        assert old == der_of(c['a'][0])
        make_cert(t, d, 'a', 'a.test', 'ec')  # certbot renew: same paths
        new = der_of(c['a'][0])
        assert new != old
        p.signal(signal.SIGHUP)
        wait_for(lambda: tls_get(p.port, host='a.test').peer == new,
                 timeout=10, what='the renewed certificate to be served')


def test_tls_config_errors(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy(_tls_conf(*c['a']), start=False)
    p.write_conf()
    assert p.run('-t').returncode == 0
    cases = [
        # listen ... ssl without a certificate
        ("""
server {
    listen 127.0.0.1:{port} ssl;
    location / { return 200; }
}""", 'no "ssl_certificate" is defined for the "listen ... ssl" directive'),
        (_tls_conf(os.path.join(d, 'missing.crt'), c['a'][1]),
         'cannot load certificate "%s": BIO_new_file() failed' %
         os.path.join(d, 'missing.crt')),
        ("""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_protocols TLSv1.2 TLSv1.4;
}""" % c['a'], 'invalid value "TLSv1.4"'),
        ("""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_session_cache shared:x;
}""" % c['a'], 'invalid session cache "shared:x"'),
    ]
    for conf, msg in cases:
        p.write_conf(http=conf)
        r = p.run('-t')
        assert r.returncode != 0, conf
        assert msg in r.stderr, (msg, r.stderr)


def test_tls_error_page_497_redirects(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    error_page 497 https://$host:$server_port$request_uri;
    location / { return 200 "ok\\n"; }
}""" % c['a'])
    r = request(p.port, 'GET', '/p?q=1', host='a.test')
    assert r.status == 302, r
    assert r.header('Location') == 'https://a.test:%d/p?q=1' % p.port


def test_tls_stapling_without_responder_warns(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_stapling on;
    ssl_stapling_verify on;
    ssl_trusted_certificate %s;
    location / { return 200 "ok\\n"; }
}""" % (c['a'] + (c['a'][0],)))
    assert tls_get(p.port, host='a.test').status == 200
    want = '"ssl_stapling" ignored, no OCSP responder URL in the ' \
        'certificate "%s"' % c['a'][0]
    wait_for(lambda: want in p.logs_text(), what='the stapling warning')


def test_tls_listen_http2_loads(t):
    """The guide's final `listen 443 ssl http2;` loads; a client that does
    not ask for h2 is served HTTP/1.1 by both (h2 itself: test_h2.py)."""
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl http2;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "ok\\n"; }
}""" % c['a'])
    r = tls_get(p.port, '/', host='a.test')
    assert r.status == 200 and r.version == 'HTTP/1.1', r
