# SPDX-License-Identifier: MIT
"""Upstream TLS details, same config for nginx 1.22 and lbd:

- an upstream whose TLS records go bad (a record that fails its MAC,
  plain bytes where a record should be) before the answer's head, in the
  middle of its body, for proxy_pass https://, uwsgi_pass suwsgi://,
  grpc_pass grpcs:// and the stream proxy with proxy_ssl on: nginx's line
  "SSL_read() failed (SSL: error:...) while ...", at error when OpenSSL's
  first error is a reason nginx blames on the peer (a bad MAC in TLS 1.3,
  "wrong version number") and at crit otherwise (TLS 1.2's failed MAC
  comes first as the provider's "cipher operation failed"), and the
  stream ended with FINs, not a reset;
- `*_ssl_certificate_key` without its `*_ssl_certificate` (proxy_, grpc_,
  uwsgi_, stream proxy_): accepted, and no client certificate is sent;
- certificates as `data:` PEM of a few KiB (a chain) through stream
  `set` and map values with variables, and http's."""

import os
import re
import socket
import ssl
import subprocess

from harness import raw_server, recv_until_close, request, wait_for
from test_stream import MAIN as STREAM_MAIN
from test_upssl import certs, tls_backend

BAD_MAC = b'\x17\x03\x03\x00\x20' + b'\x55' * 32  # application data, fails its MAC
NOT_TLS = b'HELLO WORLD GARBAGE\r\n\r\n'  # "wrong version number"


def bad_tls_server(t, crt, key, garbage, head=None, alpn=None):
    """A TLS server that reads what the client sends, then (after HEAD,
    sent through TLS, if given) writes GARBAGE on the raw socket and
    waits for the client to close."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    if alpn:
        ctx.set_alpn_protocols(alpn)

    def handle(c):
        s = ctx.wrap_socket(c, server_side=True)
        if not s.recv(65536):
            return False  # a readiness probe's session
        if head:
            s.sendall(head)
        os.write(s.fileno(), garbage)
        s.settimeout(5)
        recv_until_close(s, chunk=4096, end_on=(OSError,))  # SSLError and timeouts too
        return False
    return raw_server(t, handle, threaded=True)


# TLS 1.3 (AEAD records): the MAC failure alone, blamed on the peer
MAC_TEXT = ('SSL_read() failed (SSL: error:0A000119:SSL routines::decryption '
            'failed or bad record mac)')
# TLS 1.2: the provider's failure comes first, which nginx logs at crit
MAC12_TEXT = ('SSL_read() failed (SSL: error:1C800066:Provider routines::cipher '
              'operation failed error:0A000119:SSL routines::decryption failed or '
              'bad record mac)')
VERSION_TEXT = ('SSL_read() failed (SSL: error:0A00010B:SSL routines::wrong '
                'version number)')


def _line(p, what):
    """The error log line holding WHAT (waited for)."""
    wait_for(lambda: what in p.error_log(), what=what)
    return [ln for ln in p.error_log().splitlines() if what in ln][0]


def test_upstream_tls_read_errors_http(t):
    d, crt, key = certs(t)
    mac = bad_tls_server(t, crt, key, BAD_MAC)
    notls = bad_tls_server(t, crt, key, NOT_TLS)
    # the bad record after 64 KiB of body: far past what a head read takes
    body = bad_tls_server(t, crt, key, BAD_MAC,
                          head=b'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' +
                          b'x' * 65536)
    p = t.proxy("""
proxy_ssl_protocols TLSv1.2 TLSv1.3;
uwsgi_ssl_protocols TLSv1.2 TLSv1.3;
server {
    listen 127.0.0.1:{port};
    location /mac { proxy_pass https://127.0.0.1:%d; }
    location /mac12 { proxy_pass https://127.0.0.1:%d; proxy_ssl_protocols TLSv1.2; }
    location /notls { proxy_pass https://127.0.0.1:%d; }
    location /body { proxy_pass https://127.0.0.1:%d; }
    location /uwsgi { uwsgi_pass suwsgi://127.0.0.1:%d; }
}""" % (mac, mac, notls, body, notls))
    for path, port, level, text in (
            ('/mac', mac, 'error', MAC_TEXT), ('/mac12', mac, 'crit', MAC12_TEXT),
            ('/notls', notls, 'error', VERSION_TEXT)):
        assert request(p.port, path=path).status == 502
        ln = _line(p, 'request: "GET %s ' % path)
        assert ('[%s] ' % level) in ln, ln
        assert ('%s while reading response header from upstream, client: 127.0.0.1, '
                'server: , request: "GET %s HTTP/1.1", upstream: '
                '"https://127.0.0.1:%d%s"' % (text, path, port, path)) in ln, ln
    assert request(p.port, path='/uwsgi').status == 502
    ln = _line(p, 'request: "GET /uwsgi ')
    assert '[error] ' in ln and (
        '%s while reading response header from upstream' % VERSION_TEXT) in ln, ln
    assert 'upstream: "suwsgi://127.0.0.1:%d"' % notls in ln, ln
    # in the middle of the body: the head and some of the body went out,
    # then the client's connection is cut
    with socket.create_connection(('127.0.0.1', p.port), timeout=5) as s:
        s.sendall(b'GET /body HTTP/1.1\r\nHost: x\r\n\r\n')
        got = recv_until_close(s, reset_ok=True)
    assert got.startswith(b'HTTP/1.1 200') and len(got) < 100000, got[:200]
    ln = _line(p, 'request: "GET /body ')
    assert '[error] ' in ln and '%s while reading upstream, client: 127.0.0.1' % MAC_TEXT in ln, ln


def test_upstream_tls_read_errors_grpc(t):
    d, crt, key = certs(t)
    port = bad_tls_server(t, crt, key, NOT_TLS, alpn=['h2'])
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2;
    location / { grpc_pass grpcs://127.0.0.1:%d; grpc_ssl_protocols TLSv1.2 TLSv1.3; }
}""" % port)
    r = subprocess.run(['curl', '-sS', '--http2-prior-knowledge', '-o', '/dev/null',
                        '-w', '%{http_code}', '-H', 'content-type: application/grpc',
                        '-d', 'abc', 'http://127.0.0.1:%d/x.Y/Z' % p.port],
                       capture_output=True, text=True, timeout=20)
    assert r.stdout == '502', r
    ln = _line(p, 'request: "POST /x.Y/Z ')
    assert '[error] ' in ln and (
        '%s while reading response header from upstream' % VERSION_TEXT) in ln, ln
    assert 'upstream: "grpcs://127.0.0.1:%d"' % port in ln, ln


def test_upstream_tls_read_errors_stream(t):
    """The stream proxy's TLS leg: nginx logs the SSL_read failure with
    the session's byte counts and closes the client's side with a FIN."""
    d, crt, key = certs(t)
    mac = bad_tls_server(t, crt, key, BAD_MAC, head=b'hello')
    notls = bad_tls_server(t, crt, key, NOT_TLS)
    p = t.proxy('', main=STREAM_MAIN + """
stream {
    proxy_ssl_protocols TLSv1.2 TLSv1.3;
    server { listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:%d; proxy_ssl on; }
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:%d; proxy_ssl on; }
}""" % (mac, notls))
    for port, up, text in ((p.port, mac, MAC_TEXT), (p.subs['port2'], notls, VERSION_TEXT)):
        with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
            s.sendall(b'ping')
            got = recv_until_close(s)  # a reset would raise
        # the bytes before the bad record may or may not have gone out
        assert got in (b'', b'hello') if up == mac else got == b'', got
        ln = _line(p, 'upstream: "127.0.0.1:%d"' % up)
        assert '[error] ' in ln, ln
        assert re.search(
            r'\*\d+ %s while proxying and reading from upstream, client: 127\.0\.0\.1, '
            r'server: 127\.0\.0\.1:%d, upstream: "127\.0\.0\.1:%d", bytes from/to '
            r'client:4/\d+, bytes from/to upstream:\d+/4$' % (
                re.escape(text), port, up), ln), ln


def test_certificate_key_without_certificate(t):
    """`*_ssl_certificate_key` without its `*_ssl_certificate` (the key's
    file need not even exist): nginx 1.22 accepts it and sends no client
    certificate; a location with both sends one (the backends ask for a
    certificate without requiring it). proxy_, uwsgi_, the stream proxy's
    at run time; grpc_ at -t."""
    from test_stream_ssl import make_ca, tls_echo
    from test_uwsgi_ssl import TLSUwsgi
    d = t.tmpdir('keyonly-')
    pki = make_ca(t, d)
    be = tls_backend(t, 'be', pki['s.crt'], pki['s.key'], client_ca=pki['ca.crt'])
    uw = TLSUwsgi(t, pki['s.crt'], pki['s.key'], client_ca=pki['ca.crt'])
    echo = tls_echo(t, 'e', pki['s.crt'], pki['s.key'], client_ca=pki['ca.crt'])
    for ctx in (be.ctx, uw.ctx, echo.ctx):
        ctx.verify_mode = ssl.CERT_OPTIONAL
    missing = os.path.join(d, 'missing.key')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    proxy_ssl_session_reuse off;  # each connection shows its own certificate
    location /keyonly { proxy_pass https://127.0.0.1:%(be)d;
                        proxy_ssl_certificate_key %(missing)s; }
    location /both { proxy_pass https://127.0.0.1:%(be)d;
                     proxy_ssl_certificate %(crt)s; proxy_ssl_certificate_key %(key)s; }
    location /uwsgi { uwsgi_pass suwsgi://127.0.0.1:%(uw)d;
                      uwsgi_ssl_certificate_key %(missing)s; }
    location /grpc { grpc_pass grpcs://127.0.0.1:1; grpc_ssl_certificate_key %(missing)s; }
}""" % {'be': be.port, 'uw': uw.port, 'missing': missing, 'crt': pki['c.crt'],
        'key': pki['c.key']}, main=STREAM_MAIN + """
stream {
    server { listen 127.0.0.1:{port2}; proxy_pass 127.0.0.1:%(e)d; proxy_ssl on;
             proxy_ssl_certificate_key %(missing)s; }
}""" % {'e': echo.port, 'missing': missing})
    assert request(p.port, path='/keyonly').status == 200
    assert be.tls[-1]['peer'] is None, be.tls
    assert request(p.port, path='/both').status == 200
    assert be.tls[-1]['peer'] == 'client.test', be.tls
    assert request(p.port, path='/uwsgi').status == 200
    assert uw.tls[-1]['peer'] is None, uw.tls
    with socket.create_connection(('127.0.0.1', p.subs['port2']), timeout=5) as s:
        s.sendall(b'abc')
        assert s.recv(3) == b'abc'
    wait_for(lambda: echo.peers[-1:] == [None], what='the stream backend saw no certificate')
    assert 'ssl_certificate' not in p.error_log(), p.error_log()


def make_chain(t):
    """A root CA, an intermediate CA and a leaf for chain.test (RSA 2048:
    the chain is about 2.5 KiB of PEM, the key 1.7 KiB). A client that
    trusts only the root needs the intermediate from the server. Returns
    dict: root (path), chain and key (PEM text), leaf_der."""
    d = t.tmpdir('chain-')

    def run(*a):
        subprocess.run(list(a), check=True, capture_output=True, timeout=60)

    def path(n):
        return os.path.join(d, n)
    run('openssl', 'req', '-x509', '-nodes', '-days', '30', '-subj', '/CN=Root CA',
        '-newkey', 'rsa:2048', '-keyout', path('root.key'), '-out', path('root.crt'))
    with open(path('ca.ext'), 'w') as f:
        f.write('basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n')
    with open(path('leaf.ext'), 'w') as f:
        f.write('subjectAltName=DNS:chain.test\n')
    for who, cn, ca, ext in (('mid', 'Intermediate CA', 'root', 'ca.ext'),
                             ('leaf', 'chain.test', 'mid', 'leaf.ext')):
        run('openssl', 'req', '-nodes', '-subj', '/CN=' + cn, '-newkey', 'rsa:2048',
            '-keyout', path(who + '.key'), '-out', path(who + '.csr'))
        run('openssl', 'x509', '-req', '-days', '30', '-in', path(who + '.csr'),
            '-CA', path(ca + '.crt'), '-CAkey', path(ca + '.key'), '-CAcreateserial',
            '-extfile', path(ext), '-out', path(who + '.crt'))

    def read(n):
        with open(path(n)) as f:
            return f.read()
    chain = read('leaf.crt') + read('mid.crt')
    assert len(chain) > 2048, len(chain)
    return {'root': path('root.crt'), 'chain': chain, 'key': read('leaf.key'),
            'leaf_der': ssl.PEM_cert_to_DER_cert(read('leaf.crt'))}


def _tls_get(port, root, data=b''):
    """A TLS 1.2/1.3 client trusting only ROOT (so the server must send
    the intermediate) for chain.test: (leaf DER, what the server sent)."""
    ctx = ssl.create_default_context(cafile=root)
    with socket.create_connection(('127.0.0.1', port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname='chain.test') as s:
            if data:
                s.sendall(data)
            got = recv_until_close(s, end_on=(OSError,))  # SSLError and timeouts too
            return s.getpeercert(binary_form=True), got


def test_stream_pem_chain_from_set_and_map(t):
    """Stream servers whose certificate and key are `data:` PEM from a
    `set` (about 4 KiB in all) and from a map value with variables (the
    value "data:$pem" over a map of the literal PEM): the client verifies
    the whole chain against the root alone."""
    pki = make_chain(t)
    p = t.proxy('', main=STREAM_MAIN + """
stream {
    map $server_port $chain_lit { default "%(chain)s"; }
    map $server_port $key_lit { default "%(key)s"; }
    map $server_port $crt_var { default "data:$chain_lit"; }
    map $server_port $key_var { default "data:$key_lit"; }
    server {
        listen 127.0.0.1:{port} ssl;
        set $crt "data:%(chain)s";
        set $key "data:%(key)s";
        set $after "after";
        ssl_certificate $crt;
        ssl_certificate_key $key;
        return "set $after\\n";
    }
    server {
        listen 127.0.0.1:{port2} ssl;
        ssl_certificate $crt_var;
        ssl_certificate_key $key_var;
        return "map\\n";
    }
}""" % {'chain': pki['chain'], 'key': pki['key']})
    for port, answer in ((p.port, b'set after\n'), (p.subs['port2'], b'map\n')):
        der, got = _tls_get(port, pki['root'])
        assert der == pki['leaf_der'] and got == answer, (port, got)
    assert 'cannot load' not in p.error_log(), p.error_log()


def esc(pem):
    """PEM text as one configuration line: "\\n" escapes (nginx's, in
    quoted strings), since the harness indents every line of http {}."""
    return pem.replace('\n', '\\n')


def test_http_pem_chain_from_map_and_set(t):
    """http: the server's certificate from a map value with variables
    ("data:$pem" over a map of the literal PEM chain), and an upstream
    client certificate chain from `set` in the location (the backend
    trusts only the root: it needs the intermediate from lbd)."""
    pki = make_chain(t)
    be = tls_backend(t, 'be', *certs(t)[1:], client_ca=pki['root'])
    p = t.proxy("""
map $server_port $chain_lit { default "%(chain)s"; }
map $server_port $key_lit { default "%(key)s"; }
map $ssl_server_name $crt_var { default "data:$chain_lit"; }
map $ssl_server_name $key_var { default "data:$key_lit"; }
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate $crt_var;
    ssl_certificate_key $key_var;
    location / { return 200 "map\\n"; }
}
server {
    listen 127.0.0.1:{port2};
    location / {
        set $crt "data:%(chain)s";
        set $key "data:%(key)s";
        proxy_ssl_certificate $crt;
        proxy_ssl_certificate_key $key;
        proxy_pass https://127.0.0.1:%(be)d;
    }
}""" % {'chain': esc(pki['chain']), 'key': esc(pki['key']), 'be': be.port})
    der, got = _tls_get(p.port, pki['root'],
                        b'GET / HTTP/1.1\r\nHost: chain.test\r\nConnection: close\r\n\r\n')
    assert der == pki['leaf_der'] and got.endswith(b'\r\n\r\nmap\n'), got
    assert request(p.subs['port2'], path='/up').status == 200
    assert be.tls[-1]['peer'] == 'chain.test', be.tls
