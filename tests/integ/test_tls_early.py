# SPDX-License-Identifier: MIT
"""ssl_early_data on: TLS 1.3 0-RTT, same config for nginx and lbd.

The client (early_tls.py, OpenSSL through ctypes) gets a ticket, then
sends its request as early data and holds its Finished back until the
backend has the request: so the request was served before the handshake
completed, `proxy_set_header Early-Data $ssl_early_data` carried "1", and
the answer came back as 0.5-RTT data. Also: a body in early data (and a
body whose tail comes after the handshake), HTTP/2 frames as early data,
`off` (early data rejected, the request sent again after the handshake
and served without the header), a named server with `off` behind a
default server with `on`, a client sending more than the ticket allows
(the connection ends with "too much early data"), openssl s_client's
-early_data, and replays: nginx 1.22 takes the same ticket's
early data every time; lbd with a session cache takes it once (OpenSSL's
single-use tickets), without one it does as nginx."""

import hashlib
import json
import os
import struct
import subprocess

from early_tls import ACCEPTED, REJECTED, Client
from harness import request, wait_for
from test_h2 import (DATA, END_HEADERS, END_STREAM, HEADERS, PREFACE, SETTINGS,
                     frame, hp_lit)
from test_tls import _certs

SRV = """
upstream be { server 127.0.0.1:%(be)d; }
server {
    listen 127.0.0.1:{port} ssl%(h2)s;
    server_name a.test;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_early_data on;
    %(extra)s
    location / {
        proxy_pass http://be;
        proxy_set_header Early-Data $ssl_early_data;
    }
}"""


def _proxy(t, extra='', h2=''):
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    be = t.backend('be')
    p = t.proxy(SRV % {'be': be.port, 'crt': c['a'][0], 'key': c['a'][1],
                       'extra': extra, 'h2': h2})
    return p, be, d, c


def _get(path, extra=b''):
    return (b'GET %s HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n%s\r\n'
            % (path.encode(), extra))


def _status_body(data):
    head, _, body = data.partition(b'\r\n\r\n')
    return int(head.split(b' ', 2)[1]), body


def _ticket(cl, be):
    """A full handshake and request: the session (and its ticket)."""
    n = be.count()
    r = cl.full(_get('/ticket'))
    assert _status_body(r.data)[0] == 200, r
    assert be.count() == n + 1 and be.last().header('Early-Data') is None
    assert r.session is not None and r.session.max_early == 16384, r
    return r.session


def _held_until(be, n):
    """HOLD for Client.early: the backend has N requests (so the proxy
    served the early request before the client's Finished went out)."""
    return lambda: be.wait_requests(n)


def test_tls_early_data_h1(t):
    p, be, _, _ = _proxy(t)
    cl = Client(p.port, sni='a.test')
    sess = _ticket(cl, be)
    # the request in early data reaches the backend before the handshake ends
    r = cl.early(sess, _get('/early'), hold=_held_until(be, 2))
    assert r.early == ACCEPTED and r.reused, r
    status, body = _status_body(r.data)
    assert status == 200, r
    assert json.loads(body)['path'] == '/early'
    assert be.last().path == '/early' and be.last().header('Early-Data') == '1'
    # a body in early data (several records: 15000 bytes), then a body whose
    # head and first half are early and whose rest follows the handshake
    sess = r.session
    data = os.urandom(15000)
    post = (b'POST /body HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n'
            b'Content-Length: %d\r\n\r\n' % len(data))
    r = cl.early(sess, post + data, hold=_held_until(be, 3))
    assert r.early == ACCEPTED, r
    got = json.loads(_status_body(r.data)[1])
    assert got['body_sha256'] == hashlib.sha256(data).hexdigest(), got
    assert be.last().header('Early-Data') == '1'
    r = cl.early(r.session, post + data[:7000], after=data[7000:])
    assert r.early == ACCEPTED, r
    got = json.loads(_status_body(r.data)[1])
    assert got['body_sha256'] == hashlib.sha256(data).hexdigest(), got
    # after the handshake: no Early-Data header on a full handshake
    r = cl.full(_get('/late'))
    assert _status_body(r.data)[0] == 200 and be.last().header('Early-Data') is None


def test_tls_early_data_off_and_named_server(t):
    """Early data sent to a server with `off` is skipped by the server:
    the handshake completes as 1-RTT and the client's request, sent again,
    is served without Early-Data. Tickets are shared through
    ssl_session_ticket_key so the `off` servers resume the session."""
    d, c = _certs(t, ('a', 'a.test', 'ec'), ('b', 'b.test', 'ec'))
    key = t.write(os.path.join(d, 'ticket.key'), os.urandom(80))
    be = t.backend('be')
    srv = """
server {
    listen 127.0.0.1:{%(port)s} ssl;
    server_name %(name)s;
    ssl_certificate %(crt)s;
    ssl_certificate_key %(key)s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_ticket_key %(tk)s;
    ssl_early_data %(on)s;
    location / {
        proxy_pass http://127.0.0.1:%(be)d;
        proxy_set_header Early-Data $ssl_early_data;
    }
}"""
    conf = ''.join(srv % {'port': port, 'name': name, 'crt': c[cert][0],
                          'key': c[cert][1], 'tk': key, 'on': on, 'be': be.port}
                   for port, name, cert, on in (('port', 'a.test', 'a', 'on'),
                                                ('port2', 'a.test', 'a', 'off'),
                                                ('port3', 'a.test', 'a', 'on'),
                                                ('port3', 'b.test', 'b', 'off')))
    p = t.proxy(conf)
    on = Client(p.port, sni='a.test')
    sess = _ticket(on, be)
    off = Client(p.subs['port2'], sni='a.test')
    r = off.early(sess, _get('/off'))
    assert r.early == REJECTED and r.reused, r
    assert _status_body(r.data)[0] == 200, r
    assert be.last().path == '/off' and be.last().header('Early-Data') is None
    # a named server saying `off` behind a default server saying `on`
    named = Client(p.subs['port3'], sni='b.test')
    r = named.full(_get('/ticket-b'))
    assert _status_body(r.data)[0] == 200 and r.session is not None, r
    if t.is_nginx:
        # nginx decides by the default server's context: the named server
        # that says off invites 0-RTT and takes it
        assert r.session.max_early == 16384
        r = named.early(r.session, _get('/named-off'))
        assert r.early == ACCEPTED and _status_body(r.data)[0] == 200, r
    else:
        # lbd follows the named server: its tickets invite no early data
        assert r.session.max_early == 0
    # the default server on that address still takes it
    dflt = Client(p.subs['port3'], sni='a.test')
    sess = dflt.full(_get('/ticket-a')).session
    assert dflt.early(sess, _get('/dflt-on')).early == ACCEPTED


def test_tls_early_data_too_much(t):
    """A client that sends more early data than the ticket allowed (16k):
    OpenSSL ends the connection with an alert ("too much early data"), and
    nothing reaches the backend (the body is not complete)."""
    p, be, _, _ = _proxy(t)
    cl = Client(p.port, sni='a.test')
    sess = _ticket(cl, be)
    sess.pretend_max_early(65536)
    body = b'x' * 20000
    req = (b'POST /big HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n'
           b'Content-Length: %d\r\n\r\n' % len(body)) + body
    r = cl.early(sess, req)
    assert r.data == b'', r
    assert be.count() == 1
    wait_for(lambda: 'too much early data' in p.error_log(), what='the error line')
    # the next client is served
    assert cl.early(_ticket(cl, be), _get('/after')).early == ACCEPTED


def test_tls_early_data_replay(t):
    """The same ticket's early data twice (what a replay of the first
    flight looks like to the server). With ssl_session_cache, lbd keeps
    OpenSSL's anti-replay on: a ticket takes 0-RTT once, the second time
    the handshake is a full one and the request is served after it.
    nginx 1.22 takes it every time; so does lbd without a cache."""
    p, be, _, _ = _proxy(t, 'ssl_session_cache shared:SSL:1m;')
    cl = Client(p.port, sni='a.test')
    sess = _ticket(cl, be)
    first = cl.early(sess, _get('/once'))
    assert first.early == ACCEPTED, first
    second = cl.early(sess, _get('/twice'))
    assert _status_body(second.data)[0] == 200, second
    if t.is_nginx:
        assert second.early == ACCEPTED, second  # no replay protection
    else:
        assert second.early == REJECTED and not second.reused, second
        assert be.last().path == '/twice' and be.last().header('Early-Data') is None
    # a fresh ticket from the last connection works once more
    assert cl.early(second.session, _get('/fresh')).early == ACCEPTED


def test_tls_early_data_replay_no_cache(t):
    """Without a session cache (the default) there is nothing to remember
    a ticket by: as nginx, the same early data is taken again, and the
    backend tells the replay risk by Early-Data: 1."""
    p, be, _, _ = _proxy(t)
    cl = Client(p.port, sni='a.test')
    sess = _ticket(cl, be)
    for path in ('/one', '/two'):
        r = cl.early(sess, _get(path), hold=_held_until(be, be.count() + 1))
        assert r.early == ACCEPTED, r
        assert be.last().path == path and be.last().header('Early-Data') == '1'


def test_tls_early_data_s_client(t):
    """The check by hand: `openssl s_client -sess_out`, then `-sess_in
    -early_data FILE` says "Early data was accepted" and gets the answer
    (whether Early-Data: 1 reaches the backend depends on how fast
    s_client sends its Finished: not checked here)."""
    p, be, d, _ = _proxy(t)
    sess = os.path.join(d, 'sess.pem')
    req = t.write(os.path.join(d, 'req.txt'), _get('/s_client'))
    base = ['openssl', 's_client', '-connect', '127.0.0.1:%d' % p.port,
            '-servername', 'a.test', '-tls1_3', '-ign_eof']
    with open(req, 'rb') as f:
        r = subprocess.run(base + ['-sess_out', sess], stdin=f, capture_output=True,
                           timeout=20)
    assert b'HTTP/1.1 200' in r.stdout, r.stdout
    r = subprocess.run(base + ['-sess_in', sess, '-early_data', req],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
    assert b'Early data was accepted' in r.stdout, r.stdout
    assert b'HTTP/1.1 200' in r.stdout, r.stdout
    assert be.last().path == '/s_client'


def _h2_frames(data):
    out = []
    while len(data) >= 9:
        n = int.from_bytes(data[:3], 'big')
        if len(data) < 9 + n:
            break
        ftype, flags, sid = struct.unpack('>BBI', data[3:9])
        out.append((ftype, flags, sid & 0x7fffffff, data[9:9 + n]))
        data = data[9 + n:]
    return out


def _h2_done(data):
    return any(f[0] in (DATA, HEADERS) and f[2] == 1 and f[1] & END_STREAM
               for f in _h2_frames(data))


def test_tls_early_data_h2(t):
    p, be, _, _ = _proxy(t, h2=' http2')
    cl = Client(p.port, sni='a.test', alpn=[b'h2'])
    # the ticket from an h2 connection (ALPN must match for 0-RTT)
    block = (hp_lit(':method', 'GET') + hp_lit(':scheme', 'https') +
             hp_lit(':path', '/h2') + hp_lit(':authority', 'a.test'))
    req = (PREFACE + frame(SETTINGS, 0, 0) +
           frame(HEADERS, END_STREAM | END_HEADERS, 1, block))
    r = cl.full(req, until=_h2_done)
    assert r.alpn == b'h2' and _h2_done(r.data), r
    assert be.count() == 1 and be.last().header('Early-Data') is None
    r = cl.early(r.session, req, hold=_held_until(be, 2), until=_h2_done)
    assert r.early == ACCEPTED and r.alpn == b'h2', r
    assert _h2_done(r.data), r
    heads = [f for f in _h2_frames(r.data) if f[0] == HEADERS and f[2] == 1]
    assert heads and heads[0][3][:1] == b'\x88', heads  # :status 200, static index
    assert be.last().path == '/h2' and be.last().header('Early-Data') == '1'


def test_tls_early_data_config(t):
    """`ssl_early_data` takes on|off in http and server, not in stream
    (nginx 1.22's stream module has no such directive)."""
    from test_stream import MAIN as STREAM_MAIN
    p = t.proxy("""
ssl_early_data on;
server {
    listen 127.0.0.1:{port};
    ssl_early_data off;
    location / { return 200 "ok\\n"; }
}""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode == 0, r.stderr
    p.write_conf(http="""
server {
    listen 127.0.0.1:{port};
    ssl_early_data maybe;
}""")
    r = p.run('-t')
    assert r.returncode != 0
    assert ('invalid value "maybe" in "ssl_early_data" directive, it must be '
            '"on" or "off" in %s:' % p.conf_path) in r.stderr, r.stderr
    p.write_conf(http='', main=STREAM_MAIN + """
stream {
    server {
        listen 127.0.0.1:{port};
        ssl_early_data on;
        return "x";
    }
}""")
    r = p.run('-t')
    assert r.returncode != 0
    assert ('"ssl_early_data" directive is not allowed here in %s:'
            % p.conf_path) in r.stderr, r.stderr


def test_tls_early_data_stats(t):
    """`lbctl stats` (and --json, and lbd_metrics) count 0-RTT: handshakes
    whose early data was accepted, those whose early data was skipped
    (here a replayed ticket, with a session cache), and requests served
    from early data. Two workers: the counts are summed over them. nginx
    has no such figures (only $ssl_early_data in a log line)."""
    if t.is_nginx:
        t.skip('nginx has no control socket nor 0-RTT counters')
    from test_ctl import _ctl
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    be = t.backend('be')
    p = t.proxy(SRV % {'be': be.port, 'crt': c['a'][0], 'key': c['a'][1], 'h2': '',
                       'extra': 'ssl_session_cache shared:SSL:1m;'} + """
server {
    listen 127.0.0.1:{port2};
    location = /metrics { lbd_metrics; }
}""", workers=2)
    cl = Client(p.port, sni='a.test')

    def figures():
        out = _ctl(t, p, 'stats')
        line = [ln for ln in out.splitlines() if ln.startswith('tls: ')]
        assert len(line) == 1, out
        js = json.loads(_ctl(t, p, '--json', 'stats'))['tls']['early_data']
        text = dict(zip(line[0].split()[3::2], map(int, line[0].split()[4::2])))
        assert text == js, (line, js)
        return js

    assert figures() == {'accepted': 0, 'rejected': 0, 'requests': 0}
    sess = _ticket(cl, be)
    r = cl.early(sess, _get('/early'), hold=_held_until(be, 2))
    assert r.early == ACCEPTED, r
    assert be.last().header('Early-Data') == '1'
    assert figures() == {'accepted': 1, 'rejected': 0, 'requests': 1}
    # the same ticket again: refused (single use), served after the handshake
    r = cl.early(sess, _get('/replay'))
    assert r.early == REJECTED and _status_body(r.data)[0] == 200, r
    assert be.last().header('Early-Data') is None
    assert figures() == {'accepted': 1, 'rejected': 1, 'requests': 1}
    # a full handshake counts nothing
    cl.full(_get('/late'))
    assert figures() == {'accepted': 1, 'rejected': 1, 'requests': 1}
    m = request(p.subs['port2'], path='/metrics').body.decode()
    assert 'lbd_tls_early_data_total{result="accepted"} 1\n' in m, m
    assert 'lbd_tls_early_data_total{result="rejected"} 1\n' in m, m
    assert 'lbd_tls_early_data_requests_total 1\n' in m, m
