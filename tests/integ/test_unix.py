# SPDX-License-Identifier: MIT
"""Unix-domain upstream servers, as nginx 1.22 has them: `proxy_pass
http://unix:PATH;` and `http://unix:PATH:/uri/` (the path ends at the
next ':'), `server unix:PATH` in http and stream upstream blocks mixed with
TCP servers (round robin order, a missing or refusing socket file fails
over to the next server, backup), keepalive reuse, what nginx sends as Host
and logs as $upstream_addr and in error lines, an Upgrade tunnel to a unix
socket byte-exact, a stream server proxying to a unix socket, and the -t
errors of a bad path. Then `listen unix:PATH` (http and stream): the file's
life (start, reload, exit, a stale one, `user`), the address variables and
`set_real_ip_from unix:`. The backends are the harness's Backend listening
on a unix socket in a temp directory."""

import grp
import json
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import threading

from harness import build_request, read_head, recv_until_close, wait_for

STREAM_MAIN = 'load_module /usr/share/nginx/modules/ngx_stream_module.so;\n'


def unix_backend(t, name, d=None):
    """A harness Backend listening on DIR/NAME.sock (DIR a fresh temp dir)."""
    d = d or t.tmpdir('unix-')
    return t.backend(name, unix=os.path.join(d, name + '.sock'))


def refusing_socket(path):
    """A socket file nobody listens on: connect() gets ECONNREFUSED."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    os.chmod(path, 0o666)
    return path


def body_of(r):
    return json.loads(r.body)


def test_proxy_pass_unix_without_uri(t):
    """proxy_pass http://unix:PATH; : the request URI is passed as is, Host
    is "localhost" ($proxy_host), $upstream_addr is unix:PATH."""
    b = unix_backend(t, 'u')
    p = t.proxy("""
log_format ua '$upstream_addr|$proxy_host|$proxy_port|$upstream_status';
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/ua.log ua;
    location / { proxy_pass http://unix:%s; }
}""" % b.unix)
    r = p.get('/a/b?x=1', host='example.com')
    assert (r.status, r.backend) == (200, 'u'), r
    req = b.last()
    assert req.target == '/a/b?x=1', req.target
    assert req.header('Host') == 'localhost', req.headers
    wait_for(lambda: p.read('logs', 'ua.log').strip(), 5, what='access log')
    assert p.read('logs', 'ua.log').strip() == 'unix:%s|localhost||200' % b.unix


def test_proxy_pass_unix_with_uri(t):
    """proxy_pass http://unix:PATH:/uri/ : the location prefix is replaced by
    the URI part, as for a TCP address."""
    b = unix_backend(t, 'u')
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /app/ { proxy_pass http://unix:%s:/base/; }
    location /x { proxy_pass http://unix:%s:/; }
}""" % (b.unix, b.unix))
    r = p.get('/app/one/two?q', host='example.com')
    assert (r.status, r.backend) == (200, 'u'), r
    assert b.last().target == '/base/one/two?q', b.last().target
    r = p.get('/xyz', host='example.com')
    assert r.status == 200, r
    assert b.last().target == '/yz', b.last().target


def test_upstream_mixed_round_robin(t):
    """An upstream of a unix and a TCP server, weighted: the smooth round
    robin order is the same as with two TCP servers."""
    u = unix_backend(t, 'u')
    tc = t.backend('t')
    p = t.proxy("""
upstream app { server unix:%s weight=2; server 127.0.0.1:{tc}; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}""" % u.unix, tc=tc)
    got = [p.get('/r%d' % i, host='x').backend for i in range(6)]
    assert got == ['u', 't', 'u'] * 2, got
    assert u.last().header('Host') == 'app', u.last().headers


def test_failover_missing_and_refusing(t):
    """A unix server whose socket file is missing (ENOENT) or refuses
    (ECONNREFUSED) fails over to the next server; the error log names the
    upstream as http://unix:PATH:/uri; $upstream_addr lists both tries."""
    d = t.tmpdir('unix-')
    missing = os.path.join(d, 'missing.sock')
    refusing = refusing_socket(os.path.join(d, 'refusing.sock'))
    tc = t.backend('t')
    p = t.proxy("""
log_format ua '$upstream_addr $upstream_status';
upstream miss { server unix:%s; server 127.0.0.1:{tc}; }
upstream refuse { server unix:%s; server 127.0.0.1:{tc}; }
server {
    listen 127.0.0.1:{port};
    access_log {prefix}/logs/ua.log ua;
    location /m/ { proxy_pass http://miss; }
    location /r/ { proxy_pass http://refuse; }
}""" % (missing, refusing), tc=tc)
    r = p.get('/m/1', host='x')
    assert (r.status, r.backend) == (200, 't'), r
    r = p.get('/r/1', host='x')
    assert (r.status, r.backend) == (200, 't'), r
    # passive health: max_fails=1 took both unix servers out for
    # fail_timeout, so the next requests go straight to the TCP server
    for loc in ('m', 'r'):
        r = p.get('/%s/2' % loc, host='x')
        assert (r.status, r.backend) == (200, 't'), r
    wait_for(lambda: len(p.read('logs', 'ua.log').splitlines()) >= 4, 5, what='log')
    lines = p.read('logs', 'ua.log').splitlines()
    tcp = '127.0.0.1:%d' % tc.port
    assert lines == ['unix:%s, %s 502, 200' % (missing, tcp),
                     'unix:%s, %s 502, 200' % (refusing, tcp),
                     '%s 200' % tcp, '%s 200' % tcp], lines
    err = p.error_log()
    assert re.search(r'\(2: No such file or directory\) while connecting to upstream.*'
                     r'upstream: "http://unix:%s:/m/1"' % re.escape(missing), err), err
    assert re.search(r'\(111: Connection refused\) while connecting to upstream.*'
                     r'upstream: "http://unix:%s:/r/1"' % re.escape(refusing), err), err


def test_backup_unix(t):
    """A unix backup server takes requests only when the primary fails."""
    u = unix_backend(t, 'u')
    dead = t.dead_port()
    p = t.proxy("""
upstream app { server 127.0.0.1:{dead}; server unix:%s backup; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}""" % u.unix, dead=dead)
    for i in range(3):
        r = p.get('/b%d' % i, host='x')
        assert (r.status, r.backend) == (200, 'u'), r
    u2 = unix_backend(t, 'u2')
    tc = t.backend('t')
    p2 = t.proxy("""
upstream app { server 127.0.0.1:{tc}; server unix:%s backup; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}""" % u2.unix, tc=tc)
    assert [p2.get('/%d' % i, host='x').backend for i in range(3)] == ['t'] * 3
    assert u2.count() == 0


def test_keepalive_reuse(t):
    """keepalive in the upstream block: N requests reach the unix backend
    over one connection."""
    u = unix_backend(t, 'u')
    p = t.proxy("""
upstream app { server unix:%s; keepalive 4; }
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}""" % u.unix)
    for i in range(5):
        r = p.get('/k%d' % i, host='x')
        assert (r.status, r.backend) == (200, 'u'), r
    assert u.count() == 5
    assert u.connections == 1, u.connections
    assert {q.conn_id for q in u.requests} == {1}


def _lbctl(t, p, *args):
    exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
    r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock')] + list(args),
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def test_lbctl_unix_servers(t):
    """lbd: `lbctl upstream list` shows a unix server by its name
    (unix:PATH), and set-weight / drain / enable take that name."""
    if t.is_nginx:
        t.skip('nginx has no control socket')
    u = unix_backend(t, 'u')
    tc = t.backend('t')
    p = t.proxy("""
upstream app { server unix:%s; server 127.0.0.1:{tc}; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}""" % u.unix, tc=tc)
    name = 'unix:' + u.unix
    rows = {ln.split()[0]: ln.split() for ln in _lbctl(t, p, 'upstream', 'list').splitlines()
            if ln.split()}
    assert rows[name][1:3] == ['1', 'up'], rows
    js = json.loads(_lbctl(t, p, '--json', 'upstream', 'list', 'app'))
    assert name in json.dumps(js), js
    _lbctl(t, p, 'upstream', 'set-weight', 'app', name, '3')
    got = [p.get('/w%d' % i, host='x').backend for i in range(8)]
    assert got.count('u') == 6, got
    _lbctl(t, p, 'upstream', 'drain', 'app', name)
    assert [p.get('/d%d' % i, host='x').backend for i in range(4)] == ['t'] * 4
    wait_for(lambda: 'drained' in _lbctl(t, p, 'upstream', 'list', 'app'), 5,
             what='drained')
    _lbctl(t, p, 'upstream', 'enable', 'app', name)
    assert 'u' in [p.get('/e%d' % i, host='x').backend for i in range(4)]


def test_health_check_unix(t):
    """lbd: active health checks (`health_check`) reach a unix server; a
    missing socket file makes it unhealthy, so requests skip it."""
    if t.is_nginx:
        t.skip('lbd\'s health_check in the upstream block')
    u = unix_backend(t, 'u')
    tc = t.backend('t')
    d = t.tmpdir('unix-')
    missing = os.path.join(d, 'gone.sock')
    p = t.proxy("""
upstream app { server unix:%s; server unix:%s; server 127.0.0.1:{tc};
               health_check interval=100ms; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}""" % (u.unix, missing), tc=tc)
    wait_for(lambda: 'unhealthy' in p.error_log(), 10, what='a failed check')
    assert 'upstream server unix:%s of "app" is unhealthy' % missing in p.error_log()
    wait_for(lambda: any(q.path == '/' for q in u.requests), 10, what='a check on u')
    assert [q for q in u.requests if q.path == '/'][0].header('Host') == 'localhost'
    got = {p.get('/h%d' % i, host='x').backend for i in range(6)}
    assert got == {'u', 't'}, got


def test_hash_methods_with_unix(t):
    """ip_hash, hash, random and least_conn with a unix server in the set:
    every request is answered by one of the servers, the hash ones always by
    the same for the same key."""
    u = unix_backend(t, 'u')
    tc = t.backend('t')
    for method in ('ip_hash', 'hash $uri', 'hash $uri consistent', 'random',
                   'random two least_conn', 'least_conn'):
        p = t.proxy("""
upstream app { %s; server unix:%s; server 127.0.0.1:{tc}; }
server {
    listen 127.0.0.1:{port};
    location / { proxy_pass http://app; }
}""" % (method, u.unix), tc=tc)
        got = [p.get('/same', host='x').backend for _ in range(4)]
        assert set(got) <= {'u', 't'}, (method, got)
        if 'hash' in method:
            assert len(set(got)) == 1, (method, got)
        p.stop()


UPGRADE_CONF = """
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}
server {
    listen 127.0.0.1:{port};
    location / {
        proxy_pass http://unix:%s;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
    }
}"""


class UnixUpgradeServer:
    """On a unix socket: answers 101 to the first request head and echoes
    the stream (bytes behind the head included) until EOF."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.sock.close()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(30)
        try:
            _, buf = read_head(c, eof_ok=True)
            if buf is None:
                return
            c.sendall(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
                      b'Connection: Upgrade\r\n\r\n')
            if buf:
                c.sendall(buf)
            while True:
                d = c.recv(1 << 16)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()


def _recv_until(s, n):
    buf = bytearray()
    while len(buf) < n:
        d = s.recv(min(1 << 20, n - len(buf)))
        assert d, 'closed after %d of %d bytes' % (len(buf), n)
        buf += d
    return bytes(buf)


def _upgrade_through(t, p):
    s = socket.create_connection(('127.0.0.1', p.port), timeout=20)
    s.sendall(b'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'
              b'Connection: Upgrade\r\n\r\nearly')
    head, rest = read_head(s, chunk=4096)
    assert head.startswith(b'HTTP/1.1 101 '), head
    early = rest + (_recv_until(s, 5 - len(rest)) if len(rest) < 5 else b'')
    assert early == b'early', early
    data = bytes(range(256)) * 16384  # 4 MiB
    got = []

    def reader():
        got.append(_recv_until(s, len(data)))

    th = threading.Thread(target=reader)
    th.start()
    s.sendall(data)
    th.join(60)
    assert got and got[0] == data, 'upgraded stream not byte-exact'
    return s


def test_upgrade_unix_byte_exact(t):
    """An Upgrade through a unix upstream: 101, then 4 MiB echoed back
    byte-exact while being sent; lbd says in
    `lbctl conns` which relay carries it."""
    d = t.tmpdir('unix-')
    ws = UnixUpgradeServer(os.path.join(d, 'ws.sock'))
    t.defer(ws.close)
    p = t.proxy(UPGRADE_CONF % ws.path, workers=1)
    s = _upgrade_through(t, p)
    if not t.is_nginx:
        exe = os.path.join(os.path.dirname(t.bin), 'lbctl')
        r = subprocess.run([exe, '-s', p.path('logs', 'lbd.sock'), 'conns', '--json'],
                           capture_output=True, text=True, timeout=10)
        conns = json.loads(r.stdout)['conns']
        assert len(conns) == 1 and conns[0]['upstream'] == 'unix:' + ws.path, conns
        assert conns[0]['path'] == 'splice', conns
        assert 'sockmap splicing refused' not in p.error_log()
    s.close()


def test_stream_to_unix(t):
    """stream {}: `proxy_pass unix:PATH;` and an upstream with a unix
    server mixed with TCP (round robin), $upstream_addr in the stream log."""
    d = t.tmpdir('unix-')
    ws = UnixUpgradeServer(os.path.join(d, 'echo.sock'))
    t.defer(ws.close)
    tc = t.backend('t')
    p = t.proxy('', main=STREAM_MAIN + """stream {
    log_format s '$upstream_addr';
    upstream mix { server unix:%s; server 127.0.0.1:{tc}; }
    server { listen 127.0.0.1:{port}; proxy_pass unix:%s;
             access_log {prefix}/logs/s.log s; }
    server { listen 127.0.0.1:{port2}; proxy_pass mix; }
}
""" % (ws.path, ws.path), tc=tc)
    s = socket.create_connection(('127.0.0.1', p.port), timeout=20)
    s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    head = _recv_until(s, len(b'HTTP/1.1 101 Switching Protocols\r\n'))
    assert head.startswith(b'HTTP/1.1 101'), head
    s.close()
    # two sessions: the harness's readiness probe and this one
    wait_for(lambda: len(p.read('logs', 's.log').splitlines()) >= 2, 10, what='stream log')
    lines = p.read('logs', 's.log').splitlines()
    assert lines == ['unix:' + ws.path] * 2, lines
    seen = []
    for i in range(4):
        c = socket.create_connection(('127.0.0.1', p.subs['port2']), timeout=20)
        c.sendall(build_request('GET', '/s%d' % i, headers={'Host': 'x'}))
        d0, _ = read_head(c)
        c.close()
        seen.append('u' if d0.startswith(b'HTTP/1.1 101') else
                    't' if b'X-Backend: t' in d0 else d0[:40])
    # the harness's readiness probe of {port2} took the first turn
    assert seen == ['t', 'u', 't', 'u'], seen


def _t_error(t, p, needle):
    """-t fails; returns (stderr, the FILE:LINE of the config line holding
    NEEDLE) for the caller to check nginx's "... in FILE:LINE"."""
    r = p.run('-t')
    assert r.returncode != 0, r
    with open(p.conf_path) as f:
        line = [i + 1 for i, ln in enumerate(f) if needle in ln][0]
    return r.stderr, '%s:%d' % (p.conf_path, line)


def test_bad_unix_paths(t):
    """-t: a path too long for sun_path, an empty path, in a server line,
    in proxy_pass and in a stream upstream: nginx's texts with FILE:LINE."""
    long = '/' + 'a' * 107  # 108 bytes + NUL: over sun_path's 108
    ok = '/' + 'a' * 106    # 107 bytes + NUL fit
    loc = 'server { listen 127.0.0.1:{port};\nlocation / { proxy_pass http://u; } }'
    cases = [
        ('upstream u {\nserver unix:%s;\n}\n' % long + loc, 'server unix:',
         'too long path in the unix domain socket in upstream "unix:%s"' % long),
        ('upstream u {\nserver unix: weight=2;\n}\n' + loc, 'server unix:',
         'no path in the unix domain socket in upstream "unix:"'),
        ('server { listen 127.0.0.1:{port};\nlocation / {\nproxy_pass http://unix:%s:/x;\n} }'
         % long, 'proxy_pass',
         'too long path in the unix domain socket in upstream "unix:%s:/x"' % long),
        ('server { listen 127.0.0.1:{port};\nlocation / {\nproxy_pass http://unix:;\n} }',
         'proxy_pass', 'no path in the unix domain socket in upstream "unix:"'),
    ]
    for http, needle, want in cases:
        p = t.proxy(http, start=False)
        p.write_conf()
        err, where = _t_error(t, p, needle)
        assert '%s in %s' % (want, where) in err, (want, where, err)
    # the longest path that fits is accepted
    p = t.proxy('upstream u { server unix:%s; }\n' % ok + loc, start=False)
    p.write_conf()
    r = p.run('-t')
    assert r.returncode == 0, r.stderr
    for body in ('upstream s {\nserver unix:%s;\n}\n'
                 'server { listen 127.0.0.1:{port}; proxy_pass s; }\n' % long,
                 'server { listen 127.0.0.1:{port};\nproxy_pass unix:%s;\n}\n' % long):
        p = t.proxy('', main=STREAM_MAIN + 'stream {\n' + body + '}\n', start=False)
        p.write_conf()
        err, where = _t_error(t, p, long)
        want = 'too long path in the unix domain socket in upstream "unix:%s"' % long
        assert '%s in %s' % (want, where) in err, (want, where, err)


def _unix_get(path, target='/', headers=None):
    """One HTTP/1.1 request over the unix socket PATH; (status, head, body)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    h = {'Host': 'x', 'Connection': 'close'}
    h.update(headers or {})
    s.sendall(build_request('GET', target, headers=h))
    buf = recv_until_close(s)
    s.close()
    head, _, body = buf.partition(b'\r\n\r\n')
    return int(head.split(b' ')[1]), head.decode('latin1'), body


LISTEN_CONF = """
log_format u '$remote_addr|$server_addr|$server_port|$realip_remote_addr|$binary_remote_addr';
server {
    listen 127.0.0.1:{port};
    listen unix:%s;
    access_log {prefix}/logs/u.log u;
    set_real_ip_from unix:;
    real_ip_header X-Forwarded-For;
    location / {
        proxy_pass http://127.0.0.1:{b};
        proxy_set_header X-Real-IP $remote_addr;
    }
}"""


def test_listen_unix(t):
    """`listen unix:PATH`: the file is made at start (a world-writable
    socket), requests on it see $remote_addr "unix:" and $server_addr
    "unix:PATH" ($server_port empty), `set_real_ip_from unix:` trusts its
    X-Forwarded-For; a reload keeps the same socket; the file goes at exit."""
    b = t.backend('b')
    d = t.tmpdir('unix-')
    path = os.path.join(d, 'front.sock')
    p = t.proxy(LISTEN_CONF % path, b=b)
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o666, oct(st.st_mode)
    status, head, body = _unix_get(path, '/one')
    assert status == 200 and 'X-Backend: b' in head, head
    assert b.last().header('X-Real-IP') == 'unix:', b.last().headers
    status, head, body = _unix_get(path, '/two', {'X-Forwarded-For': '203.0.113.7'})
    assert status == 200, head
    assert b.last().header('X-Real-IP') == '203.0.113.7', b.last().headers
    wait_for(lambda: len(p.read('logs', 'u.log').splitlines()) >= 2, 5, what='log')
    lines = p.read('logs', 'u.log').splitlines()
    assert lines == ['unix:|unix:%s||unix:|unix:' % path,
                     '203.0.113.7|unix:%s||unix:|\\xCB\\x00q\\x07' % path], lines
    ino = os.stat(path).st_ino
    p.signal(signal.SIGHUP)
    wait_for(lambda: 'reconfiguring' in p.error_log(), 5, what='reload')
    for i in range(3):
        status, head, body = _unix_get(path, '/after%d' % i)
        assert status == 200, head
    assert os.stat(path).st_ino == ino
    p.signal(signal.SIGQUIT)
    p.wait_exit()
    assert not os.path.exists(path)


def test_listen_unix_client_lines(t):
    """A unix-socket client in nginx's connection lines is "unix:": one
    gone before its first byte (`client closed connection while waiting
    for request, client: unix:, server: unix:PATH`) and one gone between
    keep-alive requests (`client unix: closed keepalive connection`)."""
    b = t.backend('b')
    path = os.path.join(t.tmpdir('unix-'), 'front.sock')
    p = t.proxy(LISTEN_CONF % path, b=b)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.close()
    want = ('client closed connection while waiting for request, client: unix:, '
            'server: unix:%s' % path)
    wait_for(lambda: want in p.error_log(), 10, what=want)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(build_request('GET', '/ka', headers={'Host': 'x'}))
    head, rest = read_head(s)
    assert head.startswith(b'HTTP/1.1 200'), head
    s.close()
    wait_for(lambda: re.search(r'\*\d+ client unix: closed keepalive connection\n',
                               p.error_log()), 10, what='the keepalive close line')


def test_listen_unix_stale_file(t):
    """A file left at the path (an old socket nobody listens on): start
    fails with bind()'s EADDRINUSE, as nginx does (it does not remove it)."""
    b = t.backend('b')
    d = t.tmpdir('unix-')
    path = refusing_socket(os.path.join(d, 'front.sock'))
    p = t.proxy(LISTEN_CONF % path, b=b, start=False)
    p.write_conf()
    r = p.run(timeout=15)
    assert r.returncode != 0
    assert 'bind() to unix:%s failed (98: Address already in use)' % path in r.stderr, r.stderr
    assert os.path.exists(path)


def test_listen_unix_user(t):
    """With `user nobody`: the socket is made while privileged, serves
    after the drop (two workers share it), and goes at exit when its
    directory belongs to the user (as a packaged /run/lbd would)."""
    if os.geteuid() != 0:
        t.skip('needs root to drop to nobody')
    try:
        uid, gid = pwd.getpwnam('nobody').pw_uid, grp.getgrnam('nogroup').gr_gid
    except KeyError:
        t.skip('no user nobody / group nogroup')
    b = t.backend('b')
    d = t.tmpdir('unix-')
    os.chown(d, uid, gid)
    path = os.path.join(d, 'front.sock')
    p = t.proxy(LISTEN_CONF % path, b=b, main='user nobody nogroup;', workers=2)
    for i in range(6):
        status, head, body = _unix_get(path, '/u%d' % i)
        assert status == 200 and 'X-Backend: b' in head, head
    p.signal(signal.SIGQUIT)
    p.wait_exit()
    assert not os.path.exists(path)


def test_listen_unix_reload_swaps(t):
    """A reload that replaces one unix listen by another: the dropped file
    is deleted ("deleting socket PATH"), the new one serves."""
    b = t.backend('b')
    d = t.tmpdir('unix-')
    a_path, b_path = os.path.join(d, 'a.sock'), os.path.join(d, 'b.sock')
    p = t.proxy(LISTEN_CONF % a_path, b=b)
    assert _unix_get(a_path)[0] == 200
    p.write_conf(http=LISTEN_CONF % b_path)
    p.signal(signal.SIGHUP)
    wait_for(lambda: os.path.exists(b_path) and not os.path.exists(a_path), 10,
             what='b.sock made, a.sock deleted')
    assert 'deleting socket %s' % a_path in p.error_log()
    assert _unix_get(b_path)[0] == 200


def test_stream_listen_unix(t):
    """stream {}: `listen unix:PATH` proxying to a TCP server; the stream
    log sees $remote_addr "unix:" and $server_addr "unix:PATH"."""
    tc = t.backend('t')
    d = t.tmpdir('unix-')
    path = os.path.join(d, 's.sock')
    p = t.proxy('', main=STREAM_MAIN + """stream {
    log_format s '$remote_addr|$server_addr|$upstream_addr';
    server { listen 127.0.0.1:{port}; listen unix:%s; proxy_pass 127.0.0.1:{tc};
             access_log {prefix}/logs/s.log s; }
}
""" % path, tc=tc)
    status, head, body = _unix_get(path, '/st')
    assert status == 200 and 'X-Backend: t' in head, head
    wait_for(lambda: 'unix:|' in p.read('logs', 's.log'), 10,
             what='stream log: %r' % p.read('logs', 's.log'))
    lines = [ln for ln in p.read('logs', 's.log').splitlines() if ln.startswith('unix:|')]
    assert lines == ['unix:|unix:%s|127.0.0.1:%d' % (path, tc.port)], lines


def test_listen_unix_bad_path(t):
    """-t: a listen path too long for sun_path, and an empty one."""
    long = '/' + 'b' * 107
    for arg, want in (('unix:' + long, 'too long path in the unix domain socket in "unix:%s" '
                       'of the "listen" directive' % long),
                      ('unix:', 'no path in the unix domain socket in "unix:" of the '
                       '"listen" directive')):
        p = t.proxy('server {\nlisten 127.0.0.1:{port};\nlisten %s;\n'
                    'location / { return 204; }\n}' % arg, start=False)
        p.write_conf()
        err, where = _t_error(t, p, 'listen %s;' % arg)
        assert '%s in %s' % (want, where) in err, (want, where, err)


def test_upgrade_unix_client_and_upstream(t):
    """An Upgrade from a client on a unix listener to a unix upstream:
    101, then 1 MiB echoed byte-exact; lbd relays it with splice(2)."""
    d = t.tmpdir('unix-')
    ws = UnixUpgradeServer(os.path.join(d, 'ws.sock'))
    t.defer(ws.close)
    front = os.path.join(d, 'front.sock')
    p = t.proxy((UPGRADE_CONF % ws.path).replace(
        'listen 127.0.0.1:{port};', 'listen 127.0.0.1:{port};\n    listen unix:%s;' % front))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(front)
    s.sendall(b'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'
              b'Connection: Upgrade\r\n\r\n')
    head, rest = read_head(s, chunk=4096)
    assert head.startswith(b'HTTP/1.1 101 ') and rest == b'', (head, rest)
    data = os.urandom(1 << 20)
    got = []
    th = threading.Thread(target=lambda: got.append(_recv_until(s, len(data))))
    th.start()
    s.sendall(data)
    th.join(60)
    assert got and got[0] == data
    if not t.is_nginx:
        conns = json.loads(_lbctl(t, p, 'conns', '--json'))['conns']
        assert [(c['client'], c['path']) for c in conns] == [('unix:', 'splice')], conns
    s.close()


def test_proxy_redirect_default_unix(t):
    """proxy_redirect default with a unix proxy_pass: the URL as written
    (http://unix:PATH:/uri/, or http://unix:PATH/ without a URI part) is
    replaced in Location by the location's prefix (made absolute, as
    nginx 1.22 does)."""
    d = t.tmpdir('unix-')
    path = os.path.join(d, 'r.sock')
    t.backend('r', unix=path,
              force_path='/status/302?Location=http://unix:%s:/base/moved' % path)
    path2 = os.path.join(d, 'r2.sock')
    t.backend('r2', unix=path2,
              force_path='/status/302?Location=http://unix:%s/moved2' % path2)
    p = t.proxy("""
server {
    listen 127.0.0.1:{port};
    location /app/ { proxy_pass http://unix:%s:/base/; }
    location / { proxy_pass http://unix:%s; }
}""" % (path, path2))
    r = p.get('/app/x', host='x')
    assert (r.status, r.header('Location')) == (302, 'http://x:%d/app/moved' % p.port), \
        r.headers
    r = p.get('/y', host='x')
    assert (r.status, r.header('Location')) == (302, 'http://x:%d/moved2' % p.port), r.headers
