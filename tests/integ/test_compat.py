# SPDX-License-Identifier: MIT
"""nginx 1.22 directives that carry over from an existing nginx file:
rewrite_log (nginx's notice lines for each regex tried, each rewritten URI
and redirect, the `if` regexes; off in a location that says so),
auth_delay (a 401 of auth_basic or auth_request waits and says so in the
error log; `return 401` and a 403 do not), gzip_window / gzip_hash (the
compressed stream changes, the bytes it inflates to do not),
worker_rlimit_core / working_directory / epoll_events in effect on the
running process, debug_connection (those clients' lines pass the
error_log's level), max_headers (400 past N header lines, HTTP/1 and
HTTP/2), the browser module ($modern_browser, $ancient_browser, $msie for
30 real User-Agent strings against nginx's answers in
compat_browsers.txt), post_action (what reaches the action's backend),
and the tuning directives lbd checks as nginx does and then ignores with a
FILE:LINE warning (wrong values fail as in nginx)."""

import os
import re
import time
import zlib

from harness import conf_line, raw_exchange, wait_for


def _notice_lines(p, pattern):
    """The error log lines matching PATTERN, from "*N " on, connection
    numbers dropped (nginx and lbd count connections differently)."""
    out = []
    for ln in p.error_log().splitlines():
        m = re.search(r'\*\d+ (.*)$', ln)
        if m and re.search(pattern, m.group(1)):
            out.append(m.group(1))
    return out


def test_rewrite_log(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    server_name foo;
    rewrite_log on;
    rewrite ^/s/(.*) /b/$1;
    location / {
        rewrite ^/r/(.*)$ http://example.com/$1 redirect;
        rewrite ^/p/(.*)$ /b/$1? permanent;
        rewrite ^/k/(.*)$ /b/$1;
        if ($uri !~* ^/C) { return 200 "nc"; }
        return 200 "ok";
    }
    location /b/ {
        rewrite_log off;
        rewrite ^/b/zz /b/yy;
        return 200 "b $uri $args";
    }
    location /q/ {
        if ($arg_a ~ ^(\\d+)$) { rewrite ^ /b/n$1 last; }
        return 200 "q";
    }
}""")
    host = '127.0.0.1:%d' % p.port
    tail = ', client: 127.0.0.1, server: foo, request: "GET %s HTTP/1.1", host: "' + host + '"'
    want = []

    def expect(uri, lines):
        for ln in lines:
            want.append(ln + tail % uri)

    r = p.get('/r/abc?z=1', host=host)
    assert (r.status, r.header('Location')) == (302, 'http://example.com/abc?z=1')
    expect('/r/abc?z=1', [
        '"^/s/(.*)" does not match "/r/abc"',
        '"^/r/(.*)$" matches "/r/abc"',
        'rewritten redirect: "http://example.com/abc?z=1"'])
    r = p.get('/p/x?z=2', host=host)
    assert r.status == 301 and r.header('Location').endswith('/b/x'), r.headers
    expect('/p/x?z=2', [
        '"^/s/(.*)" does not match "/p/x"',
        '"^/r/(.*)$" does not match "/p/x"',
        '"^/p/(.*)$" matches "/p/x"',
        'rewritten redirect: "/b/x"'])
    r = p.get('/k/y?z=3', host=host)
    assert (r.status, r.body) == (200, b'nc')
    expect('/k/y?z=3', [
        '"^/s/(.*)" does not match "/k/y"',
        '"^/r/(.*)$" does not match "/k/y"',
        '"^/p/(.*)$" does not match "/k/y"',
        '"^/k/(.*)$" matches "/k/y"',
        'rewritten data: "/b/y", args: "z=3"',
        '"^/C" does not match "/b/y"'])
    # the server's rewrite logs; the location with rewrite_log off does not
    r = p.get('/s/zz?w', host=host)
    assert (r.status, r.body) == (200, b'b /b/yy w')  # /b/'s own rewrite, unlogged
    expect('/s/zz?w', [
        '"^/s/(.*)" matches "/s/zz"',
        'rewritten data: "/b/zz", args: "w"'])
    r = p.get('/q/?a=42', host=host)
    assert (r.status, r.body) == (200, b'b /b/n a=42')  # `rewrite ^` resets $1
    expect('/q/?a=42', [
        '"^/s/(.*)" does not match "/q/"',
        '"^(\\d+)$" matches "42"',
        '"^" matches "/q/"',
        'rewritten data: "/b/n", args: "a=42"'])
    pat = r'matches|does not match|rewritten '

    wait_for(lambda: len(_notice_lines(p, pat)) >= len(want), what='rewrite_log lines')
    got = _notice_lines(p, pat)
    assert got == want, '\n'.join(['got:'] + got + ['want:'] + want)


def test_rewrite_log_off_by_default(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location / { rewrite ^/a /b; return 200 "$uri"; }
    location /z { rewrite_log on; return 200 "z"; }
}""")
    assert p.get('/a').body == b'/b'
    assert p.get('/z').body == b'z'  # a location without steps says nothing
    p.stop()
    assert not _notice_lines(p, r'matches|rewritten'), p.error_log()


def test_auth_delay(t):
    root = t.tmpdir('ad-')
    for d in ('b', 'a', 'r', 'ok'):
        t.write(os.path.join(root, d, 'index.html'), b'in\n')
    # "u:pw" (apr1, as htpasswd -m writes it)
    t.write(os.path.join(root, 'htpasswd'), b'u:$apr1$1XR6zexk$OCPFOz7weznCGjRDqVfwu.\n')
    p = t.proxy("""
auth_delay 300ms;
server {
    listen 127.0.0.1:{port};
    root %s;
    auth_basic_user_file %s/htpasswd;
    location /b/ { auth_basic "x"; }
    location /a/ { auth_request /sub; }
    location = /sub { internal; return 401; }
    location /r/ { return 401; }
    location /d/ { deny all; }
    location /nod/ { auth_basic "x"; auth_delay 0; }
}""" % (root, root))
    delayed = 'delaying unauthorized request'
    for path in ('/b/', '/a/'):
        t0 = time.monotonic()
        r = p.get(path)
        took = time.monotonic() - t0
        assert r.status == 401, (path, r.status)
        # a lower bound only: the answer cannot come before the timer
        assert took >= 0.2, (path, took)
    wait_for(lambda: len(_notice_lines(p, delayed)) == 2, what='two delay lines')
    assert _notice_lines(p, delayed)[0].startswith(delayed + ', client: 127.0.0.1')
    assert p.get('/r/').status == 401  # `return` answers in the rewrite phase
    assert p.get('/d/').status == 403
    assert p.get('/nod/').status == 401
    r = p.get('/b/', headers=[('Authorization', 'Basic dTpwdw==')])
    assert (r.status, r.body) == (200, b'in\n')
    p.stop()
    assert len(_notice_lines(p, delayed)) == 2, p.error_log()


GZ_TEXT = b''.join(b'line %05d: %s\n' % (i, b'abcdefghij' * (i % 7 + 1)) for i in range(2000))


def _gunzip(body):
    return zlib.decompress(body, 16 + zlib.MAX_WBITS)


def test_gzip_window_hash(t):
    root = t.tmpdir('gz-')
    for d in ('d', 's', 'h'):
        t.write(os.path.join(root, d, 'x.txt'), GZ_TEXT)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    gzip on;
    gzip_types text/plain;
    location /s/ { gzip_window 512; gzip_hash 512; }
    location /h/ { gzip_hash 1k; postpone_gzipping 4k; gzip_no_buffer off; }
}""" % root)
    ae = [('Accept-Encoding', 'gzip')]
    bodies = {}
    for d in ('d', 's', 'h'):
        r = p.get('/%s/x.txt' % d, headers=ae)
        assert r.status == 200 and r.header('Content-Encoding') == 'gzip', (d, r.headers)
        assert _gunzip(r.body) == GZ_TEXT, d
        bodies[d] = r.body
    # a 512-byte window cannot reach the repeats a 32k one finds
    assert len(bodies['s']) > len(bodies['d']), {k: len(v) for k, v in bodies.items()}
    assert bodies['h'] != bodies['d']  # memLevel 2, not 8: another stream


def test_gzip_zlib_t_errors(t):
    from harness import assert_location_t_errors
    assert_location_t_errors(t, [
        ('gzip_window 64k;', '"gzip_window" directive must be 512, 1k, 2k, 4k, 8k, 16k, or 32k'),
        ('gzip_window 1000;', '"gzip_window" directive must be 512, 1k, 2k, 4k, 8k, 16k, or 32k'),
        ('gzip_hash 256k;',
         '"gzip_hash" directive must be 512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k'),
        ('gzip_hash 0;',
         '"gzip_hash" directive must be 512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k'),
        ('postpone_gzipping x;', '"postpone_gzipping" directive invalid value'),
        ('gzip_no_buffer maybe;',
         'invalid value "maybe" in "gzip_no_buffer" directive, it must be "on" or "off"'),
        ('auth_delay soon;', '"auth_delay" directive invalid value'),
        ('aio_write 1;', 'invalid value "1" in "aio_write" directive, it must be "on" or "off"'),
        ('open_file_cache_events x;',
         'invalid value "x" in "open_file_cache_events" directive, it must be "on" or "off"'),
        ('directio_alignment x;', '"directio_alignment" directive invalid value'),
        ('read_ahead x;', '"read_ahead" directive invalid value'),
        ('read_ahead 1 2;', 'invalid number of arguments in "read_ahead" directive'),
        ('proxy_send_lowat x;', '"proxy_send_lowat" directive invalid value'),
        ('fastcgi_send_lowat;', 'invalid number of arguments in "fastcgi_send_lowat" directive'),
        ('http2_pool_size 4k;', '"http2_pool_size" directive is not allowed here'),
        ('rewrite_log maybe;',
         'invalid value "maybe" in "rewrite_log" directive, it must be "on" or "off"'),
    ])


def _t(p):
    p.write_conf()
    res = p.run('-t')
    return res.returncode, res.stdout + res.stderr


def test_tuning_directives_accepted(t):
    """Each loads in its context; lbd says it ignores it, naming the line."""
    p = t.proxy("""
aio_write on;
directio_alignment 4k;
read_ahead 0;
open_file_cache_events off;
http2_pool_size 4k;
proxy_send_lowat 0;
server {
    listen 127.0.0.1:{port};
    http2_pool_size 8k;
    location / { fastcgi_send_lowat 1k; read_ahead 1m; return 200 "up"; }
}""", main='ssl_engine_placeholder;', start=False)
    # ssl_engine needs a real OpenSSL engine in nginx: lbd only
    p.template = p.template.replace('ssl_engine_placeholder;\n', '' if t.is_nginx else
                                    'ssl_engine rdrand;\n')
    rc, out = _t(p)
    assert rc == 0, out
    if not t.is_nginx:
        for d in ('aio_write on', 'directio_alignment 4k', 'read_ahead 0',
                  'open_file_cache_events off', 'http2_pool_size 4k', 'read_ahead 1m',
                  'ssl_engine rdrand'):
            name = d.split()[0]
            msg = '"%s" directive has no effect in lbd and is ignored in ' % name
            assert msg + p.conf_path + ':' + conf_line(p, d).split(':')[1] in out, (d, out)
    for d in ('proxy_send_lowat 0', 'fastcgi_send_lowat 1k'):
        name = d.split()[0]
        assert ('"%s" is not supported, ignored in ' % name) in out, (d, out)
    p.start()
    assert p.get('/').body == b'up'


def test_http2_pool_size_bounds(t):
    for v, want in (('100', 'the pool size must be no less than 112'),
                    ('x', '"http2_pool_size" directive invalid value')):
        p = t.proxy("""
http2_pool_size %s;
server { listen 127.0.0.1:{port}; }""" % v, start=False)
        rc, out = _t(p)
        assert rc != 0 and want in out, (v, out)
        assert conf_line(p, 'http2_pool_size') in out, out


STREAM_MAIN = """
stream {
    server {
        listen 127.0.0.1:{port_s};
        %s
        proxy_pass 127.0.0.1:{dead};
    }
}"""


def _stream_proxy(t, line):
    main = STREAM_MAIN % line
    if t.is_nginx:
        main = 'load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n' + main
    return t.proxy("""
server { listen 127.0.0.1:{port}; return 200 "up"; }""", main=main, start=False,
                   dead=t.dead_port())


def test_stream_deprecated_buffers(t):
    for d in ('proxy_downstream_buffer', 'proxy_upstream_buffer'):
        p = _stream_proxy(t, '%s 8k;' % d)
        rc, out = _t(p)
        assert rc == 0, out
        want = ('the "%s" directive is deprecated, use the "proxy_buffer_size" directive '
                'instead in ' % d)
        assert want in out and conf_line(p, d) in out, out
    p = _stream_proxy(t, 'proxy_upstream_buffer x;')
    rc, out = _t(p)
    assert rc != 0 and '"proxy_upstream_buffer" directive invalid value' in out, out
    # the old name sets proxy_buffer_size: both is a duplicate, as in nginx
    p = _stream_proxy(t, 'proxy_buffer_size 4k; proxy_downstream_buffer 8k;')
    rc, out = _t(p)
    assert rc != 0 and '"proxy_downstream_buffer" directive is duplicate' in out, out


def _procs(pid):
    """PID and its children (nginx's workers)."""
    out = [pid]
    try:
        for tid in os.listdir('/proc/%d/task' % pid):
            with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def _core_limit(pid):
    with open('/proc/%d/limits' % pid) as f:
        for ln in f:
            if ln.startswith('Max core file size'):
                return ln.split()[4:6]
    return None


def test_main_directives(t):
    wd = t.tmpdir('wd-')
    os.chmod(wd, 0o755)
    p = t.proxy("""
server { listen 127.0.0.1:{port}; return 200 "up"; }""", main="""
worker_rlimit_core 2m;
working_directory %s;
debug_points abort;
""" % wd, start=False)
    p.template = p.template.replace('worker_connections 1024;',
                                    'worker_connections 1024;\n    epoll_events 64;\n'
                                    '    debug_connection 127.0.0.1;\n'
                                    '    debug_connection 10.0.0.0/8;\n'
                                    '    debug_connection ::1;\n'
                                    '    debug_connection localhost;')
    p.start()
    assert p.get('/').body == b'up'
    pids = _procs(p.pid)
    cwds = [os.readlink('/proc/%d/cwd' % x) for x in pids]
    assert os.path.realpath(wd) in cwds, (wd, cwds)
    limits = [_core_limit(x) for x in pids]
    assert [str(2 * 1024 * 1024)] * 2 in limits, limits
    if not t.is_nginx:
        log = p.logs_text()
        assert '"debug_points" directive has no effect in lbd and is ignored' in log, log


def test_main_directives_t_errors(t):
    cases = [
        ('worker_rlimit_core x;', None, '"worker_rlimit_core" directive invalid value'),
        ('debug_points foo;', None, 'invalid value "foo"'),
        ('working_directory;', None,
         'invalid number of arguments in "working_directory" directive'),
        (None, 'epoll_events x;', '"epoll_events" directive invalid number'),
        (None, 'debug_connection 1.2.3.4/33;',
         'host not found in debug_connection "1.2.3.4/33"'),
        (None, 'epoll_events 4 5;', 'invalid number of arguments in "epoll_events" directive'),
    ]
    for main, events, want in cases:
        p = t.proxy('server { listen 127.0.0.1:{port}; }', main=main or '', start=False)
        if events:
            p.template = p.template.replace('worker_connections 1024;',
                                            'worker_connections 1024;\n    ' + events)
        rc, out = _t(p)
        assert rc != 0 and want in out, (main, events, out)
        assert conf_line(p, main or events) in out, out


def test_working_directory_missing(t):
    if t.is_nginx:
        t.skip('nginx starts and its worker fails (exit 2, respawn loop in the master)')
    missing = os.path.join(t.tmpdir('wdm-'), 'nope')
    p = t.proxy('server { listen 127.0.0.1:{port}; }',
                main='working_directory %s;' % missing, start=False)
    p.write_conf()
    res = p.run(timeout=10)
    assert res.returncode != 0
    want = 'chdir("%s") failed (2: No such file or directory)' % missing
    assert want in res.stderr + p.logs_text(), res.stderr + p.logs_text()


def test_max_headers(t):
    from test_h2 import curl_h2
    p = t.proxy("""
max_headers 5;
server {
    listen 127.0.0.1:{port};
    listen 127.0.0.1:{port_h2} http2;
    max_headers 3;
    location / { return 200 "in"; }
}
server {
    listen 127.0.0.1:{port2};
    location / { return 200 "wide"; }
}
server {
    listen 127.0.0.1:{port3};
    max_headers 1200;
    location / { return 200 "wider"; }
}""")

    def status(port, n, extra=()):
        lines = ['Host: a'] + list(extra) + ['X-%d: v' % i for i in range(n - 2 - len(extra))]
        st, rs, c = raw_exchange(port, ('GET / HTTP/1.1\r\n' + ''.join(
            ln + '\r\n' for ln in lines) + 'Connection: close\r\n\r\n').encode())
        c.close()
        return st, rs[0].body if rs else b''

    assert status(p.port, 3) == (200, b'in')  # Host, X-0, Connection
    st, body = status(p.port, 4)
    assert st == 400 and b'Request Header Or Cookie Too Large' in body, (st, body)
    # http{}'s 5, then 1200 past lbd's 100 lines held in the request itself
    assert status(int(p.subs['port2']), 5) == (200, b'wide')
    assert status(int(p.subs['port2']), 6)[0] == 400
    assert status(int(p.subs['port3']), 1200) == (200, b'wider')
    assert status(int(p.subs['port3']), 1201)[0] == 400
    # HTTP/2 counts the client's fields (curl sends user-agent and accept)
    url = 'http://127.0.0.1:%s/' % p.subs['port_h2']
    assert curl_h2(url, prior=True)[1] == 200
    assert curl_h2(url, ['-H', 'X: 1'], prior=True)[1] == 200
    assert curl_h2(url, ['-H', 'X: 1', '-H', 'Y: 1'], prior=True)[1] == 400
    msg = 'client sent too many header lines while reading client request headers'
    wait_for(lambda: len(_notice_lines(p, msg)) == 4, what='four too-many lines')


def test_max_headers_by_host(t):
    # nginx counts line by line: up to and with Host against the default
    # server's max_headers, after it against the named server's
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} default_server;
    max_headers 3;
    return 200 "def";
}
server {
    listen 127.0.0.1:{port};
    server_name big;
    max_headers 10;
    return 200 "big";
}
server {
    listen 127.0.0.1:{port2} default_server;
    max_headers 10;
    return 200 "def2";
}
server {
    listen 127.0.0.1:{port2};
    server_name small;
    max_headers 3;
    return 200 "small";
}
server {
    listen 127.0.0.1:{port3};
    max_headers 2000000000;
    return 200 "huge";
}""")
    port2, port3 = int(p.subs['port2']), int(p.subs['port3'])

    def status(port, before, host, after, target='/'):
        lines = ['X-%d: v' % i for i in range(before)]
        if host:
            lines.append('Host: ' + host)
        lines += ['Y-%d: v' % i for i in range(after)]
        st, rs, c = raw_exchange(port, ('GET %s HTTP/1.0\r\n' % target + ''.join(
            ln + '\r\n' for ln in lines) + '\r\n').encode())
        c.close()
        return st, rs[0].body if rs else b''

    assert status(p.port, 0, 'big', 7) == (200, b'big')
    assert status(p.port, 2, 'big', 7) == (200, b'big')  # Host is line 3 of 10
    assert status(p.port, 2, 'big', 8)[0] == 400
    assert status(p.port, 3, 'big', 0)[0] == 400  # Host itself is the default's 4th
    assert status(p.port, 4, None, 0)[0] == 400
    assert status(port2, 0, 'small', 2) == (200, b'small')
    assert status(port2, 0, 'small', 3)[0] == 400
    assert status(port2, 9, 'small', 0) == (200, b'small')  # no line after Host
    assert status(port2, 9, 'small', 1)[0] == 400
    assert status(port2, 10, None, 0) == (200, b'def2')
    # a host in the request line chooses the server before any line
    assert status(port2, 4, None, 0, 'http://small/')[0] == 400
    assert status(port2, 4, None, 0, 'http://other/') == (200, b'def2')
    # a huge setting is bounded by what the head holds, not allocated
    assert status(port3, 300, 'a', 0) == (200, b'huge')


def test_max_headers_incomplete_head(t):
    # nginx counts each line as it comes: past the default server's
    # max_headers before any Host, the 400 goes at once, the head unfinished
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} default_server;
    max_headers 3;
    return 200 "def";
}
server {
    listen 127.0.0.1:{port};
    server_name big;
    max_headers 10;
    return 200 "big";
}""")
    st, rs, c = raw_exchange(p.port, b'GET / HTTP/1.1\r\n' + b''.join(
        b'X-%d: v\r\n' % i for i in range(4)), timeout=10)
    c.close()
    assert st == 400 and b'Request Header Or Cookie Too Large' in rs[0].body, (st, rs)
    msg = ('client sent too many header lines while reading client request headers, '
           'client: 127.0.0.1, server: , request: "GET / HTTP/1.1"')
    wait_for(lambda: _notice_lines(p, re.escape(msg)), what=msg)


def test_max_headers_h2_by_authority(t):
    # HTTP/2: :authority names the server before any field, so the
    # client's fields are held to that server's max_headers, not to the
    # default server's (curl sends user-agent and accept)
    from test_h2 import curl_h2
    p = t.proxy("""
server {
    listen 127.0.0.1:{port} http2 default_server;
    max_headers 3;
    return 200 "def";
}
server {
    listen 127.0.0.1:{port} http2;
    server_name big;
    max_headers 10;
    return 200 "big";
}
server {
    listen 127.0.0.1:{port2} http2 default_server;
    max_headers 10;
    return 200 "def2";
}
server {
    listen 127.0.0.1:{port2} http2;
    server_name small;
    max_headers 3;
    return 200 "small";
}""")

    def status(port, host, n):
        extra = ['--resolve', '%s:%s:127.0.0.1' % (host, port)]
        for i in range(n):
            extra += ['-H', 'X-%d: v' % i]
        r = curl_h2('http://%s:%s/' % (host, port), extra, prior=True)
        return r[1], r[3]

    port2 = int(p.subs['port2'])
    assert status(p.port, 'big', 8) == (200, b'big')  # 10 fields
    assert status(p.port, 'big', 9)[0] == 400
    assert status(p.port, 'other', 1) == (200, b'def')
    assert status(p.port, 'other', 2)[0] == 400
    assert status(port2, 'small', 1) == (200, b'small')
    assert status(port2, 'small', 2)[0] == 400  # 4 fields, small's 3
    assert status(port2, 'other', 8) == (200, b'def2')
    assert status(port2, 'other', 9)[0] == 400


def test_max_headers_t_errors(t):
    for line, want in (('max_headers x;', '"max_headers" directive invalid number'),
                       ('max_headers 3; max_headers 4;', '"max_headers" directive is duplicate'),
                       ('location / { max_headers 3; }',
                        '"max_headers" directive is not allowed here')):
        p = t.proxy('server { listen 127.0.0.1:{port}; %s }' % line, start=False)
        rc, out = _t(p)
        assert rc != 0 and want in out, (line, out)


USER_AGENTS = [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/120.0.0.0 Safari/537.36',
    'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
    'Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.0.19) Gecko/2010031422 '
    'Firefox/3.0.19',
    'Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.8.1.20) Gecko/20081217 Firefox/2.0.0.20',
    'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)',
    'Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)',
    'Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)',
    'Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)',
    'Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) '
    'Version/17.2 Safari/605.1.15',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 '
    '(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Macintosh; U; PPC Mac OS X; en) AppleWebKit/418 (KHTML, like Gecko) '
    'Safari/417.9.3',
    'Opera/9.80 (X11; Linux x86_64; U; en) Presto/2.12.388 Version/12.16',
    'Opera/9.64 (Windows NT 5.1; U; en) Presto/2.1.1',
    'Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.0; en) Opera 8.0',
    'Mozilla/5.0 (compatible; Konqueror/3.5; Linux) KHTML/3.5.10 (like Gecko)',
    'Mozilla/5.0 (compatible; Konqueror/4.14; Linux) KHTML/4.14.2 (like Gecko)',
    'Mozilla/5.0 (compatible; Konqueror/3.1; Linux)',
    'Lynx/2.8.9rel.1 libwww-FM/2.14 SSL-MM/1.4.1 OpenSSL/1.1.1d',
    'Links (2.20.2; Linux 5.10.0 x86_64; GNU C 10.2.1; text)',
    'Mozilla/4.72 [en] (X11; U; Linux 2.2.14 i686)',
    'Mozilla/3.01 (Win95; I)',
    'curl/8.5.0',
    'Googlebot/2.1 (+http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'MSIE 6',
    'Mozilla/5.0 (Windows; U; Windows NT 6.1; en-US; rv:1.9.2.4000) Gecko/20100101',
    '',
    None,
]


def test_browser_variables(t):
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    modern_browser msie 9.0;
    ancient_browser_value server-old;
    location / {
        modern_browser gecko 1.9;
        modern_browser msie 9.0;
        modern_browser opera 9.80;
        modern_browser safari 530;
        modern_browser konqueror 3.5;
        ancient_browser Links Lynx netscape4;
        return 200 "m=$modern_browser a=$ancient_browser msie=$msie";
    }
    location /unlisted {
        modern_browser unlisted;
        ancient_browser Lynx Links curl netscape4;
        modern_browser_value modern;
        ancient_browser_value old;
        return 200 "m=$modern_browser a=$ancient_browser msie=$msie";
    }
    location /inherit {
        return 200 "m=$modern_browser a=$ancient_browser msie=$msie";
    }
    location /opera {
        modern_browser opera 12.0;
        modern_browser gecko 5.0.0.1;
        return 200 "m=$modern_browser a=$ancient_browser";
    }
}
server {
    listen 127.0.0.1:{port2};
    return 200 "m=$modern_browser a=$ancient_browser msie=$msie";
}""")
    got = []
    for ua in USER_AGENTS:
        hdrs = [] if ua is None else [('User-Agent', ua)]
        for path in ('/', '/unlisted', '/inherit', '/opera'):
            r = p.get(path, headers=hdrs)
            got.append('%s %r: %s' % (path, ua, r.body.decode()))
        r = request_port(int(p.subs['port2']), hdrs)
        got.append('none %r: %s' % (ua, r.body.decode()))
    want_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'compat_browsers.txt')
    if os.environ.get('COMPAT_WRITE_BROWSERS') and t.is_nginx:
        with open(want_file, 'w') as f:
            f.write('\n'.join(got) + '\n')
    with open(want_file) as f:
        want = f.read().splitlines()
    diff = [(g, w) for g, w in zip(got, want) if g != w]
    assert not diff and len(got) == len(want), diff[:10]


def request_port(port, hdrs):
    from harness import request
    return request(port, 'GET', '/', headers=hdrs)


def test_post_action(t):
    b, pa = t.backends('b', 'pa')
    off = '' if t.is_nginx else 'location /off { post_action off; return 200 "off"; }'
    # nginx 1.22 reads `post_action off` as a location named "off" (500s
    # in its log): lbd takes the documented off, checked on lbd only
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /r { post_action /pa; return 200 "main"; }
    location /p { post_action /pa; proxy_pass http://127.0.0.1:{b}; }
    location /n { post_action @named; return 200 "n"; }
    location /pa { proxy_pass http://127.0.0.1:{pa}; }
    location @named { proxy_pass http://127.0.0.1:{pa}; }
    %s
}""" % off, b=b, pa=pa)
    r = p.get('/r?a=1', headers=[('X-Foo', 'bar')])
    assert (r.status, r.body) == (200, b'main')
    pa.wait_requests(1)
    q = pa.last()
    # the request itself goes there: its method and headers, not its args
    assert (q.method, q.path, q.query, q.header('X-Foo')) == ('GET', '/pa', '', 'bar'), q.raw
    r = p.req('POST', '/p?b=2', body=b'hello')
    assert r.status == 200 and r.backend == 'b'
    pa.wait_requests(2)
    q = pa.last()
    assert (q.method, q.path, q.body) == ('POST', '/pa', b'hello'), q.raw
    r = p.get('/n?z=3')
    assert (r.status, r.body) == (200, b'n')
    pa.wait_requests(3)
    q = pa.last()
    assert (q.method, q.path, q.query) == ('GET', '/n', 'z=3'), q.raw
    r = p.req('HEAD', '/r')
    assert (r.status, r.body) == (200, b'')
    pa.wait_requests(4)
    assert pa.last().method == 'HEAD'
    # keep-alive goes on after the action
    with p.conn() as c:
        assert c.request('GET', '/r').body == b'main'
        assert c.request('GET', '/r').body == b'main'
    pa.wait_requests(6)
    if not t.is_nginx:
        assert p.get('/off').body == b'off'
    p.stop()
    assert pa.count() == 6 and b.count() == 1, (pa.paths(), b.paths())


def test_post_action_log(t):
    # nginx redirects the request to the action: the access log has the
    # action's $uri, $args and $status, the request's own $request and
    # body bytes
    p = t.proxy("""
log_format pa '$request|$uri|$args|$status|$body_bytes_sent|$request_uri';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/pa.log pa;
    location /r { post_action /pb; return 200 "main"; }
    location /n { post_action @named; return 200 "n"; }
    location /pb { return 204; }
    location @named { return 202; }
}""")
    assert p.get('/r?a=1').body == b'main'
    assert p.get('/n?z=3').body == b'n'
    wait_for(lambda: p.read('logs', 'pa.log').count('\n') == 2, what='two log lines')
    assert p.read('logs', 'pa.log').splitlines() == [
        'GET /r?a=1 HTTP/1.1|/pb|-|204|4|/r?a=1',
        'GET /n?z=3 HTTP/1.1|/n|z=3|202|1|/n?z=3'], p.read('logs', 'pa.log')


def test_debug_connection(t):
    """A debug_connection client's lines reach an error_log whose level
    is above them; another client's do not."""
    root = t.tmpdir('dc-')
    t.write(os.path.join(root, 'htpasswd'), b'u:$apr1$1XR6zexk$OCPFOz7weznCGjRDqVfwu.\n')
    t.write(os.path.join(root, 'index.html'), b'in\n')
    logs = {}
    for net in ('127.0.0.1', '10.0.0.0/8', '127.0.0.0/8'):
        p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    root %s;
    error_log {prefix}/logs/srv.log error;
    location / { auth_basic "x"; auth_basic_user_file %s/htpasswd; }
}""" % (root, root), start=False)
        p.template = p.template.replace('worker_connections 1024;',
                                        'worker_connections 1024;\n    debug_connection %s;' % net)
        p.start()
        assert p.get('/').status == 401
        p.stop()
        logs[net] = p.read('logs', 'srv.log')
    line = 'no user/password was provided for basic authentication'
    assert line in logs['127.0.0.1'] and line in logs['127.0.0.0/8'], logs
    assert line not in logs['10.0.0.0/8'], logs['10.0.0.0/8'][-2000:]


def test_debug_connection_low_bits(t):
    p = t.proxy('server { listen 127.0.0.1:{port}; }', start=False)
    p.template = p.template.replace('worker_connections 1024;',
                                    'worker_connections 1024;\n    debug_connection 127.0.0.1/8;')
    rc, out = _t(p)
    assert rc == 0, out
    assert 'low address bits of 127.0.0.1/8 are meaningless in ' in out, out
    assert conf_line(p, 'debug_connection') in out, out
