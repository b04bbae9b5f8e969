# SPDX-License-Identifier: MIT
"""memcached_pass (ngx_http_memcached_module) against a real memcached
(Debian's memcached, started per test on a free port, values stored over a
raw socket) and a raw memcached-protocol server for the answers memcached
never gives, with the same config text for nginx 1.22 and lbd. Checked:
the page-cache idiom (a hit, a miss as nginx's 404 and through
`error_page 404 502 504 = @fallback` to a backend), the key escaped as
nginx escapes it, the type by the URI's extension, ranges, HEAD and the
405 for other methods, a 1 MiB value byte-exact, memcached_gzip_flag,
memcached down (502) and silent (504), nginx's log lines for a miss, an
unset key and each malformed answer, memcached_next_upstream in an
upstream block, the block's keepalive (memcached's total_connections),
-t errors."""

import hashlib
import shutil
import socket
import subprocess
import threading

from harness import free_port, raw_server, wait_for

MEMCACHED = shutil.which('memcached') or '/usr/bin/memcached'


class Memcached:
    """A memcached for one test on 127.0.0.1:PORT (items up to 2 MiB),
    stopped at the test's end."""

    def __init__(self, t):
        self.port = free_port()
        self.addr = '127.0.0.1:%d' % self.port
        self.proc = subprocess.Popen(
            [MEMCACHED, '-l', '127.0.0.1', '-p', str(self.port), '-U', '0', '-u', 'root',
             '-I', '2m'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t.defer(self.stop)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError('memcached exited: %s' % self.proc.returncode)
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return True
            except OSError:
                return False
        wait_for(up, 10, what='memcached up')

    def set(self, key, value, flags=0):
        """Store VALUE under KEY (bytes or str) with FLAGS."""
        if isinstance(key, str):
            key = key.encode()
        s = socket.create_connection(('127.0.0.1', self.port), 5)
        s.sendall(b'set %s %d 0 %d\r\n' % (key, flags, len(value)) + value + b'\r\n')
        got = b''
        while not got.endswith(b'\r\n'):
            d = s.recv(100)
            assert d, 'memcached closed'
            got += d
        s.close()
        assert got == b'STORED\r\n', got

    def stat(self, name):
        """The server's statistic NAME (an int), asked on a new connection."""
        s = socket.create_connection(('127.0.0.1', self.port), 5)
        s.sendall(b'stats\r\n')
        got = b''
        while not got.endswith(b'END\r\n'):
            d = s.recv(65536)
            assert d, 'memcached closed'
            got += d
        s.close()
        for ln in got.decode().split('\r\n'):
            parts = ln.split(' ')
            if len(parts) == 3 and parts[1] == name:
                return int(parts[2])
        raise AssertionError('no stat %s' % name)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def raw_memcached(t, answers, hold=False):
    """A raw memcached-protocol server: reads one "get KEY\\r\\n" per
    connection, records KEY in the returned list and writes
    answers[KEY] (or nothing and keeps the connection, with HOLD), then
    closes. Returns (port, keys)."""
    keys = []

    def handle(s):
        line = b''
        while not line.endswith(b'\r\n'):
            d = s.recv(1024)
            if not d:
                raise OSError('short')
            line += d
        assert line.startswith(b'get '), line
        key = line[4:-2]
        keys.append(key)
        if hold:
            return True
        s.sendall(answers[key])
        return False
    return raw_server(t, handle), keys


def mc_proxy(t, target, loc_extra='', srv_extra='', http_extra='', **subs):
    return t.proxy("""
include /etc/nginx/mime.types;
default_type application/octet-stream;
%s
server {
    listen 127.0.0.1:{port};
    %s
    location / {
        set $memcached_key "$uri?$args";
        memcached_pass %s;
        %s
    }
}""" % (http_extra, srv_extra, target, loc_extra), **subs)


def test_memcached_page_cache(t):
    """The page-cache idiom: a hit (type by extension, Content-Length,
    ranges), HEAD, POST refused (405), the key escaped as nginx escapes
    it, a miss as nginx's 404 logged at info, and the same miss, a dead
    memcached (502) and a silent one (504) sent by error_page to a backend."""
    mc = Memcached(t)
    mc.set('/page.html?', b'<p>cached page</p>')
    mc.set('/data?x=1', b'raw bytes')
    mc.set('/sp%20ace%25?', b'escaped key')
    b = t.backend('origin')
    dead = t.dead_port()
    port, _ = raw_memcached(t, {}, hold=True)
    p = mc_proxy(t, mc.addr, srv_extra="""
    location /fb/ {
        set $memcached_key "$uri";
        memcached_pass %s;
        error_page 404 502 504 = @fallback;
    }
    location /dead/ {
        set $memcached_key "$uri";
        memcached_pass 127.0.0.1:%d;
        error_page 404 502 504 = @fallback;
    }
    location /slow/ {
        set $memcached_key "$uri";
        memcached_pass 127.0.0.1:%d;
        memcached_read_timeout 300ms;
        error_page 404 502 504 = @fallback;
    }
    location @fallback { proxy_pass http://127.0.0.1:{b}; }""" % (mc.addr, dead, port), b=b)
    r = p.get('/page.html')
    assert (r.status, r.body) == (200, b'<p>cached page</p>'), r
    assert r.header('Content-Type') == 'text/html'
    assert r.header('Content-Length') == '18'
    assert r.header('Accept-Ranges') == 'bytes'
    assert r.header('Content-Encoding') is None
    r = p.get('/data?x=1')
    assert (r.status, r.body) == (200, b'raw bytes'), r
    assert r.header('Content-Type') == 'application/octet-stream'
    r = p.get('/page.html', headers={'Range': 'bytes=3-8'})
    assert (r.status, r.body) == (206, b'cached'), r
    assert r.header('Content-Range') == 'bytes 3-8/18'
    r = p.req('HEAD', '/page.html')
    assert r.status == 200 and r.body == b''
    assert r.header('Content-Length') == '18'
    assert r.header('Accept-Ranges') == 'bytes'
    r = p.req('HEAD', '/page.html', headers={'Range': 'bytes=3-8'})
    assert r.status == 206 and r.header('Content-Range') == 'bytes 3-8/18', r
    r = p.get('/page.html', headers={'Range': 'bytes=100-'})
    assert r.status == 416 and r.header('Content-Range') == 'bytes */18', r
    r = p.req('POST', '/page.html', body=b'x')
    assert r.status == 405, r
    # $uri is decoded: "/sp ace%" goes as "/sp%20ace%25?"
    r = p.get('/sp%20ace%25')
    assert (r.status, r.body) == (200, b'escaped key'), r
    r = p.get('/nothere.html?a=b')
    assert r.status == 404 and b'404 Not Found' in r.body, r
    assert r.header('Content-Type') == 'text/html'
    wait_for(lambda: 'key: "/nothere.html?a=b" was not found by memcached while reading '
             'response header from upstream' in p.error_log(), 5, what='miss logged')
    assert 'upstream: "memcached://%s"' % mc.addr in p.error_log()
    r = p.get('/fb/missing')
    assert r.status == 200 and r.header('X-Backend') == 'origin', r
    assert r.json()['path'] == '/fb/missing'
    mc.set('/fb/there', b'from cache')
    r = p.get('/fb/there')
    assert (r.status, r.body) == (200, b'from cache') and r.header('X-Backend') is None
    r = p.get('/dead/x')
    assert r.status == 200 and r.header('X-Backend') == 'origin', r
    assert 'connect() failed (111: Connection refused) while connecting to upstream' \
        in p.error_log()
    assert 'upstream: "memcached://127.0.0.1:%d"' % dead in p.error_log()
    r = p.get('/slow/x')
    assert r.status == 200 and r.header('X-Backend') == 'origin', r
    assert 'upstream timed out (110: Connection timed out) while reading response header ' \
        'from upstream' in p.error_log()


def test_memcached_big_value(t):
    """A 1 MiB value relayed byte-exact (and a 64 KiB one), its length in
    Content-Length."""
    mc = Memcached(t)
    big = bytes((i * 31 + 7) & 255 for i in range(1 << 20))
    mc.set('/big?', big)
    mc.set('/mid?', big[:65536])
    p = mc_proxy(t, mc.addr)
    for path, want in (('/big', big), ('/mid', big[:65536])):
        r = p.get(path)
        assert r.status == 200, r
        assert r.header('Content-Length') == str(len(want))
        assert hashlib.sha256(r.body).hexdigest() == hashlib.sha256(want).hexdigest()


def test_memcached_gzip_flag(t):
    """memcached_gzip_flag: a value whose flags have the bit set goes out
    with Content-Encoding: gzip, others without; without the directive the
    flags are not read. memcached_pass in a location's `if`."""
    mc = Memcached(t)
    mc.set('/z?', b'ZZZ', flags=2)
    mc.set('/n?', b'NNN', flags=1)
    mc.set('/b?', b'BBB', flags=3)
    b = t.backend('app')
    p = mc_proxy(t, mc.addr, srv_extra="""
    location /plain/ { set $memcached_key "/z?"; memcached_pass %s; }
    location /if/ {
        set $memcached_key "/n?";
        if ($arg_m) { memcached_pass %s; }
        proxy_pass http://127.0.0.1:{b};
    }""" % (mc.addr, mc.addr), loc_extra='memcached_gzip_flag 2;', b=b)
    r = p.get('/z')
    assert (r.status, r.body, r.header('Content-Encoding')) == (200, b'ZZZ', 'gzip'), r
    r = p.get('/n')
    assert (r.status, r.body, r.header('Content-Encoding')) == (200, b'NNN', None), r
    r = p.get('/b')
    assert r.header('Content-Encoding') == 'gzip', r
    r = p.get('/plain/x')
    assert (r.status, r.body, r.header('Content-Encoding')) == (200, b'ZZZ', None), r
    # memcached_pass inside a location's `if`
    r = p.get('/if/x?m=1')
    assert (r.status, r.body) == (200, b'NNN'), r
    r = p.get('/if/x')
    assert r.status == 200 and r.header('X-Backend') == 'app', r


def test_memcached_bad_answers(t):
    """Answers memcached never gives, from a raw server: each malformed
    first line is a 502 with nginx's line; a wrong trailer is logged and the
    value sent whole; an empty $memcached_key is a 500 with nginx's line and
    nothing sent; the flags are checked only under memcached_gzip_flag."""
    answers = {
        b'/bad?': b'SERVER_ERROR oops\r\n',
        b'/key?': b'VALUE /other 0 3\r\nabc\r\nEND\r\n',
        b'/len?': b'VALUE /len? 0 x3\r\nabc\r\nEND\r\n',
        b'/nocr?': b'END\n',
        b'/trail?': b'VALUE /trail? 0 3\r\nabcXXXXXXX',
        b'/flags?': b'VALUE /flags? zz 3\r\nabc\r\nEND\r\n',
    }
    port, keys = raw_memcached(t, answers)
    p = mc_proxy(t, '127.0.0.1:%d' % port, srv_extra="""
    location /gz/ { set $memcached_key "/flags?"; memcached_gzip_flag 1;
                    memcached_pass 127.0.0.1:%d; }
    location /empty { set $memcached_key ""; memcached_pass 127.0.0.1:%d; }""" % (port, port))
    for path, line in (
            ('/bad', 'memcached sent invalid response: "SERVER_ERROR oops"'),
            ('/key', 'memcached sent invalid key in response "VALUE /other 0 3" for key "/key?"'),
            ('/len', 'memcached sent invalid length in response "VALUE /len? 0 x3" '
                     'for key "/len?"'),
            ('/nocr', 'memcached sent invalid response: "END"'),
            ('/gz/x', 'memcached sent invalid flags in response "VALUE /flags? zz 3" '
                      'for key "/flags?"')):
        r = p.get(path)
        assert r.status == 502, (path, r)
        wait_for(lambda: line + ' while reading response header from upstream'
                 in p.error_log(), 5, what=line)
    r = p.get('/flags')
    assert (r.status, r.body) == (200, b'abc'), r
    r = p.get('/trail')
    assert (r.status, r.body) == (200, b'abc'), r
    # one segment: nginx checks the trailer while it reads the head
    wait_for(lambda: 'memcached sent invalid trailer while reading response header from '
             'upstream' in p.error_log(), 5, what='trailer')
    n = len(keys)
    r = p.get('/empty')
    assert r.status == 500, r
    wait_for(lambda: 'the "$memcached_key" variable is not set' in p.error_log(), 5,
             what='unset key')
    assert len(keys) == n


def test_memcached_upstream_block(t):
    """memcached_pass to an upstream block: a dead server is passed over
    (error); under memcached_next_upstream not_found a miss on one server
    asks the next."""
    a, b = Memcached(t), Memcached(t)
    b.set('/k?', b'only on b')
    dead = t.dead_port()
    p = mc_proxy(t, 'mcs', http_extra="""
upstream mcs { server 127.0.0.1:%d; server %s; }
upstream pair { server %s; server %s; }""" % (dead, b.addr, a.addr, b.addr),
                 srv_extra="""
    location /nf/ { set $memcached_key "/k?"; memcached_next_upstream not_found;
                    memcached_pass pair; }
    location /no/ { set $memcached_key "/k?"; memcached_next_upstream off;
                    memcached_pass pair; }""")
    for _ in range(3):
        r = p.get('/k')
        assert (r.status, r.body) == (200, b'only on b'), r
    for _ in range(4):
        r = p.get('/nf/x')
        assert (r.status, r.body) == (200, b'only on b'), r
    got = sorted(p.get('/no/x').status for _ in range(4))
    assert got == [200, 200, 404, 404], got


def test_memcached_keepalive(t):
    """An upstream block's `keepalive`: hits, misses and an empty value
    read to their end reuse one connection to memcached (its
    total_connections grows by the proxy's one); a HEAD's is not kept;
    without `keepalive`, one connection per request."""
    mc = Memcached(t)
    mc.set('/k?', b'kept')
    mc.set('/e?', b'')
    p = mc_proxy(t, 'mcs', http_extra="""
upstream mcs { server %s; keepalive 4; }
upstream once { server %s; }""" % (mc.addr, mc.addr), srv_extra="""
    location /once/ { set $memcached_key "/k?"; memcached_pass once; }""")
    before = mc.stat('total_connections')
    for path, want in (('/k', 200), ('/miss', 404), ('/k', 200), ('/miss', 404), ('/k', 200)):
        assert p.get(path).status == want, path
    # the proxy's one connection, and the one asking for the stat
    assert mc.stat('total_connections') - before == 2
    before = mc.stat('total_connections')
    for _ in range(3):
        r = p.get('/once/x')
        assert (r.status, r.body) == (200, b'kept'), r
    assert mc.stat('total_connections') - before == 4
    # an empty value keeps it; a HEAD leaves the value unread: not kept
    before = mc.stat('total_connections')
    r = p.get('/e')
    assert (r.status, r.body) == (200, b''), r
    assert p.get('/k').body == b'kept'
    assert mc.stat('total_connections') - before == 1
    before = mc.stat('total_connections')
    assert p.req('HEAD', '/k').status == 200
    assert (p.get('/k').body, p.get('/k').body) == (b'kept', b'kept')
    assert mc.stat('total_connections') - before == 2


def test_memcached_config_errors(t):
    """-t: memcached_pass outside a location, twice, with a scheme, a
    path, variables or no port; memcached_gzip_flag not a number;
    memcached_next_upstream's own values; no `set $memcached_key` at all."""
    cases = [
        ('location / { set $memcached_key 1; memcached_pass 127.0.0.1:1; '
         'memcached_pass 127.0.0.1:2; }', '"memcached_pass" directive is duplicate'),
        ('location / { set $memcached_key 1; memcached_pass http://127.0.0.1:1; }',
         'invalid host in upstream "http://127.0.0.1:1"'),
        ('location / { set $memcached_key 1; memcached_pass 127.0.0.1:1/x; }',
         'invalid host in upstream "127.0.0.1:1/x"'),
        ('location / { set $memcached_key 1; memcached_pass $v; }',
         'no port in upstream "$v"'),
        ('location / { set $memcached_key 1; memcached_gzip_flag x; '
         'memcached_pass 127.0.0.1:1; }', '"memcached_gzip_flag" directive invalid number'),
        ('location / { set $memcached_key 1; memcached_next_upstream http_500; '
         'memcached_pass 127.0.0.1:1; }', 'invalid value "http_500"'),
        ('memcached_pass 127.0.0.1:1; location / { set $memcached_key 1; }',
         '"memcached_pass" directive is not allowed here'),
    ]
    for conf, msg in cases:
        p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    %s
}""" % conf, start=False)
        p.write_conf()
        r = p.run('-t')
        assert r.returncode != 0, conf
        assert msg in r.stderr, (conf, r.stderr)
        assert 'nginx.conf:' in r.stderr, (conf, r.stderr)
    for conf, msg in (
            ('location / { set $memcached_key 1; memcached_pass localhost; }',
             'no port in upstream "localhost"'),
            ('location / { memcached_pass 127.0.0.1:1; }', 'unknown "memcached_key" variable')):
        p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    %s
}""" % conf, start=False)
        p.write_conf()
        r = p.run('-t')
        assert r.returncode != 0 and msg in r.stderr, (conf, r.stderr)
    # accepted: every directive of the module, an upstream name, a socket
    p = t.proxy("""
upstream memc { server 127.0.0.1:1; }
memcached_connect_timeout 1s;
server {
    listen 127.0.0.1:{port};
    memcached_read_timeout 2s;
    location / {
        set $memcached_key $uri;
        memcached_send_timeout 1s;
        memcached_buffer_size 8k;
        memcached_next_upstream error timeout invalid_response not_found;
        memcached_next_upstream_tries 2;
        memcached_next_upstream_timeout 3s;
        memcached_socket_keepalive on;
        memcached_bind 127.0.0.1;
        memcached_gzip_flag 4;
        memcached_pass memc;
    }
    location /u { set $memcached_key $uri; memcached_pass unix:/tmp/none.sock; }
}""", start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode == 0, r.stderr
