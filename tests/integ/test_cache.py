# SPDX-License-Identifier: MIT
"""The proxy cache as nginx has it: MISS then HIT with the backend reached
once, the entry file where nginx puts it (md5 of the key under levels=),
proxy_cache_key, proxy_cache_valid per status and `any`, methods, bypass and
no_cache, upstream Set-Cookie / Cache-Control / X-Accel-Expires and
proxy_ignore_headers, EXPIRED, a restart keeping the cache warm,
proxy_cache_lock (100 concurrent requests, one backend hit), stale answers
when the upstream fails, the disk-full case (a 1 MiB tmpfs under a 4 MiB
response), SIGHUP and SIGQUIT with a zone configured, lbctl cache
list/purge (lbd only), 304/412 answers to conditional requests (nginx's
not_modified filter, if_modified_since), HEAD converted to GET
(proxy_cache_convert_head), Vary variants and
proxy_cache_background_update."""

import gzip
import hashlib
import json
import os
import signal
import subprocess
import threading
import time

from harness import wait_for

HDR = "add_header X-Cache $upstream_cache_status always;"


def _conf(extra_loc='', extra_http='', path_args='levels=1:2 keys_zone=c:1m'):
    return """
proxy_cache_path {prefix}/cache %s;
%s
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache c;
        proxy_cache_valid 200 10m;
        %s
        %s
    }
}""" % (path_args, extra_http, HDR, extra_loc)


def _xc(r):
    return r.header('X-Cache')


def _entry_path(prefix, key):
    h = hashlib.md5(key.encode()).hexdigest()
    return os.path.join(prefix, 'cache', h[-1], h[-3:-1], h)


def test_cache_miss_then_hit(t):
    b = t.backend('b')
    p = t.proxy(_conf(), b=b)
    r1 = p.get('/a')
    r2 = p.get('/a')
    assert (r1.status, _xc(r1)) == (200, 'MISS'), r1
    assert (r2.status, _xc(r2)) == (200, 'HIT'), r2
    assert r1.body == r2.body
    assert b.count() == 1
    # the upstream's own headers come back with the hit
    assert r2.header('X-Backend') == 'b' and r2.header('Content-Type') == 'application/json'
    h = p.req('HEAD', '/a')
    assert (h.status, _xc(h), h.body) == (200, 'HIT', b'')
    assert b.count() == 1
    # nginx's layout: levels=1:2 from the end of md5($scheme$proxy_host$request_uri)
    # (nginx builds it with the upstream's "http://")
    key = 'http://127.0.0.1:%d/a' % b.port
    assert os.path.isfile(_entry_path(p.prefix, key)), os.listdir(p.path('cache'))
    # another URI is another entry
    r3 = p.get('/a?x=1')
    assert _xc(r3) == 'MISS' and b.count() == 2


def test_cache_key_and_valid(t):
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache levels=2 keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    proxy_cache c;
    %s
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache_key $uri;
        proxy_cache_valid 200 404 10m;
    }
    location /any/ {
        proxy_pass http://127.0.0.1:{b}/status/;
        proxy_cache_valid any 10m;
    }
    location /def/ {
        proxy_pass http://127.0.0.1:{b}/status/;
        proxy_cache_valid 10m;
    }
}""" % HDR, b=b)
    # the key ignores the query string
    assert _xc(p.get('/k?x=1')) == 'MISS'
    r = p.get('/k?x=2')
    assert _xc(r) == 'HIT' and r.json()['query'] == 'x=1'
    # 404 listed, 500 not
    assert [(_xc(r), r.status) for r in (p.get('/status/404'), p.get('/status/404'))] == \
        [('MISS', 404), ('HIT', 404)]
    assert [_xc(p.get('/status/500')) for _ in range(2)] == ['MISS', 'MISS']
    # any
    assert [(_xc(r), r.status) for r in (p.get('/any/503'), p.get('/any/503'))] == \
        [('MISS', 503), ('HIT', 503)]
    # no codes: 200 301 302 only
    assert [_xc(p.get('/def/301')) for _ in range(2)] == ['MISS', 'HIT']
    assert [_xc(p.get('/def/404')) for _ in range(2)] == ['MISS', 'MISS']
    # the key is $uri: levels=2 puts it under the last two hex digits
    h = hashlib.md5(b'/k').hexdigest()
    assert os.path.isfile(os.path.join(p.prefix, 'cache', h[-2:], h))


def test_cache_default_key_is_the_upstream_uri(t):
    """nginx builds its default key from the URI it sends upstream, not
    the client's: /b/x and /o/x, both proxied to /x, are one entry."""
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache levels=1:2 keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    proxy_cache c;
    proxy_cache_valid 200 10m;
    %s
    location /b/ {
        proxy_pass http://127.0.0.1:{b}/;
    }
    location /o/ {
        proxy_pass http://127.0.0.1:{b}/;
    }
    location / {
        proxy_pass http://127.0.0.1:{b};
    }
}""" % HDR, b=b)
    r1 = p.get('/b/x?q=1')
    r2 = p.get('/o/x?q=1')
    assert (_xc(r1), _xc(r2)) == ('MISS', 'HIT'), (r1, r2)
    assert r2.json()['path'] == '/x' and b.count() == 1
    key = 'http://127.0.0.1:%d/x?q=1' % b.port
    assert os.path.isfile(_entry_path(p.prefix, key)), key
    # without a URI part the client's URI goes upstream as it came
    assert [_xc(p.get('/x?q=1')) for _ in range(2)] == ['HIT', 'HIT']
    assert b.count() == 1


def test_cache_methods_bypass_no_cache(t):
    b = t.backend('b')
    p = t.proxy(_conf("""
        proxy_cache_key $uri;
        proxy_cache_bypass $arg_nocache $http_x_bypass;
        proxy_no_cache $arg_nostore;"""), b=b)
    # POST is not in the default methods: the cache is not used at all
    r = p.req('POST', '/p', body=b'x')
    assert r.status == 200 and _xc(r) is None, r
    r = p.req('POST', '/p', body=b'x')
    assert _xc(r) is None and b.count() == 2
    # bypass: not read from the cache, but the answer is stored
    assert _xc(p.get('/b')) == 'MISS'
    assert _xc(p.get('/b')) == 'HIT'
    n = b.count()
    r = p.get('/b?nocache=1')
    assert _xc(r) == 'BYPASS' and b.count() == n + 1
    r = p.get('/b', headers={'X-Bypass': '0'})  # "0" does not bypass
    assert _xc(r) == 'HIT' and r.json()['query'] == 'nocache=1'
    # no_cache: never stored
    assert [_xc(p.get('/n?nostore=1')) for _ in range(2)] == ['MISS', 'MISS']


def test_cache_upstream_headers(t):
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    %s
    proxy_cache c;
    proxy_cache_valid 200 10m;
    location / { proxy_pass http://127.0.0.1:{b}; }
    location /ign/ {
        proxy_pass http://127.0.0.1:{b}/;
        proxy_ignore_headers Cache-Control Set-Cookie;
    }
}""" % HDR, b=b)

    def twice(path):
        return [_xc(p.get(path)) for _ in range(2)]

    assert twice('/headers?Set-Cookie=a%3Db') == ['MISS', 'MISS']
    assert twice('/headers?Cache-Control=private') == ['MISS', 'MISS']
    assert twice('/headers?Cache-Control=no-store') == ['MISS', 'MISS']
    assert twice('/headers?Cache-Control=no-cache') == ['MISS', 'MISS']
    assert twice('/headers?Cache-Control=max-age%3D0') == ['MISS', 'MISS']
    assert twice('/headers?X-Accel-Expires=0') == ['MISS', 'MISS']
    assert twice('/headers?Expires=Thu,%2001%20Jan%201970%2000:00:00%20GMT') == ['MISS', 'MISS']
    assert twice('/headers?Cache-Control=public,%20max-age%3D600') == ['MISS', 'HIT']
    # an invalid max-age makes the answer not cacheable, even quoted; a
    # zero s-maxage wins over max-age
    assert twice('/headers?Cache-Control=max-age%3Dabc') == ['MISS', 'MISS']
    assert twice('/headers?Cache-Control=max-age%3D%2260%22') == ['MISS', 'MISS']
    assert twice('/headers?Cache-Control=max-age%3D60,%20s-maxage%3D0') == ['MISS', 'MISS']
    # Expires in any of HTTP's three date forms (nginx's ngx_parse_http_time)
    soon = time.gmtime(time.time() + 600)
    for fmt in ('%A,%%20%d-%b-%y%%20%H:%M:%S%%20GMT', '%a%%20%b%%20%d%%20%H:%M:%S%%20%Y'):
        assert twice('/headers?Expires=' + time.strftime(fmt, soon)) == ['MISS', 'HIT'], fmt
    # ignored, Set-Cookie is stored with the entry (and sent with hits)
    r = p.get('/ign/headers?Set-Cookie=a%3Db&Cache-Control=private')
    assert _xc(r) == 'MISS' and r.header('Set-Cookie') == 'a=b'
    r = p.get('/ign/headers?Set-Cookie=a%3Db&Cache-Control=private')
    assert _xc(r) == 'HIT' and r.header('Set-Cookie') == 'a=b'
    # max-age=1 beats proxy_cache_valid 10m: the entry expires
    assert _xc(p.get('/headers?Cache-Control=max-age%3D1')) == 'MISS'
    wait_for(lambda: _xc(p.get('/headers?Cache-Control=max-age%3D1')) == 'EXPIRED',
             timeout=10, what='EXPIRED after max-age=1')


def test_cache_restart_keeps_entries(t):
    b = t.backend('b')
    p = t.proxy(_conf(), b=b)
    r1 = p.get('/warm')
    assert _xc(r1) == 'MISS' and _xc(p.get('/warm')) == 'HIT'
    # a half-written temp file of a killed process is not an entry
    key = 'http://127.0.0.1:%d/junk' % b.port
    path = _entry_path(p.prefix, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.7.tmp', 'wb') as f:
        f.write(b'partial')
    p.stop()
    p.start()
    r = p.get('/warm')
    assert (r.status, _xc(r), r.body) == (200, 'HIT', r1.body)
    assert b.count() == 1
    assert _xc(p.get('/junk')) == 'MISS'


def test_cache_kill9_keeps_entries(t):
    """kill -9 and restart (issue 8): the entries come back (a half-written
    temp file is not one: test_cache_restart_keeps_entries)."""
    b = t.backend('b')
    p = t.proxy(_conf(), b=b)
    r1 = p.get('/warm')
    assert _xc(r1) == 'MISS' and _xc(p.get('/warm')) == 'HIT'
    p.kill()
    p.start()
    r = p.get('/warm')
    assert (r.status, _xc(r), r.body) == (200, 'HIT', r1.body)
    assert b.count() == 1


def _files(p):
    return [os.path.join(d, f) for d, _, fs in os.walk(p.path('cache')) for f in fs]


def test_cache_inactive(t):
    b = t.backend('b')
    p = t.proxy(_conf(path_args='levels=1:2 keys_zone=c:1m inactive=1s'), b=b)
    assert _xc(p.get('/i')) == 'MISS'
    assert _xc(p.get('/i')) == 'HIT'
    assert len(_files(p)) == 1
    # unused for `inactive`, the entry goes (valid 10m notwithstanding)
    wait_for(lambda: not _files(p), timeout=20, what='inactive entry removed')
    assert _xc(p.get('/i')) == 'MISS'


def test_cache_max_size(t):
    b = t.backend('b')
    p = t.proxy(_conf(path_args='levels=1:2 keys_zone=c:1m max_size=300k'), b=b)
    for i in range(8):
        assert _xc(p.get('/size/102400?n=%d' % i)) == 'MISS'
    # the manager brings the total under max_size, oldest first
    def total():
        n = 0
        for f in _files(p):
            try:
                n += os.path.getsize(f)
            except FileNotFoundError:  # removed by the manager meanwhile
                pass
        return n
    wait_for(lambda: total() <= 320 * 1024, timeout=20, what='cache under max_size')
    assert _xc(p.get('/size/102400?n=7')) == 'HIT'
    assert _xc(p.get('/size/102400?n=0')) == 'MISS'


def test_cache_lock_one_backend_hit(t):
    b = t.backend('b')
    p = t.proxy(_conf("proxy_cache_lock on; proxy_cache_lock_timeout 20s;"), b=b)
    n = 100
    results = [None] * n
    start = threading.Barrier(n)

    def one(i):
        start.wait()
        try:
            r = p.get('/slow/400')
            results[i] = (r.status, _xc(r), r.body)
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = ('error', repr(e), b'')

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert b.count() == 1, b.count()
    assert all(r[0] == 200 for r in results), [r for r in results if r[0] != 200][:3]
    assert len({r[2] for r in results}) == 1
    st = sorted(r[1] for r in results)
    assert st.count('MISS') == 1 and st.count('HIT') == n - 1, st


def test_cache_stale_on_error(t):
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    %s
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache c;
        proxy_cache_key $arg_k;
        proxy_cache_valid 200 1s;
        proxy_cache_valid 500 0;
        proxy_cache_use_stale error timeout http_500 http_502 http_503 http_504;
    }
    location /nostale/ {
        proxy_pass http://127.0.0.1:{b}/;
        proxy_cache c;
        proxy_cache_key $arg_k;
        proxy_cache_valid 200 1s;
    }
}""" % HDR, b=b)
    r1 = p.get('/headers?k=1')
    assert _xc(r1) == 'MISS'
    # once expired, a 500 from the upstream is replaced by the old entry
    r = wait_for(lambda: (lambda r: r if _xc(r) != 'HIT' else None)(p.get('/status/500?k=1')),
                 timeout=10, what='entry expired')
    assert (r.status, _xc(r), r.body) == (200, 'STALE', r1.body), (r.headers, r.body, r1.body)
    # without use_stale the 500 goes through
    r2 = p.get('/nostale/headers?k=2')
    assert _xc(r2) == 'MISS'
    r = wait_for(lambda: (lambda r: r if _xc(r) != 'HIT' else None)(
        p.get('/nostale/status/500?k=2')), timeout=10, what='entry expired')
    assert (r.status, _xc(r)) == (500, 'EXPIRED'), r
    # the upstream down: error -> STALE
    b.stop()
    r = p.get('/headers?k=1')
    assert (r.status, _xc(r), r.body) == (200, 'STALE', r1.body), (r.headers, r.body, r1.body)


def _mount_tmpfs(t, path, size):
    os.makedirs(path, exist_ok=True)
    rc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size, 'tmpfs', path],
                        capture_output=True)
    if rc.returncode:
        t.skip('cannot mount a tmpfs: %s' % rc.stderr.decode().strip())
    t.defer(lambda: subprocess.run(['umount', '-l', path], capture_output=True))


def test_cache_disk_full(t):
    b = t.backend('b')
    p = t.proxy(_conf(), b=b, start=False)
    _mount_tmpfs(t, p.path('cache'), '1m')
    p.start()
    size = 4 << 20
    for _ in range(2):
        r = p.get('/size/%d' % size)
        assert r.status == 200
        assert len(r.body) == size
        pat = b'0123456789abcdef' * 64
        assert r.body == (pat * (size // len(pat) + 1))[:size]
        assert _xc(r) == 'MISS'
    assert b.count() == 2
    if t.target == 'nginx':
        # nginx 1.22 here (buffering on) also sends it all, but leaves its
        # temp files on the full disk and logs an [alert] per response
        return
    # the entry was dropped, nothing half-written left behind, one line
    left = [f for d, _, fs in os.walk(p.path('cache')) for f in fs]
    assert left == [], left
    log = p.error_log()
    assert log.count('cache file of zone "c" failed') == 1, log
    # small responses still fit
    assert [_xc(p.get('/small')) for _ in range(2)] == ['MISS', 'HIT']


def _lbctl(t, p, *args):
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock')] + list(args),
                       capture_output=True, text=True, timeout=10)
    return r.returncode, r.stdout, r.stderr


def test_cache_lbctl_list_purge(t):
    if t.target == 'nginx':
        t.skip('lbctl cache is lbd only (nginx has no control socket; purge is nginx Plus)')
    b = t.backend('b')
    p = t.proxy(_conf("proxy_cache_key $uri;"), b=b)
    for u in ('/x/1', '/x/2', '/y'):
        assert _xc(p.get(u)) == 'MISS'
        assert _xc(p.get(u)) == 'HIT'
    rc, out, err = _lbctl(t, p, 'cache', 'list', 'c', '--json')
    assert rc == 0, err
    z = json.loads(out)
    assert z['zone'] == 'c' and z['entries'] == 3 and z['hits'] == 3 and z['misses'] == 3, z
    assert z['size'] > 0
    rc, out, err = _lbctl(t, p, 'cache', 'list', 'c')
    assert rc == 0 and 'hit ratio' in out and '50.0%' in out, out
    rc, out, err = _lbctl(t, p, 'cache', 'purge', 'c', '/y')
    assert rc == 0 and '1' in out, (out, err)
    assert _xc(p.get('/y')) == 'MISS'
    rc, out, err = _lbctl(t, p, 'cache', 'purge', 'c', '/x/*')
    assert rc == 0 and '2' in out, (out, err)
    assert [_xc(p.get(u)) for u in ('/x/1', '/x/2', '/y')] == ['MISS', 'MISS', 'HIT']
    rc, out, err = _lbctl(t, p, 'cache', 'list', 'nope')
    assert rc != 0 and 'nope' in (out + err)


def test_cache_config_errors(t):
    p = t.proxy("""
proxy_cache_path {prefix}/cache levels=1:2;
server { listen 127.0.0.1:{port}; }""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode != 0
    assert '"proxy_cache_path" must have "keys_zone" parameter in %s:' % p.conf_path \
        in r.stderr, r.stderr
    p.write_conf(http="""
proxy_cache_path {prefix}/cache levels=3 keys_zone=c:1m;
server { listen 127.0.0.1:{port}; }""")
    r = p.run('-t')
    assert r.returncode != 0 and 'invalid "levels" "levels=3"' in r.stderr, r.stderr


def test_cache_hits_over_tls(t):
    # hits on an ssl listener: a small entry (one read) and a 1 MiB one
    # (its body read and encrypted, as static files are)
    from test_tls import _certs, tls_get
    d, c = _certs(t, ('a', 'a.test', 'ec'))
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache levels=1:2 keys_zone=c:1m;
server {
    listen 127.0.0.1:{port} ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    %s
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache c;
        proxy_cache_valid 200 10m;
    }
}""" % (c['a'] + (HDR,)), b=b)
    size = 1 << 20
    for path in ('/small', '/size/%d' % size):
        r1 = tls_get(p.port, path, host='a.test')
        r2 = tls_get(p.port, path, host='a.test')
        assert (_xc(r1), _xc(r2)) == ('MISS', 'HIT'), (path, r1, r2)
        assert r2.status == 200 and r1.body == r2.body
    assert len(r2.body) == size and b.count() == 2


def test_cache_revalidate(t):
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    %s
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache c;
        proxy_cache_key $arg_k;
        proxy_cache_valid 200 1s;
        proxy_cache_revalidate on;
    }
}""" % HDR, b=b)
    lm = 'Tue, 14 Nov 2023 22:13:20 GMT'
    r1 = p.get('/headers?k=1&ETag=%22v1%22&Last-Modified=' + lm.replace(' ', '%20'),
               headers={'If-None-Match': '"client"', 'Range': 'bytes=0-1'})
    assert (r1.status, _xc(r1)) == (200, 'MISS')
    # with proxy_cache, the client's conditions and ranges are not passed
    first = b.last()
    assert first.header('If-None-Match') is None and first.header('Range') is None
    # expired: the upstream is asked with the entry's validators; its 304
    # renews the entry, the client gets the stored 200
    r = wait_for(lambda: (lambda r: r if _xc(r) != 'HIT' else None)(p.get('/status/304?k=1')),
                 timeout=10, what='entry expired')
    assert (r.status, _xc(r), r.body) == (200, 'REVALIDATED', r1.body), r
    last = b.last()
    assert last.header('If-None-Match') == '"v1"' and last.header('If-Modified-Since') == lm
    assert r.header('ETag') == '"v1"'
    assert _xc(p.get('/status/304?k=1')) == 'HIT'


def test_cache_hit_gzipped(t):
    """gzip applies to hits as to the response they were stored from: the
    entry holds the upstream's bytes, a client taking gzip gets them
    compressed, one that does not gets them as stored."""
    b = t.backend('b')
    p = t.proxy(_conf(extra_loc='gzip on; gzip_types *; '
                      'gzip_min_length 1;'), b=b)
    gz = {'Accept-Encoding': 'gzip'}
    r1 = p.get('/g', headers=gz)
    r2 = p.get('/g', headers=gz)
    r3 = p.get('/g')
    assert [_xc(r) for r in (r1, r2, r3)] == ['MISS', 'HIT', 'HIT']
    assert r1.header('Content-Encoding') == 'gzip', r1
    assert r2.header('Content-Encoding') == 'gzip', r2
    assert r3.header('Content-Encoding') is None, r3
    assert r2.header('Content-Length') is None, r2
    assert gzip.decompress(r1.body) == gzip.decompress(r2.body) == r3.body
    assert int(r3.header('Content-Length')) == len(r3.body)
    assert b.count() == 1
    # an entry bigger than one read goes out from the file, compressed
    r4 = p.get('/size/300000', headers=gz)
    r5 = p.get('/size/300000', headers=gz)
    assert [_xc(r) for r in (r4, r5)] == ['MISS', 'HIT']
    assert r5.header('Content-Encoding') == 'gzip', r5
    assert gzip.decompress(r5.body) == gzip.decompress(r4.body)
    assert len(gzip.decompress(r5.body)) == 300000


def test_cache_survives_signals(t):
    """With a cache zone configured, SIGHUP reloads (five in a row) and
    SIGQUIT ends gracefully (exit 0): the signals reach the process's
    handler, not a thread of the cache that leaves them at their default
    action (lbd's zone manager once did: a reload killed lbd)."""
    b = t.backend('b')
    p = t.proxy(_conf(), b=b)
    assert _xc(p.get('/s')) == 'MISS'
    for _ in range(5):
        p.signal(signal.SIGHUP)
        time.sleep(0.2)
        assert p.alive(), 'SIGHUP ended the process'
    wait_for(lambda: _xc(p.get('/s')) == 'HIT', 5, what='hit after reloads')
    assert p.alive()
    p.signal(signal.SIGQUIT)
    assert p.wait_exit() == 0


LM = 'Tue, 14 Nov 2023 22:13:20 GMT'
LM_BEFORE = 'Mon, 13 Nov 2023 22:13:20 GMT'
LM_AFTER = 'Wed, 15 Nov 2023 22:13:20 GMT'


def _cond_url(path='/headers', etag='"v1"'):
    return '%s?ETag=%s&Last-Modified=%s' % (path, etag.replace('"', '%22'),
                                             LM.replace(' ', '%20'))


def test_cache_conditional_304(t):
    """nginx's not_modified filter on cached 200s: If-None-Match (a list,
    `*`, weak comparison) and If-Modified-Since (exact by default) answer
    304 without the body, Content-Type and Content-Length; If-Match and
    If-Unmodified-Since that fail answer 412. A MISS whose answer is stored
    is judged the same (its body still goes to the cache); an answer that
    is not stored, or not a 200, is sent whole."""
    b = t.backend('b')
    p = t.proxy(_conf('proxy_cache_valid 404 10m;'), b=b)
    u = _cond_url()

    def st(hdrs, method='GET', url=u):
        r = p.req(method, url, headers=hdrs)
        return (r.status, _xc(r))

    r = p.get(u, headers={'If-None-Match': '"v1"'})
    assert (r.status, _xc(r), r.body) == (304, 'MISS', b''), r
    r = p.get(u)
    assert (r.status, _xc(r)) == (200, 'HIT') and r.json()['path'] == '/headers', r
    assert b.count() == 1
    r = p.get(u, headers={'If-None-Match': '"v1"'})
    assert (r.status, _xc(r), r.body) == (304, 'HIT', b''), r
    assert r.header('ETag') == '"v1"' and r.header('Last-Modified') == LM
    assert r.header('X-Backend') == 'b' and r.header('Server') is not None, r.headers
    assert r.header('Content-Type') is None and r.header('Content-Length') is None, r
    for inm, want in (('"x", "v1"', 304), ('"x","v1"', 304), ('W/"v1"', 304), ('*', 304),
                      ('"x"', 200), ('"v1x"', 200), ('"x", W/"v2"', 200)):
        assert st({'If-None-Match': inm}) == (want, 'HIT'), inm
    assert st({'If-None-Match': '"v1"'}, 'HEAD') == (304, 'HIT')
    # If-Modified-Since, exact (the default): only the stored date
    assert st({'If-Modified-Since': LM}) == (304, 'HIT')
    assert st({'If-Modified-Since': 'Tuesday, 14-Nov-23 22:13:20 GMT'}) == (304, 'HIT')
    assert st({'If-Modified-Since': LM_AFTER}) == (200, 'HIT')
    assert st({'If-Modified-Since': LM_BEFORE}) == (200, 'HIT')
    assert st({'If-Modified-Since': 'garbage'}) == (200, 'HIT')
    # both present: both must hold
    assert st({'If-Modified-Since': LM, 'If-None-Match': '"x"'}) == (200, 'HIT')
    assert st({'If-Modified-Since': LM, 'If-None-Match': '"v1"'}) == (304, 'HIT')
    # If-Match (strong) and If-Unmodified-Since
    r = p.get(u, headers={'If-Match': '"x"'})
    assert (r.status, _xc(r)) == (412, 'HIT') and r.header('X-Backend') is None, r
    assert st({'If-Match': '"v1"'}) == (200, 'HIT')
    assert st({'If-Match': 'W/"v1"'}) == (412, 'HIT')
    assert st({'If-Match': '*'}) == (200, 'HIT')
    assert st({'If-Unmodified-Since': LM_BEFORE}) == (412, 'HIT')
    assert st({'If-Unmodified-Since': LM}) == (200, 'HIT')
    assert b.count() == 1
    # a 412 on a miss: the answer is not stored
    u3 = _cond_url(etag='"v3"')
    assert st({'If-Match': '"x"'}, url=u3) == (412, 'MISS')
    assert st({}, url=u3) == (200, 'MISS')
    assert st({}, url=u3) == (200, 'HIT')
    # only 200s: a cached 404 with the ETag goes out whole
    u4 = _cond_url('/status/404')
    assert [st({'If-None-Match': '"v1"'}, url=u4) for _ in range(2)] == \
        [(404, 'MISS'), (404, 'HIT')]
    # an answer that is not stored is not judged
    u5 = _cond_url() + '&Cache-Control=no-store'
    assert st({'If-None-Match': '"v1"'}, url=u5) == (200, 'MISS')


def test_cache_conditional_ims_modes(t):
    """if_modified_since before: a date at or after the stored
    Last-Modified is "not modified"; off: If-Modified-Since is not used."""
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    %s
    proxy_cache c;
    proxy_cache_valid 200 10m;
    location /b/ { proxy_pass http://127.0.0.1:{b}/; if_modified_since before; }
    location /o/ { proxy_pass http://127.0.0.1:{b}/; if_modified_since off; }
}""" % HDR, b=b)

    def st(url, ims):
        r = p.get(url, headers={'If-Modified-Since': ims})
        return (r.status, _xc(r))

    # (nginx's default key holds the URI sent upstream: one query each)
    ub, uo = '/b' + _cond_url() + '&l=b', '/o' + _cond_url() + '&l=o'
    assert _xc(p.get(ub)) == 'MISS' and _xc(p.get(uo)) == 'MISS'
    assert [st(ub, d) for d in (LM, LM_AFTER, LM_BEFORE)] == \
        [(304, 'HIT'), (304, 'HIT'), (200, 'HIT')]
    assert [st(uo, d) for d in (LM, LM_AFTER)] == [(200, 'HIT'), (200, 'HIT')]
    # If-None-Match still applies under off
    r = p.get(uo, headers={'If-None-Match': '"v1"'})
    assert (r.status, _xc(r)) == (304, 'HIT')


def test_cache_conditional_config_errors(t):
    p = t.proxy("""
server { listen 127.0.0.1:{port}; if_modified_since sometimes; }""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode != 0
    assert 'invalid value "sometimes" in %s:' % p.conf_path in r.stderr, r.stderr


def test_cache_head_converted(t):
    """proxy_cache_convert_head on (the default): a HEAD miss goes upstream
    as GET, the answer is stored, the client gets the head only (with the
    GET's Content-Length) and the connection goes on; off: HEAD goes
    upstream as HEAD and is not stored."""
    b = t.backend('b')
    p = t.proxy(_conf(), b=b)
    with p.conn() as c:
        r = c.request('HEAD', '/hc')
        assert (r.status, _xc(r), r.body) == (200, 'MISS', b''), r
        assert b.last().method == 'GET'
        r2 = c.request('GET', '/hc')
        assert (r2.status, _xc(r2)) == (200, 'HIT'), r2
        assert r2.json()['method'] == 'GET'
        assert r.header('Content-Length') == str(len(r2.body))
    assert b.count() == 1
    # a chunked answer is stored whole, and a 1 MiB body is read into the
    # cache while the client has the head (the next request on the same
    # connection is served once the body is in: both nginx and lbd finish
    # the request only then; another connection could come first)
    size = 1 << 20
    with p.conn() as c:
        r = c.request('HEAD', '/chunked')
        assert (r.status, _xc(r), r.body) == (200, 'MISS', b'') and b.last().method == 'GET'
        r = c.request('GET', '/chunked')
        assert (_xc(r), r.body) == ('HIT', b'alpha\nbeta\ngamma\n')
        r = c.request('HEAD', '/size/%d' % size)
        assert (r.status, _xc(r), r.header('Content-Length')) == (200, 'MISS', str(size))
        r = c.request('GET', '/size/%d' % size)
        assert (_xc(r), len(r.body)) == ('HIT', size)
    assert b.count() == 3

    b2 = t.backend('b2')
    p2 = t.proxy(_conf('proxy_cache_convert_head off; '
                       'proxy_cache_key $request_method$request_uri;'), b=b2)
    r = p2.req('HEAD', '/x')
    assert (r.status, _xc(r)) == (200, 'MISS') and b2.last().method == 'HEAD'
    r = p2.get('/x')
    assert (_xc(r), b2.last().method) == ('MISS', 'GET')
    assert _xc(p2.get('/x')) == 'HIT'


def test_cache_vary_variants(t):
    """A response with Vary is stored once per set of values of the named
    request headers: the same URL with and without Accept-Encoding: gzip
    is two entries, each a HIT with its own body; `Vary: *` is never
    stored; proxy_ignore_headers Vary stores one for all; the variants
    survive a restart."""
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache levels=1:2 keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    %s
    proxy_cache c;
    proxy_cache_valid 200 10m;
    location / { proxy_pass http://127.0.0.1:{b}; }
    location /ign/ { proxy_pass http://127.0.0.1:{b}/; proxy_ignore_headers Vary; }
}""" % HDR, b=b)
    u = '/headers?Vary=Accept-Encoding'
    gz, br = {'Accept-Encoding': 'gzip'}, {'Accept-Encoding': 'br'}
    r1, r2 = p.get(u, headers=gz), p.get(u)
    assert [_xc(r1), _xc(r2)] == ['MISS', 'MISS'] and b.count() == 2
    assert r1.body != r2.body  # the backend echoes the request headers
    r3, r4 = p.get(u, headers=gz), p.get(u)
    assert [_xc(r3), _xc(r4)] == ['HIT', 'HIT'] and b.count() == 2
    assert (r3.body, r4.body) == (r1.body, r2.body)
    assert r3.header('Vary') == 'Accept-Encoding'
    # another value, another variant
    assert [_xc(p.get(u, headers=br)) for _ in range(2)] == ['MISS', 'HIT']
    # two headers named
    u2 = '/headers?Vary=Accept-Encoding,%20X-Lang'
    assert [_xc(p.get(u2, headers=dict(gz, **{'X-Lang': l}))) for l in ('en', 'fr', 'en')] \
        == ['MISS', 'MISS', 'HIT']
    # conditions apply to a variant's hit
    r = p.get(u, headers=dict(gz, **{'If-None-Match': '*'}))
    assert (r.status, _xc(r)) == (304, 'HIT')
    # Vary: * is never stored
    assert [_xc(p.get('/headers?Vary=*')) for _ in range(2)] == ['MISS', 'MISS']
    # ignored: one entry answers every client
    ui = '/ign/headers?Vary=Accept-Encoding&l=ign'  # (a key of its own in nginx too)
    r5, r6 = p.get(ui, headers=gz), p.get(ui)
    assert [_xc(r5), _xc(r6)] == ['MISS', 'HIT'] and r5.body == r6.body
    n = b.count()
    p.stop()
    p.start()
    r7, r8 = p.get(u, headers=gz), p.get(u)
    assert [_xc(r7), _xc(r8)] == ['HIT', 'HIT'] and (r7.body, r8.body) == (r1.body, r2.body)
    assert b.count() == n


def test_cache_conditional_stale_revalidated_updating(t):
    """The not_modified filter applies to every answer from an entry:
    STALE (the upstream failed), REVALIDATED (its 304 renewed the entry)
    and UPDATING (another request is fetching it)."""
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    %s
    proxy_cache c;
    proxy_cache_key $arg_k;
    proxy_cache_valid 200 1s;
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache_use_stale http_500 updating;
    }
    location /rv/ {
        proxy_pass http://127.0.0.1:{b}/;
        proxy_cache_revalidate on;
    }
}""" % HDR, b=b)
    inm = {'If-None-Match': '"s1"'}
    for k in ('1', '2', '3'):
        assert _xc(p.get('/headers?k=%s&ETag=%%22s1%%22' % k)) == 'MISS'

    def expired(path):
        return wait_for(lambda: (lambda r: r if _xc(r) != 'HIT' else None)(
            p.get(path, headers=inm)), timeout=10, what='entry expired')

    r = expired('/status/500?k=1')
    assert (r.status, _xc(r), r.body) == (304, 'STALE', b''), r
    r = expired('/rv/status/304?k=2')
    assert (r.status, _xc(r), r.body) == (304, 'REVALIDATED', b''), r
    time.sleep(1.1)  # k=3 expired too (valid 1s, stored with k=1)
    n = b.count()
    slow = threading.Thread(target=lambda: p.get('/slow/1500?k=3'))
    slow.start()
    try:
        b.wait_requests(n + 1, timeout=5)  # the slow fetch holds the entry
        r = p.get('/headers?k=3', headers=inm)
        assert (r.status, _xc(r), r.body) == (304, 'UPDATING', b''), r
    finally:
        slow.join(10)


_BG_CONF = """
proxy_cache_path {prefix}/cache keys_zone=c:1m;
server {
    listen 127.0.0.1:{port};
    %s
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_cache c;
        proxy_cache_key $arg_k;
        proxy_cache_valid 200 1s;
        proxy_cache_background_update on;
        %%s
    }
}""" % HDR


def test_cache_background_update(t):
    """proxy_cache_background_update on with proxy_cache_use_stale
    updating: the request that finds the entry expired gets it at once as
    STALE while the entry is fetched again on its own (the backend holds
    that fetch: the answer does not wait for it); requests meanwhile get
    UPDATING; once the fetch is done the next request is a HIT with the
    new body. A failed update leaves the entry and its lock free."""
    b = t.backend('b')
    p = t.proxy(_BG_CONF % 'proxy_cache_use_stale updating;', b=b)
    r1 = p.get('/headers?k=1')
    assert _xc(r1) == 'MISS'
    time.sleep(2.1)  # expired (valid 1s; nginx counts whole seconds)
    n = b.count()
    b_key = 'bg'
    r = p.get('/hold/%s?k=1' % b_key)  # the backend answers only when released
    assert (r.status, _xc(r), r.body) == (200, 'STALE', r1.body), (r.headers, r.body, r1.body)
    b.wait_requests(n + 1, timeout=5)  # the update is at the backend, held
    r = p.get('/headers?k=1')
    assert (r.status, _xc(r), r.body) == (200, 'UPDATING', r1.body), r
    assert b.count() == n + 1  # UPDATING: not fetched again
    b.release(b_key)
    r = wait_for(lambda: (lambda r: r if _xc(r) == 'HIT' else None)(p.get('/x?k=1')),
                 timeout=10, what='HIT after the update')
    assert r.json()['path'] == '/hold/%s' % b_key, r.body
    assert b.count() == n + 1
    # a failed update (the backend gone) leaves the entry as it was and
    # gives its lock back: a later request starts another one (STALE)
    time.sleep(2.1)
    b.stop()
    r = p.get('/y?k=1')
    assert (_xc(r), r.json()['path']) == ('STALE', '/hold/%s' % b_key), r
    wait_for(lambda: _xc(p.get('/z?k=1')) == 'STALE', timeout=10,
             what='STALE again after a failed update')
    # without use_stale updating the flag does nothing: an expired entry
    # is fetched in the foreground (EXPIRED)
    b2 = t.backend('b2')
    p2 = t.proxy(_BG_CONF % '', b=b2)
    assert _xc(p2.get('/headers?k=2')) == 'MISS'
    time.sleep(2.1)
    r = p2.get('/other?k=2')
    assert (_xc(r), r.json()['path']) == ('EXPIRED', '/other'), r
    # a chunked answer (HTTP/1.1 upstream) is stored whole by the update
    b3 = t.backend('b3')
    p3 = t.proxy(_BG_CONF % 'proxy_cache_use_stale updating; proxy_http_version 1.1;', b=b3)
    assert _xc(p3.get('/headers?k=3')) == 'MISS'
    time.sleep(2.1)
    r = p3.get('/chunked?k=3')
    assert _xc(r) == 'STALE', r
    r = wait_for(lambda: (lambda r: r if _xc(r) == 'HIT' else None)(p3.get('/x?k=3')),
                 timeout=10, what='HIT after the chunked update')
    assert r.body == b'alpha\nbeta\ngamma\n' and b3.count() == 2, r
    # a variant (Vary) is updated as itself
    gz = {'Accept-Encoding': 'gzip'}
    u = '/headers?k=4&Vary=Accept-Encoding&v='
    assert _xc(p3.get(u + '1', headers=gz)) == 'MISS'
    time.sleep(2.1)
    assert _xc(p3.get(u + '2', headers=gz)) == 'STALE'
    r = wait_for(lambda: (lambda r: r if _xc(r) == 'HIT' else None)(
        p3.get(u + '3', headers=gz)), timeout=10, what='HIT after the variant update')
    assert r.json()['query'].endswith('v=2'), r.body
    assert _xc(p3.get(u + '5')) == 'MISS'  # the other variant was never stored


def test_hit_headers_rewritten_as_proxied(t):
    """proxy_redirect and proxy_cookie_* apply to a cache hit as to the
    miss that stored it (the stored headers are the upstream's): a cached
    301 never hands out the backend's own address (lbd served the stored
    Location as it was on hits)."""
    b = t.backend('b')
    p = t.proxy("""
proxy_cache_path {prefix}/c keys_zone=z:1m;
server {
    listen 127.0.0.1:{port};
    location /app/ {
        proxy_pass http://127.0.0.1:{b}/;
        proxy_cache z;
        proxy_cache_valid 200 301 1m;
        proxy_ignore_headers Set-Cookie;
        proxy_cookie_path / /app/;
        add_header X-C $upstream_cache_status;
    }
}""", b=b)
    loc = '/app/status/301?Location=http://127.0.0.1:%d/x' % b.port
    ck = '/app/headers?Set-Cookie=a%3D1%3B%20Path%3D%2F'
    want = 'http://localhost:%d/app/x' % p.port
    for cs in ('MISS', 'HIT'):
        r = p.get(loc)
        assert (r.status, r.header('X-C'), r.header('Location')) == (301, cs, want), r.headers
        r = p.get(ck)
        assert (r.status, r.header('X-C'), r.header('Set-Cookie')) == (200, cs, 'a=1; Path=/app/'), \
            r.headers
