# SPDX-License-Identifier: MIT
"""userid (ngx_http_userid_filter_module), the same config for nginx 1.22
and lbd: the cookie's value decodes to 16 bytes whose first word is
userid_service (network byte order under `on`, host order under `v1`) or
the server's address, $uid_set shows the same words; a valid cookie
received is not set again and shows in $uid_got (one made by nginx reads
the same in lbd); an invalid or short one is replaced and logged;
userid_mark, $uid_reset (and its "log"), the cookie's attributes
(userid_name, _domain, _path, _expires, _p3p, _flags), `userid log` and
`off`, -t errors."""

import base64
import calendar
import re
import struct
import time

from harness import assert_location_t_errors, wait_for

# a cookie nginx 1.22 made (userid on, served on 127.0.0.1)
NGINX_COOKIE = 'fwAAAWsLur2l/wdXAwMIAg=='
NGINX_HEX = 'uid=0100007FBDBA0B6B5707FFA502080303'


def uid_proxy(t, loc='', srv=''):
    return t.proxy("""
server {
    listen 127.0.0.1:{port};
    userid on;
    %s
    location / { %s return 200 "$uid_got|$uid_set"; }
    location /v1 { userid v1; userid_service 16909060; return 200 "$uid_got|$uid_set"; }
    location /svc { userid_service 16909060; return 200 "$uid_got|$uid_set"; }
    location /mark { userid_mark X; return 200 "$uid_got|$uid_set"; }
    location /reset { set $uid_reset $arg_r; return 200 "$uid_got|$uid_set"; }
    location /log { userid log; return 200 "$uid_got|$uid_set"; }
    location /off { userid off; return 200 "$uid_got|$uid_set"; }
    location /missing { }
}""" % (srv, loc))


def cookie_value(r, name='uid'):
    """The value of R's one Set-Cookie NAME, and the attributes after it."""
    sc = r.header_all('Set-Cookie')
    assert len(sc) == 1, (r.status, sc)
    m = re.match(r'^%s=([^;]*)(.*)$' % name, sc[0])
    assert m, sc[0]
    return m.group(1), m.group(2)


def words(value, order):
    raw = base64.b64decode(value[:22] + '==')
    assert len(raw) == 16
    return struct.unpack(order + '4I', raw), raw


def hexed(value, name='uid'):
    """$uid_set for a cookie VALUE: the words as the host (x86) reads them."""
    w, _ = words(value, '<')
    return '%s=%08X%08X%08X%08X' % ((name,) + w)


def test_userid_cookie_layout(t):
    """`userid on`: 24 base64 characters ("==" ending) decoding to four
    network-order words - the service (or 127.0.0.1), the time, the
    worker's start value, a sequence ending in byte 2 and growing by 0x100;
    $uid_set shows them as the host reads them; `v1`: host-order words,
    sequence 1, 0x101... ; no cookie received: $uid_got empty."""
    p = uid_proxy(t)
    now = time.time()
    r = p.get('/svc')
    assert r.status == 200, r
    v, attrs = cookie_value(r)
    assert re.match(r'^[A-Za-z0-9+/]{22}==$', v), v
    assert attrs == '; path=/'
    (svc, ts, start, seq), raw = words(v, '>')
    assert svc == 0x01020304
    assert abs(ts - now) < 3600, (ts, now)
    assert raw[15] == 2
    assert r.body.decode() == '|' + hexed(v)
    r2 = p.get('/')
    v2, _ = cookie_value(r2)
    (addr, ts2, start2, seq2), raw2 = words(v2, '>')
    assert raw2[:4] == bytes([127, 0, 0, 1])  # no userid_service: the server's address
    assert start2 == start and seq2 == seq + 0x100, (hex(seq), hex(seq2))
    assert r2.body.decode() == '|' + hexed(v2)
    r = p.get('/v1')
    v, _ = cookie_value(r)
    (svc, ts, start1, seq1), _ = words(v, '<')
    assert svc == 0x01020304 and abs(ts - now) < 3600
    assert seq1 & 0xff == 1, hex(seq1)
    assert r.body.decode() == '|' + hexed(v)


def test_userid_received(t):
    """A valid cookie is not set again and shows in $uid_got (nginx's own
    cookie reads the same); an invalid or short one is replaced, with
    nginx's log lines; an all-zero one counts as none; userid_mark re-sets
    an unmarked cookie marked and leaves a marked one; $uid_reset: 1 a new
    one, log a new one and a notice, 0 nothing."""
    p = uid_proxy(t)
    ck = {'Cookie': 'a=b; uid=' + NGINX_COOKIE}
    r = p.get('/', headers=ck)
    assert r.status == 200 and r.header('Set-Cookie') is None, r
    assert r.body.decode() == NGINX_HEX + '|'
    r = p.get('/log', headers=ck)
    assert r.body.decode() == NGINX_HEX + '|' and r.header('Set-Cookie') is None
    r = p.get('/off', headers=ck)
    assert r.body.decode() == '|' and r.header('Set-Cookie') is None
    # garbage after the 22 characters is ignored, as nginx does
    r = p.get('/', headers={'Cookie': 'uid=' + NGINX_COOKIE[:22] + 'JUNK'})
    assert r.body.decode() == NGINX_HEX + '|' and r.header('Set-Cookie') is None
    for bad, line in (('uid=short', 'client sent too short userid cookie "uid=short"'),
                      ('x=1; uid=fwAAAWsLur2l/wd*AwMIAg==',
                       'client sent invalid userid cookie "x=1; uid=fwAAAWsLur2l/wd*AwMIAg=="')):
        r = p.get('/', headers={'Cookie': bad})
        v, _ = cookie_value(r)
        assert v != NGINX_COOKIE and r.body.decode() == '|' + hexed(v)
        wait_for(lambda: line in p.error_log(), 5, what=line)
    r = p.get('/', headers={'Cookie': 'uid=AAAAAAAAAAAAAAAAAAAAAA=='})
    v, _ = cookie_value(r)
    assert r.body.decode() == '|' + hexed(v)
    # userid_mark
    r = p.get('/mark', headers=ck)
    v, _ = cookie_value(r)
    assert v == NGINX_COOKIE[:22] + 'X=', v
    assert r.body.decode() == NGINX_HEX + '|' + NGINX_HEX
    r = p.get('/mark', headers={'Cookie': 'uid=' + NGINX_COOKIE[:22] + 'X='})
    assert r.header('Set-Cookie') is None and r.body.decode() == NGINX_HEX + '|'
    r = p.get('/mark')
    v, _ = cookie_value(r)
    assert re.match(r'^[A-Za-z0-9+/]{22}X=$', v), v
    # $uid_reset
    r = p.get('/reset?r=0', headers=ck)
    assert r.header('Set-Cookie') is None and r.body.decode() == NGINX_HEX + '|'
    for arg in ('1', 'log'):
        r = p.get('/reset?r=' + arg, headers=ck)
        v, _ = cookie_value(r)
        assert v != NGINX_COOKIE
        assert r.body.decode() == NGINX_HEX + '|' + hexed(v)
    wait_for(lambda: 'userid cookie "%s" was reset' % NGINX_HEX in p.error_log(), 5,
             what='reset notice')
    assert p.error_log().count('was reset') == 1


def test_userid_attributes(t):
    """userid_name, userid_domain, userid_path, userid_expires (a time,
    max), userid_p3p, userid_flags: the Set-Cookie attributes in nginx's
    order, the P3P header; an error page gets the cookie too; `userid
    log` and `off` set none."""
    p = uid_proxy(t, loc="""
        userid_name sid; userid_domain example.com; userid_path /p;
        userid_expires 1h; userid_p3p 'CP="x"';
        userid_flags secure httponly; userid_flags samesite=strict;""",
                  srv='location /max { userid_expires max; return 204; }')
    now = time.time()
    r = p.get('/')
    v, attrs = cookie_value(r, 'sid')
    m = re.match(r'^; expires=(\w{3}, \d\d-\w{3}-\d\d \d\d:\d\d:\d\d) GMT; domain=example.com; '
                 r'path=/p; secure; httponly; samesite=strict$', attrs)
    assert m, attrs
    exp = calendar.timegm(time.strptime(m.group(1), '%a, %d-%b-%y %H:%M:%S'))
    assert abs(exp - (now + 3600)) < 600, (exp, now)
    assert r.header('P3P') == 'CP="x"'
    assert r.body.decode() == '|' + hexed(v, 'sid')
    r = p.get('/max')
    assert r.status == 204
    _, attrs = cookie_value(r)
    assert attrs == '; expires=Thu, 31-Dec-37 23:55:55 GMT; path=/'
    assert r.header('P3P') is None
    r = p.get('/missing')
    assert r.status == 404
    cookie_value(r)
    for path in ('/log', '/off'):
        r = p.get(path)
        assert r.status == 200 and r.header('Set-Cookie') is None and r.body == b'|'


def test_userid_config_errors(t):
    """-t: nginx's messages for each directive's bad values and repeats,
    userid inside `if`."""
    assert_location_t_errors(t, [
        ('userid maybe;', 'invalid value "maybe"'),
        ('userid on; userid off;', '"userid" directive is duplicate'),
        ('userid_service x;', '"userid_service" directive invalid number'),
        ('userid_service -1;', '"userid_service" directive invalid number'),
        ('userid_expires bad;', '"userid_expires" directive invalid value'),
        ('userid_expires 500ms;', '"userid_expires" directive invalid value'),
        ('userid_expires 1h; userid_expires 2h;', '"userid_expires" directive is duplicate'),
        ('userid_mark XY;',
         '"userid_mark" directive value must be "off" or a single letter, digit or "="'),
        ('userid_flags bogus;', 'invalid value "bogus"'),
        ('userid_name a; userid_name b;', '"userid_name" directive is duplicate'),
        ('if ($arg_a) { userid on; }', '"userid" directive is not allowed here'),
    ])
