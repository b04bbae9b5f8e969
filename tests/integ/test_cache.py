# SPDX-License-Identifier: MIT
"""The proxy cache as nginx has it: MISS then HIT with the backend reached
once, the entry file where nginx puts it (md5 of the key under levels=),
proxy_cache_key, proxy_cache_valid per status and `any`, methods, bypass and
no_cache, upstream Set-Cookie / Cache-Control / X-Accel-Expires and
proxy_ignore_headers, EXPIRED, a restart keeping the cache warm,
proxy_cache_lock (100 concurrent requests, one backend hit), stale answers
when the upstream fails, the disk-full case (a 1 MiB tmpfs under a 4 MiB
response), SIGHUP and SIGQUIT with a zone configured, and lbctl cache
list/purge (lbd only)."""

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
    assert (r.status, _xc(r), r.body) == (200, 'STALE', r1.body), r
    # without use_stale the 500 goes through
    r2 = p.get('/nostale/headers?k=2')
    assert _xc(r2) == 'MISS'
    r = wait_for(lambda: (lambda r: r if _xc(r) != 'HIT' else None)(
        p.get('/nostale/status/500?k=2')), timeout=10, what='entry expired')
    assert (r.status, _xc(r)) == (500, 'EXPIRED'), r
    # the upstream down: error -> STALE
    b.stop()
    r = p.get('/headers?k=1')
    assert (r.status, _xc(r), r.body) == (200, 'STALE', r1.body), r


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
