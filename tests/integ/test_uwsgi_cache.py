# SPDX-License-Identifier: MIT
"""uwsgi_cache and scgi_cache in front of a real uWSGI server (Debian's
uwsgi-core, python3 plugin: test_uwsgi.Uwsgi, on a uwsgi socket, or an SCGI
one for scgi_pass), the same config text for nginx 1.22 and lbd, Debian's
/etc/nginx/uwsgi_params (scgi_params) included. Every case runs for both
modules (test_uwsgi_cache_* and test_scgi_cache_*). uWSGI answers a uwsgi
request with an HTTP status line and an SCGI one with a CGI head
(Status:), so both of lbd's head readers are in play. The WSGI app counts
its runs in a file of its directory (cachekit), so a HIT is a request it
never saw. Checked: MISS then HIT (the entry file where nginx puts it),
*_cache_valid per status, *_cache_bypass and *_no_cache, POST not cached,
*_cache_use_stale error with the server down, revalidation (the entry's
validators sent as HTTP_IF_*, the app's 304 renews it), background
update, inheritance apart from proxy_cache and the other module's cache,
the missing key (a warning, one entry for all), -t errors."""

import os

from cachekit import HDR, config_errors, entry_path, missing_key_warns, runs, seen
from cachekit import until_hit, until_not_hit, xc
from harness import request
from test_uwsgi import Uwsgi

APP = r'''
import json, os, time, urllib.parse

ROOT = %r

def application(environ, start_response):
    args = dict(urllib.parse.parse_qsl(environ.get('QUERY_STRING', '')))
    k = ''.join(ch for ch in args.get('k', 'x') if ch.isalnum())
    f = os.path.join(ROOT, 'hits-' + k)
    try:
        n = int(open(f).read()) + 1
    except OSError:
        n = 1
    open(f, 'w').write(str(n))
    keep = ('HTTP_IF_NONE_MATCH', 'HTTP_IF_MODIFIED_SINCE', 'HTTP_RANGE', 'HTTP_IF_MATCH',
            'REQUEST_METHOD')
    open(os.path.join(ROOT, 'seen-' + k), 'w').write(
        json.dumps({h: environ[h] for h in keep if h in environ}))
    if 'sleep' in args:
        time.sleep(int(args['sleep']) / 1000.0)
    hdrs = [('Content-Type', 'text/plain'), ('X-Run', str(n))]
    if 'etag' in args:
        hdrs += [('ETag', args['etag']), ('Last-Modified', 'Tue, 14 Nov 2023 22:13:20 GMT')]
        if environ.get('HTTP_IF_NONE_MATCH') == args['etag']:
            start_response('304 Not Modified', hdrs)
            return [b'']
    if 'cc' in args:
        hdrs.append(('Cache-Control', args['cc']))
    if 'cookie' in args:
        hdrs.append(('Set-Cookie', 'sess=' + args['cookie']))
    start_response(args.get('code', '200') + ' Whatever', hdrs)
    body = 'run=%%d k=%%s method=%%s\n' %% (n, k, environ['REQUEST_METHOD'])
    return [body.encode()]
'''

MODS = ('uwsgi', 'scgi')


def _app(t, mod):
    """A uWSGI server for MOD (uwsgi or scgi) running the counting app;
    (server, the directory its counters are in)."""
    root = t.tmpdir('app-')
    return Uwsgi(t, app=APP % root, scgi=mod == 'scgi'), root


def _site(t, mod, loc='', srv='', http='', path_args='levels=1:2 keys_zone=app:1m',
          key=None, start=True):
    """A server whose `location /` is MOD_pass to a fresh app with
    MOD_cache app (zone in {prefix}/cache) and LOC; (proxy, app dir, app)."""
    app, root = _app(t, mod)
    if key is None:
        key = '%s_cache_key "$scheme$request_method$host$request_uri";' % mod
    p = t.proxy("""
%(m)s_cache_path {prefix}/cache %(pa)s;
%(key)s
%(http)s
server {
    listen 127.0.0.1:{port};
    server_name localhost;
    %(hdr)s
    %(srv)s
    location / {
        include /etc/nginx/%(m)s_params;
        %(m)s_pass %(addr)s;
        %(m)s_cache app;
        %(loc)s
    }
}""" % dict(m=mod, pa=path_args, key=key, http=http, hdr=HDR, srv=srv, addr=app.addr, loc=loc),
        start=start)
    return p, root, app


def _miss_then_hit(t, mod):
    """The second GET is a HIT the app never saw; the entry file is where
    nginx puts it (md5 of the key under levels=1:2); another host (in the
    key) and another URI are other entries."""
    p, root, _ = _site(t, mod, '%s_cache_valid 200 10m;' % mod)
    r1 = p.get('/a?k=a', host='example.com')
    r2 = p.get('/a?k=a', host='example.com')
    assert (r1.status, xc(r1)) == (200, 'MISS'), (r1.status, r1.headers)
    assert (r2.status, xc(r2)) == (200, 'HIT'), (r2.status, r2.headers)
    assert r1.body == r2.body == b'run=1 k=a method=GET\n'
    assert r2.header('X-Run') == '1' and r2.header('Content-Type') == 'text/plain'
    assert runs(root, 'a') == 1
    path = entry_path(p, 'cache', b'httpGETexample.com/a?k=a')
    assert os.path.isfile(path), path
    r3 = p.get('/a?k=a', host='other.example')
    assert (xc(r3), r3.body) == ('MISS', b'run=2 k=a method=GET\n')
    assert xc(p.get('/a?k=b')) == 'MISS' and runs(root, 'b') == 1


def _valid_per_status(t, mod):
    """*_cache_valid per status: a status without a time is not stored; the
    app's status is the one cached; the app's Cache-Control: no-store and
    Set-Cookie keep an answer out."""
    p, root, _ = _site(t, mod, '%s_cache_valid 200 10m; %s_cache_valid 404 1m;' % (mod, mod))
    for k, q, code, cached in (('s200', '', 200, True), ('s404', '&code=404', 404, True),
                               ('s500', '&code=500', 500, False),
                               ('s302', '&code=302', 302, False),
                               ('nostore', '&cc=no-store', 200, False),
                               ('cookie', '&cookie=1', 200, False)):
        r1 = p.get('/v?k=%s%s' % (k, q))
        r2 = p.get('/v?k=%s%s' % (k, q))
        assert (r1.status, xc(r1)) == (code, 'MISS'), (k, r1.status, r1.headers)
        assert (r2.status, xc(r2)) == (code, 'HIT' if cached else 'MISS'), (k, r2.headers)
        assert runs(root, k) == (1 if cached else 2), k


def _bypass_and_no_cache(t, mod):
    """*_cache_bypass and *_no_cache on a cookie: a logged-in user gets a
    fresh page (BYPASS) that is not stored, visitors keep the cached one;
    a POST does not use the cache (no X-Cache) by default."""
    p, root, _ = _site(t, mod, '%s_cache_valid 200 10m; %s_cache_bypass $cookie_logged_in; '
                       '%s_no_cache $cookie_logged_in;' % (mod, mod, mod))
    assert xc(p.get('/b?k=by')) == 'MISS'
    r = p.get('/b?k=by')
    assert (xc(r), r.header('X-Run')) == ('HIT', '1')
    for n in (2, 3):
        r = p.get('/b?k=by', headers={'Cookie': 'logged_in=admin'})
        assert (r.status, xc(r), r.header('X-Run')) == (200, 'BYPASS', str(n)), r.headers
    r = p.get('/b?k=by', headers={'Cookie': 'other=1'})
    assert (xc(r), r.header('X-Run')) == ('HIT', '1'), r.headers
    assert runs(root, 'by') == 3
    for n in (1, 2):
        r = p.req('POST', '/b?k=post', body=b'a=1',
                  headers={'Content-Type': 'application/x-www-form-urlencoded'})
        assert (r.status, xc(r), r.header('X-Run')) == (200, None, str(n)), r.headers


def _stale_when_down(t, mod):
    """*_cache_use_stale error: the app's server stopped, an expired entry
    is sent (STALE); a URI never cached gets the 502."""
    p, root, app = _site(t, mod, '%s_cache_valid 200 1s; %s_cache_use_stale error timeout;'
                         % (mod, mod))
    assert xc(p.get('/s?k=st')) == 'MISS'
    r = until_not_hit(p, '/s?k=st')
    assert (r.status, xc(r), r.header('X-Run')) == (200, 'EXPIRED', '2'), r.headers
    app.stop()
    r = until_not_hit(p, '/s?k=st')
    assert (r.status, xc(r), r.header('X-Run')) == (200, 'STALE', '2'), (r.status, r.headers)
    assert p.get('/s?k=never').status == 502


def _revalidate(t, mod):
    """*_cache_revalidate on: an expired entry's ETag and Last-Modified go to
    the app as HTTP_IF_NONE_MATCH / HTTP_IF_MODIFIED_SINCE, its 304 renews
    the entry (REVALIDATED, the stored body); the client's own conditions
    and Range never reach the app."""
    p, root, _ = _site(t, mod, '%s_cache_valid 200 1s; %s_cache_revalidate on;' % (mod, mod))
    path = '/r?k=rv&etag=%22v1%22'
    r1 = p.get(path, headers={'If-None-Match': '"client"', 'Range': 'bytes=0-1',
                              'If-Match': '*'})
    assert (r1.status, xc(r1)) == (200, 'MISS'), r1.headers
    assert seen(root, 'rv') == {'REQUEST_METHOD': 'GET'}, seen(root, 'rv')
    r = until_not_hit(p, path)
    assert (r.status, xc(r), r.body) == (200, 'REVALIDATED', r1.body), r.headers
    s = seen(root, 'rv')
    assert s.get('HTTP_IF_NONE_MATCH') == '"v1"', s
    assert s.get('HTTP_IF_MODIFIED_SINCE') == 'Tue, 14 Nov 2023 22:13:20 GMT', s
    assert runs(root, 'rv') == 2 and xc(p.get(path)) == 'HIT'


def _background_update(t, mod):
    """*_cache_background_update on with use_stale updating: the request
    that finds the entry expired gets it at once (STALE) while the app
    runs again for it on its own (3 s); meanwhile UPDATING; then a HIT with
    the new page (lbd's update thread reads uWSGI's HTTP head for uwsgi,
    its CGI head for SCGI)."""
    p, root, _ = _site(t, mod, '%s_cache_valid 200 1s; %s_cache_use_stale updating; '
                       '%s_cache_background_update on;' % (mod, mod, mod),
                       key='%s_cache_key $scheme$host$uri$arg_k;' % mod)
    r1 = p.get('/u?k=bg')
    assert (xc(r1), r1.header('X-Run')) == ('MISS', '1')
    r = until_not_hit(p, '/u?k=bg&sleep=3000')
    assert (r.status, xc(r), r.body) == (200, 'STALE', r1.body), (r.headers, r.body)
    r = p.get('/u?k=bg')
    assert (xc(r), r.body) == ('UPDATING', r1.body), r.headers
    r = until_hit(p, '/u?k=bg', what='HIT after the update')
    assert (r.header('X-Run'), r.body) == ('2', b'run=2 k=bg method=GET\n'), r.headers
    assert runs(root, 'bg') == 2


def _apart(t, mod):
    """MOD_cache at http level reaches every MOD_pass location (`off` in
    one); proxy_cache and the other module's cache at http level do not
    reach a MOD_pass location."""
    other = 'scgi' if mod == 'uwsgi' else 'uwsgi'
    app, root = _app(t, mod)
    p = t.proxy("""
%(m)s_cache_path {prefix}/mcache keys_zone=app:1m;
%(o)s_cache_path {prefix}/ocache keys_zone=oth:1m;
proxy_cache_path {prefix}/pcache keys_zone=web:1m;
%(m)s_cache app;
%(m)s_cache_key $uri$is_args$args;
%(m)s_cache_valid 200 10m;
server {
    listen 127.0.0.1:{port};
    %(hdr)s
    location /on { include /etc/nginx/%(m)s_params; %(m)s_pass %(a)s; }
    location /off { include /etc/nginx/%(m)s_params; %(m)s_pass %(a)s; %(m)s_cache off; }
}
server {
    listen 127.0.0.1:{port2};
    %(hdr)s
    proxy_cache web;
    proxy_cache_valid 200 10m;
    %(o)s_cache oth;
    %(o)s_cache_key $uri;
    %(o)s_cache_valid 200 10m;
    %(m)s_cache off;
    location / { include /etc/nginx/%(m)s_params; %(m)s_pass %(a)s; }
}""" % dict(m=mod, o=other, hdr=HDR, a=app.addr))
    assert [xc(p.get('/on?k=on')) for _ in range(2)] == ['MISS', 'HIT']
    assert [xc(p.get('/off?k=off')) for _ in range(2)] == [None, None]
    assert runs(root, 'off') == 2
    rs = [request(p.subs['port2'], path='/x?k=two') for _ in range(2)]
    assert [xc(r) for r in rs] == [None, None] and runs(root, 'two') == 2


def _missing_key(t, mod):
    """nginx 1.22 loads MOD_cache without MOD_cache_key with a warning at
    the http block's end and keys every request with the empty string: a
    second URI is a HIT on the first one's page."""
    p, root, _ = _site(t, mod, '%s_cache_valid 200 10m;' % mod, key='', start=False)
    missing_key_warns(p, mod)
    p.start()
    r1 = p.get('/m?k=one')
    r2 = p.get('/m?k=two')
    assert (xc(r1), xc(r2)) == ('MISS', 'HIT')
    assert r2.body == b'run=1 k=one method=GET\n' and runs(root, 'two') == 0


def _config_errors(t, mod):
    """nginx's -t errors: an unknown zone, a zone of another module, no
    MOD_cache_convert_head, a duplicate, a bad method."""
    o = 'scgi' if mod == 'uwsgi' else 'uwsgi'
    config_errors(t, [
        ("""
server { listen 127.0.0.1:{port};
    location / { %s_pass 127.0.0.1:9; %s_cache nope; } }""" % (mod, mod),
         '"%s_cache" zone "nope" is unknown in %%s:' % mod),
        ("""
%s_cache_path {prefix}/c keys_zone=z:1m;
%s_cache_key $uri;
server { listen 127.0.0.1:{port};
    location / { %s_pass 127.0.0.1:9; %s_cache z; } }""" % (o, mod, mod, mod),
         'the shared memory zone "z" is already declared for a different use in %s:'),
        ("""
proxy_cache_path {prefix}/c keys_zone=z:1m;
%s_cache_path {prefix}/d keys_zone=z:1m;""" % mod,
         'the shared memory zone "z" is already declared for a different use in %s:'),
        ("""
server { listen 127.0.0.1:{port};
    location / { %s_pass 127.0.0.1:9; %s_cache_convert_head on; } }""" % (mod, mod),
         'unknown directive "%s_cache_convert_head" in %%s:' % mod),
        ("""
%s_cache_path {prefix}/c keys_zone=z:1m;
server { listen 127.0.0.1:{port};
    location / { %s_cache z; %s_cache off; } }""" % (mod, mod, mod),
         '"%s_cache" directive is duplicate in %%s:' % mod),
        ("""
%s_cache_methods GET PUT;
server { listen 127.0.0.1:{port}; }""" % mod, 'invalid value "PUT" in %s:'),
    ])


def _each_module(fn):
    """test_uwsgi_cache_NAME and test_scgi_cache_NAME from _NAME."""
    for mod in MODS:
        def test(t, mod=mod):
            fn(t, mod)
        test.__name__ = 'test_%s_cache%s' % (mod, fn.__name__)
        test.__doc__ = fn.__doc__
        globals()[test.__name__] = test


for _fn in (_miss_then_hit, _valid_per_status, _bypass_and_no_cache, _stale_when_down,
            _revalidate, _background_update, _apart, _missing_key, _config_errors):
    _each_module(_fn)
