# SPDX-License-Identifier: MIT
"""fastcgi_cache in front of Debian's php8.2-fpm (the WordPress set-up), the
same config text for nginx 1.22 and lbd, a php-fpm master per test
(test_fastcgi.PhpFpm). The script counts its runs in a file of the
document root, so a HIT is one that php-fpm never saw. Checked: MISS then
HIT (the entry file where nginx puts it), fastcgi_cache_valid per status,
PHP's Cache-Control / Expires / Set-Cookie and fastcgi_ignore_headers,
fastcgi_cache_bypass and fastcgi_no_cache with the WordPress login cookie
(both idioms: $cookie_NAME and the `if` on $http_cookie), POST not cached
unless fastcgi_cache_methods says so, the missing key (nginx 1.22: a
warning, then one entry for every request), use_stale when php-fpm is
down, revalidation (the entry's validators sent as HTTP_IF_*, the client's
never), fastcgi_cache_lock, inheritance from http apart from proxy_cache,
$upstream_cache_status in add_header, -t errors."""

import os
import threading
import time

from cachekit import HDR, config_errors, entry_path, missing_key_warns, until_hit
from cachekit import until_not_hit
from cachekit import runs as _runs, seen as _seen, xc as _xc
from harness import request
from test_fastcgi import PhpFpm

COUNTER = r'''<?php
$k = preg_replace('/\W/', '', $_GET['k'] ?? 'x');
$f = $_SERVER['DOCUMENT_ROOT'] . '/hits-' . $k;
$n = intval(@file_get_contents($f)) + 1;
file_put_contents($f, strval($n));
$seen = [];
foreach (['HTTP_IF_NONE_MATCH', 'HTTP_IF_MODIFIED_SINCE', 'HTTP_RANGE', 'HTTP_IF_MATCH',
          'REQUEST_METHOD'] as $h) {
    if (isset($_SERVER[$h])) $seen[$h] = $_SERVER[$h];
}
file_put_contents($_SERVER['DOCUMENT_ROOT'] . '/seen-' . $k, json_encode($seen));
if (isset($_GET['sleep'])) usleep(intval($_GET['sleep']) * 1000);
if (isset($_GET['etag'])) {
    header('ETag: ' . $_GET['etag']);
    header('Last-Modified: Tue, 14 Nov 2023 22:13:20 GMT');
    if (($_SERVER['HTTP_IF_NONE_MATCH'] ?? '') === $_GET['etag']) {
        http_response_code(304);
        exit;
    }
}
if (isset($_GET['code'])) http_response_code(intval($_GET['code']));
if (isset($_GET['cc'])) header('Cache-Control: ' . $_GET['cc']);
if (isset($_GET['exp']))
    header('Expires: ' . gmdate('D, d M Y H:i:s', time() + intval($_GET['exp'])) . ' GMT');
if (isset($_GET['cookie'])) setcookie('sess', $_GET['cookie']);
header('X-Run: ' . $n);
echo "run=$n k=$k method=" . $_SERVER['REQUEST_METHOD'] . "\n";
'''

KEY = 'fastcgi_cache_key "$scheme$request_method$host$request_uri";'


def _site(t):
    d = t.tmpdir('www-')
    t.write(os.path.join(d, 'c.php'), COUNTER)
    return d


def _php(t, loc_extra='', srv_extra='', http_extra='', path_args='levels=1:2 keys_zone=php:1m',
         key=KEY, start=True):
    root = _site(t)
    fpm = PhpFpm(t, root)
    p = t.proxy("""
fastcgi_cache_path {prefix}/fcache %s;
%s
%s
server {
    listen 127.0.0.1:{port};
    server_name localhost;
    root %s;
    %s
    %s
    location ~ \\.php$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass 127.0.0.1:{fpm};
        fastcgi_cache php;
        %s
    }
}""" % (path_args, key, http_extra, root, HDR, srv_extra, loc_extra), start=start, fpm=fpm.port)
    return p, root, fpm


def test_fcache_miss_then_hit(t):
    """The second GET is a HIT php-fpm never saw; the entry file is where
    nginx puts it (md5 of the key under levels=1:2); another URI is
    another entry."""
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 10m;')
    r1 = p.get('/c.php?k=a', host='example.com')
    r2 = p.get('/c.php?k=a', host='example.com')
    assert (r1.status, _xc(r1)) == (200, 'MISS'), (r1.status, r1.headers)
    assert (r2.status, _xc(r2)) == (200, 'HIT'), (r2.status, r2.headers)
    assert r1.body == r2.body == b'run=1 k=a method=GET\n'
    assert r2.header('X-Run') == '1' and r2.header('Content-Type').startswith('text/html')
    assert _runs(root, 'a') == 1
    path = entry_path(p, 'fcache', b'httpGETexample.com/c.php?k=a')
    assert os.path.isfile(path), path
    # the key has $host: another host is another entry
    r3 = p.get('/c.php?k=a', host='other.example')
    assert (_xc(r3), r3.body) == ('MISS', b'run=2 k=a method=GET\n')
    assert _xc(p.get('/c.php?k=b')) == 'MISS' and _runs(root, 'b') == 1


def test_fcache_valid_per_status(t):
    """fastcgi_cache_valid per status and `any`: a status without a time is
    not stored; PHP's status (http_response_code) is the one cached."""
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 10m; fastcgi_cache_valid 404 1m;')
    for k, code, cached in (('s200', 200, True), ('s404', 404, True), ('s500', 500, False),
                            ('s302', 302, False)):
        r1 = p.get('/c.php?k=%s&code=%d' % (k, code))
        r2 = p.get('/c.php?k=%s&code=%d' % (k, code))
        assert (r1.status, _xc(r1)) == (code, 'MISS'), (k, r1.status, r1.headers)
        assert (r2.status, _xc(r2)) == (code, 'HIT' if cached else 'MISS'), (k, r2.headers)
        assert _runs(root, k) == (1 if cached else 2), k
    p.stop()
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 10m; fastcgi_cache_valid any 1m;')
    for _ in range(2):
        r = p.get('/c.php?k=any&code=503')
    assert (r.status, _xc(r)) == (503, 'HIT') and _runs(root, 'any') == 1


def _php_cache_headers(t):
    root = _site(t)
    fpm = PhpFpm(t, root)
    loc = """
    location ~ ^%s(/c\\.php)$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$1;
        fastcgi_pass 127.0.0.1:%d;
        fastcgi_cache php;
        %s
    }"""
    p = t.proxy("""
fastcgi_cache_path {prefix}/fcache keys_zone=php:1m;
%s
server {
    listen 127.0.0.1:{port};
    root %s;
    %s
    %s
    %s
    %s
}""" % (KEY, root, HDR,
        loc % ('', fpm.port, 'fastcgi_cache_valid 200 10m;'),
        loc % ('/ign', fpm.port, 'fastcgi_cache_valid 200 10m; '
               'fastcgi_ignore_headers Cache-Control Expires Set-Cookie;'),
        loc % ('/novalid', fpm.port, '')))
    cases = [
        ('/c.php?k=nostore&cc=no-store', False),
        ('/c.php?k=private&cc=private', False),
        ('/c.php?k=nocache&cc=no-cache', False),
        ('/c.php?k=age0&cc=max-age%3D0', False),
        ('/c.php?k=expold&exp=-100', False),
        ('/c.php?k=cookie&cookie=1', False),
        ('/c.php?k=plain', True),
        ('/ign/c.php?k=ignstore&cc=no-store', True),
        ('/ign/c.php?k=ignexp&exp=-100', True),
        ('/ign/c.php?k=igncookie&cookie=1', True),
        ('/novalid/c.php?k=nv', False),
        ('/novalid/c.php?k=nvage&cc=max-age%3D100', True),
        ('/novalid/c.php?k=nvexp&exp=100', True),
    ]
    for path, cached in cases:
        k = path.split('k=')[1].split('&')[0]
        r1 = p.get(path)
        r2 = p.get(path)
        assert (r1.status, _xc(r1)) == (200, 'MISS'), (path, r1.status, r1.headers)
        assert _xc(r2) == ('HIT' if cached else 'MISS'), (path, r2.headers)
        assert _runs(root, k) == (1 if cached else 2), path
    # a stored Set-Cookie goes out with the hit (ignored for the decision)
    r = p.get('/ign/c.php?k=igncookie&cookie=1')
    assert _xc(r) == 'HIT' and 'sess=1' in (r.header('Set-Cookie') or ''), r.headers


def test_fcache_php_cache_headers(t):
    """PHP's own Cache-Control and Expires decide before fastcgi_cache_valid
    (no-store/private/no-cache/max-age=0, an Expires in the past, a
    Set-Cookie: not stored); max-age or a future Expires stores without
    fastcgi_cache_valid; fastcgi_ignore_headers lifts them."""
    _php_cache_headers(t)


WP_SRV = """
    set $skip_cache 0;
    if ($request_method = POST) { set $skip_cache 1; }
    if ($http_cookie ~* "comment_author|wordpress_[a-f0-9]+|wp-postpass|wordpress_no_cache|wordpress_logged_in") {
        set $skip_cache 1;
    }
"""


def test_fcache_bypass_and_no_cache_cookie(t):
    """The WordPress idioms: a logged-in user (cookie) gets a fresh page
    (BYPASS) and it is not stored (fastcgi_no_cache), so visitors keep the
    cached one; with fastcgi_cache_bypass alone the fresh answer replaces
    the entry. $cookie_NAME, and the `if` on $http_cookie with a hashed
    cookie name."""
    root = _site(t)
    fpm = PhpFpm(t, root)
    loc = """
    location ~ ^%s(/c\\.php)$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$1;
        fastcgi_pass 127.0.0.1:%d;
        fastcgi_cache php;
        fastcgi_cache_valid 200 10m;
        %s
    }"""
    p = t.proxy("""
fastcgi_cache_path {prefix}/fcache keys_zone=php:1m;
%s
server {
    listen 127.0.0.1:{port};
    root %s;
    %s
    %s
    %s
    %s
    %s
}""" % (KEY, root, HDR, WP_SRV,
        loc % ('/ck', fpm.port, 'fastcgi_cache_bypass $cookie_wordpress_logged_in; '
               'fastcgi_no_cache $cookie_wordpress_logged_in;'),
        loc % ('/wp', fpm.port, 'fastcgi_cache_bypass $skip_cache; '
               'fastcgi_no_cache $skip_cache;'),
        loc % ('/by', fpm.port, 'fastcgi_cache_bypass $cookie_wordpress_logged_in;')))
    for pre, cookie in (('/ck', 'wordpress_logged_in=admin'),
                        ('/wp', 'wordpress_logged_in_5f4dcc3b5aa765d61d8327deb882cf99=admin')):
        k = pre[1:]
        path = '%s/c.php?k=%s' % (pre, k)
        assert _xc(p.get(path)) == 'MISS'
        r = p.get(path)
        assert (_xc(r), r.header('X-Run')) == ('HIT', '1')
        for n in (2, 3):
            r = p.get(path, headers={'Cookie': cookie})
            assert (r.status, _xc(r), r.header('X-Run')) == (200, 'BYPASS', str(n)), \
                (pre, r.headers)
        r = p.get(path, headers={'Cookie': 'other=1'})
        assert (_xc(r), r.header('X-Run')) == ('HIT', '1'), (pre, r.headers)
        assert _runs(root, k) == 3
    # bypass without no_cache: the logged-in answer is stored
    path = '/by/c.php?k=by'
    assert _xc(p.get(path)) == 'MISS'
    r = p.get(path, headers={'Cookie': 'wordpress_logged_in=admin'})
    assert (_xc(r), r.header('X-Run')) == ('BYPASS', '2')
    r = p.get(path)
    assert (_xc(r), r.header('X-Run')) == ('HIT', '2')
    # the WordPress `if`: a POST skips the cache too
    r = p.req('POST', '/wp/c.php?k=wp', body=b'comment=1',
              headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert r.status == 200 and r.header('X-Run') == '4'


def test_fcache_post_not_cached(t):
    """POST is not cached by default ($upstream_cache_status empty, so no
    X-Cache), nor does it store; with fastcgi_cache_methods POST it is
    (keyed with $request_method apart from GET)."""
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 10m;', srv_extra="""
    location ~ ^/post(/c\\.php)$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$1;
        fastcgi_pass 127.0.0.1:{fpm};
        fastcgi_cache php;
        fastcgi_cache_valid 200 10m;
        fastcgi_cache_methods POST;
    }""")
    for n in (1, 2):
        r = p.req('POST', '/c.php?k=p', body=b'a=1',
                  headers={'Content-Type': 'application/x-www-form-urlencoded'})
        assert (r.status, _xc(r), r.header('X-Run')) == (200, None, str(n)), r.headers
    r = p.get('/c.php?k=p')
    assert (_xc(r), r.header('X-Run')) == ('MISS', '3')


def test_fcache_post_methods(t):
    """fastcgi_cache_methods POST: a POST is stored and hit (its own key,
    $request_method in it), GET apart."""
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 10m; fastcgi_cache_methods POST;')
    for xc in ('MISS', 'HIT'):
        r = p.req('POST', '/c.php?k=m', body=b'a=1',
                  headers={'Content-Type': 'application/x-www-form-urlencoded'})
        assert (r.status, _xc(r), r.header('X-Run')) == (200, xc, '1'), r.headers
    r = p.get('/c.php?k=m')
    assert (_xc(r), r.header('X-Run')) == ('MISS', '2')
    assert r.body == b'run=2 k=m method=GET\n'


def test_fcache_missing_key(t):
    """nginx 1.22 loads fastcgi_cache without fastcgi_cache_key with a
    warning at the http block's end, and keys every request with the empty
    string: a second URI is a HIT on the first one's page."""
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 10m;', key='', start=False)
    missing_key_warns(p, 'fastcgi')
    p.start()
    r1 = p.get('/c.php?k=one')
    r2 = p.get('/c.php?k=two')
    assert (_xc(r1), _xc(r2)) == ('MISS', 'HIT')
    assert r2.body == b'run=1 k=one method=GET\n'
    assert _runs(root, 'two') == 0


def test_fcache_config_errors(t):
    """nginx's -t errors: an unknown zone, a proxy_cache_path zone used by
    fastcgi_cache, no fastcgi_cache_convert_head, a duplicate."""
    cases = [
        ("""
server { listen 127.0.0.1:{port};
    location / { fastcgi_pass 127.0.0.1:9; fastcgi_cache nope; } }""",
         '"fastcgi_cache" zone "nope" is unknown in %s:'),
        ("""
proxy_cache_path {prefix}/c keys_zone=z:1m;
fastcgi_cache_key $uri;
server { listen 127.0.0.1:{port};
    location / { fastcgi_pass 127.0.0.1:9; fastcgi_cache z; } }""",
         'the shared memory zone "z" is already declared for a different use in %s:'),
        ("""
fastcgi_cache_key $uri;
server { listen 127.0.0.1:{port};
    location / { fastcgi_pass 127.0.0.1:9; fastcgi_cache_convert_head on; } }""",
         'unknown directive "fastcgi_cache_convert_head" in %s:'),
        ("""
fastcgi_cache_path {prefix}/c keys_zone=z:1m;
server { listen 127.0.0.1:{port};
    location / { fastcgi_cache z; fastcgi_cache off; } }""",
         '"fastcgi_cache" directive is duplicate in %s:'),
        ("""
fastcgi_cache_methods GET PUT;
server { listen 127.0.0.1:{port}; }""", 'invalid value "PUT" in %s:'),
    ]
    config_errors(t, cases)


def test_fcache_stale_when_fpm_down(t):
    """fastcgi_cache_use_stale error: php-fpm stopped, an expired entry is
    sent (STALE); without use_stale the client gets the 502."""
    p, root, fpm = _php(t, 'fastcgi_cache_valid 200 1s; '
                        'fastcgi_cache_use_stale error timeout http_500;')
    r1 = p.get('/c.php?k=st')
    assert _xc(r1) == 'MISS'
    r = until_not_hit(p, '/c.php?k=st')
    assert (r.status, _xc(r)) == (200, 'EXPIRED'), r.headers
    fpm.stop()
    r = until_not_hit(p, '/c.php?k=st')
    assert (r.status, _xc(r), r.header('X-Run')) == (200, 'STALE', '2'), (r.status, r.headers)
    # a URI never cached: the 502 goes through
    r = p.get('/c.php?k=never')
    assert r.status == 502


def test_fcache_revalidate(t):
    """fastcgi_cache_revalidate on: an expired entry's ETag and
    Last-Modified go to PHP as HTTP_IF_NONE_MATCH / HTTP_IF_MODIFIED_SINCE,
    PHP's 304 renews it (REVALIDATED, the stored body); the client's own
    conditions and Range never reach PHP."""
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 1s; fastcgi_cache_revalidate on;')
    path = '/c.php?k=rv&etag=%22v1%22'
    r1 = p.get(path, headers={'If-None-Match': '"client"', 'Range': 'bytes=0-1',
                              'If-Match': '*'})
    assert (r1.status, _xc(r1)) == (200, 'MISS'), r1.headers
    seen = _seen(root, 'rv')
    assert seen == {'REQUEST_METHOD': 'GET'}, seen
    r = until_not_hit(p, path)
    assert (r.status, _xc(r), r.body) == (200, 'REVALIDATED', r1.body), r.headers
    seen = _seen(root, 'rv')
    assert seen.get('HTTP_IF_NONE_MATCH') == '"v1"', seen
    assert seen.get('HTTP_IF_MODIFIED_SINCE') == 'Tue, 14 Nov 2023 22:13:20 GMT', seen
    assert _runs(root, 'rv') == 2
    assert _xc(p.get(path)) == 'HIT'
    # a client's conditional against the stored entry: answered from it
    r = p.get(path, headers={'If-None-Match': '"v1"'})
    assert (r.status, _xc(r)) == (304, 'HIT')


def test_fcache_lock(t):
    """fastcgi_cache_lock on: 12 concurrent requests for a cold page that
    takes 300 ms reach php-fpm once."""
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 10m; fastcgi_cache_lock on;')
    out = []

    def one():
        r = p.get('/c.php?k=lk&sleep=300', timeout=20)
        out.append((r.status, r.header('X-Run')))

    th = [threading.Thread(target=one) for _ in range(12)]
    for x in th:
        x.start()
    for x in th:
        x.join(30)
    assert out == [(200, '1')] * 12, out
    assert _runs(root, 'lk') == 1


def test_fcache_inherited_apart_from_proxy(t):
    """fastcgi_cache at http level reaches every fastcgi_pass location
    (`off` in one), not a proxy_pass location; proxy_cache at http level
    does not reach a fastcgi_pass location."""
    root = _site(t)
    fpm = PhpFpm(t, root)
    b = t.backend('b')
    p = t.proxy("""
fastcgi_cache_path {prefix}/fcache keys_zone=php:1m;
proxy_cache_path {prefix}/pcache keys_zone=web:1m;
fastcgi_cache php;
%s
fastcgi_cache_valid 200 10m;
server {
    listen 127.0.0.1:{port};
    root %s;
    %s
    location ~ ^/on(/c\\.php)$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$1;
        fastcgi_pass 127.0.0.1:%d;
    }
    location ~ ^/off(/c\\.php)$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$1;
        fastcgi_pass 127.0.0.1:%d;
        fastcgi_cache off;
    }
    location /web/ {
        proxy_pass http://127.0.0.1:{b};
    }
}
server {
    listen 127.0.0.1:{port2};
    root %s;
    proxy_cache web;
    proxy_cache_valid 200 10m;
    fastcgi_cache off;
    %s
    location ~ \\.php$ {
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass 127.0.0.1:%d;
    }
}""" % (KEY, root, HDR, fpm.port, fpm.port, root, HDR, fpm.port), b=b)
    assert [_xc(p.get('/on/c.php?k=on')) for _ in range(2)] == ['MISS', 'HIT']
    assert [_xc(p.get('/off/c.php?k=off')) for _ in range(2)] == [None, None]
    assert _runs(root, 'off') == 2
    assert [_xc(p.get('/web/x')) for _ in range(2)] == [None, None]
    assert b.count() == 2
    rs = [request(p.subs['port2'], path='/c.php?k=two') for _ in range(2)]
    assert [_xc(r) for r in rs] == [None, None] and _runs(root, 'two') == 2


def test_fcache_background_update(t):
    """fastcgi_cache_background_update on with use_stale updating: the
    request that finds the entry expired gets it at once (STALE) while PHP
    runs again for it on its own (a script that takes 3 s); meanwhile
    UPDATING; then a HIT with the new page. PHP ran twice."""
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 1s; fastcgi_cache_use_stale updating; '
                      'fastcgi_cache_background_update on;',
                      key='fastcgi_cache_key $scheme$host$uri$arg_k;')
    r1 = p.get('/c.php?k=bg')
    assert (_xc(r1), r1.header('X-Run')) == ('MISS', '1')
    time.sleep(2.1)  # expired (valid 1s; nginx counts whole seconds)
    r = p.get('/c.php?k=bg&sleep=3000')
    assert (r.status, _xc(r), r.body) == (200, 'STALE', r1.body), (r.headers, r.body)
    r = p.get('/c.php?k=bg')
    assert (_xc(r), r.body) == ('UPDATING', r1.body), r.headers
    r = until_hit(p, '/c.php?k=bg', what='HIT after the update')
    assert (r.header('X-Run'), r.body) == ('2', b'run=2 k=bg method=GET\n'), r.headers
    assert _runs(root, 'bg') == 2


def test_fcache_head(t):
    """A HEAD goes to PHP as HEAD (no fastcgi_cache_convert_head in nginx);
    with $request_method in the key a GET is its own entry, whole. A GET
    entry is not used for a HEAD of another key."""
    p, root, _ = _php(t, 'fastcgi_cache_valid 200 10m;')
    h = p.req('HEAD', '/c.php?k=hd')
    assert (h.status, _xc(h), h.body) == (200, 'MISS', b''), h.headers
    assert _seen(root, 'hd')['REQUEST_METHOD'] == 'HEAD'
    r = p.get('/c.php?k=hd')
    assert (_xc(r), r.body) == ('MISS', b'run=2 k=hd method=GET\n'), r.headers
    r = p.get('/c.php?k=hd')
    assert (_xc(r), r.body) == ('HIT', b'run=2 k=hd method=GET\n'), r.headers
