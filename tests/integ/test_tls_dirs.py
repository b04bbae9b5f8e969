# SPDX-License-Identifier: MIT
"""More ngx_http_ssl_module directives, same config for nginx and lbd:
ssl_reject_handshake (a certificate-less default server that answers
unknown names and SNI-less probes with an unrecognized_name alert while
the named servers on the port keep working), ssl_buffer_size (the TLS
records on the wire are at most that size: the client here reads the raw
records itself), ssl_early_data on|off accepted, ssl_session_ticket_key
(servers sharing a key file resume each other's sessions, rotation),
ssl_password_file, client certificates (ssl_verify_client
on/optional/optional_no_ca, ssl_client_certificate,
ssl_trusted_certificate, 495/496 pages and error_page, $ssl_client_*, a
reload reading a changed CA file, ssl_crl, SNI), and the -t messages with
FILE:LINE for bad values."""

import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import re
import urllib.parse

from harness import Conn, recv_until_close, wait_for
from test_stream import MAIN as STREAM_MAIN
from test_tls import _certs, client_ctx, der_of, tls_get, TLSConn


def _rejected(port, sni):
    """Whether a handshake naming SNI (None: no SNI) ends with the
    server's unrecognized_name alert."""
    try:
        with TLSConn(port, sni=sni):
            return False
    except ssl.SSLError as e:
        assert 'UNRECOGNIZED_NAME' in str(e).upper(), e
        return True


def test_tls_reject_handshake(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'), ('b', 'b.test', 'ec'))
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl default_server;
    ssl_reject_handshake on;
}
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "server a $ssl_server_name\\n"; }
}
server {
    listen 127.0.0.1:{port} ssl;
    server_name b.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_reject_handshake on;
    location / { return 200 "server b\\n"; }
}
server {
    listen 127.0.0.1:{port2} ssl;
    server_name c.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_reject_handshake off;
    location / { return 200 "server c\\n"; }
}""" % (c['a'] + c['b'] + c['a']))
    # the default server needs no certificate: -t is happy
    r = p.run('-t')
    assert r.returncode == 0, r.stderr
    # a named server on the port serves as usual
    ra = tls_get(p.port, host='a.test')
    assert ra.status == 200 and ra.body == b'server a a.test\n', ra
    # an unknown name, no name at all, and a server saying `on` itself
    assert _rejected(p.port, 'other.test')
    assert _rejected(p.port, None)
    assert _rejected(p.port, 'b.test')
    # `off` changes nothing: unknown names get the default server
    r = tls_get(p.subs['port2'], host='x.test')
    assert r.status == 200 and r.body == b'server c\n', r
    # still serving after the rejections
    assert tls_get(p.port, host='a.test').status == 200


def test_tls_reject_handshake_bad_value(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_reject_handshake maybe;
}""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode != 0
    assert ('invalid value "maybe" in "ssl_reject_handshake" directive, it '
            'must be "on" or "off" in %s:' % p.conf_path) in r.stderr, r.stderr


def _records(port, host, path):
    """GET PATH over TLS 1.2 and return (body, lengths of the application
    data records the server sent), reading the raw records off the socket
    before the TLS library sees them."""
    ctx = client_ctx(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=host)
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    raw = bytearray()

    def pump():
        data = out.read()
        if data:
            s.sendall(data)

    def feed():
        data = s.recv(65536)
        if data:
            raw.extend(data)
            inc.write(data)
        else:
            inc.write_eof()
        return bool(data)

    try:
        for _ in range(100):
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
                assert feed(), 'closed during the handshake'
        pump()
        obj.write(('GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n'
                   % (path, host)).encode())
        pump()
        resp = bytearray()
        for _ in range(10000):
            try:
                chunk = obj.read(65536)
                if not chunk:
                    break
                resp.extend(chunk)
                continue
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            if not feed():
                break
    finally:
        s.close()
    lengths, i = [], 0
    while i + 5 <= len(raw):
        kind, n = raw[i], int.from_bytes(raw[i + 3:i + 5], 'big')
        if kind == 23:
            lengths.append(n)
        i += 5 + n
    head, _, body = bytes(resp).partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200'), head[:200]
    return body, lengths


def test_tls_buffer_size(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    www = t.tmpdir('www-')
    data = os.urandom(200 * 1024)
    t.write(os.path.join(www, 'big.bin'), data)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_buffer_size 4k;
    location / { root %s; }
}
server {
    listen 127.0.0.1:{port2} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { root %s; }
}""" % (c['a'] + (www,) + c['a'] + (www,)))
    # TLS 1.2 AES-GCM: 8 bytes of explicit nonce and a 16-byte tag a record
    small_body, small = _records(p.port, 'a.test', '/big.bin')
    big_body, big = _records(p.subs['port2'], 'a.test', '/big.bin')
    assert small_body == data and big_body == data
    assert max(small) <= 4096 + 24, max(small)
    assert len(small) >= len(data) // 4096, len(small)
    # without the directive: 16k records
    assert max(big) > 8192, max(big)


def test_tls_buffer_size_and_early_data_checks(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    base = """
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    %%s
    location / { return 200 "ok\\n"; }
}""" % c['a']
    p = t.proxy(base % 'ssl_early_data off; ssl_buffer_size 1400;')
    assert tls_get(p.port).status == 200
    p.write_conf(http=base % 'ssl_buffer_size 4q;')
    r = p.run('-t')
    assert r.returncode != 0
    assert ('"ssl_buffer_size" directive invalid value in %s:'
            % p.conf_path) in r.stderr, r.stderr
    # `on` (TLS 1.3 0-RTT): test_tls_early.py
    p.write_conf(http=base % 'ssl_early_data on;')
    r = p.run('-t')
    assert r.returncode == 0, r.stderr


# ---- client certificates ---------------------------------------------------

def _run(*args):
    subprocess.run(args, check=True, capture_output=True, timeout=60)


def _ca(d, name, cn):
    """A CA certificate and key in D/NAME.crt, D/NAME.key."""
    crt, key = os.path.join(d, name + '.crt'), os.path.join(d, name + '.key')
    _run('openssl', 'req', '-x509', '-nodes', '-days', '30', '-newkey', 'ec',
         '-pkeyopt', 'ec_paramgen_curve:P-256', '-subj', '/CN=' + cn,
         '-addext', 'basicConstraints=critical,CA:TRUE',
         '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
         '-keyout', key, '-out', crt)
    return crt, key


def _client(d, name, subj, ca, serial):
    """A client certificate for SUBJ signed by CA (crt, key)."""
    crt, key = os.path.join(d, name + '.crt'), os.path.join(d, name + '.key')
    csr = os.path.join(d, name + '.csr')
    _run('openssl', 'req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt',
         'ec_paramgen_curve:P-256', '-subj', subj, '-keyout', key, '-out', csr)
    _run('openssl', 'x509', '-req', '-in', csr, '-CA', ca[0], '-CAkey', ca[1],
         '-set_serial', serial, '-days', '30', '-out', crt)
    for p in (crt, key):
        os.chmod(p, 0o644)
    return crt, key


def _with_cert(cert=None):
    ctx = client_ctx()
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    return ctx


CLIENT_ECHO = ('return 200 "$ssl_client_verify|$ssl_client_s_dn|'
               '$ssl_client_i_dn|$ssl_client_serial|'
               '$ssl_client_fingerprint\\n";')


def test_tls_client_cert(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    ca = _ca(d, 'ca', 'Test CA')
    other = _ca(d, 'other', 'Other CA')
    good = _client(d, 'good', '/C=US/O=Example, Inc./CN=client one', ca,
                   '0x1234AB')
    bad = _client(d, 'bad', '/CN=intruder', other, '7')
    cafile = os.path.join(d, 'clients.pem')
    shutil.copy(ca[0], cafile)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_client_certificate %(ca)s;
    ssl_verify_client on;
    location / { %(echo)s }
}
server {
    listen 127.0.0.1:{port2} ssl;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_client_certificate %(ca)s;
    ssl_verify_client optional;
    location / { %(echo)s }
}
server {
    listen 127.0.0.1:{port3} ssl;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_verify_client optional_no_ca;
    ssl_verify_depth 2;
    error_page 496 @nocert;
    location / { %(echo)s }
    location @nocert { return 403 "no cert\\n"; }
}
server {
    listen 127.0.0.1:{port4} ssl;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_client_certificate %(other)s;
    ssl_trusted_certificate %(ca)s;
    ssl_verify_client on;
    error_page 495 496 =403 @nocert;
    location / { %(echo)s }
    location @nocert { return 403 "cert problem\\n"; }
}""" % {'crt': c['a'][0], 'key': c['a'][1], 'ca': cafile,
        'echo': CLIENT_ECHO, 'other': other[0]})
    port2, port3, port4 = (p.subs[k] for k in ('port2', 'port3', 'port4'))
    # no certificate: nginx's 496 page, sent as 400
    r = tls_get(p.port)
    assert r.status == 400, r
    assert b'<title>400 No required SSL certificate was sent</title>' in r.body
    # a certificate from another CA: 495
    r = tls_get(p.port, ctx=_with_cert(bad))
    assert r.status == 400, r
    assert b'<title>400 The SSL certificate error</title>' in r.body, r.body
    # a good one: 200 with the variables
    r = tls_get(p.port, ctx=_with_cert(good))
    assert r.status == 200, r
    with open(good[0]) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    want = ('SUCCESS|CN=client one,O=Example\\, Inc.,C=US|CN=Test CA|'
            '1234AB|%s\n'
            % hashlib.sha1(der).hexdigest())
    assert r.body.decode() == want, r.body
    # optional: no certificate is fine, a bad one is not
    r = tls_get(port2)
    assert r.status == 200 and r.body == b'NONE||||\n', r
    assert tls_get(port2, ctx=_with_cert(bad)).status == 400
    assert tls_get(port2, ctx=_with_cert(good)).body.startswith(b'SUCCESS|')
    # optional_no_ca: an unknown CA gets through, marked FAILED
    r = tls_get(port3, ctx=_with_cert(bad))
    assert r.status == 200, r
    v = r.body.decode().split('|')
    assert v[0].startswith('FAILED:unable to ') and v[1:4] == [
        'CN=intruder', 'CN=Other CA', '07'], r.body
    r = tls_get(port3)
    assert r.status == 200 and r.body.startswith(b'NONE|'), r
    # ssl_trusted_certificate's CAs verify too (only the client
    # certificate's are listed to the client); error_page takes 495 and 496
    r = tls_get(port4)
    assert r.status == 403 and r.body == b'cert problem\n', r
    assert tls_get(port4, ctx=_with_cert(bad)).status == 200
    assert tls_get(port4, ctx=_with_cert(good)).status == 200
    bad2 = _client(d, 'bad2', '/CN=nobody', _ca(d, 'third', 'Third CA'), '9')
    r = tls_get(port4, ctx=_with_cert(bad2))
    assert r.status == 403 and r.body == b'cert problem\n', r
    # a reload reads the CA file again: now the other CA's clients get in
    shutil.copy(other[0], cafile)
    p.signal(signal.SIGHUP)
    # (old workers may finish a connection meanwhile: both in one wait)
    wait_for(lambda: tls_get(p.port, ctx=_with_cert(bad)).status == 200 and
             tls_get(p.port, ctx=_with_cert(good)).status == 400,
             what='the new CA file after reload')


def test_tls_client_cert_checks(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    base = """
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    %%s
    location / { return 200 "ok\\n"; }
}""" % c['a']
    p = t.proxy(base % 'ssl_verify_client optional_no_ca;')
    assert tls_get(p.port).status == 200
    cases = [
        ('ssl_verify_client on;',
         'no ssl_client_certificate for ssl_verify_client'),
        ('ssl_verify_client sometimes;', 'invalid value "sometimes" in %s:'
         % p.conf_path),
        ('ssl_verify_client optional; ssl_client_certificate %s;'
         % os.path.join(d, 'missing.pem'),
         'SSL_CTX_load_verify_locations("%s") failed'
         % os.path.join(d, 'missing.pem')),
    ]
    for conf, msg in cases:
        p.write_conf(http=base % conf)
        r = p.run('-t')
        assert r.returncode != 0, conf
        assert msg in r.stderr, (conf, r.stderr)
        if not t.is_nginx:
            assert 'in %s:' % p.conf_path in r.stderr, r.stderr


def test_tls_client_cert_sni(t):
    # the default server asks for nothing; SNI picks one that verifies
    d, c = _certs(t, ('a', 'a.test', 'ec'), ('v', 'v.test', 'ec'))
    ca = _ca(d, 'ca', 'Test CA')
    good = _client(d, 'good', '/CN=client one', ca, '1')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    server_name a.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    location / { return 200 "a $ssl_client_verify\\n"; }
}
server {
    listen 127.0.0.1:{port} ssl;
    server_name v.test;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_client_certificate %s;
    ssl_verify_client on;
    location / { return 200 "v $ssl_client_verify $ssl_client_s_dn\\n"; }
}""" % (c['a'] + c['v'] + (ca[0],)))
    r = tls_get(p.port, host='a.test', ctx=_with_cert(good))
    assert r.status == 200 and r.body == b'a NONE\n', r
    r = tls_get(p.port, host='v.test', ctx=_with_cert(good))
    assert r.status == 200 and r.body == b'v SUCCESS CN=client one\n', r
    assert tls_get(p.port, host='v.test').status == 400


def test_tls_client_cert_crl(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    ca = _ca(d, 'ca', 'Test CA')
    revoked = _client(d, 'revoked', '/CN=revoked', ca, '5')
    fine = _client(d, 'fine', '/CN=fine', ca, '6')
    cnf = t.write(os.path.join(d, 'ca.cnf'),
                  '[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\n'
                  'crlnumber = %s/crlnumber\ndefault_md = sha256\n'
                  'default_crl_days = 30\n' % (d, d))
    t.write(os.path.join(d, 'index.txt'), '')
    t.write(os.path.join(d, 'crlnumber'), '01\n')
    crl = os.path.join(d, 'crl.pem')
    ca_args = ['-config', cnf, '-keyfile', ca[1], '-cert', ca[0]]
    _run('openssl', 'ca', *ca_args, '-revoke', revoked[0])
    _run('openssl', 'ca', *ca_args, '-gencrl', '-out', crl)
    os.chmod(crl, 0o644)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_client_certificate %s;
    ssl_crl %s;
    ssl_verify_client on;
    location / { return 200 "$ssl_client_verify\\n"; }
}""" % (c['a'] + (ca[0], crl)))
    r = tls_get(p.port, ctx=_with_cert(fine))
    assert r.status == 200 and r.body == b'SUCCESS\n', r
    r = tls_get(p.port, ctx=_with_cert(revoked))
    assert r.status == 400, r
    assert b'The SSL certificate error' in r.body, r.body


def _resumed(port_from, port_to, version):
    """A session from PORT_FROM offered to PORT_TO: resumed?"""
    ctx = client_ctx(version, version)
    with TLSConn(port_from, ctx=ctx, sni='a.test') as c1:
        assert c1.request(host='a.test').status == 200
        sess = c1.sock.session
    with TLSConn(port_to, ctx=ctx, sni='a.test', session=sess) as c2:
        assert c2.request(host='a.test').status == 200
        return c2.sock.session_reused


def test_tls_session_ticket_key(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    k80 = t.write(os.path.join(d, 'old.key'), os.urandom(80))
    k48 = t.write(os.path.join(d, 'new.key'), os.urandom(48))
    srv = """
server {
    listen 127.0.0.1:{%s} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_protocols TLSv1.2 TLSv1.3;
    %s
    location / { return 200 "ok\\n"; }
}"""
    keys = ('ssl_session_ticket_key %s;' % k80,
            'ssl_session_ticket_key %s;' % k80,
            'ssl_session_ticket_key %s; ssl_session_ticket_key %s;'
            % (k48, k80),
            'ssl_session_ticket_key %s;' % k48,
            '')
    names = ('port', 'port2', 'port3', 'port4', 'port5')
    p = t.proxy(''.join(srv % ((n,) + c['a'] + (k,))
                        for n, k in zip(names, keys)))
    port = [p.port] + [p.subs[n] for n in names[1:]]
    for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        # two servers with the same key file resume each other's sessions
        assert _resumed(port[0], port[1], v), v
        # the old key still opens tickets where a new one seals them
        assert _resumed(port[0], port[2], v), v
        assert _resumed(port[3], port[2], v), v  # a 48-byte key
        # a server without that key cannot
        assert not _resumed(port[0], port[3], v), v
        assert not _resumed(port[0], port[4], v), v
    # file checks as nginx's
    p.write_conf(http=srv % (('port',) + c['a'] + (
        'ssl_session_ticket_key %s;' % os.path.join(d, 'k'),)))
    t.write(os.path.join(d, 'k'), b'x' * 47)
    r = p.run('-t')
    assert r.returncode != 0
    msg = '"%s" must be 48 or 80 bytes' % os.path.join(d, 'k')
    assert msg in r.stderr, r.stderr
    if not t.is_nginx:
        assert 'in %s:' % p.conf_path in r.stderr, r.stderr


def test_tls_password_file(t):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    enc = os.path.join(d, 'enc.key')
    _run('openssl', 'pkey', '-in', c['a'][1], '-aes256', '-passout',
         'pass:right one', '-out', enc)
    os.chmod(enc, 0o644)
    pw = t.write(os.path.join(d, 'pw.txt'), 'wrong\r\nright one\n')
    conf = """
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    %s
    location / { return 200 "ok\\n"; }
}"""
    # the second line opens the key
    p = t.proxy(conf % (c['a'][0], enc, 'ssl_password_file %s;' % pw))
    r = tls_get(p.port)
    assert r.status == 200 and r.peer == der_of(c['a'][0]), r
    # no password file: an error, not a prompt on the terminal
    p.write_conf(http=conf % (c['a'][0], enc, ''))
    r = p.run('-t', timeout=10)
    assert r.returncode != 0
    assert 'cannot load certificate key "%s"' % enc in r.stderr, r.stderr
    # only wrong passwords
    t.write(pw, 'wrong\n')
    p.write_conf(http=conf % (c['a'][0], enc, 'ssl_password_file %s;' % pw))
    r = p.run('-t', timeout=10)
    assert r.returncode != 0
    assert 'cannot load certificate key "%s"' % enc in r.stderr, r.stderr


def test_tls_more_variables(t):
    """nginx's other TLS variables: $ssl_session_reused ("." then "r"),
    $ssl_session_id, the client certificate as PEM ($ssl_client_raw_cert),
    nginx's tab-indented form ($ssl_client_cert), URI-escaped
    ($ssl_client_escaped_cert, what `proxy_set_header X-SSL-Cert` carries),
    its validity ($ssl_client_v_start/_end/_remain), what the client
    offered ($ssl_ciphers, $ssl_curves), $ssl_early_data (none), and
    $http2 / $pipe on HTTP/1.1; a plaintext request finds them absent."""
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    ca = _ca(d, 'ca', 'Test CA')
    good = _client(d, 'good', '/CN=client one', ca, '0x42')
    p = t.proxy("""
log_format v '$ssl_session_reused|$ssl_session_id|$ssl_client_v_start|'
             '$ssl_client_v_end|$ssl_client_v_remain|$ssl_ciphers|$ssl_curves|'
             '$ssl_early_data|$http2|$pipe|$ssl_client_escaped_cert';
server {
    listen 127.0.0.1:{port} ssl;
    listen 127.0.0.1:{port2};
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_client_certificate %(ca)s;
    ssl_verify_client optional;
    ssl_session_cache shared:S:1m;
    access_log {prefix}/v.log v;
    location = /raw { return 200 "$ssl_client_raw_cert"; }
    location = /tab { return 200 "$ssl_client_cert"; }
    location = /esc { return 200 "$ssl_client_escaped_cert"; }
    location / { return 200 "ok"; }
}""" % {'crt': c['a'][0], 'key': c['a'][1], 'ca': ca[0]})
    with open(good[0]) as f:
        pem = f.read()
    ctx = _with_cert(good)
    v12 = client_ctx(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
    v12.load_cert_chain(good[0], good[1])
    assert tls_get(p.port, '/raw', ctx=ctx).body.decode() == pem
    tab = pem[:-1].replace('\n', '\n\t')
    assert tls_get(p.port, '/tab', ctx=ctx).body.decode() == tab
    esc = tls_get(p.port, '/esc', ctx=ctx).body.decode()
    assert esc == urllib.parse.quote(pem, safe='-'), esc
    # a TLS 1.2 session, then the same session resumed
    with TLSConn(p.port, ctx=v12, sni='a.test') as c1:
        assert c1.request('GET', '/one', host='a.test').status == 200
        sess = c1.sock.session
    with TLSConn(p.port, ctx=v12, sni='a.test', session=sess) as c2:
        assert c2.request('GET', '/two', host='a.test').status == 200
        assert c2.sock.session_reused
    r = Conn(p.subs['port2'])
    assert r.request('GET', '/plain').status == 200
    r.close()

    def lines():
        try:
            with open(os.path.join(p.prefix, 'v.log')) as f:
                return f.read().splitlines()
        except OSError:
            return []
    log = wait_for(lambda: len(lines()) >= 6 and lines())
    first, resumed, plain = (x.split('|') for x in log[3:6])
    start = subprocess.run(['openssl', 'x509', '-noout', '-startdate', '-enddate', '-in',
                            good[0]], capture_output=True, text=True, check=True).stdout
    assert first[0] == '.' and resumed[0] == 'r', log
    # a full TLS 1.2 handshake that sends a ticket has no id; the resumed one has
    assert first[1] == '-' and re.fullmatch('[0-9a-f]{64}', resumed[1]), log
    assert 'notBefore=%s\nnotAfter=%s\n' % (first[2], first[3]) == start, (first, start)
    assert first[4] in ('29', '30'), first
    ciphers = first[5].split(':')
    assert 'ECDHE-ECDSA-AES128-GCM-SHA256' in ciphers, first[5]
    assert 'X25519' in first[6].split(':'), first[6]
    assert first[7:10] == ['-', '', '.'], first
    assert first[10] == esc
    assert plain == ['-'] * 8 + ['', '.', '-'], plain


def test_tls_conf_command(t):
    """ssl_conf_command goes to OpenSSL's SSL_CONF_cmd last, as nginx: TLS
    1.3's suites (which ssl_ciphers cannot set), inherited from http by a
    server without its own list, replaced by one with its own; an
    unknown command is a -t error naming the line."""
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    p = t.proxy("""
ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_protocols TLSv1.3;
    location / { return 200 "$ssl_cipher"; }
}
server {
    listen 127.0.0.1:{port2} ssl;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_protocols TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
    location / { return 200 "$ssl_cipher"; }
}""" % {'crt': c['a'][0], 'key': c['a'][1]}, main=STREAM_MAIN + """
stream {
    server {
        listen 127.0.0.1:{port3} ssl;
        ssl_certificate %(crt)s;
        ssl_certificate_key %(key)s;
        ssl_protocols TLSv1.3;
        ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;
        return "$ssl_cipher";
    }
}""" % {'crt': c['a'][0], 'key': c['a'][1]})
    assert tls_get(p.port, host='a.test').body == b'TLS_CHACHA20_POLY1305_SHA256'
    assert tls_get(p.subs['port2'], host='a.test').body == b'TLS_AES_128_GCM_SHA256'
    raw = socket.create_connection(('127.0.0.1', p.subs['port3']), timeout=5)
    with client_ctx().wrap_socket(raw, server_hostname='a.test') as s:
        got = recv_until_close(s)
    assert got == b'TLS_AES_256_GCM_SHA384', got
    p.write_conf(http="""
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_conf_command NoSuchCommand x;
}""" % {'crt': c['a'][0], 'key': c['a'][1]})
    r = p.run('-t')
    assert r.returncode != 0
    assert 'SSL_CONF_cmd("NoSuchCommand", "x") failed' in r.stderr, r.stderr
