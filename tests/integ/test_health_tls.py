# SPDX-License-Identifier: MIT
"""Active health checks over TLS (lbd only: nginx open source has no
active checks). An upstream that a `proxy_pass https://` uses is checked
over TLS with that location's proxy_ssl_* settings: SNI, verification
against proxy_ssl_trusted_certificate and the name. Checked: a TLS backend
answering 200, then 500 -> unhealthy and traffic moves, then 200 -> back;
a certificate from another CA (proxy_ssl_verify on) and a server that
does not speak TLS -> unhealthy with the TLS reason in the log and in
`lbctl upstream list`, and back once the right certificate is served;
`lbd_upstream_healthy` follows."""

import signal
import ssl

from harness import conf_line, wait_for
from test_health import _lbctl, _loop
from test_tls import make_cert
from test_upssl import GarbageServer, certs, tls_backend


def _row(t, p, port):
    out = _lbctl(t, p, 'upstream', 'list', 'app')
    name = '127.0.0.1:%d' % port
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == name:
            return f
    raise AssertionError('no row for %s in:\n%s' % (name, out))


def _healthy(p, port):
    """lbd_upstream_healthy of server PORT of "app" in /metrics."""
    r = p.get('/metrics')
    assert r.status == 200, r
    key = 'lbd_upstream_healthy{upstream="app",server="127.0.0.1:%d"}' % port
    for line in r.body.decode().splitlines():
        if line.startswith(key + ' '):
            return int(float(line.split()[-1]))
    raise AssertionError('%s not in %s' % (key, r.body))


def _conf(servers, ssl_conf):
    return """
upstream app {
    health_check interval=300ms timeout=3s uri=/health;
%s
}
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass https://app; %s }
    location = /metrics { lbd_metrics; }
}""" % (''.join('    server 127.0.0.1:%s;\n' % s for s in servers), ssl_conf)


def test_hc_tls_status_and_recovery(t):
    if t.is_nginx:
        t.skip('nginx has no active health checks (an nginx Plus feature)')
    d, crt, key = certs(t)
    b1 = tls_backend(t, 'b1', crt, key)
    b2 = tls_backend(t, 'b2', crt, key)
    p = t.proxy(_conf(['{b1}', '{b2}'],
                      'proxy_ssl_verify on; proxy_ssl_trusted_certificate %s; '
                      'proxy_ssl_server_name on; proxy_ssl_name backend.test;' % crt),
                b1=b1, b2=b2)
    # the checks arrive over TLS, with the SNI of the location
    wait_for(lambda: sum(r.path == '/health' for r in b2.requests) >= 2,
             timeout=10, what='two checks of b2')
    hc = [r for r in b2.requests if r.path == '/health']
    # no request was proxied yet: the second check resumed the first's
    # TLS session (proxy_ssl_session_reuse on)
    assert len(b2.tls) >= 2 and b2.tls[1]['reused'], b2.tls
    assert hc[0].header('User-Agent') == 'lbd-health-check', hc[0].headers
    assert b2.tls and all(x['sni'] == 'backend.test' for x in b2.tls), b2.tls
    assert _row(t, p, b2.port)[2] == 'up'
    assert _healthy(p, b2.port) == 1

    b2.force_path = '/status/500'
    wait_for(lambda: _row(t, p, b2.port)[2] == 'unhealthy', timeout=10,
             what='b2 unhealthy')
    assert _row(t, p, b2.port)[8:] == ['HTTP', '500'], _row(t, p, b2.port)
    assert _healthy(p, b2.port) == 0
    errors, who = [], []
    _loop(p, 20, 0.0, errors=errors, who=who)
    assert errors == [] and set(who) == {'b1'}, (errors, who)

    b2.force_path = None
    wait_for(lambda: _row(t, p, b2.port)[2] == 'up', timeout=10,
             what='b2 up again')
    who.clear()
    _loop(p, 20, 0.0, errors=errors, who=who)
    assert errors == [] and 'b2' in who, (errors, who)
    assert _healthy(p, b2.port) == 1
    log = p.error_log()
    name = '127.0.0.1:%d' % b2.port
    assert 'upstream server %s of "app" is unhealthy: HTTP 500' % name in log, log
    assert 'upstream server %s of "app" is healthy again' % name in log, log
    # a reload restarts the checker on the new configuration's TLS context
    n = int(_row(t, p, b2.port)[7])
    p.signal(signal.SIGHUP)
    wait_for(lambda: p.error_log().count('configuration reloaded') == 1,
             timeout=10, what='reload')
    wait_for(lambda: int(_row(t, p, b2.port)[7]) >= n + 3, timeout=10,
             what='checks after the reload')
    assert _row(t, p, b2.port)[2] == 'up'
    assert _row(t, p, b2.port)[8:] == ['HTTP', '200'], _row(t, p, b2.port)


def test_hc_tls_handshake_failures(t):
    if t.is_nginx:
        t.skip('nginx has no active health checks (an nginx Plus feature)')
    d, crt, key = certs(t)
    other, okey = make_cert(t, d, 'other', 'backend.test')
    b1 = tls_backend(t, 'b1', crt, key)
    b2 = tls_backend(t, 'b2', other, okey)  # another CA: verify fails
    g = GarbageServer()  # no TLS at all: the handshake fails
    try:
        p = t.proxy(_conf(['{b1}', '{b2}', str(g.port)],
                          'proxy_ssl_verify on; proxy_ssl_trusted_certificate %s; '
                          'proxy_ssl_name backend.test;' % crt),
                    b1=b1, b2=b2)
        wait_for(lambda: _row(t, p, b2.port)[2] == 'unhealthy', timeout=10,
                 what='b2 unhealthy')
        wait_for(lambda: _row(t, p, g.port)[2] == 'unhealthy', timeout=10,
                 what='garbage server unhealthy')
        assert _row(t, p, b1.port)[2] == 'up'
        last = ' '.join(_row(t, p, b2.port)[8:])
        assert last.startswith('SSL certificate verify error: ('), last
        assert ' '.join(_row(t, p, g.port)[8:]) == 'SSL handshake failed', \
            _row(t, p, g.port)
        assert _healthy(p, b2.port) == 0 and _healthy(p, g.port) == 0
        log = p.error_log()
        assert ('upstream server 127.0.0.1:%d of "app" is unhealthy: upstream SSL '
                'certificate verify error: (' % b2.port) in log, log
        assert 'while SSL handshaking' in log, log
        assert ('upstream server 127.0.0.1:%d of "app" is unhealthy: '
                'SSL_do_handshake() failed' % g.port) in log, log
        # the checks are what keeps them out: every request goes to b1
        errors, who = [], []
        _loop(p, 15, 0.0, errors=errors, who=who)
        assert errors == [] and set(who) == {'b1'}, (errors, who)

        # b2 gets a certificate of the trusted CA: healthy again
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        b2.ctx = ctx
        wait_for(lambda: _row(t, p, b2.port)[2] == 'up', timeout=10,
                 what='b2 up again')
        assert _healthy(p, b2.port) == 1
        assert 'upstream server 127.0.0.1:%d of "app" is healthy again' % \
            b2.port in p.error_log()
    finally:
        g.close()


def test_hc_tls_config_errors(t):
    """A group used by both http:// and https:// with an http check: -t
    names both locations."""
    if t.is_nginx:
        t.skip('health_check is not an nginx open source directive')
    p = t.proxy("""
upstream app { health_check; server 127.0.0.1:9; }
server {
    listen 127.0.0.1:{port};
    location /a { proxy_pass http://app; }
    location /b { proxy_pass https://app; }
}""", start=False)
    p.write_conf()
    res = p.run('-t')
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert ('upstream "app" with "health_check" is used by both "proxy_pass '
            'http://" and "proxy_pass https://"') in out, out
    assert conf_line(p, 'location /b') in out, out
    assert conf_line(p, 'location /a') in out, out
