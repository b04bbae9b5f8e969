# SPDX-License-Identifier: MIT
"""realip (set_real_ip_from, real_ip_header, real_ip_recursive) against
nginx with the same config: which address $remote_addr, the access log,
limit_req keys, allow/deny and the upstream's X-Real-IP see; that a
client-supplied X-Forwarded-For from an untrusted peer changes nothing;
recursive on/off; $realip_remote_addr; the address restored for the next
request on a keep-alive connection; server-level (post-read) versus
location-level (preaccess) settings. Clients connect from 127.0.0.1 (the
trusted "proxy") or 127.0.0.2 (an untrusted client)."""

import os

from harness import Conn, wait_for

TRUSTED = '127.0.0.1'
UNTRUSTED = '127.0.0.2'


def _get(p, path, src=TRUSTED, headers=(), conn=None):
    hl = [('Host', 'x')] + list(headers)
    if conn is not None:
        return conn.request('GET', path, hl, host=None)
    with Conn(p.port, source=src) as c:
        return c.request('GET', path, hl, host=None)


def _log_lines(p, name, n):
    def lines():
        ls = [x for x in p.read('logs', name).splitlines() if x.strip()]
        return ls if len(ls) >= n else None
    return wait_for(lines, what='%d lines in %s' % (n, name))


def test_realip_vars_log_and_upstream(t):
    b1 = t.backend('b1')
    p = t.proxy("""
log_format rip '$remote_addr|$realip_remote_addr|$remote_port|$http_x_forwarded_for';
access_log {prefix}/logs/rip.log rip;
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
server {
    listen 127.0.0.1:{port};
    location /ret { return 200 "$remote_addr $realip_remote_addr $remote_port"; }
    location / {
        proxy_pass http://127.0.0.1:{b1};
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
}""", b1=b1)
    xff = ('X-Forwarded-For', '203.0.113.9')
    # trusted peer: the header's address, the peer in $realip_remote_addr,
    # no port ($remote_port empty: the header had none)
    r = _get(p, '/ret', headers=[xff])
    assert r.body == b'203.0.113.9 127.0.0.1 ', r.body
    r = _get(p, '/ret', headers=[('X-Forwarded-For', '203.0.113.9:4444')])
    assert r.body == b'203.0.113.9 127.0.0.1 4444', r.body
    # untrusted peer: the same header changes nothing
    r = _get(p, '/ret', src=UNTRUSTED, headers=[xff])
    assert r.body.startswith(b'127.0.0.2 127.0.0.2 '), r.body
    # malformed: ignored
    r = _get(p, '/ret', headers=[('X-Forwarded-For', 'not-an-address')])
    assert r.body.startswith(b'127.0.0.1 127.0.0.1 '), r.body
    # the upstream sees the real client, and it is appended to the XFF chain
    r = _get(p, '/up', headers=[('X-Forwarded-For', '198.51.100.1, 203.0.113.9')])
    assert r.status == 200
    req = b1.last()
    assert req.header('X-Real-IP') == '203.0.113.9', req.headers
    assert req.header('X-Forwarded-For') == \
        '198.51.100.1, 203.0.113.9, 203.0.113.9', req.headers
    # keep-alive: the next request without the header is the peer again
    with Conn(p.port) as c:
        r1 = _get(p, '/ret', headers=[xff], conn=c)
        r2 = _get(p, '/ret', conn=c)
        r3 = _get(p, '/ret', headers=[('X-Forwarded-For', '192.0.2.44')], conn=c)
    assert r1.body.startswith(b'203.0.113.9 127.0.0.1'), r1.body
    assert r2.body.startswith(b'127.0.0.1 127.0.0.1 '), r2.body
    assert r3.body.startswith(b'192.0.2.44 127.0.0.1'), r3.body
    log = _log_lines(p, 'rip.log', 8)
    assert log[0] == '203.0.113.9|127.0.0.1||203.0.113.9', log
    assert log[2].startswith('127.0.0.2|127.0.0.2|'), log
    assert log[4].startswith('203.0.113.9|127.0.0.1||198.51.100.1'), log
    assert log[6].startswith('127.0.0.1|127.0.0.1|'), log


def test_realip_recursive_and_phases(t):
    b1 = t.backend('b1')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    set_real_ip_from 127.0.0.0/8;
    real_ip_header X-Forwarded-For;
    proxy_set_header X-Real-IP $remote_addr;
    location /off { proxy_pass http://127.0.0.1:{b1}; }
    location /on { real_ip_recursive on; proxy_pass http://127.0.0.1:{b1}; }
}
server {
    listen 127.0.0.1:{port2};
    proxy_set_header X-Real-IP $remote_addr;
    location /loc {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        real_ip_recursive on;
        proxy_pass http://127.0.0.1:{b1};
    }
    location /ret {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Forwarded-For;
        return 200 "$remote_addr";
    }
    location /hdr {
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Client;
        proxy_pass http://127.0.0.1:{b1};
    }
    location /xri {
        set_real_ip_from 127.0.0.1;
        proxy_pass http://127.0.0.1:{b1};
    }
}""", b1=b1)
    chain = ('X-Forwarded-For', '198.51.100.7, 127.0.0.5')

    def seen(path, headers, port=None):
        with Conn(port or p.port) as c:
            r = c.request('GET', path, [('Host', 'x')] + headers, host=None)
        assert r.status == 200, r
        return b1.last().header('X-Real-IP')

    # the server's recursive flag is off (the server level applies at
    # post-read, before the location's own flag is looked at)
    assert seen('/off', [chain]) == '127.0.0.5'
    assert seen('/on', [chain]) == '127.0.0.5'
    port2 = p.subs['port2']
    # location-level settings: applied at preaccess, recursive on
    assert seen('/loc', [chain], port2) == '127.0.0.5', 'only 127.0.0.1 trusted'
    assert seen('/loc', [('X-Forwarded-For', '198.51.100.7, 127.0.0.1')],
                port2) == '198.51.100.7'
    assert seen('/loc', [('X-Forwarded-For', '10.9.9.9, 127.0.0.1, 127.0.0.1')],
                port2) == '10.9.9.9'
    # two headers: the last one first, then on to the earlier one
    assert seen('/loc', [('X-Forwarded-For', '192.0.2.3'),
                         ('X-Forwarded-For', '127.0.0.1')], port2) == '192.0.2.3'
    # a custom header; X-Real-IP by default
    assert seen('/hdr', [('X-Client', '192.0.2.77')], port2) == '192.0.2.77'
    assert seen('/xri', [('X-Real-IP', '192.0.2.78'), chain], port2) == '192.0.2.78'
    # `return` runs in the rewrite phase, before a location's realip
    with Conn(port2) as c:
        r = c.request('GET', '/ret', [('Host', 'x'), chain], host=None)
    assert r.body == b'127.0.0.1', r.body


def test_realip_limit_req_and_deny(t):
    b1 = t.backend('b1')
    p = t.proxy("""
log_format st '$remote_addr $status';
access_log {prefix}/logs/st.log st;
limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
server {
    listen 127.0.0.1:{port};
    location / {
        limit_req zone=one;
        deny 192.0.2.0/24;
        allow all;
        proxy_pass http://127.0.0.1:{b1};
    }
}""", b1=b1)

    def st(src, xff):
        return _get(p, '/', src=src, headers=[('X-Forwarded-For', xff)]).status

    # keyed on the real client: each address has its own bucket
    assert st(TRUSTED, '203.0.113.1') == 200
    assert st(TRUSTED, '203.0.113.1') == 503
    assert st(TRUSTED, '203.0.113.2') == 200
    # an untrusted client cannot dodge the limit with a new XFF each time
    assert st(UNTRUSTED, '203.0.113.3') == 200
    assert st(UNTRUSTED, '203.0.113.4') == 503
    # deny sees the real address
    assert st(TRUSTED, '192.0.2.9') == 403
    wait_for(lambda: 'access forbidden by rule, client: 192.0.2.9' in p.error_log(),
             what='the deny logged with the real address')
    log = _log_lines(p, 'st.log', 6)
    assert log[:2] == ['203.0.113.1 200', '203.0.113.1 503'], log
    assert log[3:5] == ['127.0.0.2 200', '127.0.0.2 503'], log


def test_realip_config_errors(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    set_real_ip_from 10.0.0.0/33;
}""", start=False)
    p.write_conf()
    r = p.run('-t')
    out = r.stderr + r.stdout
    assert r.returncode != 0
    assert 'host not found in set_real_ip_from "10.0.0.0/33" in %s:' % p.conf_path in out, out


def test_realip_banned_real_address(t):
    if t.is_nginx:
        t.skip('lbd ban list (ban_list) at request time behind a trusted proxy')
    ban = t.write(t.tmpdir() + '/bans.txt', '203.0.113.66  # test\n')
    p = t.proxy("""
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
server {
    listen 127.0.0.1:{port};
    location / { return 200 "ok $remote_addr"; }
}""", main='bpf_pin_path off;\nban_list %s;' % ban)
    with Conn(p.port) as c:
        r1 = _get(p, '/', headers=[('X-Forwarded-For', '203.0.113.66')], conn=c)
        # the proxy's connection is not cut: its other clients go on
        r2 = _get(p, '/', headers=[('X-Forwarded-For', '203.0.113.67')], conn=c)
    assert r1.status == 403, r1
    assert r2.status == 200 and r2.body == b'ok 203.0.113.67', r2
    wait_for(lambda: 'access forbidden by ban list, client: 203.0.113.66'
             in p.error_log(), what='the ban logged')


def test_realip_fail2ban_bans_real_address(t):
    if t.is_nginx:
        t.skip('lbd fail2ban jails')
    b1 = t.backend('b1')
    p = t.proxy("""
fail2ban_jail probe status=404 maxretry=2 findtime=1m bantime=1m;
fail2ban probe;
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://127.0.0.1:{b1}; }
}""", main='bpf_pin_path off;', b1=b1)
    bad = [('X-Forwarded-For', '203.0.113.50')]
    good = [('X-Forwarded-For', '203.0.113.51')]
    with Conn(p.port) as c:
        assert _get(p, '/status/404', headers=bad, conn=c).status == 404
        assert _get(p, '/status/404', headers=bad, conn=c).status == 404
        # banned now, on the real address; the proxy's connection stays
        assert _get(p, '/x', headers=bad, conn=c).status == 403
        assert _get(p, '/x', headers=good, conn=c).status == 200
    wait_for(lambda: 'banned 203.0.113.50 for 60s' in p.error_log(),
             what='the fail2ban line with the real address')
    # the TCP peer (the trusted proxy) itself is not banned
    assert _get(p, '/x').status == 200
    # bpf_pin_path off pins nothing (libbpf's default root used to get the
    # guard's maps, and this ban with them, for the next lbd started "off")
    assert not os.path.exists('/sys/fs/bpf/lb_ban4')
