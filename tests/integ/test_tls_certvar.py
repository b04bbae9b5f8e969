# SPDX-License-Identifier: MIT
"""Certificates chosen per handshake by variables, and `data:` values, as
nginx 1.22 does them, same config for nginx and lbd:

* server side (http and stream `listen ... ssl`): ssl_certificate and
  ssl_certificate_key naming files by $ssl_server_name (a map over it
  too), `data:$var` with the PEM in a map, a fixed `data:` pair, an
  encrypted key with ssl_password_file, a fixed server beside a variable
  one on one address, session resumption; a missing file fails that
  handshake only, logged at [error] "cannot load certificate ...", and
  the next handshake is served;
* upstream side: proxy_ssl_certificate(_key) by request variables
  (nginx 1.21.0+) and `data:`, towards a backend that requires a client
  certificate and records it; a missing file is a 500 with nginx's
  [error] line; an empty value sends no certificate; the stream proxy's
  proxy_ssl_certificate by session variables.

Certificates are made here with the openssl CLI (test_tls.make_cert,
test_stream_ssl.make_ca)."""

import os
import re
import socket
import ssl
import subprocess

from harness import wait_for
from test_stream import MAIN, connect
from test_stream_ssl import make_ca, tls_connect, tls_echo
from test_tls import client_ctx, der_of, make_cert, tls_get, TLSConn
from test_upssl import tls_backend

ECHO = 'return 200 "$ssl_server_name\\n";'


def _sni_certs(t, *names):
    d = t.tmpdir('certvar-')
    for n in names:
        make_cert(t, d, n, n)
    return d


def _pem(path):
    with open(path) as f:
        return f.read()  # PEM wants the newline after its END line


def _handshake_fails(port, sni):
    try:
        tls_get(port, host=sni)
    except (ssl.SSLError, ConnectionResetError, OSError):
        return True
    return False


def test_certvar_by_server_name(t):
    """ssl_certificate DIR/$ssl_server_name.crt: each name gets its own
    certificate, read at each handshake (a renewed file is served without
    a reload); a name without files fails its handshake (logged at
    [error] with the evaluated path), and the next one is served."""
    d = _sni_certs(t, 'a.test', 'b.test')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name _;
    ssl_certificate {d}/$ssl_server_name.crt;
    ssl_certificate_key {d}/$ssl_server_name.key;
    location / { %s }
}""" % ECHO, d=d)
    for n in ('a.test', 'b.test'):
        r = tls_get(p.port, host=n)
        assert r.status == 200 and r.body == (n + '\n').encode(), r
        assert r.peer == der_of(os.path.join(d, n + '.crt'))
    # read at each handshake: a renewed file is served without a reload
    # (key first, then certificate: os.replace each, so a handshake in
    # between sees a mismatched pair at worst, never a torn file)
    old_der = der_of(os.path.join(d, 'a.test.crt'))
    make_cert(t, d, 'a.test', 'a.test')
    r = tls_get(p.port, host='a.test')
    assert r.peer == der_of(os.path.join(d, 'a.test.crt')) != old_der
    assert _handshake_fails(p.port, 'c.test')
    wait_for(lambda: re.search(
        r'\[error\] .*cannot load certificate "%s/c\.test\.crt": BIO_new_file\(\) failed '
        r'\(SSL: .*\) while SSL handshaking, client: 127\.0\.0\.1' % re.escape(d),
        p.error_log()), what='the [error] line of the missing certificate')
    assert tls_get(p.port, host='a.test').status == 200


def _s_client_subject(port, sni):
    """The subject line openssl s_client prints for a handshake with SNI
    (any bytes: python's ssl refuses such names), or None."""
    r = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % port,
                        '-servername', sni], input=b'', capture_output=True, timeout=20)
    m = re.search(rb'^subject=.*CN ?= ?([^\s,]+)', r.stdout, re.M)
    return m.group(1).decode() if m else None


def test_certvar_sni_climbing_out(t):
    """SNI "../other" with ssl_certificate DIR/$ssl_server_name.crt:
    nginx 1.22 reads DIR/../other.crt; lbd refuses a ".." segment that a
    variable brought in ([error] line), the handshake fails."""
    top = t.tmpdir('certvar-')
    make_cert(t, top, 'out.test', 'out.test')
    d = os.path.join(top, 'in')
    os.mkdir(d)
    make_cert(t, d, 'a.test', 'a.test')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name _;
    ssl_certificate {d}/$ssl_server_name.crt;
    ssl_certificate_key {d}/$ssl_server_name.key;
    location / { %s }
}""" % ECHO, d=d)
    assert _s_client_subject(p.port, 'a.test') == 'a.test'
    got = _s_client_subject(p.port, '../out.test')
    if t.is_nginx:
        assert got == 'out.test', got
        return
    assert got is None, got
    wait_for(lambda: re.search(
        r'\[error\] .*cannot load certificate "%s/\.\./out\.test\.crt": a "\.\." segment '
        r'from variables is refused while SSL handshaking' % re.escape(d), p.error_log()),
        what='the refusal')


def test_certvar_map_and_data(t):
    """`data:$pem` with the PEM text in a map over $ssl_server_name (and
    the key likewise); a fixed `data:` pair in another server; relative
    evaluated paths are under the configuration's directory (nginx's
    conf prefix)."""
    d = _sni_certs(t, 'a.test', 'b.test', 'c.test')
    a_crt, a_key = os.path.join(d, 'a.test.crt'), os.path.join(d, 'a.test.key')
    b_crt, b_key = os.path.join(d, 'b.test.crt'), os.path.join(d, 'b.test.key')
    # the PEM text goes in included files: the harness indents the
    # configuration it is given, which would break PEM's lines
    inc = t.write(os.path.join(d, 'pem.conf'), """
map $ssl_server_name $crt { default "%s"; }
map $ssl_server_name $key { default "%s"; }
map $ssl_server_name $rel { default c.test; }
""" % (_pem(a_crt), _pem(a_key)))
    fixed = t.write(os.path.join(d, 'fixed.conf'), """
ssl_certificate "data:%s";
ssl_certificate_key "data:%s";
""" % (_pem(b_crt), _pem(b_key)))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate data:$crt;
    ssl_certificate_key data:$key;
    location / { %s }
}
server {
    listen 127.0.0.1:{port} ssl;
    server_name c.test;
    ssl_certificate certs/$rel.crt;
    ssl_certificate_key certs/$rel.key;
    location / { %s }
}
server {
    listen 127.0.0.1:{port} ssl;
    server_name b.test;
    include {fixed};
    location / { %s }
}
include {inc};""" % (ECHO, ECHO, ECHO), inc=inc, fixed=fixed, start=False)
    p.write_conf()
    os.symlink(d, p.path('conf', 'certs'))
    p.start()
    for n in ('a.test', 'b.test', 'c.test'):
        r = tls_get(p.port, host=n)
        assert r.status == 200 and r.body == (n + '\n').encode(), r
        assert r.peer == der_of(os.path.join(d, n + ".crt")), n


def test_certvar_fixed_and_variable_servers(t):
    """A fixed pair in the default server and a variable pair in a named
    one on one address: SNI picks the server, its pair is evaluated then;
    no SNI gets the default's fixed certificate."""
    d = _sni_certs(t, 'fixed.test', 'v1.test', 'v2.test')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl default_server;
    server_name fixed.test;
    ssl_certificate {d}/fixed.test.crt;
    ssl_certificate_key {d}/fixed.test.key;
    location / { return 200 "fixed\\n"; }
}
server {
    listen 127.0.0.1:{port} ssl;
    server_name v1.test v2.test;
    ssl_certificate {d}/$ssl_server_name.crt;
    ssl_certificate_key {d}/$ssl_server_name.key;
    location / { %s }
}""" % ECHO, d=d)
    for n in ('v1.test', 'v2.test'):
        r = tls_get(p.port, host=n)
        assert r.body == (n + '\n').encode() and r.peer == der_of(
            os.path.join(d, n + '.crt')), r
    raw = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    with client_ctx().wrap_socket(raw) as s:  # no SNI
        assert s.getpeercert(binary_form=True) == der_of(os.path.join(d, 'fixed.test.crt'))


def test_certvar_password_file_and_resumption(t):
    """An encrypted key chosen by variables opens with ssl_password_file
    (read once, kept for the handshakes); TLS 1.2 sessions resume with a
    variable certificate."""
    d = _sni_certs(t, 'a.test')
    src = os.path.join(d, 'a.test.key')
    enc = os.path.join(d, 'a.test.enc')
    subprocess.run(['openssl', 'pkey', '-in', src, '-aes256', '-passout', 'pass:s3cret',
                    '-out', enc], check=True, capture_output=True, timeout=60)
    os.chmod(enc, 0o644)
    pw = t.write(os.path.join(d, 'pw.txt'), 'wrong\ns3cret\n')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name _;
    ssl_protocols TLSv1.2;
    ssl_certificate {d}/$ssl_server_name.crt;
    ssl_certificate_key {d}/$ssl_server_name.enc;
    ssl_password_file {pw};
    ssl_session_cache shared:S:1m;
    location / { %s }
}""" % ECHO, d=d, pw=pw)
    ctx = client_ctx(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
    with TLSConn(p.port, ctx=ctx, sni='a.test') as c:
        assert c.request('GET', '/', host='a.test').body == b'a.test\n'
        sess = c.sock.session
    with TLSConn(p.port, ctx=ctx, sni='a.test', session=sess) as c:
        assert c.request('GET', '/', host='a.test').body == b'a.test\n'
        assert c.sock.session_reused


def test_certvar_stream_server(t):
    """stream `listen ... ssl` with ssl_certificate by $ssl_server_name;
    a missing one fails that handshake, logged at [error]."""
    d = _sni_certs(t, 'a.test', 'b.test')
    main = MAIN + """stream {
    server {
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/$ssl_server_name.crt;
        ssl_certificate_key {d}/$ssl_server_name.key;
        return "s $ssl_server_name\\n";
    }
}
"""
    p = t.proxy('', main=main, d=d)
    for n in ('a.test', 'b.test'):
        s = tls_connect(p.port, sni=n)
        assert s.getpeercert(binary_form=True) == der_of(os.path.join(d, n + '.crt'))
        buf = b''
        while not buf.endswith(b'\n'):
            k = s.recv(100)
            if not k:
                break
            buf += k
        assert buf == ('s %s\n' % n).encode(), buf
        s.close()
    try:
        tls_connect(p.port, sni='c.test').close()
        raise AssertionError('handshake with a missing certificate succeeded')
    except (ssl.SSLError, OSError):
        pass
    wait_for(lambda: re.search(r'\[error\] .*cannot load certificate "%s/c\.test\.crt"'
                               % re.escape(d), p.error_log()),
             what='the [error] line of the missing certificate')


def test_certvar_upstream_by_request(t):
    """proxy_ssl_certificate(_key) with request variables: the backend that
    requires a client certificate of its CA sees the one the request
    named; `data:` from a map; a missing file is nginx's 500 and [error]
    line; an empty certificate sends none (the backend refuses: 502)."""
    d = t.tmpdir('certvar-')
    pki = make_ca(t, d)
    b = tls_backend(t, 'b1', pki['s.crt'], pki['s.key'], client_ca=pki['ca.crt'])
    inc = t.write(os.path.join(d, 'pem.conf'), """
map $arg_pem $ccrt { default ""; yes "data:%s"; }
map $arg_pem $ckey { default ""; yes "data:%s"; }
""" % (_pem(pki['c.crt']), _pem(pki['c.key'])))
    p = t.proxy("""
include {inc};
server {
    listen 127.0.0.1:{port};
    location /f/ { proxy_pass https://127.0.0.1:{b};
                   proxy_ssl_certificate {d}/$arg_who.crt;
                   proxy_ssl_certificate_key {d}/$arg_who.key; }
    location /d/ { proxy_pass https://127.0.0.1:{b};
                   proxy_ssl_certificate $ccrt; proxy_ssl_certificate_key $ckey; }
}""", b=b, d=d, inc=inc)
    r = p.get('/f/x?who=c')
    assert r.status == 200, r
    assert b.tls[-1]['peer'] == 'client.test', b.tls
    r = p.get('/d/x?pem=yes')
    assert r.status == 200, r
    assert b.tls[-1]['peer'] == 'client.test', b.tls
    n = len(b.tls)
    assert p.get('/f/x?who=nosuch').status == 500
    wait_for(lambda: re.search(
        r'\[error\] .*cannot load certificate "%s/nosuch\.crt": BIO_new_file\(\) failed '
        r'\(SSL: .*\) while connecting to upstream, client: 127\.0\.0\.1'
        % re.escape(d), p.error_log()), what='the [error] line of the missing certificate')
    assert len(b.tls) == n  # nothing was sent to the backend
    r = p.get('/d/x')
    if t.is_nginx:
        # nginx resumes the server's last session whatever certificate
        # the request named: the backend sees an earlier request's one
        assert r.status == 200 and b.tls[-1]['reused'], (r, b.tls)
        assert b.tls[-1]['peer'] == 'client.test'
        return
    # lbd never resumes a session made with a variable certificate: each
    # connection shows its own, and no certificate is no certificate
    assert r.status == 502, (r, b.tls)
    assert not any(x['reused'] for x in b.tls), b.tls
    wait_for(lambda: b.failures, what='the backend to record the refused handshake')


def test_certvar_upstream_stream(t):
    """The stream proxy's proxy_ssl_certificate with session variables (a
    map over $server_port): the backend sees the client certificate."""
    d = t.tmpdir('certvar-')
    pki = make_ca(t, d)
    b = tls_echo(t, 'b', pki['s.crt'], pki['s.key'], client_ca=pki['ca.crt'])
    main = MAIN + """stream {
    map $server_port $who { default c; }
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{b}; proxy_ssl on;
             proxy_ssl_certificate {d}/$who.crt; proxy_ssl_certificate_key {d}/$who.key; }
}
"""
    p = t.proxy('', main=main, b=b, d=d)
    s = connect(p.port)
    s.sendall(b'abc')
    assert s.recv(3) == b'abc'
    s.close()
    assert b.peers[-1] == 'client.test', b.peers


def test_certvar_t_errors(t):
    """-t: an unknown variable in ssl_certificate or proxy_ssl_certificate
    is refused as nginx does; a certificate without its key is named as
    written."""
    cases = [
        ('server { listen 127.0.0.1:{port} ssl;\n'
         '  ssl_certificate /x/$nosuchvar.crt;\n  ssl_certificate_key /x/k; }',
         r'unknown "nosuchvar" variable'),
        ('server { listen 127.0.0.1:{port} ssl;\n'
         '  ssl_certificate /x/$ssl_server_name.crt; }',
         r'no "ssl_certificate_key" is defined for certificate '
         r'"/x/\$ssl_server_name\.crt"'),
        ('server { listen 127.0.0.1:{port};\n'
         '  location / { proxy_pass https://127.0.0.1:1;\n'
         '    proxy_ssl_certificate $nosuchvar2; proxy_ssl_certificate_key /k; } }',
         r'unknown "nosuchvar2" variable'),
    ]
    for body, msg in cases:
        p = t.proxy(body, start=False)
        p.write_conf()
        r = p.run('-t')
        assert r.returncode != 0, (body, r.stderr)
        assert re.search(msg, r.stderr), (msg, r.stderr)
